//! Jurisdictions and review by level (issue 11), on both databases: staff of one jurisdiction
//! see and act on the applicants located in it only; where the city and the district share an
//! award 1:1 (沈政发〔2021〕11号 附则), the district recommends before the city approves, the
//! engine's amount and both levels' budgets hold at each step, and each level's finance pays
//! only its own part. Amounts worked out by hand from the quoted clauses.

mod common;

use common::*;
use kc_domain::{Action, AppState, Role};
use kc_money::Money;
use kc_store::{ActArgs, Actor, StoreError};
use serde_json::json;

fn m(s: &str) -> Money {
    Money::parse_amount(s).unwrap()
}

fn code(e: &StoreError) -> &str {
    match e {
        StoreError::Refused { code, .. } => code,
        StoreError::Transition(_) => "transition",
        StoreError::Invalid(_) => "invalid",
        StoreError::NotFound(_) => "not_found",
        StoreError::Db(_) => "db",
    }
}

/// A Shenyang enterprise in 铁西区 (the first 17 characters; the check character is computed).
const TIEXI: &str = "91210106MA0TX8R3Y";

fn staff(id: &str, role: Role, j: &str) -> Actor {
    Actor::staff(id, role, j)
}

fn args(amount: &str) -> ActArgs {
    ActArgs {
        amount: Some(m(amount)),
        ..Default::default()
    }
}

/// An application of `applicant` for `measure` on a new event, submitted.
async fn submitted(
    s: &kc_store::Store,
    applicant: &str,
    event: serde_json::Value,
    measure: &str,
) -> String {
    let me = Actor::applicant("u", applicant);
    let (ev, _) = s
        .add_event_with_offers(&admin(), applicant, &event)
        .await
        .unwrap();
    let id = s.apply(&me, applicant, measure, &ev).await.unwrap();
    ready(s, &me, &id).await;
    s.act(&me, &id, Action::Submit, ActArgs::default())
        .await
        .unwrap();
    id
}

