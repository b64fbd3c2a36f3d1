//! The `--wallet=sqlite3://MAIN:REPLICA` replica (the guide's first strategy): where the
//! replica lives relative to the main database (same filesystem, disk or array → high: one
//! failure takes both), what kind of storage it is (USB, network, NFS version), whether its
//! directory exists (lightningd refuses to start otherwise), its `-journal`/`-wal` siblings,
//! and freshness by mtime only. The replica is never opened with SQLite (lightning#5380);
//! only its 100-byte header is read.

use std::path::{Path, PathBuf};

use super::discover::Node;
use super::disks::{locate, Location};
use super::header::read_header;
use super::sources::{GUIDE_WALLET, LIGHTNING_5380};
use super::{Finding, Severity, Strategy};

/// The database a `--wallet` DSN names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dsn {
    Sqlite {
        main: PathBuf,
        replica: Option<PathBuf>,
    },
    Postgres(String),
}

/// Parses a `--wallet` DSN (pure): for SQLite, everything after the first `:` after
/// `sqlite3://` is the replica (lightningd's own rule since v0.10.2).
pub fn parse_dsn(s: &str) -> Option<Dsn> {
    if let Some(rest) = s.strip_prefix("sqlite3://") {
        let (main, replica) = match rest.split_once(':') {
            Some((m, r)) => (
                m,
                Some(PathBuf::from(r)).filter(|r| !r.as_os_str().is_empty()),
            ),
            None => (rest, None),
        };
        return Some(Dsn::Sqlite {
            main: PathBuf::from(main),
            replica,
        });
    }
    if s.starts_with("postgres://") || s.starts_with("postgresql://") {
        return Some(Dsn::Postgres(s.to_string()));
    }
    None
}

/// Seconds by which `a` is newer than `b` (0 when older or unknown).
pub fn newer_by(a: &Path, b: &Path) -> Option<u64> {
    let m = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let (ta, tb) = (m(a)?, m(b)?);
    Some(ta.duration_since(tb).map(|d| d.as_secs()).unwrap_or(0))
}

fn f(check: &'static str, sev: Severity, ev: String, fix: &str) -> Finding {
    Finding::new(Strategy::WalletReplica, check, sev, ev, fix, GUIDE_WALLET)
}

/// A replica older than the main database by more than this is stale (both are written in
/// the same transaction; a gap means replication stopped).
pub const STALE_SECS: u64 = 300;

pub fn check(node: &Node, sys: &Path) -> Vec<Finding> {
    let Some(Dsn::Sqlite { main, replica }) =
        node.opt("wallet").and_then(parse_dsn).or(Some(Dsn::Sqlite {
            main: node.db_path(),
            replica: None,
        }))
    else {
        return Vec::new();
    };
    let Some(replica) = replica else {
        return vec![f(
            "configured",
            Severity::Info,
            "no `--wallet` replica is configured".into(),
            "",
        )];
    };
    let mut out = vec![f(
        "configured",
        Severity::Ok,
        format!("replica {} of {}", replica.display(), main.display()),
        "",
    )];
    let rdir = replica.parent().unwrap_or(Path::new("/")).to_path_buf();
    if !rdir.is_dir() {
        out.push(f(
            "directory_missing",
            Severity::Error,
            format!(
                "the replica's directory {} does not exist: lightningd will fail at startup",
                rdir.display()
            ),
            "mount the backup medium (or create the directory on it) before lightningd starts",
        ));
        return out;
    }
    let mdir = main.parent().unwrap_or(Path::new("/"));
    match (locate(mdir, sys), locate(&rdir, sys)) {
        (Ok(m), Ok(r)) => out.extend(placement(&m, &r)),
        (a, b) => out.push(f(
            "placement",
            Severity::Error,
            format!("cannot locate the storage: {:?} / {:?}", a.err(), b.err()),
            "",
        )),
    }
    out.extend(file_state(node, &main, &replica));
    out
}

