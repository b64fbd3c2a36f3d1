//! The backend seam, checked mechanically: outside `src/backend/` (the seam and the
//! backends), `src/probe/` (one parser per tool) and `src/exec/` (the Debian package a
//! missing tool comes from), no code may decide on a filesystem type by comparing it with
//! "btrfs" — it asks `lnraid::backend` instead.
//!
//! `LEGACY` lists the btrfs backend code that predates the seam and is reached only through
//! the btrfs arm of `backend::` (status gathering, the btrfs replace/recover/maintain/abort
//! mechanics, the device policy's btrfs membership). It may shrink, never grow: a new file
//! that matches fails this test, and so does a listed file that no longer matches (remove it).

use std::fs;
use std::path::Path;

const PATTERNS: [&str; 4] = [
    "fstype == \"btrfs\"",
    "Some(\"btrfs\")",
    "fstype != \"btrfs\"",
    "\"-t\", \"btrfs\"",
];

// Empty: every btrfs comparison above the seam has moved into src/backend/btrfs/ (mdadm:
// policy, preflight, plan target, doctor, members, status, drill; recover: its four files).
const LEGACY: [&str; 0] = [];

fn walk(dir: &Path, out: &mut Vec<String>) {
    for e in fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p.to_string_lossy().into_owned());
        }
    }
}

fn code_lines(text: &str) -> impl Iterator<Item = &str> {
    // Stop at the unit tests of the file; skip comments.
    text.lines()
        .take_while(|l| !l.starts_with("#[cfg(test)]"))
        .filter(|l| !l.trim_start().starts_with("//"))
}

/// The code lines joined by single spaces, so a pattern split over lines reads as one.
fn joined(text: &str) -> String {
    code_lines(text)
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
        .replace("[ ", "[")
}

#[test]
fn a_pattern_split_over_lines_is_found() {
    let text = "fn f() {\n    Cmd::mutating(\n        \"mount\",\n        [\n            \"-t\",\n            \"btrfs\",\n        ],\n    )\n}\n";
    assert!(joined(text).contains("\"-t\", \"btrfs\""));
    assert!(!joined("// \"-t\",\n// \"btrfs\"\n").contains("\"-t\", \"btrfs\""));
}

#[test]
fn nothing_above_the_seam_matches_on_btrfs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    walk(&root.join("src"), &mut files);
    let mut offenders = Vec::new();
    let mut legacy_seen = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&format!("{}/", root.display())).unwrap_or(f);
        if ["src/backend/", "src/probe/", "src/exec/"]
            .iter()
            .any(|p| rel.starts_with(p))
            || rel.ends_with("tests.rs")
        {
            continue;
        }
        let text = fs::read_to_string(f).unwrap();
        let mut hits: Vec<&str> = code_lines(&text)
            .filter(|l| PATTERNS.iter().any(|p| l.contains(p)))
            .collect();
        // A pattern rustfmt split over lines (`"-t",` on one, `"btrfs",` on the next).
        if hits.is_empty() && PATTERNS.iter().any(|p| joined(&text).contains(p)) {
            hits.push("(a pattern split over lines)");
        }
        if hits.is_empty() {
            continue;
        }
        if LEGACY.contains(&rel) {
            legacy_seen.push(rel.to_string());
        } else {
            offenders.push(format!("{rel}: {}", hits.join(" | ").trim()));
        }
    }
    assert!(
        offenders.is_empty(),
        "backend matching above the seam (ask lnraid::backend instead):\n{}",
        offenders.join("\n")
    );
    let stale: Vec<&&str> = LEGACY
        .iter()
        .filter(|l| !legacy_seen.iter().any(|s| s == **l))
        .collect();
    assert!(
        stale.is_empty(),
        "no longer matches, remove from LEGACY: {stale:?}"
    );
}

#[test]
fn commands_reach_status_through_the_seam() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let status = fs::read_to_string(root.join("src/app/status.rs")).unwrap();
    assert!(
        status.contains("backend::array_status"),
        "status must dispatch through the seam"
    );
    assert!(
        !status.contains("gather::gather"),
        "status must not call the btrfs gatherer directly"
    );
}
