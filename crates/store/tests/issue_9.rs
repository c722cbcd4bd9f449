//! Issue 9 regressions, on both databases: money inputs are range-checked at the boundary and
//! every sum is checked (no panic, no wrap), and an amount set by review respects the clause's
//! range or the configured ceiling. Amounts are worked out by hand from the quoted clauses.

mod common;

use common::*;
use kc_domain::{Action, AppState};
use kc_money::Money;
use kc_store::{ActArgs, Actor, StoreError};
use serde_json::json;

fn m(s: &str) -> Money {
    Money::parse_amount(s).unwrap()
}

fn code(e: &StoreError) -> String {
    match e {
        StoreError::Refused { code, .. } => code.to_string(),
        StoreError::Invalid(m) => format!("invalid: {m}"),
        other => format!("{other:?}"),
    }
}

fn approve(amount: Money) -> ActArgs {
    ActArgs {
        amount: Some(amount),
        ..Default::default()
    }
}

/// 沈政发〔2021〕11号 (一): "对企业承担的国家科技重大专项…按要求给予配套" — no amount and no
/// range, so the amount is set by review and bounded by the ceiling (default 1亿元).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn issue_9_review_amount_without_range_is_bounded_by_the_ceiling() {
    for db in backends("ceiling").await {
        let s = open(&db).await;
        let ev = json!({"id": "p1", "kind": "project_approved", "date": "2022-11-20",
                        "programme": "national_major_project", "project": "示例专项课题"});
        let id = hunnan_in_review(&s, &ev, "national_major_project_matching").await;
        // 2×10^15 元 (the issue's amount) cannot even be a value at the boundary.
        assert!(Money::parse_amount("2000000000000000").is_err());
        // One fen above the default ceiling of 100,000,000.00 元 is refused…
        let e = s
            .act(
                &reviewer(1),
                &id,
                Action::Approve,
                approve(m("100000000.01")),
            )
            .await
            .unwrap_err();
        assert_eq!(code(&e), "above_ceiling", "{}", db.label);
        assert!(e.to_string().contains("100,000,000.00"), "{e}");
        // …and nothing was committed.
        assert!(
            s.budget_status("national_major_project_matching", 2023)
                .await
                .unwrap()
                .iter()
                .all(|l| l.committed_fen == 0),
            "{}",
            db.label
        );
        // The ceiling itself is accepted and split 1:1 (涉企补助): 50,000,000.00 each.
        let a = s
            .act(&reviewer(1), &id, Action::Approve, approve(m("100000000")))
            .await
            .unwrap();
        assert_eq!(
            (a.state, a.approved),
            (AppState::Approved, Some(m("100000000")))
        );
        let lines = s
            .budget_status("national_major_project_matching", 2023)
            .await
            .unwrap();
        assert_eq!(
            lines
                .iter()
                .map(|l| (l.level.as_str(), l.committed_fen))
                .collect::<Vec<_>>(),
            vec![("city", 5_000_000_000), ("district", 5_000_000_000)],
            "{}",
            db.label
        );
        // The applicant stays evaluable: its history is within the input limit.
        let input = s
            .eval_input(HUNNAN, "2023-06-30".parse().unwrap())
            .await
            .unwrap();
        assert_eq!(input["history"][0]["amount"], json!("100000000.00"));
    }
}

/// A configured ceiling replaces the default; a clause's own range (1000–3000万元 of (四)) is
/// unaffected by it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn issue_9_configured_ceiling() {
    for db in backends("ceiling_cfg").await {
        let s = open(&db).await.with_review_ceiling(m("5000000"));
        assert_eq!(s.review_ceiling(), m("5000000"));
        let ev = json!({"id": "p1", "kind": "project_approved", "date": "2022-11-20",
                        "programme": "national_major_project", "project": "示例专项课题"});
        let id = hunnan_in_review(&s, &ev, "national_major_project_matching").await;
        let e = s
            .act(&reviewer(1), &id, Action::Approve, approve(m("5000000.01")))
            .await
            .unwrap_err();
        assert_eq!(code(&e), "above_ceiling", "{}", db.label);
        s.act(&reviewer(1), &id, Action::Approve, approve(m("5000000")))
            .await
            .unwrap();
    }
}

/// Payments near the type limits: refused with a reason, never a panic or a wrapped sum.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn issue_9_payments_and_budgets_near_the_limits() {
    for db in backends("limits").await {
        let s = open(&db).await;
        // A budget beyond the one maximum is refused, not a panic (`budget set` exited 101).
        let e = s
            .set_budget(
                &admin(),
                "hitech_first",
                2023,
                "city",
                Money::from_decimal(kc_money::Dec::MAX),
            )
            .await
            .unwrap_err();
        assert!(code(&e).starts_with("invalid"), "{}: {e}", db.label);
        let e = s
            .set_budget(&admin(), "hitech_first", 20223, "city", m("1"))
            .await
            .unwrap_err();
        assert!(code(&e).contains("20223"), "{}: {e}", db.label);
        s.set_budget(&admin(), "hitech_first", 2023, "city", Money::MAX)
            .await
            .unwrap();

        // An approved (五) high-tech award: 200,000.00 元, 100,000.00 per level.
        let ev = json!({"id": "c1", "kind": "certified", "date": "2023-03-01", "cert": "high_tech", "first": true});
        let id = hunnan_in_review(&s, &ev, "hitech_first").await;
        // 给予最高20万元: the reviewer names the amount, here the cap.
        s.act(&reviewer(1), &id, Action::Approve, amount("200000"))
            .await
            .unwrap();
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
        // The issue's payment: 79228162514264337593543950335 元 dropped the connection.
        let e = s
            .pay(
                &finance(),
                &id,
                "city",
                Money::from_decimal(kc_money::Dec::MAX),
            )
            .await
            .unwrap_err();
        assert!(code(&e).starts_with("invalid"), "{}: {e}", db.label);
        // The maximum itself is a valid amount, and an overpayment.
        let e = s
            .pay(&finance(), &id, "city", Money::MAX)
            .await
            .unwrap_err();
        assert_eq!(code(&e), "overpayment", "{}", db.label);
        // Exact payment still works after the refusals: 100,000.00 at city level.
        let a = s.pay(&finance(), &id, "city", m("100000")).await.unwrap();
        assert_eq!(a.state, AppState::PublicNotice, "{}", db.label);
    }
}