/// Where the replica is relative to the main database (pure given the two locations).
pub fn placement(m: &Location, r: &Location) -> Vec<Finding> {
    let fix = "put the replica on another disk, ideally a remote NFSv4 mount: wallet=sqlite3://MAIN:/mnt/nfs/lightningd.sqlite3";
    if m.same_filesystem(r) {
        return vec![f(
            "same_filesystem",
            Severity::High,
            format!(
                "replica and main database are on the same filesystem ({}): one failure loses both",
                m.describe()
            ),
            fix,
        )];
    }
    let shared = m.shared_disks(r);
    if !shared.is_empty() {
        return vec![f(
            "same_disk",
            Severity::High,
            format!(
                "replica ({}) and main database ({}) share disk(s) {}: a disk failure loses both",
                r.describe(),
                m.describe(),
                shared.join(", ")
            ),
            fix,
        )];
    }
    let mut out = Vec::new();
    match r.network_fs() {
        Some((_, true)) => out.push(f("storage", Severity::Ok, format!("replica on NFSv4: {}", r.describe()), "")),
        Some((t, false)) => out.push(f(
            "network_fs",
            Severity::Warn,
            format!("replica on a {t} network filesystem that is not NFS version 4: {}", r.describe()),
            "mount the share with NFS version 4 (the guide: \"you need to mount the network filesystem using NFS version 4\")",
        )),
        None if r.fstype() == "tmpfs" || r.fstype() == "ramfs" => out.push(f(
            "volatile",
            Severity::High,
            format!("replica on {} (memory): it is gone after a reboot", r.fstype()),
            fix,
        )),
        None if !r.usb.is_empty() => out.push(f(
            "usb",
            Severity::Warn,
            format!("replica on a USB disk ({}): same machine, and flash wears out under these writes", r.describe()),
            "prefer a remote NFSv4 mount; if USB, a metal-cased flash disk (the guide's advice)",
        )),
        None => out.push(f(
            "separate_disk",
            Severity::Ok,
            format!("replica on {}, main on {}: different filesystems and disks", r.describe(), m.describe()),
            "",
        )),
    }
    out
}

