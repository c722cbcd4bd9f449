//! Organisations with several users over HTTP, on SQLite and PostgreSQL (issue 11, item 3):
//! an organisation's administrator invites a user through a one-time link; the user sets a
//! password, applies for that organisation only and is refused on another's; removed, it can no
//! longer act; links work once and expire; an existing account joins a second organisation and
//! switches between them; the pages keep a refused form's input and say why.

mod common;

use common::*;
use serde_json::{Value as J, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

async fn login_as(base: &str, user: &str, password: &str) -> Client {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = http
        .post(format!("{base}/api/login"))
        .json(&json!({"user": user, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "login {user}");
    let j: J = r.json().await.unwrap();
    Client {
        http,
        base: base.into(),
        csrf: j["csrf"].as_str().unwrap().into(),
    }
}

fn anonymous(base: &str) -> Client {
    Client {
        http: reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        base: base.into(),
        csrf: String::new(),
    }
}

/// The token of a link the API handed out.
fn token_of(j: &J) -> String {
    let path = j["path"].as_str().unwrap();
    assert!(j["url"].as_str().unwrap().ends_with(path), "{j}");
    path.trim_start_matches("/link/").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_administrator_adds_a_user_who_applies_for_that_organisation_only() {
    for (label, url) in backends("orgs").await {
        let hours = Arc::new(AtomicI64::new(0));
        let h = hours.clone();
        let (base, store) = start_with(&url, move |st| {
            st.store = st.store.clone().with_clock(move || {
                clock()
                    .checked_add(jiff::SignedDuration::from_hours(h.load(Ordering::SeqCst)))
                    .unwrap()
            })
        })
        .await;
        seed(&store).await;
        let hn = Client::login(&base, "hn").await;
        let anon = anonymous(&base);

        // The administrator (every account created for an organisation is one) invites a clerk.
        let (s, j) = hn.get("/api/organisations").await;
        assert_eq!(
            (s, &j["current"], &j["admin"]),
            (200, &json!(HUNNAN), &json!(true)),
            "{label}: {j}"
        );
        let (s, inv) = hn
            .post(
                "/api/organisation/users",
                json!({"user": "hn-clerk", "name": "经办人甲"}),
            )
            .await;
        assert_eq!(s, 200, "{label}: {inv}");
        assert_eq!(inv["purpose"], "invite");
        let token = token_of(&inv);
        let (s, users) = hn.get("/api/organisation/users").await;
        assert_eq!(s, 200);
        assert!(
            users
                .as_array()
                .unwrap()
                .iter()
                .any(|u| u["user"] == "hn-clerk" && u["status"] == "awaiting_password"),
            "{label}: {users}"
        );
        // Without the CSRF header an invitation is refused.
        let r = hn
            .http
            .post(format!("{base}/api/organisation/users"))
            .json(&json!({"user": "hn-x", "name": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{label}");

        // The link: what it is for; a weak password is refused, naming the field; then it works once.
        let (s, info) = anon.get(&format!("/api/links/{token}")).await;
        assert_eq!(
            (s, &info["sets_password"], &info["applicant"]),
            (200, &json!(true), &json!(HUNNAN)),
            "{label}: {info}"
        );
        let (s, e) = anon
            .post(&format!("/api/links/{token}"), json!({"password": "short"}))
            .await;
        assert_eq!(s, 400, "{label}: {e}");
        assert!(e["message"].as_str().unwrap().starts_with("新密码"), "{e}");
        let (s, _) = anon
            .post(
                &format!("/api/links/{token}"),
                json!({"password": "clerk-password-1"}),
            )
            .await;
        assert_eq!(s, 200, "{label}");
        let (s, e) = anon
            .post(
                &format!("/api/links/{token}"),
                json!({"password": "clerk-password-2"}),
            )
            .await;
        assert_eq!(
            (s, e["code"].as_str()),
            (409, Some("invalid_link")),
            "{label}: used once"
        );

        // The clerk applies for its organisation, and is refused on another's.
        let clerk = login_as(&base, "hn-clerk", "clerk-password-1").await;
        let (s, app) = clerk
            .post(
                "/api/applications",
                json!({"applicant": HUNNAN, "measure": "hitech_first", "event": "hn-c1"}),
            )
            .await;
        assert_eq!(s, 200, "{label}: {app}");
        let app = app["id"].as_str().unwrap().to_string();
        let gt = Client::login(&base, "gt").await;
        let (s, gapps) = gt.get("/api/applications").await;
        assert_eq!(s, 200);
        assert!(gapps.as_array().unwrap().is_empty(), "{gapps}");
        let (s, _) = clerk
            .post(
                "/api/applications",
                json!({"applicant": GAOTANG, "measure": "voucher_service", "event": "gt-v0"}),
            )
            .await;
        assert_eq!(s, 403, "{label}: another organisation's application");
        assert_eq!(
            clerk.get(&format!("/api/applicants/{GAOTANG}")).await.0,
            403,
            "{label}"
        );
        assert_eq!(
            gt.get(&format!("/api/applications/{app}")).await.0,
            403,
            "{label}"
        );
        // A clerk does not manage users.
        assert_eq!(clerk.get("/api/organisation/users").await.0, 403, "{label}");
        let (s, _) = clerk
            .post(
                "/api/organisation/users",
                json!({"user": "hn-y", "name": "y"}),
            )
            .await;
        assert_eq!(s, 403, "{label}");

        // Who did what: the administrator sees the clerk's application.
        let (s, log) = hn.get("/api/organisation/audit").await;
        assert_eq!(s, 200);
        assert!(
            log.as_array()
                .unwrap()
                .iter()
                .any(|e| e["actor"] == "applicant:hn-clerk" && e["entity_id"] == app.as_str()),
            "{label}: {log}"
        );
        let (s, page) = hn.page("/organisation").await;
        assert_eq!(s, 200);
        assert!(
            page.contains("单位用户管理") && page.contains("hn-clerk") && page.contains("创建"),
            "{label}"
        );

        // Removed, the clerk's session can no longer act.
        let (s, _) = hn
            .post("/api/organisation/users/hn-clerk/remove", json!({}))
            .await;
        assert_eq!(s, 200, "{label}");
        assert_eq!(clerk.get("/api/applications").await.0, 403, "{label}");
        assert_eq!(
            clerk.get(&format!("/api/applications/{app}")).await.0,
            403,
            "{label}"
        );
        let (s, _) = clerk
            .post(
                "/api/applications",
                json!({"applicant": HUNNAN, "measure": "hitech_first", "event": "hn-c1"}),
            )
            .await;
        assert_eq!(s, 403, "{label}");
        let (s, page) = clerk.page("/organisation").await;
        assert_eq!(s, 200);
        assert!(page.contains("不属于任何单位"), "{label}");

        // A reset link lives 24 hours.
        let (s, inv) = hn
            .post(
                "/api/organisation/users",
                json!({"user": "hn-clerk2", "name": "经办人乙"}),
            )
            .await;
        assert_eq!(s, 200);
        let t2 = token_of(&inv);
        let (s, _) = anon
            .post(
                &format!("/api/links/{t2}"),
                json!({"password": "clerk2-password"}),
            )
            .await;
        assert_eq!(s, 200);
        let (s, reset) = hn.post("/api/users/hn-clerk2/reset_link", json!({})).await;
        assert_eq!(
            (s, reset["purpose"].as_str()),
            (200, Some("reset")),
            "{label}: {reset}"
        );
        let t3 = token_of(&reset);
        hours.store(25, Ordering::SeqCst);
        let (s, e) = anon.get(&format!("/api/links/{t3}")).await;
        assert_eq!(
            (s, e["code"].as_str()),
            (409, Some("invalid_link")),
            "{label}: expired"
        );
        let (s, _) = anon
            .post(
                &format!("/api/links/{t3}"),
                json!({"password": "clerk2-password-new"}),
            )
            .await;
        assert_eq!(s, 409, "{label}: expired");
        hours.store(0, Ordering::SeqCst);
        // A fresh one works, once, and the old password is gone.
        let (_, reset) = hn.post("/api/users/hn-clerk2/reset_link", json!({})).await;
        let t4 = token_of(&reset);
        let (s, page) = anon.page(&format!("/link/{t4}")).await;
        assert_eq!(s, 200);
        assert!(
            page.contains("重置密码") && page.contains("hn-clerk2"),
            "{label}"
        );
        // The page form: two different passwords are refused beside the form.
        let r = anon
            .http
            .post(format!("{base}/link/{t4}"))
            .form(&[
                ("password", "clerk2-password-new"),
                ("password2", "something-else"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{label}");
        assert!(r.text().await.unwrap().contains("两次输入不一致"));
        let r = anon
            .http
            .post(format!("{base}/link/{t4}"))
            .form(&[
                ("password", "clerk2-password-new"),
                ("password2", "clerk2-password-new"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{label}");
        assert_eq!(
            anon.page(&format!("/link/{t4}")).await.0,
            409,
            "{label}: used"
        );
        let r = anon
            .http
            .post(format!("{base}/api/login"))
            .json(&json!({"user": "hn-clerk2", "password": "clerk2-password"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{label}: the old password no longer works");
        login_as(&base, "hn-clerk2", "clerk2-password-new").await;

        // The invitation form keeps its input and says why beside it.
        let r = hn
            .http
            .post(format!("{base}/organisation/users"))
            .form(&[
                ("csrf", hn.csrf.as_str()),
                ("user", "a b"),
                ("name", "张三"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{label}");
        let page = r.text().await.unwrap();
        assert!(
            page.contains("form-error")
                && page.contains("账号:")
                && page.contains("value=\"张三\""),
            "{label}"
        );
        // And without its CSRF field it is refused.
        let r = hn
            .http
            .post(format!("{base}/organisation/users"))
            .form(&[("user", "hn-z"), ("name", "z")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{label}");

        // Gaotang invites Hunnan's administrator: it joins while logged in, then switches.
        let (s, inv) = gt
            .post("/api/organisation/users", json!({"user": "hn"}))
            .await;
        assert_eq!(s, 200, "{label}: {inv}");
        let t5 = token_of(&inv);
        let (s, e) = anon
            .post(
                &format!("/api/links/{t5}"),
                json!({"password": "take-over-attempt"}),
            )
            .await;
        assert_eq!(
            s, 403,
            "{label}: an existing account is not taken over: {e}"
        );
        let r = hn
            .http
            .post(format!("{base}/api/links/{t5}"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            403,
            "{label}: the session's CSRF token is needed"
        );
        let (s, _) = hn.post(&format!("/api/links/{t5}"), json!({})).await;
        assert_eq!(s, 200, "{label}");
        let (_, orgs) = hn.get("/api/organisations").await;
        assert_eq!(
            orgs["memberships"].as_array().unwrap().len(),
            2,
            "{label}: {orgs}"
        );
        assert_eq!(
            hn.get(&format!("/api/applicants/{GAOTANG}")).await.0,
            403,
            "{label}: acts for Hunnan"
        );
        let (s, _) = hn
            .post("/api/organisations/current", json!({"applicant": GAOTANG}))
            .await;
        assert_eq!(s, 200, "{label}");
        assert_eq!(
            hn.get(&format!("/api/applicants/{GAOTANG}")).await.0,
            200,
            "{label}"
        );
        assert_eq!(
            hn.get(&format!("/api/applicants/{HUNNAN}")).await.0,
            403,
            "{label}: one at a time"
        );
        assert_eq!(
            hn.get("/api/organisation/users").await.0,
            403,
            "{label}: a clerk at Gaotang"
        );
        let (s, _) = gt
            .post("/api/organisations/current", json!({"applicant": HUNNAN}))
            .await;
        assert_eq!(s, 403, "{label}: gt belongs to Gaotang only");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_administrator_invites_staff_and_the_login_page_has_no_unified_login_unconfigured() {
    for (label, url) in backends("orgs_staff").await {
        let (base, store) = start(&url).await;
        seed(&store).await;
        let adm = Client::login(&base, "adm").await;
        let rev = Client::login(&base, "rev").await;
        let (s, _) = rev
            .post(
                "/api/staff",
                json!({"user": "fin2", "name": "财务二", "role": "finance"}),
            )
            .await;
        assert_eq!(s, 403, "{label}");
        assert_eq!(rev.get("/api/staff").await.0, 403, "{label}");
        let (s, inv) = adm
            .post(
                "/api/staff",
                json!({"user": "fin2", "name": "财务二", "role": "finance", "staff_id": "SY-0042"}),
            )
            .await;
        assert_eq!(s, 200, "{label}: {inv}");
        let (s, e) = adm
            .post(
                "/api/staff",
                json!({"user": "fin3", "name": "财务三", "role": "boss"}),
            )
            .await;
        assert_eq!(s, 400, "{label}: {e}");
        assert!(e["message"].as_str().unwrap().starts_with("角色"), "{e}");
        let token = token_of(&inv);
        let anon = anonymous(&base);
        let (s, _) = anon
            .post(
                &format!("/api/links/{token}"),
                json!({"password": "finance-two-pw"}),
            )
            .await;
        assert_eq!(s, 200, "{label}");
        let fin2 = login_as(&base, "fin2", "finance-two-pw").await;
        assert_eq!(fin2.get("/api/budgets/levels").await.0, 200, "{label}");
        let (s, staff) = adm.get("/api/staff").await;
        assert_eq!(s, 200);
        assert!(
            staff
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["user"] == "fin2" && r["staff_id"] == "SY-0042" && r["active"] == true),
            "{label}: {staff}"
        );
        let (s, page) = adm.page("/staff").await;
        assert_eq!(s, 200);
        assert!(
            page.contains("邀请工作人员") && page.contains("fin2"),
            "{label}"
        );
        // An applicant has no staff page; staff have no organisation page.
        let hn = Client::login(&base, "hn").await;
        assert_eq!(hn.page("/staff").await.0, 403, "{label}");
        assert_eq!(rev.page("/organisation").await.0, 403, "{label}");
        let (s, page) = anon.page("/login").await;
        assert_eq!(s, 200);
        assert!(
            !page.contains("统一身份认证登录"),
            "{label}: not configured"
        );
        assert_eq!(anon.page("/login/oidc").await.0, 404, "{label}");
    }
}
