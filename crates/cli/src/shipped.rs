//! The plan library and the demo data built into the binary by build.rs, so that `kechuang`
//! runs anywhere: a copied binary, `cargo install`, a container. (The policy library is
//! `kc_library::shipped`.) Paths are relative to the workspace root (`plans/…`, `data/demo/…`),
//! as a run from a checkout would name them.

// `PLANS` and `DEMO`: written by build.rs.
include!(concat!(env!("OUT_DIR"), "/shipped.rs"));

fn owned(files: &[(&str, &str)]) -> Vec<(String, String)> {
    files
        .iter()
        .map(|(p, t)| ((*p).to_string(), (*t).to_string()))
        .collect()
}

/// The shipped plan files (`plans/*.md`): (path, text), by path.
pub fn plans() -> Vec<(String, String)> {
    owned(PLANS)
}

/// The demo applicants (`data/demo/*.json`, eval-input files): (path, text), by path.
pub fn demo() -> Vec<(String, String)> {
    owned(DEMO)
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    /// The files of `dir` in the checkout with extension `ext`, as (path from the root, bytes).
    fn on_disk(dir: &str, ext: &str) -> Vec<(String, Vec<u8>)> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut paths: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == ext))
            .collect();
        paths.sort();
        paths
            .iter()
            .map(|p| {
                let name = p.file_name().unwrap().to_str().unwrap();
                (format!("{dir}/{name}"), std::fs::read(p).unwrap())
            })
            .collect()
    }

    fn assert_same(embedded: Vec<(String, String)>, disk: Vec<(String, Vec<u8>)>) {
        assert!(!disk.is_empty());
        let e: Vec<(String, Vec<u8>)> = embedded
            .into_iter()
            .map(|(p, t)| (p, t.into_bytes()))
            .collect();
        let names = |v: &[(String, Vec<u8>)]| v.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
        assert_eq!(names(&e), names(&disk), "embedded files vs the directory");
        for (a, b) in e.iter().zip(&disk) {
            assert!(
                a.1 == b.1,
                "{}: the embedded copy differs from the file",
                a.0
            );
        }
    }

    #[test]
    fn the_embedded_plans_are_the_plans_directory() {
        assert_same(super::plans(), on_disk("plans", "md"));
    }

    #[test]
    fn the_embedded_demo_data_is_the_data_demo_directory() {
        assert_same(super::demo(), on_disk("data/demo", "json"));
    }
}