fn file_state(node: &Node, main: &Path, replica: &Path) -> Vec<Finding> {
    let mut out = Vec::new();
    if !replica.exists() {
        let sev = if node.running.is_empty() {
            Severity::Info
        } else {
            Severity::Error
        };
        out.push(f(
            "replica_missing",
            sev,
            format!(
                "{} does not exist ({})",
                replica.display(),
                if node.running.is_empty() {
                    "lightningd creates it at its next start"
                } else {
                    "yet lightningd is running: nothing is being replicated"
                }
            ),
            "check the mount of the backup medium; restart lightningd to recreate the replica",
        ));
        return out;
    }
    match read_header(replica) {
        Ok(h) if !h.is_sqlite => out.push(f(
            "replica_not_sqlite",
            Severity::Error,
            format!(
                "{} is not an SQLite database (header read only)",
                replica.display()
            ),
            "move it away; lightningd recreates the replica at its next start",
        )),
        Ok(h) => out.push(Finding::new(
            Strategy::WalletReplica,
            "replica_header",
            Severity::Ok,
            format!(
                "{}: SQLite, {} (100-byte header read; never opened with SQLite)",
                replica.display(),
                h.mode.word()
            ),
            "",
            LIGHTNING_5380,
        )),
        Err(e) => out.push(f(
            "replica_unreadable",
            Severity::Error,
            format!("{}: {e}", replica.display()),
            "",
        )),
    }
    let siblings: Vec<String> = ["-journal", "-wal"]
        .iter()
        .map(|s| PathBuf::from(format!("{}{s}", replica.display())))
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect();
    if !siblings.is_empty() {
        out.push(f(
            "siblings",
            Severity::Info,
            format!("beside the replica: {}", siblings.join(", ")),
            "when recovering, copy these together with the replica (renamed alike)",
        ));
    }
    match newer_by(main, replica) {
        Some(s) if s > STALE_SECS => out.push(f(
            "stale",
            Severity::Warn,
            format!("the main database was modified {s} s after the replica (by mtime)"),
            "check lightningd's log for replica write errors; restart lightningd to re-copy",
        )),
        Some(s) => out.push(f(
            "fresh",
            Severity::Ok,
            format!("replica mtime within {s} s of the main database (mtime only)"),
            "",
        )),
        None => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dsn_forms() {
        assert_eq!(
            parse_dsn("sqlite3:///a/l.sqlite3:/b/l.sqlite3"),
            Some(Dsn::Sqlite {
                main: "/a/l.sqlite3".into(),
                replica: Some("/b/l.sqlite3".into())
            })
        );
        assert_eq!(
            parse_dsn("sqlite3:///a/l.sqlite3:/b/x:y"),
            Some(Dsn::Sqlite {
                main: "/a/l.sqlite3".into(),
                replica: Some("/b/x:y".into())
            })
        );
        assert_eq!(
            parse_dsn("sqlite3:///a/l.sqlite3"),
            Some(Dsn::Sqlite {
                main: "/a/l.sqlite3".into(),
                replica: None
            })
        );
        assert!(matches!(
            parse_dsn("postgres://u:p@h/db"),
            Some(Dsn::Postgres(_))
        ));
        assert_eq!(parse_dsn("mysql://x"), None);
    }
}

#[cfg(test)]
mod placement_tests {
    use super::*;
    use crate::probe::mounts::parse_mountinfo;
    use std::collections::BTreeSet;

    fn loc(line: &str, dev: u64, disks: &[&str], usb: &[&str]) -> Location {
        Location {
            path: "/x".into(),
            st_dev: dev,
            mount: parse_mountinfo(line).unwrap().pop(),
            disks: disks.iter().map(|s| s.to_string()).collect(),
            usb: usb.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>(),
            loops: Vec::new(),
        }
    }

    const ROOT: &str = "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n";

    fn checks(r: &Location) -> Vec<(&'static str, Severity)> {
        placement(&loc(ROOT, 1, &["sda"], &[]), r)
            .iter()
            .map(|f| (f.check, f.severity))
            .collect()
    }

    #[test]
    fn storage_kinds() {
        let nfs3 = loc(
            "30 22 0:50 / /mnt/nas rw - nfs nas:/x rw,vers=3,addr=10.0.0.2\n",
            2,
            &[],
            &[],
        );
        assert_eq!(checks(&nfs3), vec![("network_fs", Severity::Warn)]);
        let nfs4 = loc(
            "30 22 0:50 / /mnt/nas rw - nfs4 nas:/x rw,vers=4.2\n",
            2,
            &[],
            &[],
        );
        assert_eq!(checks(&nfs4), vec![("storage", Severity::Ok)]);
        let usb = loc(
            "31 22 8:17 / /mnt/usb rw - ext4 /dev/sdb1 rw\n",
            3,
            &["sdb"],
            &["sdb"],
        );
        assert_eq!(checks(&usb), vec![("usb", Severity::Warn)]);
        let tmp = loc("32 22 0:40 / /dev/shm rw - tmpfs tmpfs rw\n", 4, &[], &[]);
        assert_eq!(checks(&tmp), vec![("volatile", Severity::High)]);
        let other = loc(
            "33 22 8:33 / /mnt/b rw - ext4 /dev/sdc1 rw\n",
            5,
            &["sdc"],
            &[],
        );
        assert_eq!(checks(&other), vec![("separate_disk", Severity::Ok)]);
        let part = loc(
            "34 22 8:2 / /mnt/p2 rw - ext4 /dev/sda2 rw\n",
            6,
            &["sda"],
            &[],
        );
        assert_eq!(checks(&part), vec![("same_disk", Severity::High)]);
        let same = loc(ROOT, 1, &["sda"], &[]);
        assert_eq!(checks(&same), vec![("same_filesystem", Severity::High)]);
    }
}
