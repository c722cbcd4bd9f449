//! Loads a policy library: the shipped one, embedded in the crate at build time (`shipped`,
//! `load_shipped`), or one read from a directory (`read_dir`, `load`): every `*.md` file under
//! it (sorted, so results and diagnostics are deterministic), checked together by `kc-check`.
//! This is the only crate below the CLI that reads policy files, and nothing here reads the
//! source tree at run time.

use kc_check::{Checked, SourceFile};
use std::path::{Path, PathBuf};

/// Why a library directory could not be read.
#[derive(Debug)]
pub enum LoadError {
    NotADirectory(PathBuf),
    Io(PathBuf, std::io::Error),
    NoFiles(PathBuf),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::NotADirectory(p) => write!(f, "{}: not a directory", p.display()),
            LoadError::Io(p, e) => write!(f, "{}: {e}", p.display()),
            LoadError::NoFiles(p) => write!(f, "{}: no policy files (*.md) found", p.display()),
        }
    }
}

impl std::error::Error for LoadError {}

/// Reads every Markdown file under `dir`, recursively, in path order.
pub fn read_dir(dir: &Path) -> Result<Vec<SourceFile>, LoadError> {
    if !dir.is_dir() {
        return Err(LoadError::NotADirectory(dir.to_path_buf()));
    }
    let mut paths = Vec::new();
    collect(dir, &mut paths)?;
    paths.sort();
    if paths.is_empty() {
        return Err(LoadError::NoFiles(dir.to_path_buf()));
    }
    let mut files = Vec::new();
    for p in paths {
        let text = std::fs::read_to_string(&p).map_err(|e| LoadError::Io(p.clone(), e))?;
        files.push(SourceFile {
            path: p.display().to_string(),
            text,
        });
    }
    Ok(files)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), LoadError> {
    let entries = std::fs::read_dir(dir).map_err(|e| LoadError::Io(dir.to_path_buf(), e))?;
    for e in entries {
        let e = e.map_err(|e| LoadError::Io(dir.to_path_buf(), e))?;
        let p = e.path();
        if p.is_dir() {
            collect(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "md") {
            out.push(p);
        }
    }
    Ok(())
}

/// Reads and checks the library in `dir`.
pub fn load(dir: &Path) -> Result<(Vec<SourceFile>, Checked), LoadError> {
    let files = read_dir(dir)?;
    let checked = kc_check::check_library(&files);
    Ok((files, checked))
}

// `SHIPPED`: written by build.rs from `policies/` at the workspace root.
include!(concat!(env!("OUT_DIR"), "/shipped_policies.rs"));

/// The library shipped with kechuang (`policies/` at the workspace root), embedded in the
/// binary at build time: the same bytes as the files, each with its path relative to the root
/// (`policies/vocabulary.md`), in the order `read_dir("policies")` gives from the root.
pub fn shipped() -> Vec<SourceFile> {
    SHIPPED
        .iter()
        .map(|(path, text)| SourceFile {
            path: (*path).to_string(),
            text: (*text).to_string(),
        })
        .collect()
}

/// The scenarios shipped with kechuang (`tests/scenarios/*.json`), embedded like the
/// policies: with the policies they make the first library version of a new database.
pub fn shipped_scenarios() -> Vec<SourceFile> {
    SHIPPED_SCENARIOS
        .iter()
        .map(|(path, text)| SourceFile {
            path: (*path).to_string(),
            text: (*text).to_string(),
        })
        .collect()
}

/// Checks the shipped library (see `shipped`).
pub fn load_shipped() -> (Vec<SourceFile>, Checked) {
    let files = shipped();
    let checked = kc_check::check_library(&files);
    (files, checked)
}
