//! Library versions through the platform (issue 14): two servers on one database — two
//! `serve` processes — and a version drafted, refused while it has a diagnostic, refused to
//! its own author, approved by a second person through one server, and used by both for the
//! next request (the public calculator's amount changes on each). SQLite and PostgreSQL.

mod common;

use common::*;
use kc_domain::Role;
use kc_store::versions::VersionFile;
use kc_store::{Actor, User};
use serde_json::{Value as J, json};

const LC: &str = "policies/liaocheng-2020-15.md";
const RATE_V1: &str =
    "  grant up to 1.5% × base                          # 按照年度技术合同成交额不超过1.5%给予补助";

/// A Liaocheng university's development contract of 2,000,000.00 on 2023-03-01.
fn input() -> J {
    let id = kc_domain::Uscc::complete("12371500MB2835925")
        .unwrap()
        .to_string();
    json!({"schema": "kechuang/eval-input/v1", "as_of": "2023-06-30",
        "applicant": {"id": id, "name": "聊城示例大学", "kind": "university", "region": "dongchangfu"},
        "events": [{"id": "c1", "kind": "contract_registered", "date": "2023-03-01",
                    "contract_type": "tech_development", "amount": "2000000", "activity": "A1", "item": "I1"}]})
}

async fn dev_transfer(base: &str) -> String {
    let http = reqwest::Client::new();
    let out: J = http
        .post(format!("{base}/api/eligibility"))
        .json(&input())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    out["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["measure"] == "contract_dev_transfer")
        .map(|o| o["amount"].as_str().unwrap_or("").to_string())
        .unwrap_or_else(|| panic!("no outcome: {out}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_version_published_through_one_server_is_used_by_both_for_the_next_request() {
    for (label, url) in backends("versions_two_servers").await {
        let (a, store) = start(&url).await;
        let (b, _) = start(&url).await;
        seed(&store).await;
        store
            .create_user(
                &Actor::system(),
                &User {
                    id: "author".into(),
                    name: "政策编辑甲".into(),
                    role: Role::PolicyAuthor,
                    applicant_id: None,
                    password_hash: Some(kc_server::hash_password(PW)),
                    jurisdiction: None,
                },
            )
            .await
            .unwrap();
        let files: Vec<VersionFile> = kc_library::shipped()
            .into_iter()
            .map(|f| VersionFile {
                path: f.path,
                text: f.text,
            })
            .collect();
        store.seed_library(&files).await.unwrap();

        // Version 1 on both servers: 2,000,000.00 × 1.5% = 30,000.00.
        assert_eq!(dev_transfer(&a).await, "30000.00", "{label}");
        assert_eq!(dev_transfer(&b).await, "30000.00", "{label}");

        let author = Client::login(&a, "author").await;
        let (s, d) = author
            .post(
                "/api/policy/versions",
                json!({"title": "四(一) 比例调整为2%"}),
            )
            .await;
        assert_eq!(s, 201, "{label}: {d}");
        let id = d["id"].as_i64().unwrap();
        let (_, v) = author.get(&format!("/api/policy/versions/{id}")).await;
        let lc = v["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == LC)
            .unwrap()["text"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(lc.contains(RATE_V1));

        // A typo: the check names file, line and column; submitting is refused with it.
        let typo = lc.replace(RATE_V1, "  grant up to 2% × bsae");
        let (s, c) = author
            .post(
                &format!("/api/policy/versions/{id}/files"),
                json!({"path": LC, "text": typo}),
            )
            .await;
        assert_eq!(s, 200, "{c}");
        assert_eq!(c["ready"], false);
        let line = typo.lines().position(|l| l.contains("bsae")).unwrap() + 1;
        assert_eq!(c["diagnostics"][0]["path"], LC);
        assert_eq!(c["diagnostics"][0]["line"], line, "{label}: {c}");
        let (s, e) = author
            .post(&format!("/api/policy/versions/{id}/submit"), json!({}))
            .await;
        assert_eq!(
            (s, e["code"].as_str()),
            (409, Some("draft_not_ready")),
            "{e}"
        );

        // The editor's live check of unsaved text: the diagnostic is gone; nothing saved.
        let fixed = lc.replace(RATE_V1, "  grant up to 2% × base");
        let (s, c) = author
            .post(
                &format!("/api/policy/versions/{id}/check-file"),
                json!({"path": LC, "text": fixed}),
            )
            .await;
        assert_eq!((s, c["ready"].as_bool()), (200, Some(true)), "{c}");
        let (_, c) = author
            .get(&format!("/api/policy/versions/{id}/check"))
            .await;
        assert_eq!(
            c["ready"], false,
            "{label}: the check-file call saved nothing"
        );
        let (s, c) = author
            .post(
                &format!("/api/policy/versions/{id}/files"),
                json!({"path": LC, "text": fixed}),
            )
            .await;
        assert_eq!((s, c["ready"].as_bool()), (200, Some(true)), "{c}");

        // The cost difference over the stored applicants (none has a contract: no change)
        // and the comparison names the measure and the new rule.
        let (s, cost) = author
            .get(&format!(
                "/api/policy/versions/{id}/cost?from=2023-01-01&to=2023-12-31"
            ))
            .await;
        assert_eq!(s, 200, "{cost}");
        assert_eq!(cost["delta"], "0.00", "{label}: {cost}");
        let (_, cmp) = author
            .get(&format!("/api/policy/versions/{id}/compare"))
            .await;
        assert_eq!(
            cmp["measures"][0]["measure"], "contract_dev_transfer",
            "{cmp}"
        );
        assert!(
            cmp["measures"][0]["new"]
                .as_str()
                .unwrap()
                .contains("2% × base")
        );

        let (s, _) = author
            .post(&format!("/api/policy/versions/{id}/submit"), json!({}))
            .await;
        assert_eq!(s, 200);
        // The author may not approve; still version 1 everywhere.
        let (s, e) = author
            .post(&format!("/api/policy/versions/{id}/approve"), json!({}))
            .await;
        assert_eq!((s, e["code"].as_str()), (403, Some("forbidden")), "{e}");
        assert_eq!(dev_transfer(&b).await, "30000.00", "{label}");

        // A second person approves through server A …
        let admin = Client::login(&a, "adm").await;
        let (s, v) = admin
            .post(
                &format!("/api/policy/versions/{id}/approve"),
                json!({"applies_from": "2023-07-01"}),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(
            (v["state"].as_str(), v["active"].as_bool()),
            (Some("published"), Some(true))
        );
        // … and the next request on either server uses it: 2,000,000.00 × 2% = 40,000.00.
        assert_eq!(dev_transfer(&b).await, "40000.00", "{label}: server B");
        assert_eq!(dev_transfer(&a).await, "40000.00", "{label}: server A");

        // The pages: the workspace lists both versions; a reviewer may not enter.
        let (s, html) = admin.page("/policy-admin").await;
        assert_eq!(s, 200);
        assert!(html.contains("四(一) 比例调整为2%"), "{label}");
        let rev = Client::login(&b, "rev").await;
        assert_eq!(rev.page("/policy-admin").await.0, 403);
        let (s, html) = admin.page(&format!("/policy-admin/{id}/compare")).await;
        assert_eq!(s, 200);
        assert!(
            html.contains("contract_dev_transfer") || html.contains("技术开发、技术转让合同补助")
        );
    }
}
