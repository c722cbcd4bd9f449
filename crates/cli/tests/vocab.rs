//! The vocabulary views: `kechuang vocab` (Markdown reference) and the JSON Schema of eval
//! input generated from the vocabulary — checked by validating every shipped input (scenarios,
//! examples, demo data) against it with an independent JSON Schema validator, and by showing
//! it rejects what the engine's own reader rejects.

use serde_json::{Value as J, json};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn json_files(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_shipped_input_validates_against_the_generated_schema() {
    let (files, checked) = kc_library::load(&root().join("policies")).unwrap();
    assert!(!checked.has_errors(), "{}", checked.render(&files));
    let lib = checked.library.unwrap();
    let schema = kc_wire::input_schema(&lib);
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the schema compiles");
    let mut n = 0;
    let mut inputs: Vec<(String, J)> = Vec::new();
    for p in json_files("tests/scenarios") {
        let j: J = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        inputs.push((p.display().to_string(), j["input"].clone()));
    }
    for dir in ["examples", "data/demo"] {
        for p in json_files(dir) {
            inputs.push((
                p.display().to_string(),
                serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap(),
            ));
        }
    }
    for (name, input) in &inputs {
        let errors: Vec<String> = validator
            .iter_errors(input)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
        n += 1;
    }
    assert!(n > 100, "validated {n} inputs");

    // What the reader rejects, the schema rejects too.
    let base = json!({"schema": "kechuang/eval-input/v1", "as_of": "2023-01-01",
                      "applicant": {"kind": "enterprise", "region": "hunnan"}});
    let mut bad_field = base.clone();
    bad_field["applicant"]["colour"] = json!("red");
    let mut bad_kind = base.clone();
    bad_kind["applicant"]["kind"] = json!("company");
    let mut bad_money = base.clone();
    bad_money["events"] = json!([{"id": "e", "kind": "rd_project_invested", "date": "2023-01-01", "rd_investment": "12.345"}]);
    let mut bad_event = base.clone();
    bad_event["events"] = json!([{"id": "e", "kind": "no_such_event", "date": "2023-01-01"}]);
    assert!(validator.is_valid(&base));
    for (what, bad) in [
        ("unknown field", bad_field),
        ("unknown kind", bad_kind),
        ("sub-fen amount", bad_money),
        ("unknown event", bad_event),
    ] {
        assert!(
            !validator.is_valid(&bad),
            "schema accepted an input with an {what}"
        );
        assert!(
            kc_wire::parse_input(&lib, &bad.to_string(), None).is_err(),
            "reader accepted an input with an {what}"
        );
    }
}

#[test]
fn vocab_markdown_lists_every_event_and_enum_with_labels() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kechuang"))
        .args(["vocab"])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(out.status.success());
    let md = String::from_utf8(out.stdout).unwrap();
    let (_, checked) = kc_library::load(&root().join("policies")).unwrap();
    let lib = checked.library.unwrap();
    for e in &lib.vocab.events {
        assert!(
            md.contains(&format!("### `{}` {}", e.name, e.label.zh)),
            "event {} missing",
            e.name
        );
    }
    for e in &lib.vocab.enums {
        for m in &e.members {
            assert!(
                md.contains(&format!("| `{}` | {} |", m.name, m.label.zh)),
                "member {} missing",
                m.name
            );
        }
    }
    assert!(md.contains("| `rd_investment` | Money | 研发投入"), "{md}");
}

#[test]
fn the_committed_vocabulary_reference_is_current() {
    // docs/vocabulary.md is `kechuang vocab` output; regenerate it when the vocabulary changes:
    //   cargo run -p kc-cli -- vocab > docs/vocabulary.md
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kechuang"))
        .arg("vocab")
        .current_dir(root())
        .output()
        .unwrap();
    let fresh = String::from_utf8(out.stdout).unwrap();
    let committed = std::fs::read_to_string(root().join("docs/vocabulary.md")).unwrap();
    assert!(
        fresh == committed,
        "docs/vocabulary.md is stale: run `cargo run -p kc-cli -- vocab > docs/vocabulary.md`"
    );
}
