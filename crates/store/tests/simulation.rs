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

/// A run is stopped by the person who started it or an admin, never by another: it reads back
/// `stopped` with the progress it reached, who stopped it and no result, and the runner's next
/// progress step is refused (that is where it ends).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_run_is_stopped_by_its_owner_or_an_admin() {
    for db in backends("sim_stop").await {
        let s = open(&db).await;
        let fin = finance();
        let other = Actor::new("finance2", Role::Finance);
        let params = json!({"from": "2023-01-01", "to": "2023-12-31"});
        let run = s
            .create_simulation_run(&fin, "财务一", "长测算", &params, 100)
            .await
            .unwrap();
        assert!(s.simulation_progress(&run, 40).await.unwrap());
        let e = s.stop_simulation(&other, "财务二", &run).await.unwrap_err();
        assert!(
            matches!(
                e,
                StoreError::Refused {
                    code: "forbidden",
                    ..
                }
            ),
            "{}: {e}",
            db.label
        );
        s.stop_simulation(&fin, "财务一", &run).await.unwrap();
        let r = s.simulation_run(&fin, &run).await.unwrap();
        assert_eq!(
            (r.status.as_str(), r.done, r.total, r.result.is_none()),
            ("stopped", 40, 100, true),
            "{}",
            db.label
        );
        assert_eq!(r.stopped_by_name.as_deref(), Some("财务一"));
        assert!(r.finished_at.is_some());
        // The runner's next step is refused, and so is a result written late.
        assert!(!s.simulation_progress(&run, 50).await.unwrap());
        assert!(
            !s.simulation_finished(&run, &json!({"baseline": {}}))
                .await
                .unwrap()
        );
        assert_eq!(s.simulation_run(&fin, &run).await.unwrap().done, 40);
        // A run that is over cannot be stopped; an admin may stop another's run.
        assert!(matches!(
            s.stop_simulation(&fin, "财务一", &run).await,
            Err(StoreError::Refused {
                code: "not_running",
                ..
            })
        ));
        let second = s
            .create_simulation_run(&fin, "财务一", "再测算", &params, 100)
            .await
            .unwrap();
        s.stop_simulation(&admin(), "管理员", &second)
            .await
            .unwrap();
        assert_eq!(
            s.simulation_run(&fin, &second).await.unwrap().status,
            "stopped"
        );
    }
}

/// Uploaded populations: kept with their bytes and counts, listed newest first within the
/// uploader's scope, deleted by the uploader or an admin only, and part of a backup that
/// restores them byte for byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn uploaded_populations_are_kept_scoped_deleted_and_backed_up() {
    use kc_store::simulation::NewPopulation;
    for db in backends("sim_pop").await {
        let s = open(&db).await;
        let fin = finance();
        let bytes = b"applicant,applicant.kind\nA1,enterprise\n".to_vec();
        let new = |name| NewPopulation {
            name,
            format: "csv",
            bytes: &bytes,
            applicants: 1,
            events: 0,
            rows: 1,
        };
        let a = s
            .add_simulation_population(&fin, "财务一", &new("a.csv"))
            .await
            .unwrap();
        assert_eq!(
            (
                a.name.as_str(),
                a.size,
                a.applicants,
                a.uploaded_by_name.as_str()
            ),
            ("a.csv", bytes.len() as i64, 1, "财务一"),
            "{}",
            db.label
        );
        let sy = Actor::staff("sy-fin", Role::Finance, "shenyang");
        let b = s
            .add_simulation_population(&sy, "沈阳财务", &new("b.csv"))
            .await
            .unwrap();
        let ids = |l: Vec<kc_store::simulation::UploadedPopulation>| {
            l.into_iter().map(|p| p.id).collect::<Vec<_>>()
        };
        assert_eq!(
            ids(s.simulation_populations(&fin).await.unwrap()),
            [b.id.clone(), a.id.clone()],
            "{}: newest first",
            db.label
        );
        assert_eq!(
            ids(s.simulation_populations(&sy).await.unwrap()),
            std::slice::from_ref(&b.id)
        );
        assert!(matches!(
            s.simulation_population(&sy, &a.id).await,
            Err(StoreError::NotFound(_))
        ));
        let (p, data) = s.simulation_population_data(&fin, &a.id).await.unwrap();
        assert_eq!((p, data), (a.clone(), bytes.clone()));
        assert!(
            s.add_simulation_population(&reviewer(1), "x", &new("c.csv"))
                .await
                .is_err()
        );

        // In the backup, and restored byte for byte into an empty database.
        let lines = s.backup_lines().await.unwrap();
        assert_eq!(
            lines
                .iter()
                .filter(|l| l.contains("\"simulation_populations\""))
                .count(),
            2,
            "{}",
            db.label
        );
        let copy = sqlite(&format!("sim_pop_restore_{}", db.label)).await;
        let t = open(&copy).await;
        t.restore_lines(&lines, &|_, _| {}).await.unwrap();
        assert_eq!(
            t.simulation_population_data(&fin, &a.id).await.unwrap().1,
            bytes
        );
        // A damaged copy is refused before anything is written.
        let damaged: Vec<String> = lines
            .iter()
            .map(|l| {
                if l.contains("\"simulation_populations\"") {
                    l.replace(&a.sha256, &"0".repeat(64))
                } else {
                    l.clone()
                }
            })
            .collect();
        let fresh = open(&sqlite(&format!("sim_pop_damaged_{}", db.label)).await).await;
        let e = fresh.restore_lines(&damaged, &|_, _| {}).await.unwrap_err();
        assert!(e.to_string().contains("SHA-256"), "{e}");

        // Deleted by its uploader or an admin, not by another.
        let other = Actor::new("finance2", Role::Finance);
        assert!(matches!(
            s.delete_simulation_population(&other, &a.id).await,
            Err(StoreError::Refused {
                code: "forbidden",
                ..
            })
        ));
        s.delete_simulation_population(&fin, &a.id).await.unwrap();
        s.delete_simulation_population(&admin(), &b.id)
            .await
            .unwrap();
        assert!(s.simulation_populations(&fin).await.unwrap().is_empty());
    }
}

