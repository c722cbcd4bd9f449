//! Issue 9 regressions over real HTTP: the calculator's work is bounded and anonymous use is
//! rate-limited, memory stays flat under repeated abuse, logins are throttled per account and
//! address and counted atomically, NUL is bad input on both databases, every response carries
//! the security headers, axum's own rejections have the platform's error shape, the language
//! switch never leaves the site, and every cookie is `Secure` under `--secure-cookies`.

mod common;

use common::*;
use kc_server::guard::{AnonQuota, Guard};
use serde_json::{Value as J, json};
use std::sync::Arc;

fn input_with_events(n: usize) -> J {
    let events: Vec<J> = (0..n)
        .map(|i| json!({"id": format!("e{i}"), "kind": "certified", "date": "2023-03-01", "cert": "high_tech", "first": true}))
        .collect();
    json!({
        "schema": "kechuang/eval-input/v1", "as_of": "2023-06-30",
        "applicant": {"id": HUNNAN, "name": "浑南示例", "kind": "enterprise", "region": "hunnan", "size": "small"},
        "events": events,
    })
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn generous() -> Arc<Guard> {
    Arc::new(Guard::new(
        AnonQuota {
            calc_per_minute: 1_000_000,
            read_per_minute: 1_000_000,
        },
        true,
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn issue_9_the_calculator_is_bounded_and_memory_stays_flat() {
    let (base, _) = start_with(&sqlite_url("bounded").await, |s| s.guard = generous()).await;
    let http = reqwest::Client::new();
    let url = format!("{base}/api/eligibility?detail=full");
    // The issue's request: 20,000 events, about 1 MB, no login.
    let abuse = serde_json::to_vec(&input_with_events(20_000)).unwrap();
    assert!(abuse.len() > 1_000_000);
    let r = http.post(&url).body(abuse.clone()).send().await.unwrap();
    assert_eq!(r.status(), 413);
    let e: J = r.json().await.unwrap();
    assert_eq!(e["code"], "too_large", "{e}");
    // Under the body limit but over the event limit: refused before any evaluation, and the
    // message names the field and the limit.
    let r = http
        .post(&url)
        .json(&input_with_events(201))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let e: J = r.json().await.unwrap();
    assert_eq!(e["code"], "too_large");
    let msg = e["message"].as_str().unwrap();
    assert!(msg.contains("$.events") && msg.contains("200"), "{msg}");
    // At the limit it answers, in full.
    let r = http
        .post(&url)
        .json(&input_with_events(200))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let full = r.bytes().await.unwrap();
    assert!(full.len() <= kc_server::guard::MAX_CALC_RESPONSE_BYTES);
    // Repeated abuse: memory stays flat. Warm up, then 40 more rounds of both kinds.
    let round = |body: Vec<u8>| {
        let http = http.clone();
        let url = url.clone();
        async move {
            let r = http.post(&url).body(body).send().await.unwrap();
            let status = r.status().as_u16();
            let _ = r.bytes().await;
            status
        }
    };
    let at_limit = serde_json::to_vec(&input_with_events(200)).unwrap();
    for _ in 0..5 {
        round(abuse.clone()).await;
        round(at_limit.clone()).await;
    }
    let before = rss_kib();
    for _ in 0..40 {
        assert_eq!(round(abuse.clone()).await, 413);
        assert_eq!(round(at_limit.clone()).await, 200);
    }
    let after = rss_kib();
    assert!(
        after < before + 64 * 1024,
        "RSS grew from {before} KiB to {after} KiB under repeated abuse"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn issue_9_anonymous_calculator_use_is_rate_limited_per_address() {
    let (base, store) = start_with(&sqlite_url("ratelimit").await, |s| {
        s.guard = Arc::new(Guard::new(
            AnonQuota {
                calc_per_minute: 3,
                read_per_minute: 1_000,
            },
            true,
        ))
    })
    .await;
    seed(&store).await;
    let http = reqwest::Client::new();
    let call = |ip: &'static str| {
        http.post(format!("{base}/api/eligibility"))
            .header("x-forwarded-for", ip)
            .json(&input_with_events(1))
            .send()
    };
    assert_eq!(call("203.0.113.7").await.unwrap().status(), 200);
    let r = call("203.0.113.7").await.unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_some());
    assert_eq!(r.json::<J>().await.unwrap()["code"], "rate_limited");
    // Another address has its own allowance.
    assert_eq!(call("203.0.113.8").await.unwrap().status(), 200);
    // A logged-in user is not limited by the anonymous quota.
    let rev = Client::login(&base, "rev").await;
    for _ in 0..5 {
        let r = rev
            .http
            .post(format!("{base}/api/eligibility"))
            .header("x-forwarded-for", "203.0.113.7")
            .json(&input_with_events(1))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn issue_9_logins_are_throttled_atomically_per_account_and_address() {
    for (label, url) in backends("login").await {
        let (base, store) = start_with(&url, |s| s.guard = generous()).await;
        seed(&store).await;
        let http = reqwest::Client::new();
        let try_login = |ip: String, user: String, pw: &'static str| {
            let http = http.clone();
            let base = base.clone();
            async move {
                http.post(format!("{base}/api/login"))
                    .header("x-forwarded-for", ip)
                    .json(&json!({"user": user, "password": pw}))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        };
        // 40 parallel wrong passwords for one account from one address: at most five checked.
        let all = futures_join(
            (0..40)
                .map(|_| try_login("198.51.100.1".into(), "hn".into(), "wrong"))
                .collect(),
        )
        .await;
        let checked = all.iter().filter(|s| **s == 400).count();
        let refused = all.iter().filter(|s| **s == 429).count();
        assert!(checked <= 5, "{label}: {checked} passwords checked");
        assert_eq!(checked + refused, 40, "{label}: {all:?}");
        // Parallel guesses may be over-refused (each counts the others' reservations), never
        // under-refused: topping up one by one reaches exactly five checked, then locks.
        let mut total = checked;
        while try_login("198.51.100.1".into(), "hn".into(), "wrong").await == 400 {
            total += 1;
            assert!(total <= 5, "{label}: a sixth password was checked");
        }
        assert_eq!(total, 5, "{label}");
        // The attacker's address is locked out even with the right password…
        assert_eq!(
            try_login("198.51.100.1".into(), "hn".into(), PW).await,
            429,
            "{label}"
        );
        // …but the owner, from another address, logs in.
        assert_eq!(
            try_login("198.51.100.2".into(), "hn".into(), PW).await,
            200,
            "{label}"
        );
        // Spraying many accounts from one address stops at 20 failures.
        let mut statuses = vec![];
        for i in 0..25 {
            statuses.push(try_login("198.51.100.3".into(), format!("nobody{i}"), "x").await);
        }
        assert_eq!(
            statuses.iter().filter(|s| **s == 400).count(),
            20,
            "{label}: {statuses:?}"
        );
        assert!(statuses[20..].iter().all(|s| *s == 429), "{label}");
        // Refused attempts leave no rows: the table holds only real failures.
        let rows = store.login_failure_rows().await.unwrap();
        assert_eq!(rows, 5 + 20, "{label}");
    }
}

async fn futures_join(
    fs: Vec<impl std::future::Future<Output = u16> + Send + 'static>,
) -> Vec<u16> {
    let handles: Vec<_> = fs.into_iter().map(tokio::spawn).collect();
    let mut out = vec![];
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn issue_9_nul_is_bad_input_on_both_databases() {
    for (label, url) in backends("nul").await {
        let (base, store) = start_with(&url, |s| s.guard = generous()).await;
        seed(&store).await;
        let http = reqwest::Client::new();
        // Login with a NUL in the user name (a 500 on PostgreSQL before).
        let r = http
            .post(format!("{base}/api/login"))
            .json(&json!({"user": "h\u{0}n", "password": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{label}");
        assert_eq!(r.json::<J>().await.unwrap()["code"], "invalid_text");
        // In a form, a path and a query.
        let r = http
            .post(format!("{base}/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("user=h%00n&password=x")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{label}");
        assert!(r.text().await.unwrap().contains("NUL"));
        let rev = Client::login(&base, "rev").await;
        let (s, e) = rev.get("/api/applications?applicant=a%00b").await;
        assert_eq!(
            (s, e["code"].as_str()),
            (400, Some("invalid_text")),
            "{label}"
        );
        let (s, _) = rev.get("/api/applications/A%00").await;
        assert_eq!(s, 400, "{label}");
        // A reason with a NUL in an action.
        let (s, e) = rev
            .post(
                "/api/applications/A2023-000001/actions",
                json!({"action": "reject", "reason": "不\u{0}符合"}),
            )
            .await;
        assert_eq!(
            (s, e["code"].as_str()),
            (400, Some("invalid_text")),
            "{label}"
        );
        // The same request without the NUL reaches the workflow (and is refused for its own
        // reason), so the refusal above was the NUL's.
        let (s, e) = rev
            .post(
                "/api/applications/A2023-000001/actions",
                json!({"action": "reject", "reason": "不符合"}),
            )
            .await;
        assert_ne!(e["code"], "invalid_text", "{label}: {s} {e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn issue_9_headers_error_shapes_redirects_and_cookies() {
    let (base, store) = start_with(&sqlite_url("headers").await, |s| {
        s.guard = generous();
        s.secure_cookies = true;
    })
    .await;
    seed(&store).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // Security headers on a public page and a private one.
    let r = http.get(format!("{base}/library")).send().await.unwrap();
    let h = r.headers();
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "same-origin");
    let rev = Client::login(&base, "rev").await;
    let r = rev
        .http
        .get(format!("{base}/applications"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["cache-control"], "no-store");
    // axum's own rejections in the platform's shape: 413 JSON under /api…
    let r = http
        .post(format!("{base}/api/eligibility"))
        .body(vec![b' '; 300 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(r.json::<J>().await.unwrap()["code"], "too_large");
    // …405 JSON…
    let r = http
        .get(format!("{base}/api/eligibility"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.json::<J>().await.unwrap()["code"], "method_not_allowed");
    // …and a page for a form posted with the wrong content type (415).
    let r = http
        .post(format!("{base}/login"))
        .header("content-type", "application/xml")
        .body("<x/>")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    // The language switch goes back only within the site.
    let host = base.trim_start_matches("http://").to_string();
    for (referer, to) in [
        ("https://evil.example/x".to_string(), "/"),
        (format!("http://{host}/library?q=1"), "/library?q=1"),
        (format!("http://{host}//evil.example/x"), "/"),
        ("/\\evil.example".to_string(), "/"),
        ("/calendar".to_string(), "/calendar"),
    ] {
        let r = http
            .get(format!("{base}/lang/en"))
            .header("referer", &referer)
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["location"], to, "{referer}");
        assert!(
            r.headers()["set-cookie"]
                .to_str()
                .unwrap()
                .contains("; Secure"),
            "the language cookie is Secure"
        );
    }
    // Login and logout cookies are Secure too.
    let r = http
        .post(format!("{base}/api/login"))
        .json(&json!({"user": "rev", "password": PW}))
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("; Secure")
    );
    let r = rev
        .http
        .post(format!("{base}/api/logout"))
        .header("x-csrf-token", &rev.csrf)
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("; Secure")
    );
}

/// Two `serve` processes started at once on one empty PostgreSQL: both open the database
/// (migrations) and run the first start; one seeds, the other finds it done. Before, the
/// second exited with "用户 admin 已存在".
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn issue_9_two_processes_start_at_once_on_an_empty_database() {
    for (label, url) in backends("race").await {
        let demo = demo_data();
        let start = |url: String, demo: Vec<(String, String)>| async move {
            let store = kc_store::Store::open(&url, library()).await?;
            kc_server::first_start(&store, Some(&demo)).await
        };
        let (a, b) = tokio::join!(
            tokio::spawn(start(url.clone(), demo.clone())),
            tokio::spawn(start(url.clone(), demo.clone()))
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert!(a.is_ok() && b.is_ok(), "{label}: {a:?} {b:?}");
        let seeded = [a.unwrap(), b.unwrap()]
            .iter()
            .filter(|r| r.iter().any(|l| l.contains("admin /")))
            .count();
        assert_eq!(seeded, 1, "{label}: exactly one process seeds");
        let store = kc_store::Store::open(&url, library()).await.unwrap();
        // The admin, five whole-platform demo staff (the policy author of issue 14 the
        // fifth), eight staff of single jurisdictions (issue 11) and one account per demo
        // applicant.
        assert_eq!(
            store.count_users().await.unwrap(),
            1 + 5 + kc_server::seed::DEMO_STAFF.len() as i64 + 50,
            "{label}"
        );
        assert_eq!(kc_server::seed::DEMO_STAFF.len(), 8);
    }
}
