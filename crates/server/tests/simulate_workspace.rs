//! The 测算 workspace's uploads, reform files and stopping (issue 13), on both databases: a
//! population file uploaded through the API and the page, checked row by row (a wrong row named,
//! nothing kept), chosen for a run whose totals are worked out by hand, deleted by its uploader
//! only; a reform file that rewrites (十八) in the policy language; and a long run stopped by
//! the person who started it — recorded as stopped with its progress and no result.

mod common;

use common::*;
use serde_json::{Value as J, json};

/// The twelve applicants written by hand (crates/simulate/tests/data/twelve.jsonl).
const TWELVE: &str = include_str!("../../simulate/tests/data/twelve.jsonl");

/// (十八) rewritten: 0.3‰ of the registered volume, at most 15万元.
const REFORM_18: &str = "reform \"(十八) 按0.3‰、最高15万元\"\n\
replace contract_registration_institution\n\
measure contract_registration_institution \"技术合同登记机构奖励(试算)\" \"Reward for registration institutions (trial)\"\n\
  clause \"(十八)\"\n\
  form 奖励\n\
  on contract_registration_volume\n\
  when applicant.kind = contract_registration_institution\n\
  when applicant.region within shenyang\n\
  grant min(0.3‰ × event.registered_volume, 15万元)\n\
  once per event.registration_year\n";

async fn started(name: &str) -> Vec<(&'static str, String, kc_store::Store, Vec<Client>)> {
    let mut out = Vec::new();
    for (label, url) in backends(name).await {
        let (base, store) = start(&url).await;
        kc_server::seed::first_start(&store, Some(&demo_data()))
            .await
            .unwrap();
        seed(&store).await;
        // Library version 1 from the shipped policies: a reform file's measures are checked in
        // their documents' files.
        let files: Vec<kc_store::versions::VersionFile> = kc_library::shipped()
            .into_iter()
            .map(|f| kc_store::versions::VersionFile {
                path: f.path,
                text: f.text,
            })
            .collect();
        store.seed_library(&files).await.unwrap();
        let mut clients = Vec::new();
        for who in ["fin", "plan", "adm", "rev"] {
            clients.push(Client::login(&base, who).await);
        }
        out.push((label, base, store, clients));
    }
    out
}

async fn upload_api(c: &Client, filename: &str, bytes: &[u8]) -> (u16, J) {
    let r = c
        .http
        .post(format!(
            "{}/api/simulations/populations?filename={filename}",
            c.base
        ))
        .header("x-csrf-token", &c.csrf)
        .header("content-type", "application/octet-stream")
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(J::Null))
}