fn hitech(id: &str) -> serde_json::Value {
    json!({"id": id, "kind": "certified", "date": "2023-03-01", "cert": "high_tech", "first": true})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_level_reviews_and_pays_its_own_part() {
    let tiexi_id = kc_domain::Uscc::complete(TIEXI).unwrap().to_string();
    for db in backends("levels").await {
        let s = open(&db).await;
        let l = db.label;
        s.upsert_applicant(&admin(), &hunnan_enterprise())
            .await
            .unwrap();
        s.upsert_applicant(&admin(), &json!({"id": tiexi_id, "name": "铁西示例装备有限公司", "kind": "enterprise", "region": "tiexi", "size": "small"}))
            .await
            .unwrap();
        s.upsert_applicant(&admin(), &gaotang_institution())
            .await
            .unwrap();
        let hn_rev = staff("hn-rev", Role::Reviewer, "hunnan");
        let tx_rev = staff("tx-rev", Role::Reviewer, "tiexi");
        let sy_rev = staff("sy-rev", Role::Reviewer, "shenyang");
        let lc_rev = staff("lc-rev", Role::Reviewer, "liaocheng");
        let hn_fin = staff("hn-fin", Role::Finance, "hunnan");
        let sy_fin = staff("sy-fin", Role::Finance, "shenyang");

        // (五) 首次认定的高新技术企业给予最高20万元, 涉企补助: 市、区 1:1.
        let hn_app = submitted(&s, HUNNAN, hitech("h1"), "hitech_first").await;
        let tx_app = submitted(&s, &tiexi_id, hitech("t1"), "hitech_first").await;
        // 五(三) 创新券: the service institution gets 5% of 10,000.00 = 500.00, paid by the
        // city of Liaocheng alone (聊政字〔2020〕15号, city_only): one review.
        let gt_app = submitted(
            &s,
            GAOTANG,
            json!({"id": "v1", "kind": "voucher_service_delivered", "date": "2023-05-10", "contract_amount": "10000"}),
            "voucher_institution",
        )
        .await;

        // Who sees what: a district its own applicants; a city its districts'; nobody the
        // other city's.
        let seen = |apps: Vec<kc_store::ApplicationView>| {
            let mut ids: Vec<String> = apps.into_iter().map(|a| a.id).collect();
            ids.sort();
            ids
        };
        let mut both = vec![hn_app.clone(), tx_app.clone()];
        both.sort();
        assert_eq!(
            seen(s.applications(&hn_rev, None).await.unwrap()),
            vec![hn_app.clone()],
            "{l}"
        );
        assert_eq!(
            seen(s.applications(&sy_rev, None).await.unwrap()),
            both,
            "{l}"
        );
        assert_eq!(
            seen(s.applications(&lc_rev, None).await.unwrap()),
            vec![gt_app.clone()],
            "{l}"
        );
        assert_eq!(
            s.applications(&admin(), None).await.unwrap().len(),
            3,
            "{l}"
        );
        for (who, app) in [
            (&hn_rev, &tx_app),
            (&hn_rev, &gt_app),
            (&lc_rev, &hn_app),
            (&tx_rev, &hn_app),
        ] {
            let e = s.application(who, app).await.unwrap_err();
            assert_eq!(code(&e), "forbidden", "{l}: {} reads {app}", who.id);
            let e = s
                .act(who, app, Action::StartReview, ActArgs::default())
                .await
                .unwrap_err();
            assert_eq!(code(&e), "forbidden", "{l}: {} acts on {app}", who.id);
            assert!(e.to_string().contains("不在"), "{e}");
        }
        let names: Vec<String> = s
            .applicants(&hn_rev)
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.id)
            .collect();
        assert_eq!(names, vec![HUNNAN.to_string()], "{l}");
        assert_eq!(s.applicants(&sy_rev).await.unwrap().len(), 2, "{l}");

        // The district first: the city cannot take it up yet.
        assert_eq!(
            s.review_stages("hitech_first", "hunnan"),
            vec!["hunnan", "shenyang"]
        );
        let e = s
            .act(&sy_rev, &hn_app, Action::StartReview, ActArgs::default())
            .await
            .unwrap_err();
        assert_eq!(code(&e), "awaiting_other_level", "{l}: {e}");
        s.act(&hn_rev, &hn_app, Action::StartReview, ActArgs::default())
            .await
            .unwrap();
        // The district recommends; it cannot approve, nor recommend above the engine's cap.
        let e = s
            .act(&hn_rev, &hn_app, Action::Approve, args("200000"))
            .await
            .unwrap_err();
        assert_eq!(code(&e), "recommend_first", "{l}: {e}");
        let e = s
            .act(&hn_rev, &hn_app, Action::Recommend, args("200000.01"))
            .await
            .unwrap_err();
        assert_eq!(code(&e), "cap_exceeded", "{l}: {e}");
        // A budget of the district of 80,000.00 for the year: its half of 200,000.00 is
        // 100,000.00 — too much, already at the recommendation.
        s.set_budget(&hn_fin, "hitech_first", 2023, "district", m("80000"))
            .await
            .unwrap();
        let e = s
            .act(&hn_rev, &hn_app, Action::Recommend, args("200000"))
            .await
            .unwrap_err();
        assert_eq!(code(&e), "budget", "{l}: {e}");
        assert!(e.to_string().contains("浑南区"), "{e}");
        // A district sets only its own budget, of its own level.
        let e = s
            .set_budget(&hn_fin, "hitech_first", 2023, "city", m("1"))
            .await
            .unwrap_err();
        assert_eq!(code(&e), "forbidden", "{l}: {e}");
        s.set_budget(&hn_fin, "hitech_first", 2023, "district", m("150000"))
            .await
            .unwrap();
        let a = s
            .act(&hn_rev, &hn_app, Action::Recommend, args("200000"))
            .await
            .unwrap();
        assert_eq!(
            (a.state, a.review_stage, a.recommended),
            (AppState::Recommended, 1, Some(m("200000"))),
            "{l}"
        );
        assert_eq!(
            s.ledger_totals().await.unwrap(),
            (0, 0),
            "{l}: a recommendation commits nothing"
        );
        // Now the city's turn, not the district's.
        let e = s
            .act(&hn_rev, &hn_app, Action::StartReview, ActArgs::default())
            .await
            .unwrap_err();
        assert_eq!(code(&e), "awaiting_other_level", "{l}: {e}");
        s.act(&sy_rev, &hn_app, Action::StartReview, ActArgs::default())
            .await
            .unwrap();
        let e = s
            .act(&sy_rev, &hn_app, Action::Recommend, args("200000"))
            .await
            .unwrap_err();
        assert_eq!(code(&e), "last_level", "{l}: {e}");
        // The city's own budget, 90,000.00, is below its half: refused; then raised.
        s.set_budget(&sy_fin, "hitech_first", 2023, "city", m("90000"))
            .await
            .unwrap();
        let e = s
            .act(&sy_rev, &hn_app, Action::Approve, args("200000"))
            .await
            .unwrap_err();
        assert_eq!(code(&e), "budget", "{l}: {e}");
        assert!(e.to_string().contains("沈阳市"), "{e}");
        // Lowering the district's budget below its half stops the city too.
        s.set_budget(&sy_fin, "hitech_first", 2023, "city", m("500000"))
            .await
            .unwrap();
        s.set_budget(&hn_fin, "hitech_first", 2023, "district", m("99999.99"))
            .await
            .unwrap();
        let e = s
            .act(&sy_rev, &hn_app, Action::Approve, args("200000"))
            .await
            .unwrap_err();
        assert_eq!(
            code(&e),
            "budget",
            "{l}: the other level's budget holds: {e}"
        );
        s.set_budget(&hn_fin, "hitech_first", 2023, "district", m("150000"))
            .await
            .unwrap();
        let e = s
            .act(&sy_rev, &hn_app, Action::Approve, args("250000"))
            .await
            .unwrap_err();
        assert_eq!(code(&e), "cap_exceeded", "{l}: {e}");
        let a = s
            .act(&sy_rev, &hn_app, Action::Approve, args("200000"))
            .await
            .unwrap();
        assert_eq!(a.approved, Some(m("200000")), "{l}");
        // 200,000.00 split 1:1: 100,000.00 paid by 沈阳市, 100,000.00 by 浑南区.
        let mut parts: Vec<(String, Option<String>, i64)> = sqlx::query_as(
            "SELECT level, payer, amount_fen FROM ledger WHERE application_id = $1 AND entry = 'commitment' ORDER BY level",
        )
        .bind(&hn_app)
        .fetch_all(s.pool())
        .await
        .unwrap();
        parts.sort();
        assert_eq!(
            parts,
            vec![
                ("city".into(), Some("shenyang".into()), 10_000_000),
                ("district".into(), Some("hunnan".into()), 10_000_000)
            ],
            "{l}"
        );
        // Budgets as each level sees them.
        let lines = |v: Vec<kc_store::BudgetLine>| -> Vec<(String, String, i64, Option<i64>)> {
            v.into_iter()
                .map(|b| (b.level, b.jurisdiction, b.committed_fen, b.budget_fen))
                .collect()
        };
        assert_eq!(
            lines(
                s.budget_status_for(&hn_fin, "hitech_first", 2023)
                    .await
                    .unwrap()
            ),
            vec![(
                "district".into(),
                "hunnan".into(),
                10_000_000,
                Some(15_000_000)
            )],
            "{l}"
        );
        assert_eq!(
            lines(
                s.budget_status_for(&sy_fin, "hitech_first", 2023)
                    .await
                    .unwrap()
            ),
            vec![
                (
                    "city".into(),
                    "shenyang".into(),
                    10_000_000,
                    Some(50_000_000)
                ),
                (
                    "district".into(),
                    "hunnan".into(),
                    10_000_000,
                    Some(15_000_000)
                )
            ],
            "{l}"
        );
        assert!(
            s.budget_status_for(
                &staff("lc-fin", Role::Finance, "liaocheng"),
                "hitech_first",
                2023
            )
            .await
            .unwrap()
            .is_empty(),
            "{l}"
        );
        // 公示 by the approving level, then each finance pays its own part only.
        let e = s
            .act(
                &hn_rev,
                &hn_app,
                Action::PublishNotice,
                ActArgs {
                    notice_days: Some(0),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
        assert_eq!(code(&e), "awaiting_other_level", "{l}: {e}");
        s.act(
            &sy_rev,
            &hn_app,
            Action::PublishNotice,
            ActArgs {
                notice_days: Some(0),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let e = s
            .pay(&hn_fin, &hn_app, "city", m("100000"))
            .await
            .unwrap_err();
        assert_eq!(code(&e), "forbidden", "{l}: {e}");
        let e = s
            .pay(&sy_fin, &hn_app, "district", m("100000"))
            .await
            .unwrap_err();
        assert_eq!(code(&e), "forbidden", "{l}: {e}");
        let e = s
            .pay(
                &staff("tx-fin", Role::Finance, "tiexi"),
                &hn_app,
                "district",
                m("100000"),
            )
            .await
            .unwrap_err();
        assert_eq!(code(&e), "forbidden", "{l}: {e}");
        let a = s
            .pay(&hn_fin, &hn_app, "district", m("100000"))
            .await
            .unwrap();
        assert_eq!(
            a.state,
            AppState::PublicNotice,
            "{l}: the city's half is still due"
        );
        let a = s.pay(&sy_fin, &hn_app, "city", m("100000")).await.unwrap();
        assert_eq!(a.state, AppState::Disbursed, "{l}");
        let payments: Vec<(String, Option<String>, i64)> = sqlx::query_as(
            "SELECT level, payer, amount_fen FROM ledger WHERE application_id = $1 AND entry = 'payment' ORDER BY level",
        )
        .bind(&hn_app)
        .fetch_all(s.pool())
        .await
        .unwrap();
        assert_eq!(
            payments,
            vec![
                ("city".into(), Some("shenyang".into()), 10_000_000),
                ("district".into(), Some("hunnan".into()), 10_000_000)
            ],
            "{l}"
        );

        // One level pays: one review, by that level. A county of Liaocheng sees its own
        // applicant but does not review what the city alone pays.
        assert_eq!(
            s.review_stages("voucher_institution", "gaotang"),
            vec!["liaocheng"]
        );
        let gt_rev = staff("gt-rev", Role::Reviewer, "gaotang");
        assert!(s.application(&gt_rev, &gt_app).await.is_ok(), "{l}");
        let e = s
            .act(&gt_rev, &gt_app, Action::StartReview, ActArgs::default())
            .await
            .unwrap_err();
        assert_eq!(code(&e), "awaiting_other_level", "{l}: {e}");
        s.act(&lc_rev, &gt_app, Action::StartReview, ActArgs::default())
            .await
            .unwrap();
        let a = s
            .act(&lc_rev, &gt_app, Action::Approve, ActArgs::default())
            .await
            .unwrap();
        assert_eq!(
            (a.state, a.approved),
            (AppState::Approved, Some(m("500"))),
            "{l}"
        );

        // The audit log as a district's admin sees it: its applicant's records, never
        // Liaocheng's.
        let hn_admin = staff("hn-admin", Role::Admin, "hunnan");
        let log = s
            .audit_for(
                &hn_admin,
                &kc_store::AuditFilter {
                    limit: 500,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert!(log.iter().any(|e| e["entity_id"] == hn_app.as_str()), "{l}");
        assert!(
            !log.iter().any(|e| e["entity_id"] == gt_app.as_str()),
            "{l}"
        );
        assert!(
            !log.iter().any(|e| e["entity_id"] == tx_app.as_str()),
            "{l}"
        );
        // Exports per jurisdiction: the city may export one district, a district not another.
        let (_, rows) = s
            .applications_table_in(s.export_scope(&sy_rev, Some("hunnan")).unwrap().as_deref())
            .await
            .unwrap();
        assert_eq!(rows.len(), 1, "{l}");
        assert_eq!(rows[0][0], hn_app, "{l}");
        let e = s.export_scope(&hn_rev, Some("tiexi")).unwrap_err();
        assert_eq!(code(&e), "forbidden", "{l}");
        // Every ledger row of the district's export is its applicant's.
        let (_, ledger) = s
            .ledger_table_in(s.export_scope(&hn_rev, None).unwrap().as_deref())
            .await
            .unwrap();
        assert_eq!(ledger.len(), 4, "{l}: two commitments, two payments");
        assert!(ledger.iter().all(|r| r[2] == HUNNAN), "{l}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_higher_level_first_when_the_bureau_configures_it() {
    for db in backends("higher_first").await {
        let s = open(&db)
            .await
            .with_review_order(kc_domain::ReviewOrder::HigherFirst);
        s.upsert_applicant(&admin(), &hunnan_enterprise())
            .await
            .unwrap();
        assert_eq!(
            s.review_stages("hitech_first", "hunnan"),
            vec!["shenyang", "hunnan"]
        );
        let id = submitted(&s, HUNNAN, hitech("h1"), "hitech_first").await;
        let (sy, hn) = (
            staff("sy", Role::Reviewer, "shenyang"),
            staff("hn", Role::Reviewer, "hunnan"),
        );
        let e = s
            .act(&hn, &id, Action::StartReview, ActArgs::default())
            .await
            .unwrap_err();
        assert_eq!(code(&e), "awaiting_other_level", "{}", db.label);
        s.act(&sy, &id, Action::StartReview, ActArgs::default())
            .await
            .unwrap();
        s.act(
            &sy,
            &id,
            Action::Recommend,
            ActArgs {
                amount: Some(m("150000")),
                reason: Some("按专家评审意见".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        s.act(&hn, &id, Action::StartReview, ActArgs::default())
            .await
            .unwrap();
        // Below the engine's 200,000.00: the approving level gives its reason.
        let a = s
            .act(
                &hn,
                &id,
                Action::Approve,
                ActArgs {
                    amount: Some(m("150000")),
                    reason: Some("按专家评审意见".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(a.approved, Some(m("150000")), "{}", db.label);
        // 150,000.00 split 1:1: 75,000.00 each.
        let (committed, _) = s.ledger_totals().await.unwrap();
        assert_eq!(committed, 15_000_000, "{}", db.label);
    }
}
