//! The server's modules form layers without cycles: leaf modules (the API's shared pieces,
//! sessions, guards, words, the page frame, forms, lists, schemas) import no feature and no API
//! assembly; a feature imports no other feature and not the API assembly (`api_ext`), which
//! sits above the features with the router. Read from the source, so a new import that breaks
//! the layering fails here.

use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn leaves_and_features_import_upwards_never() {
    let mut problems = Vec::new();
    let leaves = [
        "api.rs",
        "auth.rs",
        "guard.rs",
        "labels.rs",
        "layout.rs",
        "forms.rs",
        "listing.rs",
        "schemas.rs",
    ];
    for leaf in leaves {
        let text = std::fs::read_to_string(src().join(leaf)).unwrap();
        for upward in ["crate::features", "crate::api_ext"] {
            if text.contains(upward) {
                problems.push(format!("leaf {leaf} imports {upward}"));
            }
        }
    }
    let mut features = Vec::new();
    rust_files(&src().join("features"), &mut features);
    assert!(features.len() >= 13, "{features:?}");
    for f in features {
        if f.ends_with("features/mod.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        let name = f.strip_prefix(src()).unwrap().display().to_string();
        for upward in ["crate::features::", "crate::api_ext"] {
            if text.contains(upward) {
                problems.push(format!("feature {name} imports {upward}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