/// Two first filings imported before either offer is confirmed: (五) 首次备案的科技型中小企业
/// 给予2万元 is once per applicant, so one offer (20,000.00 元), not one per event. Before, the
/// pending offer was not counted and each event got its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn issue_9_a_once_only_measure_is_offered_once_for_several_events() {
    for db in backends("offer_once").await {
        let s = open(&db).await;
        s.upsert_applicant(&admin(), &hunnan_enterprise())
            .await
            .unwrap();
        let f1 = json!({"id": "f1", "kind": "certified", "date": "2023-02-01", "cert": "tech_sme", "first": true});
        let f2 = json!({"id": "f2", "kind": "certified", "date": "2023-03-01", "cert": "tech_sme", "first": true});
        let (_, first) = s
            .add_event_with_offers(&admin(), HUNNAN, &f1)
            .await
            .unwrap();
        let (_, second) = s
            .add_event_with_offers(&admin(), HUNNAN, &f2)
            .await
            .unwrap();
        assert_eq!(first.len(), 1, "{}", db.label);
        assert!(second.is_empty(), "{}: {second:?}", db.label);
        // Declining the offer frees the measure for the other event's claim by application.
        let me = Actor::applicant("u-hn", HUNNAN);
        s.act(&me, &first[0], Action::DeclineOffer, ActArgs::default())
            .await
            .unwrap();
        let (_, third) = s
            .add_event_with_offers(
                &admin(),
                HUNNAN,
                &json!({"id": "f3", "kind": "certified", "date": "2023-04-01", "cert": "tech_sme", "first": true}),
            )
            .await
            .unwrap();
        assert_eq!(
            third.len(),
            1,
            "{}: a declined offer no longer counts",
            db.label
        );
    }
}

/// Import names every problem of a row, not only the first, and a misspelt column even where
/// its cells are empty (issue 9). Nothing is written while any problem remains.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn issue_9_import_reports_every_problem_of_every_row() {
    let db = sqlite("import_all").await;
    let s = open(&db).await;
    let strings = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let headers = strings(&[
        "id",
        "name",
        "kind",
        "region",
        "regoin",
        "figures.2023.revenue",
    ]);
    let rows = vec![
        // A bad check digit, an unknown kind and a revenue with misplaced separators.
        (
            2,
            strings(&["91210112MA0XK8R34X", "甲", "startup", "hunnan", "", "1,2,3"]),
        ),
        // A good row.
        (
            3,
            strings(&[
                "91210112MA0XK8R34Y",
                "乙",
                "enterprise",
                "hunnan",
                "",
                "100",
            ]),
        ),
    ];
    let ev_headers = strings(&["applicant_id", "id", "kind", "date", "contract_amount"]);
    let ev_rows = vec![
        // A date that does not exist and an amount that is not one.
        (
            2,
            strings(&[
                "91210112MA0XK8R34Y",
                "v1",
                "voucher_service_delivered",
                "2023-02-30",
                "abc",
            ]),
        ),
    ];
    let errors = s
        .validate_import(
            Some((
                "applicants.csv",
                kc_store::Rows {
                    headers: &headers,
                    rows: &rows,
                },
            )),
            Some((
                "events.csv",
                kc_store::Rows {
                    headers: &ev_headers,
                    rows: &ev_rows,
                },
            )),
        )
        .unwrap_err();
    let found: Vec<(String, usize, String)> = errors
        .iter()
        .map(|e| (e.file.clone(), e.row, e.column.clone()))
        .collect();
    let want = |f: &str, r: usize, c: &str| (f.to_string(), r, c.to_string());
    for w in [
        want("applicants.csv", 1, "regoin"),
        want("applicants.csv", 2, "figures.2023.revenue"),
        want("applicants.csv", 2, "id"),
        want("applicants.csv", 2, "kind"),
        want("events.csv", 2, "contract_amount"),
        want("events.csv", 2, "date"),
    ] {
        assert!(found.contains(&w), "{w:?} not reported in {errors:#?}");
    }
    assert!(
        !found
            .iter()
            .any(|(f, r, _)| f == "applicants.csv" && *r == 3),
        "the good row has no problem: {errors:#?}"
    );
    assert_eq!(s.row_counts().await.unwrap()[0], ("applicants", 0));
}