/// The population read in bulk is, document for document, what reading each applicant alone
/// gives — profile, events in date order, the ledger's history (an approved 2万元 of 沈政发〔2021〕
/// 11号 (五)) — on both databases, across chunks of the bulk read; an applicant that is not
/// stored is named.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_population_read_in_bulk_equals_each_applicant_read_alone() {
    for db in backends("sim_bulk").await {
        let s = open(&db).await;
        // (五) 首次备案的科技型中小企业给予2万元: offered without application (免申即享),
        // confirmed, committed in the ledger.
        let me = Actor::applicant("u-hn", HUNNAN);
        s.upsert_applicant(&admin(), &hunnan_enterprise())
            .await
            .unwrap();
        let filing = json!({"id": "f1", "kind": "certified", "date": "2023-02-01",
                            "cert": "tech_sme", "first": true});
        let (_, offers) = s
            .add_event_with_offers(&admin(), HUNNAN, &filing)
            .await
            .unwrap();
        assert_eq!(offers.len(), 1, "{}", db.label);
        ready(&s, &me, &offers[0]).await;
        s.act(
            &me,
            &offers[0],
            kc_domain::Action::ConfirmOffer,
            kc_store::ActArgs {
                notice_days: Some(0),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        // Added later, dated earlier: the documents list events by date.
        s.add_event(
            &admin(),
            HUNNAN,
            &json!({"id": "c0", "kind": "certified", "date": "2022-11-01",
                    "cert": "high_tech", "first": true}),
        )
        .await
        .unwrap();
        s.upsert_applicant(&Actor::system(), &gaotang_institution())
            .await
            .unwrap();
        let as_of = "2023-12-31".parse().unwrap();
        let ids = s.population_ids(&finance()).await.unwrap();
        assert_eq!(ids.len(), 2, "{}", db.label);
        let bulk = s.eval_inputs(&ids, as_of).await.unwrap();
        assert_eq!(bulk.len(), 2, "{}", db.label);
        for (id, doc) in ids.iter().zip(&bulk) {
            let alone = s.eval_input(id, as_of).await.unwrap();
            assert_eq!(doc, &alone, "{}: {id}", db.label);
        }
        let hn = &bulk[ids.iter().position(|i| i == HUNNAN).unwrap()];
        let events: Vec<&str> = hn["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap())
            .collect();
        assert_eq!(events, ["c0", "f1"], "{}", db.label);
        assert_eq!(hn["history"][0]["measure"], json!("tech_sme_first"));
        assert_eq!(
            hn["history"][0]["amount"],
            json!("20000.00"),
            "{}",
            db.label
        );
        let gt = &bulk[ids.iter().position(|i| i == GAOTANG).unwrap()];
        assert_eq!(gt["events"], json!([]), "{}", db.label);
        assert_eq!(gt["history"], json!([]), "{}", db.label);
        // Past one chunk of 500, an id given again gets its document again, in the order asked.
        let mut many: Vec<String> = std::iter::repeat_n(GAOTANG.to_string(), 501).collect();
        many.push(HUNNAN.to_string());
        let docs = s.eval_inputs(&many, as_of).await.unwrap();
        assert_eq!(docs.len(), 502, "{}", db.label);
        assert!(docs[..501].iter().all(|d| *d == *gt), "{}", db.label);
        assert_eq!(docs[501], *hn, "{}", db.label);
        let e = s
            .eval_inputs(&["nobody".to_string()], as_of)
            .await
            .unwrap_err();
        assert!(
            matches!(&e, StoreError::NotFound(m) if m.contains("nobody")),
            "{}: {e:?}",
            db.label
        );
    }
}
