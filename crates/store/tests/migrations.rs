//! Every migration file shipped is registered, in order, for both backends, and the two
//! backends have the same list: a file added but not registered would never run.

use kc_store::{Backend, migrate};

#[test]
fn every_migration_file_is_registered_for_both_backends() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for (dir, backend) in [("sqlite", Backend::Sqlite), ("postgres", Backend::Postgres)] {
        let mut files: Vec<String> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        files.sort();
        let known: Vec<String> = migrate::known(backend)
            .iter()
            .map(|(v, name)| format!("{v:04}_{name}.sql"))
            .collect();
        assert_eq!(files, known, "{dir}");
    }
    assert_eq!(
        migrate::known(Backend::Sqlite),
        migrate::known(Backend::Postgres)
    );
}
