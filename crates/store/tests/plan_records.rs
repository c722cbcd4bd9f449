//! Plan records on both databases: a second value for one indicator and date is a correction —
//! a new row that supersedes (nothing updated or deleted), audited with the value before and
//! after.

mod common;

use common::*;
use kc_store::{Actor, StoreError};
use serde_json::Value as J;

fn planner() -> Actor {
    Actor::new("po1", kc_domain::Role::PlanOffice)
}

fn j(s: &J) -> J {
    serde_json::from_str(s.as_str().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_second_value_for_the_same_date_supersedes_and_is_audited() {
    for db in backends("plan_corr").await {
        let s = open(&db).await;
        let key = "sy-work-2019:hte";
        // A first value is a record, with nothing before it.
        let prev = s
            .record_plan_actual(&planner(), key, "1300", "2019-12-31", "初报", None)
            .await
            .unwrap();
        assert_eq!(prev, None, "{}", db.label);
        // Another date is another record, not a correction.
        assert_eq!(
            s.record_plan_actual(&planner(), key, "1100", "2019-06-30", "半年", None)
                .await
                .unwrap(),
            None
        );
        // The same date again corrects 1300 → 1310.
        let prev = s
            .record_plan_actual(&planner(), key, "1310", "2019-12-31", "更正", None)
            .await
            .unwrap();
        assert_eq!(prev.as_deref(), Some("1300"), "{}", db.label);
        // All three rows remain, oldest first: the last for a date is the current value.
        let (actuals, _) = s.plan_records().await.unwrap();
        let v: Vec<(&str, &str)> = actuals
            .iter()
            .map(|a| (a.1.as_str(), a.2.as_str()))
            .collect();
        assert_eq!(
            v,
            [
                ("1300", "2019-12-31"),
                ("1100", "2019-06-30"),
                ("1310", "2019-12-31")
            ],
            "{}",
            db.label
        );
        let log = s.audit_log(10).await.unwrap();
        let corr = &log[0];
        assert_eq!(corr["action"], "correct_actual", "{}", db.label);
        assert_eq!(corr["entity_id"], key);
        assert_eq!(j(&corr["before"])["value"], "1300");
        assert_eq!(j(&corr["before"])["source"], "初报");
        assert_eq!(j(&corr["after"])["value"], "1310");
        assert_eq!(log[1]["action"], "record_actual");
        assert!(log[1]["before"].is_null());
        // A figure published in the plan files is corrected the same way: its value is the
        // "before" of the first correction.
        let prev = s
            .record_plan_actual(
                &planner(),
                "sy-work-2019:x",
                "1250",
                "2018-12-31",
                "统计公报",
                Some("1230"),
            )
            .await
            .unwrap();
        assert_eq!(prev.as_deref(), Some("1230"));
        let log = s.audit_log(1).await.unwrap();
        assert_eq!(log[0]["action"], "correct_actual");
        assert_eq!(j(&log[0]["before"])["value"], "1230");
        assert_eq!(j(&log[0]["before"])["source"], "plans/");
        // Only the plan office (and admins) record.
        let e = s
            .record_plan_actual(&reviewer(1), key, "1", "2019-12-31", "x", None)
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                StoreError::Refused {
                    code: "forbidden",
                    ..
                }
            ),
            "{e:?}"
        );
    }
}
