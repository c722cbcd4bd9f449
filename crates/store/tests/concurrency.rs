//! Fifty reviewers approving at the same moment, competing for one annual cap and one budget:
//! nobody is ever overpaid, on either database. The ledger sums are asserted afterwards.

mod common;

use common::*;
use kc_domain::Action;
use kc_money::Money;
use kc_store::{ActArgs, Actor, StoreError};
use serde_json::json;

async fn prepare(s: &kc_store::Store, n: usize) -> Vec<String> {
    let me = Actor::applicant("u-gt", GAOTANG);
    s.upsert_applicant(&admin(), &gaotang_institution())
        .await
        .unwrap();
    let mut ids = Vec::new();
    for i in 0..n {
        let ev = format!("v{i:02}");
        // 五(三): 5% × 2,000,000 = 100,000 per delivery; 年获补助总额不超过50万元.
        s.add_event(&admin(), GAOTANG, &json!({"id": ev, "kind": "voucher_service_delivered", "date": "2023-05-10", "contract_amount": "2000000"}))
            .await
            .unwrap();
        let id = s
            .apply(&me, GAOTANG, "voucher_institution", &ev)
            .await
            .unwrap();
        s.act(&me, &id, Action::Submit, ActArgs::default())
            .await
            .unwrap();
        s.act(&reviewer(0), &id, Action::StartReview, ActArgs::default())
            .await
            .unwrap();
        ids.push(id);
    }
    ids
}

async fn approve_all(s: &kc_store::Store, ids: Vec<String>) -> (usize, Vec<String>) {
    let mut tasks = Vec::new();
    // All fifty start at the same moment.
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(ids.len()));
    for (i, id) in ids.into_iter().enumerate() {
        let s = s.clone();
        let start = start.clone();
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            s.act(&reviewer(i), &id, Action::Approve, ActArgs::default())
                .await
        }));
    }
    let mut ok = 0;
    let mut refusals = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::Refused { code, .. }) => refusals.push(code.to_string()),
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    (ok, refusals)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn fifty_parallel_approvals_never_exceed_the_annual_cap() {
    for db in backends("cap50").await {
        let s = open(&db)
            .await
            .with_pause_in_approval(std::time::Duration::from_millis(15));
        let ids = prepare(&s, 50).await;
        let (ok, refusals) = approve_all(&s, ids).await;
        // Exactly five fit under 500,000; the other 45 find no headroom left.
        assert_eq!(ok, 5, "{}: {refusals:?}", db.label);
        assert!(
            refusals.iter().all(|c| c == "not_awarded"),
            "{}: {refusals:?}",
            db.label
        );
        assert_eq!(
            s.ledger_totals().await.unwrap(),
            (50_000_000, 0),
            "{}",
            db.label
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn fifty_parallel_approvals_never_exceed_the_budget() {
    for db in backends("budget50").await {
        let s = open(&db)
            .await
            .with_pause_in_approval(std::time::Duration::from_millis(15));
        // A budget below the cap: 350,000 → three approvals of 100,000 fit, never a fourth.
        s.set_budget(
            &admin(),
            "voucher_institution",
            2023,
            "city",
            Money::yuan(350_000),
        )
        .await
        .unwrap();
        let ids = prepare(&s, 50).await;
        let (ok, refusals) = approve_all(&s, ids).await;
        assert_eq!(ok, 3, "{}: {refusals:?}", db.label);
        assert!(
            refusals.iter().all(|c| c == "budget"),
            "{}: {refusals:?}",
            db.label
        );
        let line = &s.budget_status("voucher_institution", 2023).await.unwrap()[0];
        assert_eq!(
            (line.committed_fen, line.budget_fen),
            (30_000_000, Some(35_000_000)),
            "{}",
            db.label
        );
    }
}
