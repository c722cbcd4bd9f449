//! The 测算 workspace (issue 13, item 5) on both databases: a run over the demo applicants
//! completes in the background with exactly what kc-simulate gives on the same inputs; a reform
//! run shows the delta; a wrong knob value is refused with its field named and nothing runs;
//! applicants and reviewers are refused; the runs and their results are read back by another
//! instance on the same database (a restart).

mod common;

use common::*;
use kc_store::Actor;
use serde_json::{Value as J, json};
use std::sync::Arc;

async fn wait_done(c: &Client, id: &str) -> J {
    for _ in 0..1200 {
        let (s, r) = c.get(&format!("/api/simulations/{id}")).await;
        assert_eq!(s, 200, "{r}");
        match r["status"].as_str() {
            Some("done") => return r,
            Some("failed") => panic!("run failed: {r}"),
            _ => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
    panic!("run {id} not done in 60 s");
}

/// kc-simulate over the same population, directly: (baseline, reform) forecasts.
async fn direct(
    store: &kc_store::Store,
    lib: &Arc<kc_check::Library>,
    reform: Option<&kc_simulate::reform::Reform>,
) -> (kc_simulate::Forecast, Option<kc_simulate::Forecast>) {
    let (from, to) = ("2020-01-01".parse().unwrap(), "2023-12-31".parse().unwrap());
    let inputs = store
        .population(&Actor::new("t", kc_domain::Role::Finance), to)
        .await
        .unwrap();
    let reformed = reform.map(|r| kc_simulate::reform::apply(lib, r, &[]).unwrap());
    let mut b = kc_simulate::Simulation::new(lib, Some(from), Some(to));
    let mut r = reformed
        .as_ref()
        .map(|l| kc_simulate::Simulation::new(l, Some(from), Some(to)));
    for doc in &inputs {
        let input = kc_wire::parse_input_value(lib, doc, None).unwrap();
        if let Some(r) = r.as_mut() {
            r.add(input.clone());
        }
        b.add(input);
    }
    (b.finish(), r.map(|r| r.finish()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_run_equals_kc_simulate_a_reform_shows_its_delta_and_both_survive_a_restart() {
    for (label, url) in backends("simulate").await {
        let (base, store) = start(&url).await;
        kc_server::seed::first_start(&store, Some(&demo_data()))
            .await
            .unwrap();
        seed(&store).await;
        let lib = library();
        let fin = Client::login(&base, "fin").await;

        // The baseline over 2020–2023: the same forecast as kc-simulate's on the same inputs.
        let (s, j) = fin
            .post(
                "/api/simulations",
                json!({"from": "2020-01-01", "to": "2023-12-31", "title": "基线 2020–2023"}),
            )
            .await;
        assert_eq!(s, 202, "{label}: {j}");
        assert!(
            ["queued", "running", "done"].contains(&j["status"].as_str().unwrap()),
            "{label}: {j}"
        );
        let run = j["id"].as_str().unwrap().to_string();
        let done = wait_done(&fin, &run).await;
        let (want, _) = direct(&store, &lib, None).await;
        assert!(
            want.total() > kc_money::Money::ZERO,
            "{label}: awards in 2020–2023"
        );
        let mut got = done["result"]["baseline"].clone();
        assert!(got["levels"].is_object(), "{label}");
        got.as_object_mut().unwrap().remove("levels");
        assert_eq!(got, kc_simulate::to_json(&want), "{label}");
        assert_eq!(
            done["baseline_total"].as_str(),
            Some(want.total().plain().as_str()),
            "{label}"
        );
        assert_eq!(done["done"], done["total"], "{label}");
        assert_eq!(done["total"].as_u64(), Some(want.applicants as u64));

        // A reform: 科技型中小企业 first filings get 3万元 instead of 2万元.
        let rf = kc_simulate::reform::Reform {
            changes: vec![kc_simulate::reform::Change {
                knob: "tech_sme_first#1".into(),
                value: "3万元".into(),
                from: None,
            }],
            ..Default::default()
        };
        let (s, j) = fin
            .post(
                "/api/simulations",
                json!({"from": "2020-01-01", "to": "2023-12-31", "changes": [{"knob": "tech_sme_first#1", "value": "3万元"}]}),
            )
            .await;
        assert_eq!(s, 202, "{label}: {j}");
        let reform_run = j["id"].as_str().unwrap().to_string();
        let done = wait_done(&fin, &reform_run).await;
        let (b, r) = direct(&store, &lib, Some(&rf)).await;
        let r = r.unwrap();
        let cmp = kc_simulate::compare(&b, &r);
        let awards: usize = b
            .lines
            .iter()
            .filter(|l| l.measure == "tech_sme_first")
            .map(|l| l.awards)
            .sum();
        assert!(awards > 0, "{label}: first filings in 2020–2023");
        let delta = r.total() - b.total();
        assert_eq!(
            delta,
            kc_money::Money::parse_amount(&format!("{}", awards * 10_000)).unwrap(),
            "{label}: 1万元 more per award"
        );
        let mut got = done["result"]["reform"].clone();
        got.as_object_mut().unwrap().remove("levels");
        assert_eq!(got, kc_simulate::to_json(&r), "{label}");
        let c = &done["result"]["comparison"];
        assert_eq!(
            c["winners"]["count"].as_u64(),
            Some(cmp.winners().count() as u64)
        );
        assert_eq!(c["winners"]["total"].as_str(), Some(delta.plain().as_str()));
        assert_eq!(c["losers"]["count"], 0);
        let line = c["lines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["measure"] == "tech_sme_first" && d["delta"] != "0.00")
            .unwrap_or_else(|| panic!("{label}: a delta line of tech_sme_first: {c}"));
        assert!(line["by_level"].is_object());
        // Finance sees who gains; the plan office only the kind and region.
        assert!(c["largest"][0]["name"].is_string(), "{c}");
        let plan = Client::login(&base, "plan").await;
        let (s, p) = plan.get(&format!("/api/simulations/{reform_run}")).await;
        assert_eq!(s, 200);
        let largest = &p["result"]["comparison"]["largest"][0];
        assert!(
            largest.get("name").is_none() && largest.get("id").is_none(),
            "{largest}"
        );
        assert!(largest["kind"].is_string() && largest["region"].is_string());

        // The pages: the run with its tables and chart, the delta, the download.
        let (s, html) = fin.page(&format!("/simulate/runs/{reform_run}")).await;
        assert_eq!(s, 200);
        for want in [
            "id=\"lines\"",
            "id=\"levels\"",
            "id=\"chart\"",
            "id=\"delta\"",
            "id=\"largest\"",
            &delta.to_string(),
            "<title id=\"chart-title\">",
        ] {
            assert!(html.contains(want), "{label}: the run page lacks {want}");
        }
        let r = fin
            .http
            .get(format!("{base}/simulate/runs/{reform_run}/result.xlsx"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let bytes = r.bytes().await.unwrap();
        assert!(bytes.starts_with(b"PK"), "{label}: xlsx");
        let (s, html) = fin.page("/simulate").await;
        assert_eq!(s, 200);
        assert!(
            html.contains(&reform_run) && html.contains(&run),
            "{label}: listed"
        );

        // A restart: another instance on the same database reads both runs back as they were.
        let (base2, _) = start(&url).await;
        let fin2 = Client::login(&base2, "fin").await;
        let (s, again) = fin2.get(&format!("/api/simulations/{reform_run}")).await;
        assert_eq!(s, 200);
        assert_eq!(again, done, "{label}: read back after a restart");
        let (_, list) = fin2.get("/api/simulations").await;
        let ids: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids,
            [reform_run.as_str(), run.as_str()],
            "{label}: newest first"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_wrong_value_is_refused_with_its_field_and_nothing_runs_and_applicants_are_refused() {
    for (label, url) in backends("simulate_bad").await {
        let (base, store) = start(&url).await;
        seed(&store).await;
        let fin = Client::login(&base, "fin").await;
        let (s, j) = fin
            .post(
                "/api/simulations",
                json!({"from": "2023-01-01", "to": "2023-12-31", "changes": [
                    {"knob": "tech_sme_first#1", "value": "abc"},
                    {"knob": "no_such_knob", "value": "1"},
                    {"knob": "tech_sme_first#1x", "value": "1", "from": "2023-13-01"}
                ]}),
            )
            .await;
        assert_eq!(s, 400, "{label}: {j}");
        let m = j["message"].as_str().unwrap();
        assert!(
            m.contains("k:tech_sme_first#1: ")
                && m.contains("不是金额")
                && m.contains("is not an amount"),
            "{label}: {m}"
        );
        assert!(m.contains("k:no_such_knob: 没有可调整项"), "{m}");
        assert!(m.contains("f:tech_sme_first#1x: "), "{m}");
        let (s, j) = fin
            .post(
                "/api/simulations",
                json!({"from": "2023-12-31", "to": "2023-01-01"}),
            )
            .await;
        assert_eq!(
            (
                s,
                j["message"].as_str().is_some_and(|m| m.starts_with("to: "))
            ),
            (400, true),
            "{j}"
        );

        // The page: the form comes back (400) with the reason beside the field, the value kept.
        let r = fin
            .http
            .post(format!("{base}/simulate"))
            .form(&[
                ("csrf", fin.csrf.as_str()),
                ("from", "2023-01-01"),
                ("to", "2023-12-31"),
                ("k:tech_sme_first#1", "3万"),
                ("k:hitech_first#1", "abc"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{label}");
        let html = r.text().await.unwrap();
        assert!(
            html.contains("id=\"err-k-hitech-first-1\""),
            "{label}: the error by the field"
        );
        assert!(html.contains("不是金额"), "{label}");
        assert!(
            html.contains("value=\"abc\"") && html.contains("value=\"3万\""),
            "{label}: input kept"
        );
        assert!(
            !html.contains("id=\"err-k-tech-sme-first-1\""),
            "{label}: 3万 is right"
        );
        let (_, list) = fin.get("/api/simulations").await;
        assert_eq!(list, json!([]), "{label}: nothing ran");

        // A good form starts a run and goes to its page.
        let r = fin
            .http
            .post(format!("{base}/simulate"))
            .form(&[
                ("csrf", fin.csrf.as_str()),
                ("from", "2023-01-01"),
                ("to", "2023-12-31"),
                ("rm", "hitech_first"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{label}");
        let to = r.headers()["location"].to_str().unwrap().to_string();
        assert!(to.starts_with("/simulate/runs/CS"), "{to}");

        // Applicants and reviewers: refused, before anything is read.
        for who in ["hn", "rev"] {
            let c = Client::login(&base, who).await;
            let (s, _) = c
                .post(
                    "/api/simulations",
                    json!({"from": "2023-01-01", "to": "2023-12-31"}),
                )
                .await;
            assert_eq!(s, 403, "{label}: {who}");
            let (s, _) = c.page("/simulate").await;
            assert_eq!(s, 403, "{label}: {who}");
            let (s, _) = c.page(&to).await;
            assert_eq!(s, 403, "{label}: {who}");
        }
        let anon = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let r = anon.get(format!("{base}/simulate")).send().await.unwrap();
        assert_eq!(r.status(), 401, "{label}: anonymous");
    }
}

/// A synthetic population from a shipped calibration (data/population/shenyang.toml): the run
/// equals the generator's population (same seed, same period) evaluated one applicant at a
/// time by the per-applicant engine; a size out of range or an unknown population is refused
/// with its field named.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_synthetic_population_equals_the_generator_under_the_engine() {
    for (label, url) in backends("simulate_synth").await {
        let (base, store) = start(&url).await;
        kc_server::seed::first_start(&store, Some(&demo_data()))
            .await
            .unwrap();
        seed(&store).await;
        let lib = library();
        let fin = Client::login(&base, "fin").await;
        let (s, j) = fin
            .post(
                "/api/simulations",
                json!({"from": "2021-07-14", "to": "2023-12-31", "population": "shenyang", "size": 3000}),
            )
            .await;
        assert_eq!(s, 202, "{label}: {j}");
        let done = wait_done(&fin, j["id"].as_str().unwrap()).await;
        assert_eq!(done["total"].as_u64(), Some(3000), "{label}");
        let (from, to) = ("2021-07-14".parse().unwrap(), "2023-12-31".parse().unwrap());
        let cal = kc_population::Calibration::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../data/population/shenyang.toml"),
        )
        .unwrap();
        let mut sim = kc_simulate::Simulation::new(&lib, Some(from), Some(to));
        for input in kc_population::generate_over(&lib, &cal, 3000, 1, Some((from, to))).unwrap() {
            sim.add(input);
        }
        let want = sim.finish();
        assert!(
            want.lines.len() > 5 && want.total() > kc_money::Money::ZERO,
            "{label}: awards under several measures"
        );
        let mut got = done["result"]["baseline"].clone();
        got.as_object_mut().unwrap().remove("levels");
        assert_eq!(got, kc_simulate::to_json(&want), "{label}");

        for (body, field) in [
            (json!({"population": "shenyang", "size": 0}), "size"),
            (json!({"population": "shenyang", "size": 200_001}), "size"),
            (json!({"population": "atlantis"}), "population"),
        ] {
            let (s, j) = fin.post("/api/simulations", body).await;
            assert_eq!(s, 400, "{label}: {j}");
            assert!(
                j["message"].as_str().unwrap_or("").contains(field),
                "{label}: {j}"
            );
        }
    }
}

/// Hostile input: a reform listing 10,001 changes is refused at once, with nothing run.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reform_of_ten_thousand_changes_is_refused() {
    for (label, url) in backends("simulate_hostile").await {
        let (base, store) = start(&url).await;
        kc_server::seed::first_start(&store, Some(&demo_data()))
            .await
            .unwrap();
        seed(&store).await;
        let fin = Client::login(&base, "fin").await;
        let changes: Vec<J> = (0..10_001)
            .map(|i| json!({"knob": format!("tech_sme_first#{i}"), "value": "1元"}))
            .collect();
        let (s, j) = fin
            .post("/api/simulations", json!({"changes": changes}))
            .await;
        assert_eq!(s, 400, "{label}: {j}");
        assert!(
            j["message"].as_str().unwrap_or("").contains("reform"),
            "{label}: {j}"
        );
        let (s, runs) = fin.get("/api/simulations").await;
        assert_eq!(s, 200);
        assert_eq!(
            runs.as_array().map(Vec::len),
            Some(0),
            "{label}: nothing ran"
        );
    }
}
