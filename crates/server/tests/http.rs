//! The platform over real HTTP: the app is started on port 0 with a fresh database and called
//! with a cookie-keeping client. Authorization is tried on every endpoint; two instances on one
//! PostgreSQL share sessions and never overpay together.

use kc_domain::Role;
use kc_server::hash_password;
use kc_store::{Actor, User};
use serde_json::{Value as J, json};
use std::path::Path;

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_api_answers_with_json_errors_and_an_openapi_document() {
    let (base, store) = start(&sqlite_url("basics").await).await;
    seed(&store).await;
    let anon = reqwest::Client::new();
    // OpenAPI generated from the handlers.
    let doc: J = anon
        .get(format!("{base}/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for p in [
        "/api/eligibility",
        "/api/applications",
        "/api/applications/{id}/actions",
        "/api/budgets",
        "/api/audit",
    ] {
        assert!(doc["paths"].get(p).is_some(), "{p} missing from OpenAPI");
    }
    // The calculator endpoint is public and exact.
    let input = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/hunnan-enterprise.json"),
    )
    .unwrap();
    let out: J = anon
        .post(format!("{base}/api/eligibility"))
        .body(input)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let hitech = out["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["measure"] == "hitech_first" && o["status"] == "awarded")
        .unwrap();
    assert_eq!(hitech["amount"], "200000.00");
    // Errors are JSON with stable codes; no stack traces.
    let r = anon
        .post(format!("{base}/api/eligibility"))
        .body("{\"schema\": 1}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let e: J = r.json().await.unwrap();
    assert_eq!(e["code"], "invalid");
    assert!(e["message"].as_str().unwrap().contains("$.schema"), "{e}");
    let r = anon
        .get(format!("{base}/api/applications"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<J>().await.unwrap()["code"], "unauthorized");
    // Login rate limiting: five failures lock the account for ten minutes.
    for _ in 0..5 {
        let r = anon
            .post(format!("{base}/api/login"))
            .json(&json!({"user": "hn", "password": "wrong"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
    }
    let r = anon
        .post(format!("{base}/api/login"))
        .json(&json!({"user": "hn", "password": PW}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        429,
        "even the right password is refused while locked"
    );
    // Pages: Chinese first, English on request; a bad form value names the field in Chinese.
    let rev = Client::login(&base, "rev").await;
    let (s, html) = rev.page("/library").await;
    assert_eq!(s, 200);
    assert!(html.contains("政策库") && html.contains("沈政发〔2021〕11号"));
    let r = rev
        .http
        .get(format!("{base}/library"))
        .header("cookie", "kc_lang=en")
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("Policy library"));
    let r = rev
        .http
        .post(format!("{base}/budget"))
        .form(&[
            ("csrf", rev.csrf.as_str()),
            ("measure", "hitech_first"),
            ("year", "二〇二三"),
            ("level", "city"),
            ("amount", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("年度 year"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nobody_reads_or_changes_what_is_not_theirs() {
    let (base, store) = start(&sqlite_url("authz").await).await;
    seed(&store).await;
    let hn = Client::login(&base, "hn").await;
    let gt = Client::login(&base, "gt").await;
    let rev = Client::login(&base, "rev").await;
    let fin = Client::login(&base, "fin").await;
    // Hunnan applies for its high-tech subsidy.
    let (s, app) = hn
        .post(
            "/api/applications",
            json!({"applicant": HUNNAN, "measure": "hitech_first", "event": "hn-c1"}),
        )
        .await;
    assert_eq!(s, 200, "{app}");
    let id = app["id"].as_str().unwrap().to_string();
    // Gaotang's applicant tries every endpoint against Hunnan's data.
    assert_eq!(gt.get(&format!("/api/applicants/{HUNNAN}")).await.0, 403);
    assert_eq!(gt.get(&format!("/api/applications/{id}")).await.0, 403);
    let (_, list) = gt
        .get(&format!("/api/applications?applicant={HUNNAN}"))
        .await;
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|a| a["applicant"] == GAOTANG),
        "{list}"
    );
    assert_eq!(
        gt.post(
            "/api/applications",
            json!({"applicant": HUNNAN, "measure": "hitech_first", "event": "hn-c1"})
        )
        .await
        .0,
        403
    );
    for action in ["submit", "withdraw", "confirm_offer"] {
        assert_eq!(
            gt.post(
                &format!("/api/applications/{id}/actions"),
                json!({"action": action})
            )
            .await
            .0,
            403,
            "{action}"
        );
    }
    assert_eq!(
        gt.post(
            &format!("/api/applications/{id}/payments"),
            json!({"level": "city", "amount": "1"})
        )
        .await
        .0,
        403
    );
    assert_eq!(gt.get("/api/budgets").await.0, 403);
    assert_eq!(gt.get("/api/audit").await.0, 403);
    assert_eq!(gt.page(&format!("/applicants/{HUNNAN}")).await.0, 403);
    assert_eq!(gt.page(&format!("/applications/{id}")).await.0, 403);
    assert_eq!(
        gt.page(&format!("/calculator?applicant={HUNNAN}")).await.0,
        403
    );
    assert_eq!(gt.page("/review").await.0, 403);
    assert_eq!(gt.page("/audit").await.0, 403);
    assert_eq!(gt.page("/budget").await.0, 403);
    assert_eq!(gt.page("/applicants").await.0, 403);
    let r = gt
        .http
        .post(format!("{base}/budget"))
        .form(&[
            ("csrf", gt.csrf.as_str()),
            ("measure", "hitech_first"),
            ("year", "2023"),
            ("level", "city"),
            ("amount", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "an applicant cannot set budgets");
    let r = gt
        .http
        .post(format!("{base}/applications/{id}/act"))
        .form(&[("csrf", gt.csrf.as_str()), ("action", "withdraw")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        403,
        "nor act on another's application through a form"
    );
    let r = gt
        .http
        .post(format!("{base}/applications/{id}/pay"))
        .form(&[
            ("csrf", gt.csrf.as_str()),
            ("level", "city"),
            ("amount", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Writes without the CSRF token are refused, even for the owner.
    let r = hn
        .http
        .post(format!("{base}/api/applications/{id}/actions"))
        .json(&json!({"action": "submit"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<J>().await.unwrap()["code"], "csrf");
    let r = hn
        .http
        .post(format!("{base}/applications/{id}/act"))
        .form(&[("action", "submit")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // The owner submits (with its bank account and 承诺书); a reviewer cannot act as admin,
    // nor pay; finance cannot approve.
    hn.ready(&id).await;
    assert_eq!(
        hn.post(
            &format!("/api/applications/{id}/actions"),
            json!({"action": "submit"})
        )
        .await
        .0,
        200
    );
    assert_eq!(rev.get("/api/audit").await.0, 403);
    assert_eq!(rev.page("/audit").await.0, 403);
    assert_eq!(
        rev.post(
            &format!("/api/applications/{id}/actions"),
            json!({"action": "start_review"})
        )
        .await
        .0,
        200
    );
    assert_eq!(
        fin.post(
            &format!("/api/applications/{id}/actions"),
            json!({"action": "approve"})
        )
        .await
        .0,
        403
    );
    assert_eq!(
        hn.post(
            &format!("/api/applications/{id}/actions"),
            json!({"action": "approve"})
        )
        .await
        .0,
        403
    );
    let (s, a) = rev
        .post(
            &format!("/api/applications/{id}/actions"),
            json!({"action": "approve", "amount": "250000"}),
        )
        .await;
    assert_eq!((s, a["code"].as_str()), (409, Some("cap_exceeded")), "{a}");
    // 最高20万元: no default amount (issue 10, item 6); the refusal names the cap.
    let (s, a) = rev
        .post(
            &format!("/api/applications/{id}/actions"),
            json!({"action": "approve"}),
        )
        .await;
    assert_eq!(
        (s, a["code"].as_str()),
        (409, Some("amount_required")),
        "{a}"
    );
    assert!(
        a["message"]
            .as_str()
            .unwrap()
            .contains("本措施为“最高 200,000.00 元”"),
        "{a}"
    );
    let (s, a) = rev
        .post(
            &format!("/api/applications/{id}/actions"),
            json!({"action": "approve", "amount": "200000"}),
        )
        .await;
    assert_eq!((s, a["approved"].as_str()), (200, Some("200000.00")), "{a}");
    assert_eq!(
        rev.post(
            &format!("/api/applications/{id}/payments"),
            json!({"level": "city", "amount": "1"})
        )
        .await
        .0,
        403
    );
    // Admin sees the audit log with the approval in it.
    let adm = Client::login(&base, "adm").await;
    let (s, log) = adm.get("/api/audit").await;
    assert_eq!(s, 200);
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "approve" && e["entity_id"] == id.as_str())
    );
    // Notifications: the applicant sees its application's changes, the other applicant does not.
    let (_, cal) = hn.page("/calendar").await;
    assert!(
        cal.contains(&id) && cal.contains("批准") && cal.contains("提交"),
        "notifications on the calendar page"
    );
    let (_, cal) = gt.page("/calendar").await;
    assert!(
        !cal.contains(&id),
        "another applicant's changes are not shown"
    );
    // Logging out ends the session.
    assert_eq!(hn.post("/api/logout", json!({})).await.0, 200);
    assert_eq!(hn.get("/api/applications").await.0, 401);
}

/// Two platform instances on one PostgreSQL: a session opened on one is valid on the other,
/// and approvals sent to both never overpay together.
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn two_instances_share_sessions_and_never_overpay_together() {
    let Some(url) = pg_url("scale").await else {
        return;
    };
    let (a, store) = start(&url).await;
    let (b, _) = start(&url).await;
    seed(&store).await;
    // The session cookie from instance A works on instance B.
    let gt_a = Client::login(&a, "gt").await;
    // reqwest's cookie store is per host:port, so carry the cookie over by hand, as a browser
    // behind a load balancer in front of both would.
    let cookie = {
        let r = reqwest::Client::new()
            .post(format!("{a}/api/login"))
            .json(&json!({"user": "gt", "password": PW}))
            .send()
            .await
            .unwrap();
        let c = r
            .headers()
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        let csrf = r.json::<J>().await.unwrap()["csrf"]
            .as_str()
            .unwrap()
            .to_string();
        (c, csrf)
    };
    let on_b = reqwest::Client::new()
        .get(format!("{b}/api/applications"))
        .header("cookie", &cookie.0)
        .send()
        .await
        .unwrap();
    assert_eq!(on_b.status(), 200, "a session opened on A is valid on B");
    // Eight applications; each 5% × 2,000,000 = 100,000 under 五(三), capped at 500,000 a year.
    let mut ids = Vec::new();
    for i in 0..8 {
        let (s, app) = gt_a.post("/api/applications", json!({"applicant": GAOTANG, "measure": "voucher_institution", "event": format!("gt-v{i}")})).await;
        assert_eq!(s, 200, "{app}");
        let id = app["id"].as_str().unwrap().to_string();
        gt_a.ready(&id).await;
        assert_eq!(
            gt_a.post(
                &format!("/api/applications/{id}/actions"),
                json!({"action": "submit"})
            )
            .await
            .0,
            200
        );
        ids.push(id);
    }
    let rev_a = Client::login(&a, "rev").await;
    let rev_b = Client::login(&b, "rev").await;
    for id in &ids {
        assert_eq!(
            rev_a
                .post(
                    &format!("/api/applications/{id}/actions"),
                    json!({"action": "start_review"})
                )
                .await
                .0,
            200
        );
    }
    // Approve all eight at once, alternating instances.
    let mut tasks = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let c = if i % 2 == 0 {
            Client {
                http: rev_a.http.clone(),
                base: a.clone(),
                csrf: rev_a.csrf.clone(),
            }
        } else {
            Client {
                http: rev_b.http.clone(),
                base: b.clone(),
                csrf: rev_b.csrf.clone(),
            }
        };
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            c.post(
                &format!("/api/applications/{id}/actions"),
                json!({"action": "approve"}),
            )
            .await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        let (s, body) = t.await.unwrap();
        match s {
            200 => ok += 1,
            409 => assert_eq!(body["code"], "not_awarded", "{body}"),
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(ok, 5);
    assert_eq!(store.ledger_totals().await.unwrap().0, 50_000_000);
    // And the CSRF token of that session is honoured by B too.
    let r = reqwest::Client::new()
        .post(format!("{b}/api/logout"))
        .header("cookie", &cookie.0)
        .header("x-csrf-token", &cookie.1)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_plan_office_records_progress_and_the_status_follows() {
    let (base, store) = start(&sqlite_url("plans").await).await;
    seed(&store).await;
    store
        .create_user(
            &Actor::system(),
            &User {
                id: "po".into(),
                name: "督查考核".into(),
                role: Role::PlanOffice,
                applicant_id: None,
                password_hash: Some(hash_password(PW)),
                jurisdiction: None,
            },
        )
        .await
        .unwrap();
    // A reviewer reads the plans (they are not public) but records nothing.
    let anon = Client::login(&base, "rev").await.http;
    // 003: Shenyang high-tech enterprises, 1,230 at the end of 2018 (baseline and actual).
    let status = |date: &'static str| {
        let anon = anon.clone();
        let base = base.clone();
        async move {
            let plans: J = anon
                .get(format!("{base}/api/plans?plan=sy-work-2019&date={date}"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            plans[0]["indicators"]
                .as_array()
                .unwrap_or_else(|| panic!("{plans}"))
                .iter()
                .find(|i| {
                    i["actual"]["value"] == "1230"
                        || i["name"].as_str().unwrap_or("").contains("高新技术企业")
                })
                .cloned()
                .unwrap()
        }
    };
    let before = status("2019-12-31").await;
    let id = format!("sy-work-2019:{}", before["id"].as_str().unwrap());
    let target = before["target"].as_str().unwrap().to_string();
    // An applicant cannot record progress; the plan office can, with CSRF.
    let gt = Client::login(&base, "gt").await;
    assert_eq!(
        gt.post(
            "/api/plans/actuals",
            json!({"indicator": id, "value": target, "date": "2019-12-31", "source": "x"})
        )
        .await
        .0,
        403
    );
    let po = Client::login(&base, "po").await;
    let (s, e) = po
        .post(
            "/api/plans/actuals",
            json!({"indicator": id, "value": "一千", "date": "2019-12-31", "source": "x"}),
        )
        .await;
    assert_eq!((s, e["code"].as_str()), (400, Some("invalid")), "{e}");
    assert_eq!(
        po.post(
            "/api/plans/actuals",
            json!({"indicator": id, "value": target, "date": "2019-12-31", "source": "市统计局"})
        )
        .await
        .0,
        200
    );
    let after = status("2019-12-31").await;
    assert_eq!(after["status"], "achieved", "{after}");
    // Values are checked: 家 cannot be negative nor fractional, and the date lies between the
    // plan's start (2019-01-01) and today.
    for (value, date, says) in [
        ("-20", "2019-12-31", "不能为负数"),
        ("1500.5", "2019-12-31", "整数"),
        ("1500", "2030-12-31", "晚于今天"),
        ("1500", "2018-06-30", "早于计划开始日期 2019-01-01"),
    ] {
        let (s, e) = po
            .post(
                "/api/plans/actuals",
                json!({"indicator": id, "value": value, "date": date, "source": "x"}),
            )
            .await;
        assert_eq!(
            (s, e["code"].as_str()),
            (400, Some("invalid")),
            "{value} {date}: {e}"
        );
        assert!(e["message"].as_str().unwrap().contains(says), "{e}");
    }
    // A wrong value is corrected by recording again for the same date: 1,400 supersedes 1,500.
    // The path from 1,230 (2018-12-31) expects 1,500 at 2019-12-31; short by 100 of a planned
    // 270, beyond 25% (67.5): off track.
    let (s, r) = po
        .post(
            "/api/plans/actuals",
            json!({"indicator": id, "value": "1400", "date": "2019-12-31", "source": "市统计局更正"}),
        )
        .await;
    assert_eq!((s, &r["superseded"]), (200, &json!("1500")), "{r}");
    let corrected = status("2019-12-31").await;
    assert_eq!(corrected["actual"]["value"], "1400", "{corrected}");
    assert_eq!(corrected["expected"], "1500", "{corrected}");
    assert_eq!(corrected["status"], "off_track", "{corrected}");
    // The page renders with status words; the audit log has the record.
    let (s, html) = po.page("/plans?date=2019-12-31").await;
    assert_eq!(s, 200);
    assert!(
        html.contains("进度滞后") && html.contains("沈阳"),
        "dashboard"
    );
    // The status counts head the page; each indicator has its own recording form for the plan
    // office, the indicator fixed in the form.
    assert!(html.contains(r#"id="status-counts""#));
    assert!(
        html.contains(r#"data-status="no_data""#),
        "暂无数据 counted"
    );
    assert!(html.contains(&format!(
        r#"<input type="hidden" name="indicator" value="{id}">"#
    )));
    assert!(html.contains("填报实际值"));
    // A wrong value comes back beside its form with what was typed, not as an error page.
    let r = po
        .http
        .post(format!("{base}/plans/actuals"))
        .form(&[
            ("csrf", po.csrf.as_str()),
            ("indicator", id.as_str()),
            ("value", "-20"),
            ("date", "2019-06-30"),
            ("source", "季度报表"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let refused = r.text().await.unwrap();
    assert!(refused.contains(r#"role="alert""#), "{refused}");
    assert!(refused.contains(r#"value="季度报表""#) && refused.contains(r#"value="-20""#));
    assert!(
        refused.contains("<nav"),
        "the dashboard, with its navigation"
    );
    let anon_html = anon
        .get(format!("{base}/plans?date=2019-12-31"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(anon_html.contains("暂无数据") && !anon_html.contains(r#"action="/plans/actuals""#));
    // Units by one canonical name (plans/units.md): asked by an alias, the list shows the unit.
    let html = anon
        .get(format!("{base}/plans/tasks"))
        .query(&[("unit", "中科院(沈阳)分院"), ("date", "2019-12-31")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(r#"<option value="中国科学院沈阳分院" selected>"#),
        "{html}"
    );
    assert!(html.contains("建立沈阳创新创业研究院") && html.contains("建立成果转化对接机制"));
    assert!(!html.contains(r#"<option value="中科院沈阳分院""#));
    let (s, html) = po.page("/plans/tasks?unit=%E6%B2%88%E9%98%B3%E5%B8%82%E7%A7%91%E5%AD%A6%E6%8A%80%E6%9C%AF%E5%B1%80").await;
    assert_eq!(s, 200);
    assert!(html.contains("牵头"));
    let adm = Client::login(&base, "adm").await;
    let (_, log) = adm.get("/api/audit").await;
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "record_actual" && e["entity_id"] == id.as_str())
    );
    let corr = log
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "correct_actual" && e["entity_id"] == id.as_str())
        .unwrap_or_else(|| panic!("no correction audited: {log}"));
    assert!(
        corr["before"]
            .as_str()
            .unwrap()
            .contains(r#""value":"1500""#),
        "{corr}"
    );
    assert!(
        corr["after"]
            .as_str()
            .unwrap()
            .contains(r#""value":"1400""#),
        "{corr}"
    );
}
