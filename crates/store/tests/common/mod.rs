//! Test databases: a fresh SQLite file per test, and a fresh PostgreSQL database per test
//! when `KECHUANG_TEST_PG_URL` names a server (scripts/test.sh sets it). Without it the
//! PostgreSQL half is skipped — loudly — unless `KECHUANG_REQUIRE_PG=1`, which makes it fail.

#![allow(dead_code)]

use kc_check::Library;
use kc_store::{Actor, Store};
use serde_json::{Value as J, json};
use std::path::Path;
use std::sync::{Arc, OnceLock};

pub fn library() -> Arc<Library> {
    static LIB: OnceLock<Arc<Library>> = OnceLock::new();
    LIB.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
        let (files, checked) = kc_library::load(&dir).expect("policies load");
        assert!(!checked.has_errors(), "{}", checked.render(&files));
        Arc::new(checked.library.unwrap())
    })
    .clone()
}

/// 2023-06-30 noon in China: inside every Shenyang and Liaocheng validity window.
pub fn fixed_clock() -> jiff::Timestamp {
    "2023-06-30T04:00:00Z".parse().unwrap()
}

pub struct TestDb {
    pub url: String,
    pub label: &'static str,
    _dir: Option<tempdir::Dir>,
}

mod tempdir {
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn unique(name: &str) -> String {
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    format!("kc_{}_{}_{}", name, std::process::id(), n)
}

pub async fn sqlite(name: &str) -> TestDb {
    let dir = std::env::temp_dir().join(unique(name));
    std::fs::create_dir_all(&dir).unwrap();
    TestDb {
        url: dir.join("kechuang.db").display().to_string(),
        label: "sqlite",
        _dir: Some(tempdir::Dir(dir)),
    }
}

/// A fresh PostgreSQL database, or `None` (with a loud notice) when no server is configured.
pub async fn postgres(name: &str) -> Option<TestDb> {
    let Ok(admin) = std::env::var("KECHUANG_TEST_PG_URL") else {
        if std::env::var("KECHUANG_REQUIRE_PG").is_ok_and(|v| v == "1") {
            panic!("KECHUANG_REQUIRE_PG=1 but KECHUANG_TEST_PG_URL is not set");
        }
        eprintln!(
            "\n!!!!!!!! SKIPPED: the PostgreSQL half of `{name}` — set KECHUANG_TEST_PG_URL \
             (e.g. postgres://postgres@127.0.0.1:5432/postgres) or run scripts/test.sh !!!!!!!!\n"
        );
        return None;
    };
    sqlx::any::install_default_drivers();
    let db = unique(name);
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin)
        .await
        .expect("connect to the PostgreSQL test server");
    // Databases left by earlier runs of this test (other processes) are dropped first.
    let old = sqlx::query("SELECT datname FROM pg_database WHERE datname LIKE $1")
        .bind(format!("kc\\_{name}\\_%"))
        .fetch_all(&mut conn)
        .await
        .unwrap_or_default();
    for row in old {
        let dat: String = sqlx::Row::get(&row, 0);
        if !dat.starts_with(&format!("kc_{name}_{}_", std::process::id())) {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {dat}"
            )))
            .execute(&mut conn)
            .await;
        }
    }
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let base = match admin.rfind('/') {
        Some(i) if admin[..i].contains("//") && i > admin.find("//").unwrap() + 1 => &admin[..i],
        _ => admin.as_str(),
    };
    Some(TestDb {
        url: format!("{base}/{db}"),
        label: "postgres",
        _dir: None,
    })
}

/// Both backends that are available, SQLite first.
pub async fn backends(name: &str) -> Vec<TestDb> {
    let mut v = vec![sqlite(name).await];
    if let Some(pg) = postgres(name).await {
        v.push(pg);
    }
    v
}

pub async fn open(db: &TestDb) -> Store {
    Store::open(&db.url, library())
        .await
        .unwrap_or_else(|e| panic!("{}: open: {e}", db.label))
        .with_clock(fixed_clock)
        // Tests publish with `notice_days: Some(0)` to pay at once; the default range (5–30)
        // is tested on a store opened without this.
        .with_notice_days(0..=30)
}

