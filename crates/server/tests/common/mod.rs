//! The test harness of the platform: a fresh database per test, the app started on port 0
//! (with each connection's peer address, as `serve` runs it), seed data with accounts, and a
//! cookie-keeping client.

#![allow(dead_code)]

use kc_domain::Role;
use kc_server::{AppState, hash_password};
use kc_store::{Actor, Store, User};
use serde_json::{Value as J, json};
use std::path::Path;
use std::sync::Arc;

pub fn library() -> Arc<kc_check::Library> {
    let (files, checked) =
        kc_library::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies")).unwrap();
    assert!(!checked.has_errors(), "{}", checked.render(&files));
    Arc::new(checked.library.unwrap())
}

pub const PW: &str = "correct horse battery";
pub const HUNNAN: &str = "91210112MA0XK8R34Y";
pub const GAOTANG: &str = "91371526MA3Y4PJ126";

/// Seeds two applicants with accounts, a reviewer, finance and an admin.
pub async fn seed(store: &Store) {
    let sys = Actor::system();
    store.upsert_applicant(&sys, &json!({"id": HUNNAN, "name": "浑南示例", "kind": "enterprise", "region": "hunnan", "size": "small"})).await.unwrap();
    store.upsert_applicant(&sys, &json!({"id": GAOTANG, "name": "高唐示例", "kind": "service_institution", "region": "gaotang"})).await.unwrap();
    store.add_event(&sys, HUNNAN, &json!({"id": "hn-c1", "kind": "certified", "date": "2023-03-01", "cert": "high_tech", "first": true})).await.unwrap();
    for i in 0..8 {
        store
            .add_event(&sys, GAOTANG, &json!({"id": format!("gt-v{i}"), "kind": "voucher_service_delivered", "date": "2023-05-10", "contract_amount": "2000000"}))
            .await
            .unwrap();
    }
    let hash = hash_password(PW);
    for (id, role, applicant) in [
        ("hn", Role::Applicant, Some(HUNNAN)),
        ("gt", Role::Applicant, Some(GAOTANG)),
        ("rev", Role::Reviewer, None),
        ("fin", Role::Finance, None),
        ("adm", Role::Admin, None),
        ("plan", Role::PlanOffice, None),
    ] {
        store
            .create_user(
                &sys,
                &User {
                    id: id.into(),
                    name: id.into(),
                    role,
                    applicant_id: applicant.map(String::from),
                    password_hash: Some(hash.clone()),
                    jurisdiction: None,
                },
            )
            .await
            .unwrap();
    }
}

pub fn clock() -> jiff::Timestamp {
    "2023-06-30T04:00:00Z".parse().unwrap()
}

pub async fn start(url: &str) -> (String, Store) {
    start_with(url, |_| {}).await
}

/// Starts the app after `tweak` has changed its state (a guard with other limits, secure
/// cookies…).
pub async fn start_with(url: &str, tweak: impl FnOnce(&mut AppState)) -> (String, Store) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    start_on(listener, url, tweak).await
}

/// Starts the app on a listener bound beforehand (a test that must know the address before
/// the app's state is made: unified login registers the callback URL with its provider).
pub async fn start_on(
    listener: tokio::net::TcpListener,
    url: &str,
    tweak: impl FnOnce(&mut AppState),
) -> (String, Store) {
    start_full(listener, url, library(), clock, tweak).await
}

/// Starts the app on another library (e.g. the shipped one plus a test fixture document) and
/// another clock.
pub async fn start_with_library(
    url: &str,
    lib: Arc<kc_check::Library>,
    clock: impl Fn() -> jiff::Timestamp + Send + Sync + 'static,
) -> (String, Store) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    start_full(listener, url, lib, clock, |_| {}).await
}

async fn start_full(
    listener: tokio::net::TcpListener,
    url: &str,
    lib: Arc<kc_check::Library>,
    clock: impl Fn() -> jiff::Timestamp + Send + Sync + 'static,
    tweak: impl FnOnce(&mut AppState),
) -> (String, Store) {
    // Tests publish with a notice period of 0 days to pay at once.
    let store = Store::open(url, lib.clone())
        .await
        .unwrap()
        .with_clock(clock)
        .with_notice_days(0..=30);
    let plans = {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plans");
        let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "md"))
            .map(|p| {
                (
                    p.display().to_string(),
                    std::fs::read_to_string(&p).unwrap(),
                )
            })
            .collect();
        files.sort();
        kc_plans::check(&files).0.expect("the shipped plans check")
    };
    let mut state = AppState {
        store: store.clone(),
        lib,
        secure_cookies: false,
        plans: Arc::new(plans),
        guard: Arc::new(kc_server::guard::Guard::default()),
        oidc: None,
    };
    tweak(&mut state);
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, kc_server::app(state)).await.unwrap() });
    (format!("http://{addr}"), store)
}

pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub csrf: String,
}

impl Client {
    pub async fn login(base: &str, user: &str) -> Client {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let r = http
            .post(format!("{base}/api/login"))
            .json(&json!({"user": user, "password": PW}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "login {user}");
        let set_cookie = r
            .headers()
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"),
            "{set_cookie}"
        );
        let j: J = r.json().await.unwrap();
        Client {
            http,
            base: base.into(),
            csrf: j["csrf"].as_str().unwrap().into(),
        }
    }
    pub async fn get(&self, path: &str) -> (u16, J) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(J::Null))
    }
    pub async fn post(&self, path: &str, body: J) -> (u16, J) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("x-csrf-token", &self.csrf)
            .json(&body)
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(J::Null))
    }
    /// Hands in what a submission needs: the bank account (in the registered name) and the
    /// accepted 承诺书.
    pub async fn ready(&self, app: &str) {
        let (s, m) = self
            .get(&format!("/api/applications/{app}/materials"))
            .await;
        assert_eq!(s, 200, "{m}");
        let (s, j) = self
            .post(
                &format!("/api/applications/{app}/account"),
                json!({"account_name": m["applicant_name"], "bank": "中国银行沈阳浑南支行", "account_no": "6217000012345678"}),
            )
            .await;
        assert_eq!(s, 200, "{j}");
        let (s, j) = self
            .post(&format!("/api/applications/{app}/pledge"), json!({}))
            .await;
        assert_eq!(s, 200, "{j}");
    }
    pub async fn page(&self, path: &str) -> (u16, String) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }
}

pub async fn sqlite_url(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("kc-http-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("kc.db").display().to_string()
}

/// A fresh PostgreSQL database named after the test, when `KECHUANG_TEST_PG_URL` names a
/// server; `None` (with a loud SKIPPED banner) otherwise, and a failure under
/// `KECHUANG_REQUIRE_PG=1`.
pub async fn pg_url(name: &str) -> Option<String> {
    let Ok(admin) = std::env::var("KECHUANG_TEST_PG_URL") else {
        assert!(
            std::env::var("KECHUANG_REQUIRE_PG").as_deref() != Ok("1"),
            "KECHUANG_REQUIRE_PG=1 without KECHUANG_TEST_PG_URL"
        );
        eprintln!(
            "\n!!!!!!!! SKIPPED: the PostgreSQL half of `{name}` — set KECHUANG_TEST_PG_URL or run scripts/test.sh !!!!!!!!\n"
        );
        return None;
    };
    sqlx::any::install_default_drivers();
    let db = format!("kc_http_{name}_{}", std::process::id());
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin)
        .await
        .unwrap();
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {db}")))
        .execute(&mut conn)
        .await;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&mut conn)
        .await
        .unwrap();
    Some(format!("{}/{db}", &admin[..admin.rfind('/').unwrap()]))
}

/// The SQLite file of the test, and its PostgreSQL database where one is configured.
pub async fn backends(name: &str) -> Vec<(&'static str, String)> {
    let mut v = vec![("sqlite", sqlite_url(name).await)];
    if let Some(pg) = pg_url(name).await {
        v.push(("postgres", pg));
    }
    v
}

/// The demo data of `data/demo/` as `serve` hands it to the first start: (path, JSON) per
/// applicant, in file order.
pub fn demo_data() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/demo");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (
                format!("data/demo/{}", p.file_name().unwrap().to_string_lossy()),
                text,
            )
        })
        .collect()
}

/// A `multipart/form-data` body: text fields, then an optional file.
pub fn multipart(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "----kcTestBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    if let Some((name, bytes)) = file {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Posts a form (urlencoded, with the CSRF token): (status, the redirect's location or the page).
pub async fn form(c: &Client, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let mut all = vec![("csrf", c.csrf.as_str())];
    all.extend_from_slice(fields);
    let r = c
        .http
        .post(format!("{}{path}", c.base))
        .form(&all)
        .send()
        .await
        .unwrap();
    status_and_location(r).await
}

/// A form's answer: its status and where it redirects (its body when it does not).
pub async fn status_and_location(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    let loc = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string());
    (status, loc.unwrap_or(r.text().await.unwrap()))
}
