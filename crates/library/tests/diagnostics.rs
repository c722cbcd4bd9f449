//! Deliberately broken policy files (`tests/diagnostics/*.md`), each checked together with the
//! shipped vocabulary; the rendered diagnostics are snapshot-tested (update with
//! `INSTA_UPDATE=always cargo test`). A file that produced no error would fail: each exists to
//! show one.

use kc_check::SourceFile;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn check_one(name: &str) -> String {
    let vocab = SourceFile {
        path: "policies/vocabulary.md".into(),
        text: std::fs::read_to_string(root().join("policies/vocabulary.md")).unwrap(),
    };
    let rel = format!("tests/diagnostics/{name}");
    let broken = SourceFile {
        path: rel.clone(),
        text: std::fs::read_to_string(root().join(&rel)).unwrap(),
    };
    let files = vec![vocab, broken];
    let checked = kc_check::check_library(&files);
    assert!(checked.has_errors(), "{name} should not check cleanly");
    assert!(
        checked.library.is_none(),
        "{name}: a library with errors must not be produced"
    );
    assert!(
        checked.diagnostics.iter().all(|d| d.file == 1),
        "{name}: errors must point into the broken file"
    );
    checked.render(&files)
}

#[test]
fn broken_policy_files_give_the_expected_diagnostics() {
    let mut names: Vec<String> = std::fs::read_dir(root().join("tests/diagnostics"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".md"))
        .collect();
    names.sort();
    assert!(names.len() >= 9, "found {} broken files", names.len());
    for name in names {
        let rendered = check_one(&name);
        insta::assert_snapshot!(name.trim_end_matches(".md").to_string(), rendered);
    }
}

#[test]
fn the_shipped_library_checks_cleanly() {
    let (files, checked) = kc_library::load(&root().join("policies")).unwrap();
    assert!(!checked.has_errors(), "{}", checked.render(&files));
    let lib = checked.library.unwrap();
    let numbers: Vec<&str> = lib.documents.iter().map(|d| d.number.as_str()).collect();
    for n in ["沈政发〔2021〕11号", "聊政字〔2020〕15号"] {
        assert!(numbers.contains(&n), "{n} missing from {numbers:?}");
    }
    assert_eq!(lib.documents.len(), 5, "{numbers:?}");
    // Every measure cites a clause whose quote is present in the file.
    for m in &lib.measures {
        assert!(
            !m.clause.quote.is_empty(),
            "{}: clause {} has no quoted text",
            m.id,
            m.clause.id
        );
    }
}
