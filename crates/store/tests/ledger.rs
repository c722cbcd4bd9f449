//! The ledger and workflow on both databases: every test runs on SQLite and, when configured,
//! on PostgreSQL (see common/mod.rs). Amounts are worked out by hand from the quoted clauses.

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

fn hitech_event(id: &str, date: &str) -> serde_json::Value {
    json!({"id": id, "kind": "certified", "date": date, "cert": "high_tech", "first": true})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_application_goes_from_draft_to_disbursed_with_exact_ledger_rows() {
    for db in backends("happy").await {
        let s = open(&db).await;
        let me = Actor::applicant("u-hn", HUNNAN);
        s.upsert_applicant(&admin(), &hunnan_enterprise())
            .await
            .unwrap();
        let (ev, offers) = s
            .add_event_with_offers(&admin(), HUNNAN, &hitech_event("c1", "2023-03-01"))
            .await
            .unwrap();
        assert!(
            offers.is_empty(),
            "{}: (五) high-tech is a cap (最高20万元), not a fixed offer",
            db.label
        );
        let id = s.apply(&me, HUNNAN, "hitech_first", &ev).await.unwrap();
        ready(&s, &me, &id).await;
        let a = s
            .act(&me, &id, Action::Submit, ActArgs::default())
            .await
            .unwrap();
        assert_eq!(a.computed, Some(m("200000")), "{}", db.label);
        s.act(&reviewer(1), &id, Action::StartReview, ActArgs::default())
            .await
            .unwrap();
        through_lower_levels(&s, &id).await;
        // Below the cap needs a reason; above it is refused.
        let below = ActArgs {
            amount: Some(m("150000")),
            ..Default::default()
        };
        assert_eq!(
            code(
                &s.act(&reviewer(1), &id, Action::Approve, below.clone())
                    .await
                    .unwrap_err()
            ),
            "reason_required"
        );
        let above = ActArgs {
            amount: Some(m("200000.01")),
            ..Default::default()
        };
        assert_eq!(
            code(
                &s.act(&reviewer(1), &id, Action::Approve, above)
                    .await
                    .unwrap_err()
            ),
            "cap_exceeded"
        );
        let a = s
            .act(
                &reviewer(1),
                &id,
                Action::Approve,
                ActArgs {
                    reason: Some("材料核减".into()),
                    ..below
                },
            )
            .await
            .unwrap();
        assert_eq!(
            (a.state, a.approved),
            (AppState::Approved, Some(m("150000")))
        );
        // 涉企补助 1:1 — 市 75,000.00 + 区 75,000.00.
        let lines = s.budget_status("hitech_first", 2023).await.unwrap();
        assert_eq!(
            lines
                .iter()
                .map(|l| (l.level.as_str(), l.committed_fen))
                .collect::<Vec<_>>(),
            vec![("city", 7_500_000), ("district", 7_500_000)]
        );
        s.act(
            &reviewer(1),
            &id,
            Action::PublishNotice,
            ActArgs {
                notice_days: Some(0),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let notices = s.public_notices().await.unwrap();
        assert_eq!(notices.len(), 1);
        assert_eq!(
            (
                notices[0].applicant_id.as_str(),
                notices[0].measure.as_str(),
                notices[0].amount
            ),
            (HUNNAN, "hitech_first", m("150000"))
        );
        assert_eq!(
            code(
                &s.pay(&finance(), &id, "city", m("75000.01"))
                    .await
                    .unwrap_err()
            ),
            "overpayment"
        );
        assert_eq!(
            code(&s.pay(&reviewer(1), &id, "city", m("1")).await.unwrap_err()),
            "transition"
        );
        let a = s.pay(&finance(), &id, "city", m("75000")).await.unwrap();
        assert_eq!(a.state, AppState::PublicNotice, "{}: half paid", db.label);
        let a = s
            .pay(&finance(), &id, "district", m("75000"))
            .await
            .unwrap();
        assert_eq!(a.state, AppState::Disbursed);
        assert_eq!(s.ledger_totals().await.unwrap(), (15_000_000, 15_000_000));
        // Illegal step after the end.
        assert_eq!(
            code(
                &s.act(&me, &id, Action::Withdraw, ActArgs::default())
                    .await
                    .unwrap_err()
            ),
            "transition"
        );
        // The audit log saw every step.
        let log = s.audit_log(100).await.unwrap();
        for action in ["submit", "start_review", "approve", "publish_notice", "pay"] {
            assert!(
                log.iter().any(|e| e["action"] == action),
                "{}: no audit entry for {action}",
                db.label
            );
        }
        // Filters: exact fields and a time range, newest first.
        let pays = s
            .audit_query(&kc_store::AuditFilter {
                action: Some("pay".into()),
                entity_id: Some(id.clone()),
                from: Some("2000-01-01".into()),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(pays.len(), 2, "{}: two payments", db.label);
        assert!(pays[0]["seq"].as_i64() > pays[1]["seq"].as_i64());
        let none = s
            .audit_query(&kc_store::AuditFilter {
                action: Some("pay".into()),
                until: Some("2000-01-01".into()),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(none.is_empty(), "{}", db.label);
        // Keyset paging: the page after the newest payment holds the older one only.
        let next = s
            .audit_query(&kc_store::AuditFilter {
                action: Some("pay".into()),
                entity_id: Some(id.clone()),
                before_seq: pays[0]["seq"].as_i64(),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(next.len(), 1, "{}", db.label);
        assert_eq!(next[0]["seq"], pays[1]["seq"], "{}", db.label);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn once_only_duplicates_and_other_applicants_are_refused() {
    for db in backends("once").await {
        let s = open(&db).await;
        let me = Actor::applicant("u-hn", HUNNAN);
        s.upsert_applicant(&admin(), &hunnan_enterprise())
            .await
            .unwrap();
        s.upsert_applicant(&admin(), &gaotang_institution())
            .await
            .unwrap();
        s.add_event(&admin(), HUNNAN, &hitech_event("c1", "2023-01-05"))
            .await
            .unwrap();
        s.add_event(&admin(), HUNNAN, &hitech_event("c2", "2023-02-05"))
            .await
            .unwrap();
        let a1 = s.apply(&me, HUNNAN, "hitech_first", "c1").await.unwrap();
        ready(&s, &me, &a1).await;
        // The same applicant, measure and activity again: refused at once.
        assert_eq!(
            code(
                &s.apply(&me, HUNNAN, "hitech_first", "c1")
                    .await
                    .unwrap_err()
            ),
            "duplicate"
        );
        // Another organisation's applicant cannot act for this one, nor see it.
        let other = Actor::applicant("u-gt", GAOTANG);
        assert_eq!(
            code(
                &s.apply(&other, HUNNAN, "hitech_first", "c2")
                    .await
                    .unwrap_err()
            ),
            "forbidden"
        );
        assert_eq!(
            code(&s.application(&other, &a1).await.unwrap_err()),
            "forbidden"
        );
        assert!(
            s.applications(&other, Some(HUNNAN))
                .await
                .unwrap()
                .is_empty()
        );
        // A reviewer cannot apply, an applicant cannot approve.
        assert_eq!(
            code(
                &s.apply(&reviewer(1), HUNNAN, "hitech_first", "c2")
                    .await
                    .unwrap_err()
            ),
            "forbidden"
        );
        for (actor, action) in [(&me, Action::Submit), (&reviewer(1), Action::StartReview)] {
            s.act(actor, &a1, action, ActArgs::default()).await.unwrap();
        }
        through_lower_levels(&s, &a1).await;
        assert_eq!(
            code(
                &s.act(&me, &a1, Action::Approve, ActArgs::default())
                    .await
                    .unwrap_err()
            ),
            "transition"
        );
        s.act(&reviewer(1), &a1, Action::Approve, amount("200000"))
            .await
            .unwrap();
        // (五) 首次认定: once per applicant — a second event is not met any more.
        let a2 = s.apply(&me, HUNNAN, "hitech_first", "c2").await.unwrap();
        ready(&s, &me, &a2).await;
        s.act(&me, &a2, Action::Submit, ActArgs::default())
            .await
            .unwrap();
        s.act(&reviewer(2), &a2, Action::StartReview, ActArgs::default())
            .await
            .unwrap();
        // Already the first level (the district's recommendation) weighs it against the ledger.
        let e = s
            .act(&reviewer(2), &a2, Action::Recommend, amount("200000"))
            .await
            .unwrap_err();
        assert_eq!(code(&e), "not_awarded", "{}: {e}", db.label);
        assert!(e.to_string().contains("仅支持一次"), "{e}");
        assert_eq!(s.ledger_totals().await.unwrap().0, 20_000_000);
        // The ledger refuses UPDATE and DELETE in the database itself.
        for sql in ["UPDATE ledger SET amount_fen = 1", "DELETE FROM ledger"] {
            let r = sqlx::query(sql).execute(s.pool()).await;
            assert!(r.is_err(), "{}: {sql} should fail", db.label);
            assert!(r.unwrap_err().to_string().contains("append-only"));
        }
        assert_eq!(s.ledger_totals().await.unwrap().0, 20_000_000);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reversal_restores_cumulative_headroom() {
    for db in backends("reversal").await {
        let s = open(&db).await;
        let me = Actor::applicant("u-hn", HUNNAN);
        s.upsert_applicant(&admin(), &hunnan_enterprise())
            .await
            .unwrap();
        // (二十三) 50% of interest + appraisal + guarantee fees, 累计最高20万元.
        let loan = |id: &str, interest: &str| {
            json!({"id": id, "kind": "ip_pledge_loan_costs_paid", "date": "2023-04-01",
                                                   "interest": interest, "appraisal_fee": "0", "guarantee_fee": "0"})
        };
        let mut ids = Vec::new();
        for (ev, interest) in [("l1", "300000"), ("l2", "200000")] {
            s.add_event(&admin(), HUNNAN, &loan(ev, interest))
                .await
                .unwrap();
            let id = s.apply(&me, HUNNAN, "ip_pledge_loan", ev).await.unwrap();
            ready(&s, &me, &id).await;
            s.act(&me, &id, Action::Submit, ActArgs::default())
                .await
                .unwrap();
            s.act(&reviewer(1), &id, Action::StartReview, ActArgs::default())
                .await
                .unwrap();
            through_lower_levels(&s, &id).await;
            ids.push(id);
        }
        // l1: 50% × 300,000 = 150,000 (headroom 200,000).
        let a = s
            .act(&reviewer(1), &ids[0], Action::Approve, ActArgs::default())
            .await
            .unwrap();
        assert_eq!(a.approved, Some(m("150000")));
        // l2: 50% × 200,000 = 100,000, but only 50,000 headroom is left.
        let a = s
            .act(&reviewer(1), &ids[1], Action::Approve, ActArgs::default())
            .await
            .unwrap();
        assert_eq!(a.approved, Some(m("50000")), "{}", db.label);
        // An objection during notice reverses l1's 150,000 …
        s.act(
            &reviewer(1),
            &ids[0],
            Action::PublishNotice,
            ActArgs {
                notice_days: Some(5),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(
            code(
                &s.pay(&finance(), &ids[0], "city", m("1"))
                    .await
                    .unwrap_err()
            ),
            "notice_not_over"
        );
        assert_eq!(
            code(
                &s.act(&reviewer(1), &ids[0], Action::Object, ActArgs::default())
                    .await
                    .unwrap_err()
            ),
            "reason_required"
        );
        let a = s
            .act(
                &reviewer(1),
                &ids[0],
                Action::Object,
                ActArgs {
                    reason: Some("收到实名异议".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(a.state, AppState::InReview);
        assert_eq!(s.ledger_totals().await.unwrap().0, 5_000_000);
        // … and l1 re-approved may use the restored headroom: 200,000 − 50,000 = 150,000.
        let a = s
            .act(&reviewer(1), &ids[0], Action::Approve, ActArgs::default())
            .await
            .unwrap();
        assert_eq!(a.approved, Some(m("150000")), "{}", db.label);
        assert_eq!(s.ledger_totals().await.unwrap().0, 20_000_000);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn budgets_refuse_overcommitment_and_warn_at_70_and_90_percent() {
    for db in backends("budget").await {
        let s = open(&db).await;
        let me = Actor::applicant("u-gt", GAOTANG);
        s.upsert_applicant(&admin(), &gaotang_institution())
            .await
            .unwrap();
        // 五(三) 5% of the voucher service contract, city pays all (市财政).
        s.set_budget(&admin(), "voucher_institution", 2023, "city", m("250000"))
            .await
            .unwrap();
        assert_eq!(
            code(
                &s.set_budget(&reviewer(1), "voucher_institution", 2023, "city", m("1"))
                    .await
                    .unwrap_err()
            ),
            "forbidden"
        );
        let mut ids = Vec::new();
        for i in 0..3 {
            let ev = format!("v{i}");
            s.add_event(&admin(), GAOTANG, &json!({"id": ev, "kind": "voucher_service_delivered", "date": "2023-05-10", "contract_amount": "2000000"}))
                .await
                .unwrap();
            let id = s
                .apply(&me, GAOTANG, "voucher_institution", &ev)
                .await
                .unwrap();
            ready(&s, &me, &id).await;
            s.act(&me, &id, Action::Submit, ActArgs::default())
                .await
                .unwrap();
            s.act(&reviewer(1), &id, Action::StartReview, ActArgs::default())
                .await
                .unwrap();
            through_lower_levels(&s, &id).await;
            ids.push(id);
        }
        // 5% × 2,000,000 = 100,000 each; budget 250,000.
        s.act(&reviewer(1), &ids[0], Action::Approve, ActArgs::default())
            .await
            .unwrap();
        assert_eq!(
            s.budget_status("voucher_institution", 2023).await.unwrap()[0].warning(),
            None
        );
        s.act(&reviewer(1), &ids[1], Action::Approve, ActArgs::default())
            .await
            .unwrap();
        let line = s.budget_status("voucher_institution", 2023).await.unwrap()[0].clone();
        assert_eq!(
            (line.committed_fen, line.budget_fen),
            (20_000_000, Some(25_000_000))
        );
        assert!(
            line.warning().unwrap().contains("70%"),
            "200,000 of 250,000 is 80%"
        );
        let e = s
            .act(&reviewer(1), &ids[2], Action::Approve, ActArgs::default())
            .await
            .unwrap_err();
        assert_eq!(code(&e), "budget", "{}: {e}", db.label);
        // A lower amount that fits is fine (with a reason), and crosses 90%.
        s.act(
            &reviewer(1),
            &ids[2],
            Action::Approve,
            ActArgs {
                amount: Some(m("50000")),
                reason: Some("预算余额".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let line = s.budget_status("voucher_institution", 2023).await.unwrap()[0].clone();
        assert_eq!(line.committed_fen, 25_000_000);
        assert!(line.warning().unwrap().contains("90%"));
        let _ = Role::Admin;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_imported_first_filing_becomes_an_offer_once_and_needs_no_review() {
    for db in backends("offer").await {
        let s = open(&db).await;
        let me = Actor::applicant("u-hn", HUNNAN);
        s.upsert_applicant(&admin(), &hunnan_enterprise())
            .await
            .unwrap();
        // (五) 首次备案的科技型中小企业给予2万元: fixed, so 免申即享.
        let filing = json!({"id": "f1", "kind": "certified", "date": "2023-02-01", "cert": "tech_sme", "first": true});
        let (_, offers) = s
            .add_event_with_offers(&admin(), HUNNAN, &filing)
            .await
            .unwrap();
        assert_eq!(offers.len(), 1, "{}", db.label);
        let offer = s.application(&me, &offers[0]).await.unwrap();
        assert_eq!(
            (offer.state, offer.measure.as_str(), offer.computed),
            (AppState::Offered, "tech_sme_first", Some(m("20000")))
        );
        // 意愿确认 needs the bank account and the 承诺书 first.
        let e = s
            .act(&me, &offers[0], Action::ConfirmOffer, ActArgs::default())
            .await
            .unwrap_err();
        assert_eq!(code(&e), "materials_required", "{}", db.label);
        assert!(e.to_string().starts_with("意愿确认前请先"), "{e}");
        ready(&s, &me, &offers[0]).await;
        // 意愿确认: straight to notice, the money committed without review.
        let a = s
            .act(
                &me,
                &offers[0],
                Action::ConfirmOffer,
                ActArgs {
                    notice_days: Some(0),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(
            (a.state, a.approved),
            (AppState::PublicNotice, Some(m("20000")))
        );
        assert_eq!(s.ledger_totals().await.unwrap().0, 2_000_000);
        // A second filing event: once per applicant, so no second offer.
        let again = json!({"id": "f2", "kind": "certified", "date": "2023-03-01", "cert": "tech_sme", "first": true});
        let (_, offers) = s
            .add_event_with_offers(&admin(), HUNNAN, &again)
            .await
            .unwrap();
        assert!(offers.is_empty(), "{}: once only", db.label);
        // Bad input is refused with its path, and nothing is stored.
        let bad =
            json!({"id": "f3", "kind": "certified", "date": "2023-02-30", "cert": "tech_sme"});
        let e = s.add_event(&admin(), HUNNAN, &bad).await.unwrap_err();
        assert!(e.to_string().contains("$.events[0].date"), "{e}");
        let e = s.upsert_applicant(&admin(), &json!({"id": "91210112MA0XK8R34X", "name": "x", "kind": "enterprise", "region": "hunnan"})).await.unwrap_err();
        assert!(e.to_string().contains("校验码"), "{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn repeated_transfers_pay_only_the_increment_and_an_activity_only_once() {
    for db in backends("increment").await {
        let s = open(&db).await;
        let uni = "12371500MB2835925X";
        let uni = kc_domain::Uscc::complete(&uni[..17]).unwrap().to_string();
        s.upsert_applicant(&admin(), &json!({"id": uni, "name": "聊城示例大学", "kind": "university", "region": "dongchangfu"})).await.unwrap();
        let me = Actor::applicant("u-uni", &uni);
        let contract = |id: &str, activity: &str, amount: &str| {
            json!({"id": id, "kind": "contract_registered", "date": "2023-04-01", "contract_type": "tech_transfer",
                   "amount": amount, "activity": activity, "item": "耐高温薄膜制备技术"})
        };
        let approve = async |ev: &str, a: &str| {
            let id = s
                .apply(&me, &uni, "contract_dev_transfer", ev)
                .await
                .unwrap();
            ready(&s, &me, &id).await;
            s.act(&me, &id, Action::Submit, ActArgs::default())
                .await
                .unwrap();
            s.act(&reviewer(1), &id, Action::StartReview, ActArgs::default())
                .await
                .unwrap();
            through_lower_levels(&s, &id).await;
            s.act(&reviewer(1), &id, Action::Approve, amount(a)).await
        };
        // 四(一) 1.5% of 1,000,000 = 15,000.00.
        s.add_event(&admin(), &uni, &contract("t1", "HT-1", "1000000"))
            .await
            .unwrap();
        assert_eq!(
            approve("t1", "15000").await.unwrap().approved,
            Some(m("15000")),
            "{}",
            db.label
        );
        // The same item transferred again for 1,600,000: only the increment, 600,000 × 1.5% = 9,000.00.
        s.add_event(&admin(), &uni, &contract("t2", "HT-2", "1600000"))
            .await
            .unwrap();
        assert_eq!(
            approve("t2", "9000").await.unwrap().approved,
            Some(m("9000")),
            "{}",
            db.label
        );
        // The same transfer activity registered again: 同一项技术转移活动仅补助一次.
        s.add_event(&admin(), &uni, &contract("t3", "HT-2", "2000000"))
            .await
            .unwrap();
        let e = approve("t3", "6000").await.unwrap_err();
        assert_eq!(code(&e), "not_awarded", "{}: {e}", db.label);
        assert!(e.to_string().contains("仅支持一次"), "{e}");
        assert_eq!(s.ledger_totals().await.unwrap().0, 2_400_000);
    }
}
