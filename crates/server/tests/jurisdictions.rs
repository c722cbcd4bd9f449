//! Jurisdictions over HTTP (issue 11), on SQLite and PostgreSQL: who of the staff of 浑南区,
//! 铁西区, 沈阳市 and 聊城市 reaches which applicant's records, as a table (role × jurisdiction ×
//! endpoint × expected status); then the two-level review of a 1:1 city/district award through
//! the API: the district recommends, the city approves, each finance pays its own half.

mod common;

use common::*;
use kc_domain::Role;
use kc_store::{Actor, User};
use serde_json::json;

/// A Shenyang enterprise in 铁西区 (check character computed in the test).
const TIEXI_17: &str = "91210106MA0TX8R3Y";

/// The callers, in the order of each row's expectations: reviewers of 浑南区, 铁西区, 沈阳市 and
/// 聊城市, the finance offices of 浑南区 and 沈阳市, and the whole-platform reviewer of `seed`.
const WHO: [&str; 7] = [
    "hn-rev", "tx-rev", "sy-rev", "lc-rev", "hn-fin", "sy-fin", "rev",
];

/// (method, path, expected status per caller). `{hn}`, `{tx}`, `{gt}`: an application of the
/// 浑南区 enterprise, of the 铁西区 enterprise and of the 高唐县 (聊城市) institution; `{txid}` the
/// 铁西区 enterprise's code.
const MATRIX: &[(&str, &str, [u16; 7])] = &[
    (
        "GET",
        "/api/applications/{hn}",
        [200, 403, 200, 403, 200, 200, 200],
    ),
    (
        "GET",
        "/api/applications/{tx}",
        [403, 200, 200, 403, 403, 200, 200],
    ),
    (
        "GET",
        "/api/applications/{gt}",
        [403, 403, 403, 200, 403, 403, 200],
    ),
    (
        "GET",
        "/applications/{tx}",
        [403, 200, 200, 403, 403, 200, 200],
    ),
    (
        "GET",
        "/api/applications/{gt}/materials",
        [403, 403, 403, 200, 403, 403, 200],
    ),
    (
        "GET",
        "/api/applicants/91210112MA0XK8R34Y",
        [200, 403, 200, 403, 200, 200, 200],
    ),
    (
        "GET",
        "/api/applicants/{txid}",
        [403, 200, 200, 403, 403, 200, 200],
    ),
    (
        "GET",
        "/applicants/91371526MA3Y4PJ126",
        [403, 403, 403, 200, 403, 403, 200],
    ),
    (
        "GET",
        "/calculator?applicant=91210112MA0XK8R34Y",
        [200, 403, 200, 403, 200, 200, 200],
    ),
    (
        "GET",
        "/api/applicants/91210112MA0XK8R34Y/eligibility",
        [200, 403, 200, 403, 200, 200, 200],
    ),
    // Dashboards and exports: one's own jurisdiction and those in it.
    ("GET", "/jurisdiction", [200, 200, 200, 200, 200, 200, 200]),
    (
        "GET",
        "/jurisdiction?j=tiexi",
        [403, 200, 200, 403, 403, 200, 200],
    ),
    (
        "GET",
        "/jurisdiction?j=liaocheng",
        [403, 403, 403, 200, 403, 403, 200],
    ),
    (
        "GET",
        "/api/jurisdiction?j=tiexi",
        [403, 200, 200, 403, 403, 200, 200],
    ),
    (
        "GET",
        "/api/export/applications?jurisdiction=hunnan",
        [200, 403, 200, 403, 200, 200, 200],
    ),
    (
        "GET",
        "/api/export/ledger?jurisdiction=gaotang",
        [403, 403, 403, 200, 403, 403, 200],
    ),
    // Taking up another jurisdiction's application; for the city, the district's turn first
    // (409); for finance, not its step at all.
    (
        "POST",
        "/api/applications/{tx}/actions",
        [403, 200, 409, 403, 403, 403, 409],
    ),
    (
        "POST",
        "/api/applications/{gt}/actions",
        [403, 403, 403, 200, 403, 403, 409],
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_jurisdiction_reaches_only_its_own_and_two_levels_review_in_turn() {
    let tiexi = kc_domain::Uscc::complete(TIEXI_17).unwrap().to_string();
    for (label, url) in backends("jurisdictions").await {
        let (base, store) = start(&url).await;
        seed(&store).await;
        let sys = Actor::system();
        store.upsert_applicant(&sys, &json!({"id": tiexi, "name": "铁西示例", "kind": "enterprise", "region": "tiexi", "size": "small"})).await.unwrap();
        store.add_event(&sys, &tiexi, &json!({"id": "tx-c1", "kind": "certified", "date": "2023-03-01", "cert": "high_tech", "first": true})).await.unwrap();
        let hash = kc_server::hash_password(PW);
        for (id, role, applicant, jurisdiction) in [
            ("tx", Role::Applicant, Some(tiexi.as_str()), None),
            ("hn-rev", Role::Reviewer, None, Some("hunnan")),
            ("tx-rev", Role::Reviewer, None, Some("tiexi")),
            ("sy-rev", Role::Reviewer, None, Some("shenyang")),
            ("lc-rev", Role::Reviewer, None, Some("liaocheng")),
            ("hn-fin", Role::Finance, None, Some("hunnan")),
            ("sy-fin", Role::Finance, None, Some("shenyang")),
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
                        jurisdiction: jurisdiction.map(String::from),
                    },
                )
                .await
                .unwrap();
        }
        // One submitted application per applicant.
        let mut apps = Vec::new();
        for (user, applicant, measure, event) in [
            ("hn", HUNNAN, "hitech_first", "hn-c1"),
            ("tx", tiexi.as_str(), "hitech_first", "tx-c1"),
            ("gt", GAOTANG, "voucher_institution", "gt-v0"),
        ] {
            let c = Client::login(&base, user).await;
            let (s, a) = c
                .post(
                    "/api/applications",
                    json!({"applicant": applicant, "measure": measure, "event": event}),
                )
                .await;
            assert_eq!(s, 200, "{label}: {a}");
            let id = a["id"].as_str().unwrap().to_string();
            c.ready(&id).await;
            let (s, a) = c
                .post(
                    &format!("/api/applications/{id}/actions"),
                    json!({"action": "submit"}),
                )
                .await;
            assert_eq!(s, 200, "{label}: {a}");
            apps.push(id);
        }
        let (hn, tx, gt) = (&apps[0], &apps[1], &apps[2]);
        let mut callers = Vec::new();
        for who in WHO {
            callers.push(Client::login(&base, who).await);
        }
        let mut wrong = vec![];
        for (method, path, expect) in MATRIX {
            let path = path
                .replace("{hn}", hn)
                .replace("{tx}", tx)
                .replace("{gt}", gt)
                .replace("{txid}", &tiexi);
            for (i, c) in callers.iter().enumerate() {
                let (status, body) = match *method {
                    "GET" => {
                        let r = c.http.get(format!("{base}{path}")).send().await.unwrap();
                        (r.status().as_u16(), String::new())
                    }
                    _ => {
                        // A step that would succeed is taken once, by the caller the table
                        // expects to succeed; the refusals before it change nothing.
                        let (s, b) = c.post(&path, json!({"action": "start_review"})).await;
                        (s, b.to_string())
                    }
                };
                if status != expect[i] {
                    wrong.push(format!(
                        "{method} {path} as {}: {status}, expected {} {body}",
                        WHO[i], expect[i]
                    ));
                }
            }
        }
        assert!(wrong.is_empty(), "{label}:\n{}", wrong.join("\n"));
        // Lists hold only the jurisdiction's own.
        let ids = |v: serde_json::Value| -> Vec<String> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|a| a["id"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(
            ids(callers[0].get("/api/applications").await.1),
            vec![hn.clone()],
            "{label}"
        );
        let mut city = ids(callers[2].get("/api/applications").await.1);
        city.sort();
        let mut want = vec![hn.clone(), tx.clone()];
        want.sort();
        assert_eq!(city, want, "{label}");
        assert_eq!(
            ids(callers[3].get("/api/applications").await.1),
            vec![gt.clone()],
            "{label}"
        );
        let (_, list) = callers[0].get("/api/applicants").await;
        assert_eq!(list.as_array().unwrap().len(), 1, "{label}: {list}");

        // Two levels through the API: 浑南区 recommends 200,000.00 (最高20万元), 沈阳市 approves.
        let act = format!("/api/applications/{hn}/actions");
        let (hn_rev, sy_rev, hn_fin, sy_fin) = (&callers[0], &callers[2], &callers[4], &callers[5]);
        let (s, b) = sy_rev.post(&act, json!({"action": "start_review"})).await;
        assert_eq!(
            (s, b["code"].as_str()),
            (409, Some("awaiting_other_level")),
            "{label}: {b}"
        );
        assert_eq!(
            hn_rev.post(&act, json!({"action": "start_review"})).await.0,
            200,
            "{label}"
        );
        let (s, b) = hn_rev
            .post(&act, json!({"action": "approve", "amount": "200000"}))
            .await;
        assert_eq!(
            (s, b["code"].as_str()),
            (409, Some("recommend_first")),
            "{label}: {b}"
        );
        let (s, b) = hn_rev
            .post(&act, json!({"action": "recommend", "amount": "200000"}))
            .await;
        assert_eq!(
            (s, b["state"].as_str()),
            (200, Some("recommended")),
            "{label}: {b}"
        );
        assert_eq!(
            sy_rev.post(&act, json!({"action": "start_review"})).await.0,
            200,
            "{label}"
        );
        let (s, b) = sy_rev
            .post(&act, json!({"action": "approve", "amount": "200000.01"}))
            .await;
        assert_eq!(
            (s, b["code"].as_str()),
            (409, Some("cap_exceeded")),
            "{label}: {b}"
        );
        let (s, b) = sy_rev
            .post(&act, json!({"action": "approve", "amount": "200000"}))
            .await;
        assert_eq!(s, 200, "{label}: {b}");
        let (s, b) = sy_rev
            .post(&act, json!({"action": "publish_notice", "notice_days": 0}))
            .await;
        assert_eq!(s, 200, "{label}: {b}");
        // Each finance pays its own half: 100,000.00.
        let pay = format!("/api/applications/{hn}/payments");
        assert_eq!(
            hn_fin
                .post(&pay, json!({"level": "city", "amount": "100000"}))
                .await
                .0,
            403,
            "{label}"
        );
        assert_eq!(
            sy_fin
                .post(&pay, json!({"level": "district", "amount": "100000"}))
                .await
                .0,
            403,
            "{label}"
        );
        let (s, b) = hn_fin
            .post(&pay, json!({"level": "district", "amount": "100000"}))
            .await;
        assert_eq!(s, 200, "{label}: {b}");
        let (s, b) = sy_fin
            .post(&pay, json!({"level": "city", "amount": "100000"}))
            .await;
        assert_eq!(
            (s, b["state"].as_str()),
            (200, Some("disbursed")),
            "{label}: {b}"
        );
        // Each level's budget figures: its own line; the city also its districts'.
        let lines = |v: serde_json::Value| -> Vec<(String, String, String)> {
            let mut out: Vec<_> = v
                .as_array()
                .unwrap()
                .iter()
                .map(|l| {
                    (
                        l["level"].as_str().unwrap().to_string(),
                        l["jurisdiction"].as_str().unwrap().to_string(),
                        l["paid"].as_str().unwrap().to_string(),
                    )
                })
                .collect();
            out.sort();
            out
        };
        assert_eq!(
            lines(hn_fin.get("/api/budgets").await.1),
            vec![("district".into(), "hunnan".into(), "100000.00".into())],
            "{label}"
        );
        assert_eq!(
            lines(sy_fin.get("/api/budgets").await.1),
            vec![
                ("city".into(), "shenyang".into(), "100000.00".into()),
                ("district".into(), "hunnan".into(), "100000.00".into())
            ],
            "{label}"
        );
        assert!(
            lines(callers[3].get("/api/budgets").await.1).is_empty(),
            "{label}"
        );
        // The district sets its own budget; not the city's.
        let (s, b) = hn_fin
            .post(
                "/api/budgets/lines",
                json!({"measure": "hitech_first", "year": 2023, "level": "city", "amount": "1"}),
            )
            .await;
        assert_eq!(s, 403, "{label}: {b}");
        let (s, b) = hn_fin
            .post("/api/budgets/lines", json!({"measure": "hitech_first", "year": 2023, "level": "district", "amount": "500000"}))
            .await;
        assert_eq!(s, 200, "{label}: {b}");
        // The overview as JSON: the city's applications grouped by district, 沈阳市's and
        // 浑南区's shares of 高新技术企业 (100,000.00 each, paid).
        let (s, o) = sy_rev.get("/api/jurisdiction").await;
        assert_eq!(s, 200, "{label}: {o}");
        let mut groups: Vec<&str> = o["by_state"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["jurisdiction"].as_str().unwrap())
            .collect();
        groups.sort();
        groups.dedup();
        assert_eq!(groups, vec!["hunnan", "tiexi"], "{label}: {o}");
        let mut shares: Vec<(String, String, String)> = o["shares"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                (
                    x["payer"].as_str().unwrap().to_string(),
                    x["committed"].as_str().unwrap().to_string(),
                    x["paid"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        shares.sort();
        assert_eq!(
            shares,
            vec![
                ("hunnan".into(), "100000.00".into(), "100000.00".into()),
                ("shenyang".into(), "100000.00".into(), "100000.00".into())
            ],
            "{label}: {o}"
        );
        // Plans: those the jurisdiction takes part in (辽宁省's and 沈阳市's for 浑南区; 聊城市's
        // for 聊城市), every plan for the whole platform.
        let plans = |v: serde_json::Value| -> Vec<String> {
            let mut p: Vec<String> = v
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["plan"].as_str().unwrap().to_string())
                .collect();
            p.sort();
            p
        };
        assert_eq!(
            plans(hn_rev.get("/api/plans").await.1),
            vec!["ln-transfer-2018", "sd-zone-2016", "sy-work-2019"],
            "{label}"
        );
        assert_eq!(
            plans(callers[3].get("/api/plans").await.1),
            vec!["lc-innovative-city-2020"],
            "{label}"
        );
        assert_eq!(
            plans(callers[6].get("/api/plans").await.1).len(),
            4,
            "{label}"
        );
        // The district's dashboard shows its share; the city's its districts as rows.
        let (s, page) = hn_rev.page("/jurisdiction").await;
        assert_eq!(s, 200);
        assert!(
            page.contains("浑南区") && page.contains("100,000.00"),
            "{label}"
        );
        let (_, page) = sy_rev.page("/jurisdiction").await;
        assert!(page.contains("href=\"/jurisdiction?j=hunnan\""), "{label}");
        assert!(page.contains("href=\"/jurisdiction?j=tiexi\""), "{label}");
        assert!(!page.contains("聊城"), "{label}");
    }
}