pub fn admin() -> Actor {
    Actor::new("admin1", kc_domain::Role::Admin)
}
pub fn reviewer(n: usize) -> Actor {
    Actor::new(&format!("reviewer{n}"), kc_domain::Role::Reviewer)
}
pub fn finance() -> Actor {
    Actor::new("finance1", kc_domain::Role::Finance)
}

/// A Shenyang enterprise (Hunnan) with a valid 统一社会信用代码.
pub const HUNNAN: &str = "91210112MA0XK8R34Y";
/// A Liaocheng service institution (Gaotang).
pub const GAOTANG: &str = "91371526MA3Y4PJ126";

pub fn hunnan_enterprise() -> J {
    json!({"id": HUNNAN, "name": "沈阳浑南示例智能制造科技有限公司", "kind": "enterprise", "region": "hunnan", "size": "small"})
}

pub fn gaotang_institution() -> J {
    json!({"id": GAOTANG, "name": "高唐示例检验检测服务有限公司", "kind": "service_institution", "region": "gaotang"})
}

/// Approve with this explicit amount (a 最高 or 评审 measure needs one: `amount_required`).
#[allow(dead_code)]
pub fn amount(a: &str) -> kc_store::ActArgs {
    kc_store::ActArgs {
        amount: Some(kc_money::Money::parse_amount(a).unwrap()),
        ..Default::default()
    }
}

/// What an applicant hands in before it may submit: the bank account (in the applicant's
/// registered name) and the accepted 承诺书.
#[allow(dead_code)]
pub async fn ready(s: &Store, me: &Actor, app: &str) {
    let name = s.materials(me, app).await.unwrap().applicant_name;
    s.set_bank_account(
        me,
        app,
        &kc_store::BankAccount {
            account_name: name,
            bank: "中国银行沈阳浑南支行".into(),
            account_no: "6217000012345678".into(),
        },
    )
    .await
    .unwrap();
    s.accept_pledge(me, app).await.unwrap();
}

/// The Hunnan enterprise with `event`, applying for `measure` on it, submitted and taken into
/// review: the application id, ready for a reviewer's decision.
#[allow(dead_code)]
pub async fn hunnan_in_review(s: &Store, event: &J, measure: &str) -> String {
    let me = Actor::applicant("u-hn", HUNNAN);
    s.upsert_applicant(&admin(), &hunnan_enterprise())
        .await
        .unwrap();
    let (ev, _) = s
        .add_event_with_offers(&admin(), HUNNAN, event)
        .await
        .unwrap();
    let id = s.apply(&me, HUNNAN, measure, &ev).await.unwrap();
    ready(s, &me, &id).await;
    s.act(
        &me,
        &id,
        kc_domain::Action::Submit,
        kc_store::ActArgs::default(),
    )
    .await
    .unwrap();
    s.act(
        &reviewer(1),
        &id,
        kc_domain::Action::StartReview,
        kc_store::ActArgs::default(),
    )
    .await
    .unwrap();
    through_lower_levels(s, &id).await;
    id
}

/// Where levels share the cost (the 1:1 city/district split of 沈政发〔2021〕11号), every level
/// before the last recommends and the next takes the application into review, so that it
/// stands before the approving level. Each recommends the engine's amount (a fixed sum, or a
/// maximum's cap), or 10万元 for an amount set by review. Tests of the levels themselves are
/// in `jurisdictions.rs`.
#[allow(dead_code)]
pub async fn through_lower_levels(s: &Store, id: &str) {
    loop {
        let a = s.application(&admin(), id).await.unwrap();
        let region = s.applicant_region(&a.applicant_id).await.unwrap();
        let stages = s.review_stages(&a.measure, &region);
        if usize::try_from(a.review_stage).unwrap() + 1 >= stages.len() {
            return;
        }
        let amount = a
            .computed
            .unwrap_or_else(|| kc_money::Money::parse_amount("100000").unwrap());
        s.act(
            &reviewer(1),
            id,
            kc_domain::Action::Recommend,
            kc_store::ActArgs {
                amount: Some(amount),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        s.act(
            &reviewer(1),
            id,
            kc_domain::Action::StartReview,
            kc_store::ActArgs::default(),
        )
        .await
        .unwrap();
    }
}
