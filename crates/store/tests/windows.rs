//! Application windows (申报期) and claim deadlines in the store, on both databases: `apply`
//! inside a window is accepted, and outside it is refused with the reason in words. The
//! library is the shipped one plus a test fixture call (`tests/lifecycle/window/window.md`:
//! applications 2024-03-01 .. 2024-04-30 for the (十八) registration reward, events of 2023)
//! or the fixture amendment with `claim within 1 year` (`tests/lifecycle/amend/amend.md`).

mod common;

use common::*;
use kc_check::{Library, SourceFile};
use kc_store::{Actor, Store, StoreError};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;

fn library_with(case: &str) -> Arc<Library> {
    let mut files = kc_library::shipped();
    let rel = format!("tests/lifecycle/{case}/{case}.md");
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(&rel);
    files.push(SourceFile {
        path: rel,
        text: std::fs::read_to_string(path).unwrap(),
    });
    let checked = kc_check::check_library(&files);
    assert!(!checked.has_errors(), "{}", checked.render(&files));
    Arc::new(checked.library.unwrap())
}

/// Noon in China on `day`.
fn at(day: &'static str) -> impl Fn() -> jiff::Timestamp + Send + Sync + 'static {
    move || format!("{day}T04:00:00Z").parse().unwrap()
}

async fn store(db: &TestDb, lib: Arc<Library>, day: &'static str) -> Store {
    Store::open(&db.url, lib)
        .await
        .unwrap_or_else(|e| panic!("{}: open: {e}", db.label))
        .with_clock(at(day))
}

/// A Heping technology contract registration institution with one registration event.
async fn institution_with_event(s: &Store, date: &str) -> (Actor, String, String) {
    let id = kc_domain::Uscc::complete("12210102415007255")
        .unwrap()
        .to_string();
    s.upsert_applicant(
        &admin(),
        &json!({"id": id, "name": "沈阳和平示例技术市场服务中心",
                "kind": "contract_registration_institution", "region": "heping"}),
    )
    .await
    .unwrap();
    let ev = json!({"id": "r1", "kind": "contract_registration_volume", "date": date,
                    "registration_year": 2022, "registered_volume": "300000000.00"});
    let (ev, _) = s.add_event_with_offers(&admin(), &id, &ev).await.unwrap();
    (Actor::applicant("u-hp", &id), id, ev)
}

fn refusal(e: StoreError) -> (String, String) {
    match e {
        StoreError::Refused { code, message } => (code.to_string(), message),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_window_accepts_an_application_inside_and_refuses_a_late_one_with_its_reason() {
    let lib = library_with("window");
    for db in backends("windows").await {
        // Inside the window (2024-03-01 .. 2024-04-30), for an event of 2023: accepted.
        let s = store(&db, lib.clone(), "2024-04-30").await;
        let (me, id, ev) = institution_with_event(&s, "2023-05-01").await;
        let app = s
            .apply(&me, &id, "contract_registration_institution", &ev)
            .await;
        assert!(app.is_ok(), "{}: {app:?}", db.label);

        // A draft made in the window but handed in after it closed is refused too.
        let app = app.unwrap();
        ready(&s, &me, &app).await;
        let late = store(&db, lib.clone(), "2024-05-01").await;
        let (code, _) = refusal(
            late.act(
                &me,
                &app,
                kc_domain::Action::Submit,
                kc_store::ActArgs::default(),
            )
            .await
            .unwrap_err(),
        );
        assert_eq!(code, "window_closed", "{}", db.label);
        // Handed in on the last day: accepted.
        s.act(
            &me,
            &app,
            kc_domain::Action::Submit,
            kc_store::ActArgs::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", db.label));

        // The same store a day after the window closed: refused, with the reason.
        let s = store(&db, lib.clone(), "2024-05-01").await;
        let e = s
            .apply(&me, &id, "contract_registration_institution", &ev)
            .await
            .unwrap_err();
        let (code, message) = refusal(e);
        assert_eq!(code, "window_closed", "{}", db.label);
        assert_eq!(
            message,
            "申报期已结束:“2024年度技术合同登记机构奖励申报”的申报期为 2024-03-01 至 2024-04-30 \
             (the application window has closed: “2024 call: contract registration rewards” took \
             applications from 2024-03-01 to 2024-04-30)",
            "{}",
            db.label
        );

        // Before it opens: refused too, saying when it opens.
        let s = store(&db, lib.clone(), "2024-02-29").await;
        let (code, message) = refusal(
            s.apply(&me, &id, "contract_registration_institution", &ev)
                .await
                .unwrap_err(),
        );
        assert_eq!(code, "window_not_open", "{}", db.label);
        assert!(message.starts_with("申报期尚未开始"), "{message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_claim_deadline_refuses_a_late_application() {
    let lib = library_with("amend");
    for db in backends("claim_deadline").await {
        let m = "contract_registration_institution_2023";
        // Event 2023-02-01, claim within 1 year: 2024-02-01 is the last day.
        let s = store(&db, lib.clone(), "2024-02-01").await;
        let (me, id, ev) = institution_with_event(&s, "2023-02-01").await;
        assert!(s.apply(&me, &id, m, &ev).await.is_ok(), "{}", db.label);
        let s = store(&db, lib.clone(), "2024-02-02").await;
        let (code, message) = refusal(s.apply(&me, &id, m, &ev).await.unwrap_err());
        assert_eq!(code, "claim_deadline_passed", "{}", db.label);
        assert!(
            message.starts_with(
                "已超过申请期限:须在事项发生后1年内申请(事项日期 2023-02-01,截止 2024-02-01)"
            ),
            "{message}"
        );
    }
}
