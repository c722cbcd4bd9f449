//! Objections from the public during 公示 (issue 10, item 8), on both databases: anyone may
//! lodge one with a name, a contact and a reason while the application is in notice; it moves
//! no money; reviewers see it, the plan office does not; it is kept in backups.

mod common;

use common::*;
use kc_domain::{Action, Role};
use kc_money::Money;
use kc_store::{ActArgs, Actor, StoreError};
use serde_json::json;

fn code(e: &StoreError) -> String {
    match e {
        StoreError::Refused { code, .. } => code.to_string(),
        StoreError::Invalid(m) => format!("invalid: {m}"),
        other => format!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn anyone_objects_during_notice_and_reviewers_see_it() {
    for db in backends("objections").await {
        let s = open(&db).await;
        let ev = json!({"id": "c1", "kind": "certified", "date": "2023-03-01", "cert": "high_tech", "first": true});
        let id = hunnan_in_review(&s, &ev, "hitech_first").await;
        // Not yet in notice (in review): an objection is refused and nothing is recorded.
        let e = s
            .lodge_objection(&id, "张三", "13800000000", "认定时间有误")
            .await
            .unwrap_err();
        assert_eq!(code(&e), "not_in_notice", "{}", db.label);
        // (五) 最高20万元: approved at the cap, 100,000.00 per level.
        s.act(
            &reviewer(1),
            &id,
            Action::Approve,
            ActArgs {
                amount: Some(Money::parse_amount("200000").unwrap()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        s.act(
            &reviewer(1),
            &id,
            Action::PublishNotice,
            ActArgs {
                notice_days: Some(7),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        // Every field is required and bounded.
        let e = s
            .lodge_objection(&id, " ", "13800000000", "理由")
            .await
            .unwrap_err();
        assert!(code(&e).contains("name"), "{}: {e}", db.label);
        let long = "很".repeat(2001);
        let e = s
            .lodge_objection(&id, "张三", "13800000000", &long)
            .await
            .unwrap_err();
        assert!(code(&e).contains("2000"), "{}: {e}", db.label);
        let no = s
            .lodge_objection(&id, "张三", "13800000000", "认定时间有误")
            .await
            .unwrap();
        assert!(no.starts_with('O'));
        // No money moved: the commitment stands at 200,000.00.
        assert_eq!(
            s.ledger_totals().await.unwrap().0,
            20_000_000,
            "{}",
            db.label
        );
        // Reviewers see it; the plan office does not.
        let list = s.public_objections(&reviewer(1)).await.unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(
            (
                list[0].application.as_str(),
                list[0].name.as_str(),
                list[0].contact.as_str(),
                list[0].reason.as_str()
            ),
            (id.as_str(), "张三", "13800000000", "认定时间有误")
        );
        let e = s
            .public_objections(&Actor::new("p", Role::PlanOffice))
            .await
            .unwrap_err();
        assert_eq!(code(&e), "forbidden");
        // Kept in backups and counted.
        let counts = s.row_counts().await.unwrap();
        assert!(counts.contains(&("public_objections", 1)), "{counts:?}");
        let lines = s.backup_lines().await.unwrap();
        assert!(
            lines
                .iter()
                .any(|l| l.contains("public_objections") && l.contains("认定时间有误")),
            "{}",
            db.label
        );
    }
}
