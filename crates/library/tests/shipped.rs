//! The library embedded in the binary (`kc_library::shipped`) is the `policies/` directory of
//! this checkout, byte for byte: same files, same relative paths, same order. If a file is
//! added, removed or edited, build.rs re-embeds it; this test makes sure it did.

use std::path::Path;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

#[test]
fn the_embedded_library_is_the_policies_directory() {
    let on_disk = kc_library::read_dir(&root().join("policies")).unwrap();
    let embedded = kc_library::shipped();
    let disk_paths: Vec<String> = on_disk
        .iter()
        .map(|f| {
            Path::new(&f.path)
                .strip_prefix(root())
                .unwrap()
                .components()
                .map(|c| c.as_os_str().to_str().unwrap())
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect();
    let embedded_paths: Vec<&str> = embedded.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(embedded_paths, disk_paths);
    for (e, d) in embedded.iter().zip(&on_disk) {
        let bytes = std::fs::read(&d.path).unwrap();
        assert!(
            e.text.as_bytes() == bytes.as_slice(),
            "{}: the embedded copy differs from the file",
            e.path
        );
    }
    assert!(embedded_paths.contains(&"policies/vocabulary.md"));
}

#[test]
fn the_embedded_library_checks_cleanly_with_the_same_paths_as_a_checkout() {
    let (files, checked) = kc_library::load_shipped();
    assert!(!checked.has_errors(), "{}", checked.render(&files));
    // Run from the workspace root, `read_dir("policies")` names files the same way.
    assert!(files.iter().all(|f| f.path.starts_with("policies/")));
    let mut sorted: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    sorted.sort_by(|a, b| Path::new(a).cmp(Path::new(b)));
    assert_eq!(
        sorted,
        files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>()
    );
}
