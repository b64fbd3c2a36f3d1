//! Litestream (the guide's deprecated strategy): its config (`$LITESTREAM_CONFIG`, default
//! `/etc/litestream.yml`) naming the database in `dbs[].path`, its meta directory
//! `.<name>-litestream` beside the database, and the database switched to WAL (header bytes
//! 18/19): Litestream holds read locks lightningd waits on and crashed it (lightning#4857).
//! Read-only; the YAML subset Litestream's `dbs:` list uses is parsed by hand ([`db_paths`]),
//! since only the `path` of each list item matters.

use std::path::{Path, PathBuf};

use super::header::{read_header, JournalMode};
use super::sources::GUIDE_LITESTREAM;
use super::{Finding, Severity, Strategy};

fn f(check: &'static str, sev: Severity, ev: String, fix: &str) -> Finding {
    Finding::new(Strategy::Litestream, check, sev, ev, fix, GUIDE_LITESTREAM)
}

fn indent(l: &str) -> usize {
    l.len() - l.trim_start().len()
}

fn unquote(s: &str) -> String {
    let s = s.split(" #").next().unwrap_or(s).trim();
    s.trim_matches(|c| c == '"' || c == '\'').to_string()
}

/// The `path` of every item of the top-level `dbs:` list (pure). Replica paths, nested
/// deeper, are not database paths and are skipped.
pub fn db_paths(yaml: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut in_dbs = false;
    let mut item_indent: Option<usize> = None;
    for line in yaml.lines() {
        let t = line.trim_start();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let ind = indent(line);
        if ind == 0 && !t.starts_with('-') {
            in_dbs = t.trim_end() == "dbs:";
            item_indent = None;
            continue;
        }
        if !in_dbs {
            continue;
        }
        if let Some(rest) = t.strip_prefix("- ") {
            let first = *item_indent.get_or_insert(ind);
            if ind == first {
                if let Some(p) = rest.trim_start().strip_prefix("path:") {
                    out.push(PathBuf::from(unquote(p)));
                }
            }
            continue;
        }
        // A key of the current item: indented two more than its dash.
        if let (Some(first), Some(p)) = (item_indent, t.strip_prefix("path:")) {
            if ind == first + 2 {
                out.push(PathBuf::from(unquote(p)));
            }
        }
    }
    out
}

/// The Litestream findings for the database at `db`, with Litestream's config at `config`.
pub fn check(db: &Path, config: &Path) -> Vec<Finding> {
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let named = std::fs::read_to_string(config)
        .ok()
        .map(|t| db_paths(&t).iter().any(|p| canon(p) == canon(db)))
        .unwrap_or(false);
    let name = db
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let meta = db.with_file_name(format!(".{name}-litestream"));
    let wal = matches!(read_header(db).map(|h| h.mode), Ok(JournalMode::Wal));
    let mut out = Vec::new();
    if named {
        out.push(f(
            "configured",
            Severity::High,
            format!("{} names {} in dbs[].path: Litestream is deprecated for lightningd and has crashed it", config.display(), db.display()),
            "stop Litestream for this database (remove it from the config, `systemctl stop litestream`) and use a --wallet replica or lnraid instead",
        ));
    }
    if meta.is_dir() {
        out.push(f(
            "meta_dir",
            if named { Severity::Info } else { Severity::Warn },
            format!("{} exists: Litestream has replicated this database", meta.display()),
            "if Litestream no longer runs, its meta directory can go; its replica is not a backup to restore from first",
        ));
    }
    if wal && (named || meta.is_dir()) {
        out.push(f(
            "wal_mode",
            Severity::High,
            format!("{} is in WAL mode (header bytes 18/19 = 2), as Litestream requires", db.display()),
            "with lightningd stopped: `sqlite3 lightningd.sqlite3 'PRAGMA journal_mode=DELETE'`, then start it again",
        ));
    } else if wal {
        out.push(f(
            "wal_mode",
            Severity::Info,
            format!(
                "{} is in WAL mode: copies must include its -wal file",
                db.display()
            ),
            "",
        ));
    }
    if out.is_empty() {
        out.push(f(
            "not_used",
            Severity::Ok,
            format!("Litestream is not replicating this database ({} does not name it; rollback journal)", config.display()),
            "",
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_db_paths_not_replica_paths() {
        let y = "# litestream\ndbs:\n - path: /home/bitcoin/.lightning/bitcoin/lightningd.sqlite3\n   replicas:\n     - path: /media/storage/lightning_backup\n - replicas:\n     - url: s3://b/x\n   path: \"/other.db\"\naddr: \":9090\"\n";
        assert_eq!(
            db_paths(y),
            vec![
                PathBuf::from("/home/bitcoin/.lightning/bitcoin/lightningd.sqlite3"),
                PathBuf::from("/other.db")
            ]
        );
        assert!(db_paths("exec: x\n").is_empty());
    }
}
