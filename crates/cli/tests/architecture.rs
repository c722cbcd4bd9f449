//! ARCHITECTURE.md is the map a newcomer reads first: it must name every crate of the
//! workspace (a `### \`crates/NAME\`` section) and every top-level module of each crate (its
//! file `name.rs` or directory `name/`). A crate or module added without a line there fails here.

use std::path::Path;

#[test]
fn architecture_md_names_every_crate_and_top_level_module() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let map = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let mut missing = Vec::new();
    let mut crates = 0;
    let mut modules = 0;
    for c in std::fs::read_dir(root.join("crates")).unwrap() {
        let c = c.unwrap().path();
        if !c.join("Cargo.toml").exists() {
            continue;
        }
        crates += 1;
        let name = c.file_name().unwrap().to_string_lossy().to_string();
        if !map.contains(&format!("### `crates/{name}`")) {
            missing.push(format!("crate crates/{name} has no section"));
        }
        let src = c.join("src");
        for m in std::fs::read_dir(&src).unwrap() {
            let m = m.unwrap().path();
            let file = m.file_name().unwrap().to_string_lossy().to_string();
            let module = if m.is_dir() {
                format!("{file}/")
            } else if file.ends_with(".rs") && file != "lib.rs" && file != "main.rs" {
                file.clone()
            } else {
                continue;
            };
            modules += 1;
            // Named by its file (`labels.rs`, `features/`), its path (`server/src/labels.rs`) or
            // as a Rust path (`kc_syntax::literate`, `` `resolve` ``).
            let stem = module.trim_end_matches('/').trim_end_matches(".rs");
            let named = [
                format!("`{module}"),
                format!("{name}/src/{module}"),
                format!("::{stem}"),
                format!("`{stem}`"),
            ]
            .iter()
            .any(|k| map.contains(k.as_str()));
            if !named {
                missing.push(format!(
                    "module crates/{name}/src/{module} is not on the map"
                ));
            }
        }
    }
    assert!(
        crates >= 10 && modules >= 20,
        "{crates} crates, {modules} modules"
    );
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md is out of date:\n{}",
        missing.join("\n")
    );
}
