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
        ready(s, &me, &id).await;
        s.act(&me, &id, Action::Submit, ActArgs::default())
            .await
            .unwrap();
        s.act(&reviewer(0), &id, Action::StartReview, ActArgs::default())
            .await
            .unwrap();
        through_lower_levels(s, &id).await;
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

/// A Gaotang service institution numbered `n`, with a valid 统一社会信用代码.
fn institution(n: usize) -> (String, serde_json::Value) {
    let id = kc_domain::Uscc::complete(&format!("9137152600CNCR{n:03}"))
        .unwrap()
        .to_string();
    let profile = json!({"id": id, "name": format!("并发测试服务机构{n:03}"), "kind": "service_institution", "region": "gaotang"});
    (id, profile)
}

/// `per` applications in review for each of `applicants` institutions, 100,000 each.
async fn prepare_many(s: &kc_store::Store, applicants: usize, per: usize) -> Vec<Vec<String>> {
    let mut all = Vec::new();
    for a in 0..applicants {
        let (id, profile) = institution(a);
        s.upsert_applicant(&admin(), &profile).await.unwrap();
        let me = Actor::applicant("u", &id);
        let mut ids = Vec::new();
        for i in 0..per {
            let ev = format!("m{a:03}-{i:02}");
            s.add_event(&admin(), &id, &json!({"id": ev, "kind": "voucher_service_delivered", "date": "2023-05-10", "contract_amount": "2000000"}))
                .await
                .unwrap();
            let app = s.apply(&me, &id, "voucher_institution", &ev).await.unwrap();
            ready(s, &me, &app).await;
            s.act(&me, &app, Action::Submit, ActArgs::default())
                .await
                .unwrap();
            s.act(&reviewer(0), &app, Action::StartReview, ActArgs::default())
                .await
                .unwrap();
            through_lower_levels(s, &app).await;
            ids.push(app);
        }
        all.push(ids);
    }
    all
}

/// Approvals of many applicants under one measure without a budget row run in parallel on
/// PostgreSQL (no lock is shared between applicants), yet each applicant's own approvals still
/// queue on its lock: ten institutions, each with eight deliveries of 100,000 against its
/// 500,000 annual cap, all eighty approved at the same instant — exactly five per institution.
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn parallel_approvals_of_many_applicants_keep_each_annual_cap() {
    for db in backends("caps10").await {
        let s = open(&db)
            .await
            .with_pause_in_approval(std::time::Duration::from_millis(15));
        let apps = prepare_many(&s, 10, 8).await;
        let (ok, refusals) = approve_all(&s, apps.concat()).await;
        assert_eq!(ok, 50, "{}: {refusals:?}", db.label);
        assert!(
            refusals.iter().all(|c| c == "not_awarded"),
            "{}: {refusals:?}",
            db.label
        );
        for a in 0..10 {
            let (id, _) = institution(a);
            let h = s.history(&id).await.unwrap();
            assert_eq!(h.len(), 5, "{}: {id}: {h:?}", db.label);
        }
        assert_eq!(
            s.ledger_totals().await.unwrap(),
            (500_000_000, 0),
            "{}",
            db.label
        );
    }
}

/// With a budget row, approvals of different applicants compete for one budget: forty
/// approvals of twenty institutions at the same instant against 550,000 — exactly five fit.
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn parallel_approvals_of_many_applicants_never_exceed_the_budget() {
    for db in backends("budget20").await {
        let s = open(&db)
            .await
            .with_pause_in_approval(std::time::Duration::from_millis(15));
        s.set_budget(
            &admin(),
            "voucher_institution",
            2023,
            "city",
            Money::yuan(550_000),
        )
        .await
        .unwrap();
        let apps = prepare_many(&s, 20, 2).await;
        let (ok, refusals) = approve_all(&s, apps.concat()).await;
        assert_eq!(ok, 5, "{}: {refusals:?}", db.label);
        assert!(
            refusals.iter().all(|c| c == "budget"),
            "{}: {refusals:?}",
            db.label
        );
        let line = &s.budget_status("voucher_institution", 2023).await.unwrap()[0];
        assert_eq!(
            (line.committed_fen, line.budget_fen),
            (50_000_000, Some(55_000_000)),
            "{}",
            db.label
        );
    }
}

/// A budget set while approvals are under way: an approval that began without a budget row
/// finishes first (setting the budget waits for it), and an approval that comes later waits
/// for the budget and is measured against it. Without that, the later approval could miss
/// the first one's commitment and both would pass a budget that has room for one.
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn a_budget_set_during_approvals_binds_the_later_ones() {
    for db in backends("budgetset").await {
        let s = open(&db)
            .await
            .with_pause_in_approval(std::time::Duration::from_millis(300));
        let apps = prepare_many(&s, 2, 1).await;
        let (first, second) = (apps[0][0].clone(), apps[1][0].clone());
        let s1 = s.clone();
        let a = tokio::spawn(async move {
            s1.act(&reviewer(1), &first, Action::Approve, ActArgs::default())
                .await
        });
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let s2 = s.clone();
        let budget = tokio::spawn(async move {
            s2.set_budget(
                &admin(),
                "voucher_institution",
                2023,
                "city",
                Money::yuan(150_000),
            )
            .await
        });
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let b = s
            .act(&reviewer(2), &second, Action::Approve, ActArgs::default())
            .await;
        a.await.unwrap().unwrap();
        budget.await.unwrap().unwrap();
        match b {
            Err(StoreError::Refused { code: "budget", .. }) => {}
            other => panic!("{}: the later approval: {other:?}", db.label),
        }
        let line = &s.budget_status("voucher_institution", 2023).await.unwrap()[0];
        assert_eq!(
            (line.committed_fen, line.budget_fen),
            (10_000_000, Some(15_000_000)),
            "{}",
            db.label
        );
    }
}
