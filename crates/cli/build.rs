//! Embeds the shipped plan library (`plans/*.md`) and the demo data (`data/demo/*.json`) of the
//! workspace root in the binary: `$OUT_DIR/shipped.rs` holds one `include_str!` entry per
//! file, keyed by its path relative to the root and sorted by path, so `kechuang` needs no
//! source tree at run time. (The policy library is embedded by kc-library's build.rs.)
//! `rerun-if-changed` on each directory makes cargo rebuild when a file is added, removed or
//! edited.

use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let root = manifest
        .join("../..")
        .canonicalize()
        .expect("the workspace root");
    println!("cargo:rerun-if-changed=build.rs");
    let mut out = String::new();
    for (name, dir, ext, what) in [
        ("PLANS", "plans", "md", "The shipped plan files"),
        ("DEMO", "data/demo", "json", "The demo applicants"),
    ] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
        out.push_str(&format!(
            "/// {what}: (path relative to the workspace root, text), by path.\n\
             pub(crate) static {name}: &[(&str, &str)] = &[\n"
        ));
        for (key, full) in files(&root, dir, ext) {
            out.push_str(&format!("    ({key:?}, include_str!({full:?})),\n"));
        }
        out.push_str("];\n");
    }
    let dest =
        PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it")).join("shipped.rs");
    std::fs::write(dest, out).expect("write shipped.rs");
}

/// The `*.ext` files directly in `root/dir`, sorted by path: (`dir/name`, absolute path).
fn files(root: &Path, dir: &str, ext: &str) -> Vec<(String, String)> {
    let full = root.join(dir);
    let mut names: Vec<PathBuf> = std::fs::read_dir(&full)
        .unwrap_or_else(|e| panic!("{}: {e}", full.display()))
        .map(|e| PathBuf::from(e.expect("a directory entry").file_name()))
        .filter(|n| n.extension().is_some_and(|x| x == ext) && full.join(n).is_file())
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no *.{ext} files in {}", full.display());
    names
        .iter()
        .map(|n| {
            let n = n.to_str().expect("UTF-8 file names");
            (format!("{dir}/{n}"), full.join(n).display().to_string())
        })
        .collect()
}
