//! Issue 10, item 6 (risky defaults), on both databases: a 最高 measure is approved only with an
//! explicit amount, a fixed sum may still default to the engine's amount, and the 公示 period
//! lies in 5–30 days unless the operator sets another range.

mod common;

use common::*;
use kc_domain::{Action, AppState};
use kc_money::Money;
use kc_store::{ActArgs, Actor, Store, StoreError};
use serde_json::json;

fn m(s: &str) -> Money {
    Money::parse_amount(s).unwrap()
}

fn refusal(e: &StoreError) -> (String, String) {
    match e {
        StoreError::Refused { code, message } => (code.to_string(), message.clone()),
        StoreError::Invalid(m) => ("invalid".into(), m.clone()),
        other => (format!("{other:?}"), String::new()),
    }
}

/// An application of `measure` on a certification event, submitted and in review.
async fn in_review(s: &Store, me: &Actor, ev: &str, cert: &str, measure: &str) -> String {
    s.add_event(
        &admin(),
        HUNNAN,
        &json!({"id": ev, "kind": "certified", "date": "2023-03-01", "cert": cert, "first": true}),
    )
    .await
    .unwrap();
    let id = s.apply(me, HUNNAN, measure, ev).await.unwrap();
    ready(s, me, &id).await;
    s.act(me, &id, Action::Submit, ActArgs::default())
        .await
        .unwrap();
    s.act(&reviewer(1), &id, Action::StartReview, ActArgs::default())
        .await
        .unwrap();
    through_lower_levels(s, &id).await;
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cap_needs_an_explicit_amount_and_a_fixed_sum_does_not() {
    for db in backends("amount_rule").await {
        let s = open(&db).await;
        let me = Actor::applicant("u-hn", HUNNAN);
        s.upsert_applicant(&admin(), &hunnan_enterprise())
            .await
            .unwrap();
        // (五) 首次认定的高新技术企业给予最高20万元: no default amount.
        let id = in_review(&s, &me, "c1", "high_tech", "hitech_first").await;
        let e = s
            .act(&reviewer(1), &id, Action::Approve, ActArgs::default())
            .await
            .unwrap_err();
        let (code, message) = refusal(&e);
        assert_eq!(code, "amount_required", "{}: {e}", db.label);
        assert!(
            message.contains("本措施为“最高 200,000.00 元”,请填写批准金额"),
            "{}: {message}",
            db.label
        );
        // Nothing was committed, and the application is still in review.
        assert_eq!(s.ledger_totals().await.unwrap().0, 0, "{}", db.label);
        assert_eq!(
            s.application(&admin(), &id).await.unwrap().state,
            AppState::InReview
        );
        // With the amount named (the cap itself), it is approved: 200,000.00 元.
        let a = s
            .act(&reviewer(1), &id, Action::Approve, amount("200000"))
            .await
            .unwrap();
        assert_eq!(a.approved, Some(m("200000")), "{}", db.label);
        assert_eq!(s.ledger_totals().await.unwrap().0, 20_000_000);
        // (五) 首次备案的科技型中小企业给予2万元: a fixed sum still defaults to 20,000.00 元.
        let id = in_review(&s, &me, "c2", "tech_sme", "tech_sme_first").await;
        let a = s
            .act(&reviewer(1), &id, Action::Approve, ActArgs::default())
            .await
            .unwrap();
        assert_eq!(a.approved, Some(m("20000")), "{}", db.label);
        assert_eq!(s.ledger_totals().await.unwrap().0, 22_000_000);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_notice_period_is_5_to_30_days_unless_configured() {
    for db in backends("notice_range").await {
        // Opened without the test harness's 0–30 range: the default.
        let s = open(&db)
            .await
            .with_notice_days(kc_store::DEFAULT_NOTICE_DAYS);
        assert_eq!(s.notice_days(), 5..=30);
        let me = Actor::applicant("u-hn", HUNNAN);
        s.upsert_applicant(&admin(), &hunnan_enterprise())
            .await
            .unwrap();
        let id = in_review(&s, &me, "c1", "tech_sme", "tech_sme_first").await;
        s.act(&reviewer(1), &id, Action::Approve, ActArgs::default())
            .await
            .unwrap();
        for days in [0, 4, 31] {
            let e = s
                .act(
                    &reviewer(1),
                    &id,
                    Action::PublishNotice,
                    ActArgs {
                        notice_days: Some(days),
                        ..Default::default()
                    },
                )
                .await
                .unwrap_err();
            let (code, message) = refusal(&e);
            assert_eq!(code, "invalid", "{}: {days}: {e}", db.label);
            assert!(message.contains("5 至 30 天"), "{}: {message}", db.label);
        }
        // Still approved: a refused step writes nothing.
        assert_eq!(
            s.application(&admin(), &id).await.unwrap().state,
            AppState::Approved
        );
        // 5 days from the fixed clock's today (2023-06-30) ends on 2023-07-05.
        let a = s
            .act(
                &reviewer(1),
                &id,
                Action::PublishNotice,
                ActArgs {
                    notice_days: Some(5),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(
            a.notice_until.as_deref(),
            Some("2023-07-05"),
            "{}",
            db.label
        );
        // Without a period: 7 days, 2023-07-07. And a configured range of 0–30 accepts 0.
        let s0 = open(&db).await;
        let id2 = in_review(&s0, &me, "c2", "high_tech", "hitech_first").await;
        s0.act(&reviewer(1), &id2, Action::Approve, amount("200000"))
            .await
            .unwrap();
        let a = s0
            .act(
                &reviewer(1),
                &id2,
                Action::PublishNotice,
                ActArgs {
                    notice_days: Some(0),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(
            a.notice_until.as_deref(),
            Some("2023-06-30"),
            "{}",
            db.label
        );
        let id3 = {
            s.add_event(
                &admin(),
                HUNNAN,
                &json!({"id": "g1", "kind": "certified", "date": "2023-03-01", "cert": "gazelle_provincial", "first": true}),
            )
            .await
            .unwrap();
            let id = s
                .apply(&me, HUNNAN, "gazelle_unicorn_first", "g1")
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
            s.act(&reviewer(1), &id, Action::Approve, ActArgs::default())
                .await
                .unwrap();
            id
        };
        let a = s
            .act(
                &reviewer(1),
                &id3,
                Action::PublishNotice,
                ActArgs::default(),
            )
            .await
            .unwrap();
        assert_eq!(
            a.notice_until.as_deref(),
            Some("2023-07-07"),
            "{}",
            db.label
        );
    }
}
