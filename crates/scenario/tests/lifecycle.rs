//! The policy lifecycle as data: each directory under `tests/lifecycle/` holds a test fixture
//! document that amends, extends, repeals or opens for applications the shipped
//! 沈政发〔2021〕11号, and scenarios worked out by hand. Each runs against the shipped library
//! plus that one fixture.

use kc_check::{Library, SourceFile, check_library};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/lifecycle")
}

/// The shipped library plus the fixture documents of `case`.
fn library_with(case: &str) -> Library {
    let mut files: Vec<SourceFile> = kc_library::shipped();
    let dir = root().join(case);
    let mut mds: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    mds.sort();
    for p in mds {
        files.push(SourceFile {
            path: format!(
                "tests/lifecycle/{case}/{}",
                p.file_name().unwrap().to_string_lossy()
            ),
            text: std::fs::read_to_string(&p).unwrap(),
        });
    }
    let checked = check_library(&files);
    assert!(!checked.has_errors(), "{}", checked.render(&files));
    checked.library.unwrap()
}

fn run(case: &str) {
    let lib = library_with(case);
    let paths = kc_scenario::files_in(&root().join(case)).unwrap();
    assert!(!paths.is_empty(), "no scenario in {case}");
    let failures: Vec<String> = paths
        .iter()
        .map(|p| kc_scenario::run_file(&lib, p))
        .filter(|r| !r.passed())
        .map(|r| format!("{} ({}):\n{}", r.file, r.name, r.problems.join("\n")))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_repealed_document_pays_before_the_repeal_and_nothing_after() {
    run("repeal");
}

#[test]
fn an_amendment_changes_the_rate_from_its_date() {
    run("amend");
}

#[test]
fn an_extension_covers_a_later_event() {
    run("extend");
}
