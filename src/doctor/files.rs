//! File backups (the guide's last-resort strategy), seen from the data directory: copies of
//! the database next to `$LIGHTNINGDIR` (`*.pre-lnraid-*` left by setup, `*.bak`, other
//! `*.sqlite3` files). Each is a second copy of node state: starting a node from a stale copy
//! broadcasts revoked states and loses the channel funds. Only file names, sizes, mtimes and
//! the 100-byte header are read.

use std::path::{Path, PathBuf};

use super::discover::Node;
use super::header::read_header;
use super::sources::GUIDE_FILE_BACKUPS;
use super::wallet::{parse_dsn, Dsn};
use super::{Finding, Severity, Strategy};

fn looks_like_copy(name: &str) -> bool {
    name.contains(".pre-lnraid-")
        || name.ends_with(".bak")
        || name.ends_with(".sqlite3")
        || name.starts_with("lightningd.sqlite3.")
        || name.contains(".sqlite3.")
}

/// Candidate copies: entries of `$LIGHTNINGDIR` and of its parent (pure filter on names).
pub fn candidates(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let parent = dir.parent().map(Path::to_path_buf);
    for d in std::iter::once(dir.to_path_buf()).chain(parent) {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if looks_like_copy(&name) {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

pub fn check(node: &Node) -> Vec<Finding> {
    let db = node.db_path();
    let replica = match node.opt("wallet").and_then(parse_dsn) {
        Some(Dsn::Sqlite { replica, .. }) => replica,
        _ => None,
    };
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let skip: Vec<PathBuf> = std::iter::once(canon(&db))
        .chain(replica.as_deref().map(canon))
        .collect();
    let mut out = Vec::new();
    for c in candidates(&node.dir) {
        if skip.contains(&canon(&c)) {
            continue;
        }
        let (sev, what) = if c.is_dir() {
            let holds = c.join("lightningd.sqlite3").exists() || c.join("hsm_secret").exists();
            if !holds {
                continue;
            }
            (Severity::Warn, "a directory holding node state")
        } else {
            match read_header(&c) {
                Ok(h) if h.is_sqlite => (Severity::Warn, "an SQLite database"),
                _ => (Severity::Info, "a file"),
            }
        };
        out.push(Finding::new(
            Strategy::FileBackups,
            "stray_copy",
            sev,
            format!("{} is {what} beside the node: a second copy of node state", c.display()),
            "never start a node from it; keep it only as the last resort the guide describes, off this machine, or delete it",
            GUIDE_FILE_BACKUPS,
        ));
    }
    if out.is_empty() {
        out.push(Finding::new(
            Strategy::FileBackups,
            "stray_copy",
            Severity::Ok,
            format!("no copies of the database beside {}", node.dir.display()),
            "",
            GUIDE_FILE_BACKUPS,
        ));
    }
    out
}
