//! Runs every policy scenario under `tests/scenarios/` (see the `kc-scenario` crate for the
//! format): amounts worked out by hand from the quoted clauses. Every measure of the library
//! must have a qualifying and a non-qualifying scenario.

use std::path::Path;

#[test]
fn every_scenario_matches_its_hand_worked_expectation() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (files, checked) = kc_library::load(&root.join("policies")).expect("policies load");
    assert!(!checked.has_errors(), "{}", checked.render(&files));
    let lib = checked.library.unwrap();
    let paths = kc_scenario::files_in(&root.join("tests/scenarios")).unwrap();
    assert!(
        paths.len() >= 30,
        "expected the scenario library, found {} files",
        paths.len()
    );
    let results: Vec<_> = paths
        .iter()
        .map(|p| kc_scenario::run_file(&lib, p))
        .collect();
    let mut failures: Vec<String> = results
        .iter()
        .filter(|r| !r.passed())
        .map(|r| format!("{} ({}):\n{}", r.file, r.name, r.problems.join("\n")))
        .collect();
    failures.extend(kc_scenario::measures_lacking_scenarios(&lib, &results));
    assert!(
        failures.is_empty(),
        "{} scenario failures:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    println!("{} scenarios passed", results.len());
}
