//! Unified login (统一身份认证) against a real OpenID Connect provider started here
//! (`node e2e/oidc-provider.mjs`, the npm package `oidc-provider`), on SQLite and PostgreSQL
//! (issue 11, item 4): the authorization-code flow with PKCE, state and nonce reaches the right
//! account — an organisation's administrator by the 统一社会信用代码 claim, a staff account by
//! its staff id — and an identity that maps to no account gets a Chinese-first refusal, never
//! a new account. A callback replayed is refused.
//!
//! Needs node and `e2e/node_modules` (`npm ci` in e2e/; scripts/test.sh does it). Without them
//! the test prints a loud SKIPPED banner — and fails under `KECHUANG_REQUIRE_PG=1` or
//! `KECHUANG_REQUIRE_OIDC=1`, as scripts/test.sh runs it.

mod common;

use common::*;
use kc_store::Actor;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The provider, stopped when dropped.
struct Provider {
    child: Child,
    issuer: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether node and the provider package are here; when not, the banner or the failure.
fn provider_available() -> bool {
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let package = root()
        .join("e2e/node_modules/oidc-provider/package.json")
        .is_file();
    if node && package {
        return true;
    }
    let why = if node {
        "e2e/node_modules/oidc-provider is missing (run `npm ci` in e2e/)"
    } else {
        "node is not installed"
    };
    let required = ["KECHUANG_REQUIRE_PG", "KECHUANG_REQUIRE_OIDC"]
        .iter()
        .any(|v| std::env::var(v).as_deref() == Ok("1"));
    assert!(
        !required,
        "the unified-login test needs its OpenID Connect provider: {why}"
    );
    eprintln!(
        "\n!!!!!!!! SKIPPED: the unified-login (OIDC) test — {why}; scripts/test.sh installs it !!!!!!!!\n"
    );
    false
}

fn start_provider(redirect: &str) -> Provider {
    let mut child = Command::new("node")
        .arg(root().join("e2e/oidc-provider.mjs"))
        .env("REDIRECT_URL", redirect)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start node e2e/oidc-provider.mjs");
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    // Keep reading what it prints: a closed pipe would kill it at its next line (EPIPE).
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let issuer = line
        .trim()
        .strip_prefix("OIDC_ISSUER=")
        .unwrap_or_else(|| panic!("the provider said “{line}”"))
        .to_string();
    Provider { child, issuer }
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The value of `name="…" value="…"`-style hidden inputs and the action of the first form.
fn form_of(html: &str) -> Option<(String, Vec<(String, String)>)> {
    let form = &html[html.find("<form")?..];
    let action = attr(&form[..form.find('>')?], "action")?;
    let mut fields = vec![];
    for input in form.split("<input").skip(1) {
        let tag = &input[..input.find('>').unwrap_or(input.len())];
        if let Some(name) = attr(tag, "name") {
            fields.push((name, attr(tag, "value").unwrap_or_default()));
        }
    }
    Some((action, fields))
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let at = tag.find(&format!("{name}=\""))? + name.len() + 2;
    Some(tag[at..at + tag[at..].find('"')?].to_string())
}

fn absolute(base: &str, location: &str) -> String {
    if location.starts_with("http") {
        location.to_string()
    } else {
        format!("{base}{location}")
    }
}

/// Logs in through the provider as `login` (its development login form), starting at the
/// platform's `/login/oidc`; returns the platform's callback URL and its answer.
async fn unified_login(
    http: &reqwest::Client,
    base: &str,
    issuer: &str,
    login: &str,
) -> (String, u16, String) {
    let mut url = format!("{base}/login/oidc");
    let mut form: Option<(String, Vec<(String, String)>)> = None;
    for _ in 0..20 {
        let r = match form.take() {
            None => http.get(&url).send().await.unwrap(),
            Some((action, fields)) => {
                let fields: Vec<(String, String)> = fields
                    .into_iter()
                    .map(|(k, v)| match k.as_str() {
                        "login" => (k, login.to_string()),
                        "password" => (k, "any password".to_string()),
                        _ => (k, v),
                    })
                    .collect();
                http.post(absolute(issuer, &action))
                    .form(&fields)
                    .send()
                    .await
                    .unwrap()
            }
        };
        let status = r.status().as_u16();
        if url.starts_with(&format!("{base}/login/oidc/callback")) {
            return (url, status, r.text().await.unwrap());
        }
        if let Some(loc) = r.headers().get("location") {
            let loc = loc.to_str().unwrap();
            let origin = if url.starts_with(base) { base } else { issuer };
            url = absolute(origin, loc);
            continue;
        }
        let body = r.text().await.unwrap();
        assert_eq!(status, 200, "{url}: {body}");
        form = Some(form_of(&body).unwrap_or_else(|| panic!("{url}: no form in {body}")));
    }
    panic!("the login did not come back to the platform");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_unified_login_through_the_local_provider_reaches_the_right_account() {
    if !provider_available() {
        return;
    }
    for (label, url) in backends("oidc").await {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let redirect = format!("{base}/login/oidc/callback");
        let provider = start_provider(&redirect);
        let issuer = provider.issuer.clone();
        let (base, store) = start_on(listener, &url, |st| {
            st.oidc = Some(Arc::new(kc_server::OidcConfig {
                issuer: issuer.clone(),
                client_id: "kechuang".into(),
                client_secret: Some("kechuang-test-secret".into()),
                redirect_url: redirect.clone(),
                scopes: vec!["profile".into(), "kechuang".into()],
                uscc_claim: "uscc".into(),
                staff_claim: "staff_id".into(),
            }))
        })
        .await;
        seed(&store).await;
        store
            .set_staff_id(&Actor::system(), "fin", "SY-0042")
            .await
            .unwrap();

        // The login page offers it.
        let (s, page) = anonymous_page(&base, "/login").await;
        assert_eq!(s, 200);
        assert!(page.contains("统一身份认证登录"), "{label}");

        // An organisation's identity reaches its administrator, acting for it.
        let http = browser();
        let (callback, s, body) = unified_login(&http, &base, &issuer, "hunnan-legal").await;
        assert_eq!(s, 200, "{label}: {body}");
        assert!(body.contains("登录成功"), "{label}");
        let r = http
            .get(format!("{base}/api/organisations"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{label}");
        let j: serde_json::Value = r.json().await.unwrap();
        assert_eq!(j["current"], HUNNAN, "{label}: {j}");
        let r = http
            .get(format!("{base}/api/applicants/{GAOTANG}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{label}: Hunnan's account only");
        // The same callback again (code and state used) is refused.
        let r = http.get(&callback).send().await.unwrap();
        assert_eq!(r.status(), 400, "{label}");
        assert!(r.text().await.unwrap().contains("已失效"), "{label}");

        // Another organisation's identity reaches that organisation's account.
        let http = browser();
        let (_, s, _) = unified_login(&http, &base, &issuer, "gaotang-legal").await;
        assert_eq!(s, 200, "{label}");
        let j: serde_json::Value = http
            .get(format!("{base}/api/organisations"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(j["current"], GAOTANG, "{label}: {j}");

        // A staff identity reaches the staff account mapped to its staff id.
        let http = browser();
        let (_, s, _) = unified_login(&http, &base, &issuer, "staff-0042").await;
        assert_eq!(s, 200, "{label}");
        let r = http
            .get(format!("{base}/api/budgets/levels"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{label}: finance");
        let home = http
            .get(format!("{base}/"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(home.contains("fin · "), "{label}: logged in as fin");

        // An identity of no account here: a clear refusal, Chinese first, and no account made.
        let users_before = store.count_users().await.unwrap();
        for (who, words) in [
            ("stranger", "尚未在本平台开通账号"),
            ("nobody", "未提供统一社会信用代码"),
        ] {
            let http = browser();
            let (_, s, body) = unified_login(&http, &base, &issuer, who).await;
            assert_eq!(s, 403, "{label}: {who}");
            assert!(body.contains(words), "{label}: {who}: {body}");
            let r = http
                .get(format!("{base}/api/organisations"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 401, "{label}: {who} has no session");
        }
        assert_eq!(store.count_users().await.unwrap(), users_before, "{label}");
        drop(provider);
    }
}

async fn anonymous_page(base: &str, path: &str) -> (u16, String) {
    let r = browser().get(format!("{base}{path}")).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}