async fn wait_over(c: &Client, id: &str) -> J {
    for _ in 0..1200 {
        let (s, r) = c.get(&format!("/api/simulations/{id}")).await;
        assert_eq!(s, 200, "{r}");
        if !["queued", "running"].contains(&r["status"].as_str().unwrap_or("")) {
            return r;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("run {id} not over in 60 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_uploaded_population_is_checked_kept_chosen_with_a_reform_file_and_deleted() {
    for (label, _base, _store, clients) in started("simulate_upload").await {
        let [fin, plan, adm, rev] = &clients[..] else {
            unreachable!()
        };
        // A wrong row is named by its row and column, and nothing is kept.
        let bad = "applicant,applicant.kind,applicant.region,event,event_kind,event_date,event.amount,event.contract_type\n\
                   L4,university,dongchangfu,e1,contract_registered,2023-05-01,2000000,tech_transfer\n\
                   L5,research_institute,dongchangfu,e2,contract_registered,2023-05-01,12.345.6,tech_service\n";
        let (s, j) = upload_api(fin, "bad.csv", bad.as_bytes()).await;
        assert_eq!(s, 400, "{label}: {j}");
        let m = j["message"].as_str().unwrap();
        assert!(
            m.contains("第3行 row 3, 列 column event.amount"),
            "{label}: {m}"
        );
        let (s, j) = upload_api(fin, "twelve.xlsx", b"PK").await;
        assert_eq!(s, 400, "{label}: {j}");
        assert!(j["message"].as_str().unwrap().contains(".parquet"), "{j}");
        let (_, list) = fin.get("/api/simulations/populations").await;
        assert_eq!(list, json!([]), "{label}: nothing kept");
        // Reviewers may not upload.
        let (s, _) = upload_api(rev, "twelve.jsonl", TWELVE.as_bytes()).await;
        assert_eq!(s, 403, "{label}");

        // The twelve applicants: 12 applicants, 16 events.
        let (s, p) = upload_api(fin, "twelve.jsonl", TWELVE.as_bytes()).await;
        assert_eq!(s, 201, "{label}: {p}");
        assert_eq!(
            (
                p["applicants"].as_i64(),
                p["events"].as_i64(),
                p["format"].as_str()
            ),
            (Some(12), Some(16), Some("jsonl")),
            "{label}"
        );
        let pid = p["id"].as_str().unwrap().to_string();
        let (_, page) = fin.page("/simulate").await;
        assert!(
            page.contains(&format!("value=\"{pid}\"")),
            "{label}: offered as a population"
        );
        assert!(page.contains("20 MiB"), "{label}: the limit is stated");

        // A run over it with a reform file rewriting (十八): baseline 1,023,000.00 (worked out in
        // crates/simulate/tests/population.rs); the reform pays A4 300,000,000 × 0.3‰ = 90,000
        // (was 60,000) and A5 min(240,000, 150,000) = 150,000 (was 100,000): +80,000.
        let (s, j) = fin
            .post(
                "/api/simulations",
                json!({"from": "2023-01-01", "to": "2023-12-31", "population": pid, "reform": REFORM_18}),
            )
            .await;
        assert_eq!(s, 202, "{label}: {j}");
        assert_eq!(j["title"], "(十八) 按0.3‰、最高15万元");
        let run = j["id"].as_str().unwrap().to_string();
        let done = wait_over(fin, &run).await;
        assert_eq!(done["status"], "done", "{label}: {done}");
        assert_eq!(
            (
                done["total"].as_u64(),
                done["baseline_total"].as_str(),
                done["reform_total"].as_str()
            ),
            (Some(12), Some("1023000.00"), Some("1103000.00")),
            "{label}"
        );
        assert_eq!(
            done["measures"],
            json!([{"replace": "contract_registration_institution"}])
        );
        let line = done["result"]["comparison"]["lines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["measure"] == "contract_registration_institution")
            .unwrap()
            .clone();
        assert_eq!(
            (&line["baseline"], &line["reform"]),
            (&json!("160000.00"), &json!("240000.00")),
            "{label}"
        );
        assert_eq!(
            line["by_level"]["city"],
            json!({"baseline": "80000.00", "reform": "120000.00"})
        );
        let (_, page) = fin.page(&format!("/simulate/runs/{run}")).await;
        assert!(
            page.contains("twelve.jsonl"),
            "{label}: the population is named"
        );
        assert!(
            page.contains("id=\"reform-text\""),
            "{label}: the reform file is shown"
        );

        // A broken reform file is refused with its line and column, and nothing runs.
        let broken = REFORM_18.replace("registered_volume,", "registered_volum,");
        let (s, j) = fin
            .post(
                "/api/simulations",
                json!({"population": pid, "reform": broken}),
            )
            .await;
        assert_eq!(s, 400, "{label}: {j}");
        let m = j["message"].as_str().unwrap();
        assert!(m.starts_with("reform_text: 第9行第"), "{label}: {m}");
        // The page names it beside the reform file's field, the text kept.
        let (s, page) = form(
            fin,
            "/simulate",
            &[
                ("from", "2023-01-01"),
                ("to", "2023-12-31"),
                ("population", &pid),
                ("reform_text", &broken),
            ],
        )
        .await;
        assert_eq!(s, 400, "{label}");
        assert!(page.contains("id=\"err-reform_text\""), "{label}");
        assert!(page.contains("第9行第"), "{label}");
        assert!(page.contains("registered_volum,"), "{label}: the text kept");

        // The page's upload form (multipart): a wrong file comes back with its row named.
        let (ct, body) = multipart(
            &[("csrf", fin.csrf.as_str())],
            Some(("bad.csv", bad.as_bytes())),
        );
        let r = fin
            .http
            .post(format!("{}/simulate/populations", fin.base))
            .header("content-type", ct)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400, "{label}");
        let page = r.text().await.unwrap();
        assert!(page.contains("id=\"err-file\""), "{label}");
        assert!(page.contains("第3行 row 3"), "{label}");
        let (ct, body) = multipart(
            &[("csrf", plan.csrf.as_str())],
            Some(("again.jsonl", TWELVE.as_bytes())),
        );
        let r = plan
            .http
            .post(format!("{}/simulate/populations", plan.base))
            .header("content-type", ct)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 303, "{label}");
        let (_, list) = plan.get("/api/simulations/populations").await;
        assert_eq!(list.as_array().unwrap().len(), 2, "{label}");
        let planned = list[0]["id"].as_str().unwrap().to_string();
        assert_eq!(list[0]["name"], "again.jsonl");

        // Deleted by its uploader or an admin only; the run keeps its result.
        let (s, _) = plan
            .post(
                &format!("/api/simulations/populations/{pid}/delete"),
                json!({}),
            )
            .await;
        assert_eq!(s, 403, "{label}");
        let (s, _) = fin
            .post(
                &format!("/api/simulations/populations/{pid}/delete"),
                json!({}),
            )
            .await;
        assert_eq!(s, 200, "{label}");
        let (s, page) = form(adm, &format!("/simulate/populations/{planned}/delete"), &[]).await;
        assert_eq!(s, 303, "{label}: {page}");
        let (_, list) = fin.get("/api/simulations/populations").await;
        assert_eq!(list, json!([]), "{label}");
        let (_, r) = fin.get(&format!("/api/simulations/{run}")).await;
        assert_eq!(r["reform_total"], "1103000.00", "{label}");
        // A deleted population cannot be chosen.
        let (s, j) = fin
            .post("/api/simulations", json!({"population": pid}))
            .await;
        assert_eq!(s, 400, "{label}: {j}");
        assert!(j["message"].as_str().unwrap().contains("population"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_long_run_is_stopped_by_the_person_who_started_it() {
    for (label, _base, _store, clients) in started("simulate_stop").await {
        let [fin, plan, adm, _] = &clients[..] else {
            unreachable!()
        };
        let (s, j) = fin
            .post(
                "/api/simulations",
                json!({"from": "2021-07-14", "to": "2023-12-31", "population": "shenyang", "size": 200_000}),
            )
            .await;
        assert_eq!(s, 202, "{label}: {j}");
        let run = j["id"].as_str().unwrap().to_string();
        // Under way: at least one batch evaluated.
        let mut running = J::Null;
        for _ in 0..1200 {
            let (_, r) = fin.get(&format!("/api/simulations/{run}")).await;
            if r["done"].as_i64().unwrap_or(0) > 0 {
                running = r;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        assert_eq!(running["status"], "running", "{label}: {running}");
        // Its page offers the stop button to the one who started it, not to another.
        let (_, page) = fin.page(&format!("/simulate/runs/{run}")).await;
        assert!(page.contains("id=\"stop\""), "{label}");
        let (_, page) = plan.page(&format!("/simulate/runs/{run}")).await;
        assert!(!page.contains("id=\"stop\""), "{label}");
        let (s, j) = plan
            .post(&format!("/api/simulations/{run}/stop"), json!({}))
            .await;
        assert_eq!(s, 403, "{label}: {j}");

        let (s, j) = fin
            .post(&format!("/api/simulations/{run}/stop"), json!({}))
            .await;
        assert_eq!(s, 200, "{label}: {j}");
        assert_eq!(j["status"], "stopped", "{label}");
        // The runner ends at its next batch: the progress stays where it was, short of the
        // whole, and no result is written.
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        let (_, a) = fin.get(&format!("/api/simulations/{run}")).await;
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let (_, b) = fin.get(&format!("/api/simulations/{run}")).await;
        assert_eq!(
            (a["status"].as_str(), b["status"].as_str()),
            (Some("stopped"), Some("stopped")),
            "{label}"
        );
        assert_eq!(a["done"], b["done"], "{label}: nothing more evaluated");
        let done = b["done"].as_i64().unwrap();
        assert!(done > 0 && done < 200_000, "{label}: {b}");
        assert_eq!(
            (&b["result"], &b["baseline_total"], &b["stopped_by_name"]),
            (&J::Null, &J::Null, &json!("fin")),
            "{label}: {b}"
        );
        // Not a forecast: no download, the page says so.
        let r = fin
            .http
            .get(format!("{}/api/simulations/{run}/result.xlsx", fin.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 409, "{label}");
        let (_, page) = fin.page(&format!("/simulate/runs/{run}")).await;
        assert!(page.contains("id=\"stopped\""), "{label}");
        assert!(page.contains("已停止"), "{label}");
        assert!(!page.contains("id=\"download\""), "{label}");
        // A run that is over is not stopped again; an admin stops another's run by the page.
        let (s, _) = fin
            .post(&format!("/api/simulations/{run}/stop"), json!({}))
            .await;
        assert_eq!(s, 409, "{label}");
        let (s, j) = plan
            .post(
                "/api/simulations",
                json!({"from": "2021-07-14", "to": "2023-12-31", "population": "liaocheng", "size": 200_000}),
            )
            .await;
        assert_eq!(s, 202, "{label}: {j}");
        let second = j["id"].as_str().unwrap().to_string();
        let (s, loc) = form(adm, &format!("/simulate/runs/{second}/stop"), &[]).await;
        assert_eq!(
            (s, loc.as_str()),
            (303, format!("/simulate/runs/{second}").as_str()),
            "{label}"
        );
        let r = wait_over(plan, &second).await;
        assert_eq!(r["status"], "stopped", "{label}");
    }
}
