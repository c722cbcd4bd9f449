//! Embeds the shipped policy library in the crate: every `*.md` under `policies/` at the
//! workspace root becomes an `include_str!` entry of `$OUT_DIR/shipped_policies.rs`, keyed by
//! its path relative to the root (`policies/vocabulary.md`) and sorted the way `read_dir`
//! sorts, so the binary needs no source tree at run time. `rerun-if-changed` on the directory
//! makes cargo rebuild when a file is added, removed or edited.

use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let root = manifest
        .join("../..")
        .canonicalize()
        .expect("the workspace root");
    let dir = root.join("policies");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut rel = Vec::new();
    collect(&root, Path::new("policies"), &mut rel);
    rel.sort();
    assert!(!rel.is_empty(), "no policy files under {}", dir.display());
    let mut out = String::from(
        "/// The shipped policy files: (path relative to the workspace root, text), by path.\n\
         pub(crate) static SHIPPED: &[(&str, &str)] = &[\n",
    );
    for r in &rel {
        let key = r
            .components()
            .map(|c| c.as_os_str().to_str().expect("UTF-8 file names"))
            .collect::<Vec<_>>()
            .join("/");
        out.push_str(&format!(
            "    ({key:?}, include_str!({:?})),\n",
            root.join(r).display().to_string()
        ));
    }
    out.push_str("];\n");
    // The scenarios under tests/scenarios, which seed the database's first library version
    // beside the policies (the 政策管理 workspace runs them before publishing).
    let scen = root.join("tests/scenarios");
    println!("cargo:rerun-if-changed={}", scen.display());
    let mut names: Vec<String> = std::fs::read_dir(&scen)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".json"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    out.push_str(
        "/// The shipped scenario files: (path relative to the workspace root, text), by path.\n\
         pub(crate) static SHIPPED_SCENARIOS: &[(&str, &str)] = &[\n",
    );
    for n in &names {
        out.push_str(&format!(
            "    ({:?}, include_str!({:?})),\n",
            format!("tests/scenarios/{n}"),
            scen.join(n).display().to_string()
        ));
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"))
        .join("shipped_policies.rs");
    std::fs::write(dest, out).expect("write shipped_policies.rs");
}

/// Every `*.md` under `root/rel`, recursively, as paths relative to `root`.
fn collect(root: &Path, rel: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(root.join(rel))
        .unwrap_or_else(|e| panic!("{}: {e}", root.join(rel).display()));
    for e in entries {
        let name = e.expect("a directory entry").file_name();
        let r = rel.join(name);
        let full = root.join(&r);
        if full.is_dir() {
            collect(root, &r, out);
        } else if r.extension().is_some_and(|x| x == "md") {
            out.push(r);
        }
    }
}
