//! Policy scenarios as data: a JSON file holds an eval input and the outcomes expected, with
//! amounts worked out by hand from the quoted clause. This crate runs them — for `cargo test`
//! and for policy authors through `kechuang test` — and reports every difference by file,
//! measure and key. Two rules make a scenario honest: it must expect something, and every
//! award the engine makes must be listed (no award passes unnoticed).
//!
//! Format (`tests/scenarios/*.json`):
//! `{ "name": "…", "worked": "hand computation from the clause", "input": {eval input},
//!    "expect": [ {"measure": "…", "event": "e1", "status": "awarded", "amount_kind": "cap",
//!                 "amount": "200000.00", "split": {"city": "…", "district": "…"}} ] }`
//! Keys other than `measure`, `event` and `why` are compared with the output (`split` as a
//! level → amount map); `event` is needed only when a measure has several outcomes.

use kc_check::Library;
use serde_json::Value as J;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Default)]
pub struct ScenarioResult {
    pub file: String,
    pub name: String,
    /// Empty when the scenario passed.
    pub problems: Vec<String>,
    /// (measure, expected status) of each expectation.
    pub expectations: Vec<(String, String)>,
}

impl ScenarioResult {
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The scenario files under `dir`, sorted.
pub fn files_in(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    Ok(files)
}

fn compare(expected: &J, actual: &J) -> Vec<String> {
    let mut out = Vec::new();
    let Some(obj) = expected.as_object() else {
        return vec!["  an expectation must be an object".into()];
    };
    for (k, v) in obj {
        if k == "measure" || k == "event" || k == "why" {
            continue;
        }
        let got = if k == "split" {
            let mut m = serde_json::Map::new();
            for s in actual["split"].as_array().into_iter().flatten() {
                m.insert(
                    s["level"].as_str().unwrap_or("").to_string(),
                    s["amount"].clone(),
                );
            }
            J::Object(m)
        } else {
            actual[k].clone()
        };
        if &got != v {
            out.push(format!("  {k}: expected {v}, got {got}"));
        }
    }
    out
}

/// Runs one scenario file against the library.
pub fn run_file(lib: &Library, path: &Path) -> ScenarioResult {
    let file = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => run_text(lib, &file, &text),
        Err(e) => ScenarioResult {
            file,
            problems: vec![format!("cannot read: {e}")],
            ..Default::default()
        },
    }
}

/// Runs one scenario given as text (`file` names it in the result): a scenario kept in a
/// library version in the database, for the 政策管理 workspace.
pub fn run_text(lib: &Library, file: &str, text: &str) -> ScenarioResult {
    let mut r = ScenarioResult {
        file: file.to_string(),
        ..Default::default()
    };
    let sc: J = match serde_json::from_str(text) {
        Ok(j) => j,
        Err(e) => {
            r.problems.push(format!("not valid JSON: {e}"));
            return r;
        }
    };
    r.name = sc["name"].as_str().unwrap_or("").to_string();
    let input = match kc_wire::parse_input(lib, &sc["input"].to_string(), None) {
        Ok(i) => i,
        Err(e) => {
            r.problems.push(format!("input rejected: {e}"));
            return r;
        }
    };
    let ev = kc_eval::evaluate(lib, &input);
    let out = kc_wire::to_json(lib, &input, &ev);
    let outcomes = out["outcomes"].as_array().cloned().unwrap_or_default();
    let Some(expects) = sc["expect"].as_array().filter(|e| !e.is_empty()) else {
        r.problems
            .push("no `expect` list: a scenario must assert something".into());
        return r;
    };
    for e in expects {
        let measure = e["measure"].as_str().unwrap_or("");
        r.expectations.push((
            measure.to_string(),
            e["status"].as_str().unwrap_or("").to_string(),
        ));
        if lib.measure(measure).is_none() {
            r.problems
                .push(format!(" {measure}: no such measure in the library"));
            continue;
        }
        let found: Vec<&J> = outcomes
            .iter()
            .filter(|o| {
                o["measure"] == measure && (e.get("event").is_none() || o["event"] == e["event"])
            })
            .collect();
        match found.as_slice() {
            [one] => {
                let d = compare(e, one);
                if !d.is_empty() {
                    r.problems.push(format!(
                        " {measure} {}:\n{}\n  conditions: {}\n  trace: {}",
                        e.get("event").map(|x| x.to_string()).unwrap_or_default(),
                        d.join("\n"),
                        one["conditions"],
                        one["trace"]
                    ));
                }
            }
            [] => r
                .problems
                .push(format!(" {measure}: no outcome matches {e}")),
            many => r.problems.push(format!(
                " {measure}: {} outcomes match {e}; name the event",
                many.len()
            )),
        }
    }
    for o in outcomes.iter().filter(|o| o["status"] == "awarded") {
        let listed = expects.iter().any(|e| {
            e["measure"] == o["measure"]
                && (e.get("event").is_none() || e["event"] == o["event"])
                && e["status"] == "awarded"
        });
        if !listed {
            r.problems.push(format!(
                " unexpected award: {} {} {}",
                o["measure"], o["event"], o["amount"]
            ));
        }
    }
    r
}

/// Measures of the library without both a qualifying and a non-qualifying scenario.
pub fn measures_lacking_scenarios(lib: &Library, results: &[ScenarioResult]) -> Vec<String> {
    let mut seen: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for r in results {
        for (m, status) in &r.expectations {
            let e = seen.entry(m.as_str()).or_default();
            if status == "awarded" {
                e.0 += 1;
            } else {
                e.1 += 1;
            }
        }
    }
    lib.measures
        .iter()
        .filter(|m| !matches!(seen.get(m.id.as_str()), Some((a, b)) if *a > 0 && *b > 0))
        .map(|m| {
            let (a, b) = seen.get(m.id.as_str()).copied().unwrap_or_default();
            format!(
                "{}: {a} qualifying, {b} non-qualifying scenario(s); needs at least one of each",
                m.id
            )
        })
        .collect()
}
