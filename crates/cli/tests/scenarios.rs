//! Runs every policy scenario under `tests/scenarios/`: a JSON file with an eval input and the
//! outcomes expected, amounts worked out by hand from the quoted clause. One test, many files,
//! so a new scenario needs no code; a mismatch prints the file, the expectation and the diff.

use serde_json::Value as J;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn library() -> kc_check::Library {
    let (files, checked) = kc_library::load(&root().join("policies")).expect("policies load");
    assert!(!checked.has_errors(), "{}", checked.render(&files));
    checked.library.unwrap()
}

/// Compares one expected outcome with the actual one; returns the differences.
fn diff(expected: &J, actual: &J) -> Vec<String> {
    let mut out = Vec::new();
    let obj = expected.as_object().expect("expectation is an object");
    for (k, v) in obj {
        if k == "measure" || k == "event" || k == "why" {
            continue;
        }
        let got = match k.as_str() {
            // Splits are compared as level → amount maps.
            "split" => {
                let mut m = serde_json::Map::new();
                for s in actual["split"].as_array().into_iter().flatten() {
                    m.insert(
                        s["level"].as_str().unwrap().to_string(),
                        s["amount"].clone(),
                    );
                }
                J::Object(m)
            }
            "range" => actual["range"].clone(),
            _ => actual[k].clone(),
        };
        if &got != v {
            out.push(format!("  {k}: expected {v}, got {got}"));
        }
    }
    out
}

#[test]
fn every_scenario_matches_its_hand_worked_expectation() {
    let lib = library();
    let dir = root().join("tests/scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/scenarios exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 30,
        "expected the scenario library, found {} files",
        files.len()
    );
    let mut failures = Vec::new();
    let mut measures_seen = std::collections::BTreeMap::<String, (usize, usize)>::new();
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(f).unwrap();
        let sc: J = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let input_text = serde_json::to_string(&sc["input"]).unwrap();
        let input = match kc_wire::parse_input(&lib, &input_text, None) {
            Ok(i) => i,
            Err(e) => {
                failures.push(format!("{name}: input rejected: {e}"));
                continue;
            }
        };
        let ev = kc_eval::evaluate(&lib, &input);
        let out = kc_wire::to_json(&lib, &input, &ev);
        let outcomes = out["outcomes"].as_array().unwrap();
        let expects = sc["expect"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: no expect list"));
        assert!(
            !expects.is_empty(),
            "{name}: empty expect list asserts nothing"
        );
        let mut problems = Vec::new();
        for e in expects {
            let measure = e["measure"].as_str().unwrap();
            let entry = measures_seen.entry(measure.to_string()).or_default();
            if e["status"] == "awarded" {
                entry.0 += 1;
            } else {
                entry.1 += 1;
            }
            let found: Vec<&J> = outcomes
                .iter()
                .filter(|o| {
                    o["measure"] == measure
                        && (e.get("event").is_none() || o["event"] == e["event"])
                })
                .collect();
            match found.as_slice() {
                [one] => {
                    let d = diff(e, one);
                    if !d.is_empty() {
                        problems.push(format!(
                            " {measure} {}:\n{}\n  conditions: {}\n  trace: {}",
                            e.get("event").map(|x| x.to_string()).unwrap_or_default(),
                            d.join("\n"),
                            one["conditions"],
                            one["trace"]
                        ));
                    }
                }
                [] => problems.push(format!(" {measure}: no outcome for {e}")),
                many => problems.push(format!(
                    " {measure}: {} outcomes match {e}; name the event",
                    many.len()
                )),
            }
        }
        // Every award the evaluation makes must be expected: nothing is paid by surprise.
        for o in outcomes.iter().filter(|o| o["status"] == "awarded") {
            let listed = expects.iter().any(|e| {
                e["measure"] == o["measure"]
                    && (e.get("event").is_none() || e["event"] == o["event"])
                    && e["status"] == "awarded"
            });
            if !listed {
                problems.push(format!(
                    " unexpected award: {} {} {}",
                    o["measure"], o["event"], o["amount"]
                ));
            }
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{name} ({}):\n{}",
                sc["name"].as_str().unwrap_or(""),
                problems.join("\n")
            ));
        }
    }
    // Every measure of the library has a qualifying and a non-qualifying scenario.
    for m in &lib.measures {
        match measures_seen.get(&m.id) {
            Some((yes, no)) if *yes > 0 && *no > 0 => {}
            other => failures.push(format!(
                "measure {} lacks scenarios (awarded, other) = {other:?}",
                m.id
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} scenario failures:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    println!("{} scenarios passed", files.len());
}
