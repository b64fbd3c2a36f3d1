//! Where the captured outputs live: our fixtures (`fixtures/`) and the shared corpus of real
//! outputs from other machines (`../shared/corpus`), which tests skip visibly when absent.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

/// The crate's root (where `fixtures/` is).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/corpus`, or `None` after printing a visible SKIPPED line.
pub fn corpus() -> Option<PathBuf> {
    let p = root().join("../shared/corpus");
    if p.is_dir() {
        Some(p)
    } else {
        println!("SKIPPED: ../shared/corpus not present");
        None
    }
}

/// `(file name, text)` of every regular file in `dir`, sorted, except captured stderr
/// (`*.stderr.txt`). Panics on an empty or missing directory: a fixture set must not vanish
/// silently.
pub fn files(dir: &Path) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && !p.to_string_lossy().ends_with(".stderr.txt"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no files in {}", dir.display());
    v
}
