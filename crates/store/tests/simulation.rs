//! The 测算 workspace's runs on both databases: recorded, progress and result read back by a
//! second store on the same database (a restart), a run abandoned by its process marked failed
//! once its heartbeat is old, the population scoped by jurisdiction, and who may use it.

mod common;

use common::*;
use kc_domain::Role;
use kc_store::simulation::{STALE_AFTER_SECS, STALE_ERROR};
use kc_store::{Actor, StoreError};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn runs_are_kept_read_back_after_a_restart_and_abandoned_ones_fail() {
    for db in backends("sim_runs").await {
        let s = open(&db).await;
        let sys = Actor::system();
        s.upsert_applicant(&sys, &hunnan_enterprise())
            .await
            .unwrap();
        s.upsert_applicant(&sys, &gaotang_institution())
            .await
            .unwrap();
        let fin = finance();
        // The population: every applicant for the whole platform, one city's for its staff.
        assert_eq!(
            s.population_ids(&fin).await.unwrap().len(),
            2,
            "{}",
            db.label
        );
        let sy = Actor::staff("sy-fin", Role::Finance, "shenyang");
        let ids = s.population_ids(&sy).await.unwrap();
        assert_eq!(ids.len(), 1, "{}: {ids:?}", db.label);
        let inputs = s
            .population(&sy, "2023-12-31".parse().unwrap())
            .await
            .unwrap();
        assert_eq!(inputs[0]["applicant"]["id"], ids[0]);

        let params =
            json!({"from": "2023-01-01", "to": "2023-12-31", "changes": [], "removed": []});
        let done = s
            .create_simulation_run(&fin, "财务一", "基线", &params, 2)
            .await
            .unwrap();
        assert!(s.simulation_progress(&done, 1).await.unwrap());
        let r = s.simulation_run(&fin, &done).await.unwrap();
        assert_eq!(
            (r.status.as_str(), r.done, r.total),
            ("running", 1, 2),
            "{}",
            db.label
        );
        let result = json!({"baseline": {"total": "20000.00", "lines": []}});
        assert!(s.simulation_finished(&done, &result).await.unwrap());
        let left = s
            .create_simulation_run(&fin, "财务一", "中断", &params, 2)
            .await
            .unwrap();
        assert!(s.simulation_progress(&left, 1).await.unwrap());
        let failed = s
            .create_simulation_run(&fin, "财务一", "失败", &params, 2)
            .await
            .unwrap();
        s.simulation_failed(&failed, "坏 bad").await.unwrap();

        // A restart: another store on the same database, the clock a little later — the run
        // still within its heartbeat stays running, the others read back as they were.
        let later = |secs: i64| {
            move || {
                fixed_clock()
                    .checked_add(jiff::SignedDuration::from_secs(secs))
                    .unwrap()
            }
        };
        let s2 = kc_store::Store::open(&db.url, library())
            .await
            .unwrap()
            .with_clock(later(STALE_AFTER_SECS - 1));
        assert_eq!(
            s2.fail_stale_simulations().await.unwrap(),
            0,
            "{}",
            db.label
        );
        let runs = s2.simulation_runs(&fin, 10).await.unwrap();
        assert_eq!(
            runs.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            [failed.as_str(), left.as_str(), done.as_str()],
            "{}: newest first",
            db.label
        );
        let d = s2.simulation_run(&fin, &done).await.unwrap();
        assert_eq!(
            (d.status.as_str(), d.done, d.result.as_ref()),
            ("done", 2, Some(&result)),
            "{}",
            db.label
        );
        assert_eq!(d.created_by_name, "财务一");
        assert_eq!(d.params, params);
        assert_eq!(
            s2.simulation_run(&fin, &failed)
                .await
                .unwrap()
                .error
                .as_deref(),
            Some("坏 bad")
        );
        assert_eq!(
            s2.simulation_run(&fin, &left).await.unwrap().status,
            "running"
        );

        // Past the heartbeat limit the abandoned run is failed, with the reason; a finished or
        // failed run is left alone, and a late progress report of the abandoned one is refused.
        let s3 = kc_store::Store::open(&db.url, library())
            .await
            .unwrap()
            .with_clock(later(STALE_AFTER_SECS + 1));
        let l = s3.simulation_run(&fin, &left).await.unwrap();
        assert_eq!(
            (l.status.as_str(), l.error.as_deref()),
            ("failed", Some(STALE_ERROR)),
            "{}",
            db.label
        );
        assert!(!s3.simulation_progress(&left, 2).await.unwrap());
        assert_eq!(s3.simulation_run(&fin, &done).await.unwrap().status, "done");
        assert_eq!(
            s3.simulation_run(&fin, &failed)
                .await
                .unwrap()
                .error
                .as_deref(),
            Some("坏 bad")
        );

        // Staff of one jurisdiction see their own runs only; the platform's are not theirs.
        assert!(s3.simulation_runs(&sy, 10).await.unwrap().is_empty());
        assert!(matches!(
            s3.simulation_run(&sy, &done).await,
            Err(StoreError::NotFound(_))
        ));
        // Who may use it: finance, the plan office, admins; not reviewers or applicants.
        for who in [reviewer(1), Actor::applicant("hn", "91210112MA0XK8R34Y")] {
            assert!(
                matches!(
                    s3.simulation_runs(&who, 10).await,
                    Err(StoreError::Refused {
                        code: "forbidden",
                        ..
                    })
                ),
                "{:?}",
                who.role
            );
            assert!(
                s3.create_simulation_run(&who, "x", "x", &params, 0)
                    .await
                    .is_err()
            );
        }
        assert_eq!(
            s3.simulation_runs(&Actor::new("po", Role::PlanOffice), 10)
                .await
                .unwrap()
                .len(),
            3
        );
    }
}
