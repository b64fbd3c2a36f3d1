//! Read-only btrfs snapshots of the node's subvolume, taken under SQLite's SHARED lock.
//!
//! Layout: the node's home `H` (e.g. `/mnt/lnraid/bitcoin`, a subvolume) gets its snapshots
//! in `H/../.lnraid-snapshots/<name of H>/<RFC 3339 UTC>`, each with a sidecar record
//! `<that name>.json` (lock time, verification). The sidecar lives beside the snapshot, since
//! a read-only snapshot cannot hold it.
//!
//! Invariants: the lock is held only around the snapshot ioctl (`BTRFS_IOC_SNAP_CREATE_V2`,
//! what `btrfs subvolume snapshot -r` does, without spawning it: [`super::ioctl`]) and never past the
//! cap (a snapshot that would take longer is deleted and the run fails); verification never
//! opens the snapshot with SQLite read-write: the database and its journal are cloned into a
//! scratch directory first, so a hot journal is rolled back there, never in the snapshot.
//! This module deletes only subvolumes inside the snapshots directory that carry its naming.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::clone::reflink_or_copy;
use super::ioctl::SnapshotCall;
use super::lock::{sibling, with_shared_lock, JournalMode};
use crate::exec::{Cmd, Runner};
use crate::sqlite::integrity_check;

pub const DB_NAME: &str = "lightningd.sqlite3";
/// The snapshots directory's name, beside the node's home on the array.
pub const SNAPSHOTS_DIR: &str = ".lnraid-snapshots";
pub const RECORD_FORMAT: &str = "lnraid-snapshot";

/// Where a node's snapshots live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The node's data directory, canonical (the subvolume).
    pub home: PathBuf,
    pub dir: PathBuf,
}

impl Layout {
    /// `lightning_dir` may be the symlink setup left; it is resolved.
    pub fn for_dir(lightning_dir: &Path) -> Result<Layout> {
        let home = fs::canonicalize(lightning_dir)
            .with_context(|| format!("resolving {}", lightning_dir.display()))?;
        let (Some(parent), Some(name)) = (home.parent(), home.file_name()) else {
            bail!("{} has no parent directory", home.display());
        };
        let dir = parent.join(SNAPSHOTS_DIR).join(name);
        Ok(Layout { home, dir })
    }

    pub fn snapshot(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub fn record_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }
}

/// True when `p` is the root of a btrfs subvolume (inode 256 on a btrfs: BTRFS_FIRST_FREE_OBJECTID).
pub fn is_subvolume(p: &Path) -> Result<bool> {
    let st = nix::sys::statfs::statfs(p).with_context(|| format!("statfs {}", p.display()))?;
    let ino = fs::metadata(p)
        .with_context(|| format!("reading {}", p.display()))?
        .ino();
    Ok(st.filesystem_type() == nix::sys::statfs::BTRFS_SUPER_MAGIC && ino == 256)
}

/// What lnraid recorded about one snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotRecord {
    pub format: String,
    pub version: u32,
    pub name: String,
    /// The subvolume that was snapshotted.
    pub source: String,
    /// How long SQLite's SHARED lock was held, in milliseconds.
    pub lock_ms: f64,
    /// How long lnraid waited for a committing writer before it got the lock.
    pub lock_wait_ms: f64,
    /// `rollback` or `wal` (from the database header).
    pub journal_mode: String,
    /// `PRAGMA integrity_check` on a scratch copy said `ok`.
    pub verified: bool,
    /// `ok` or SQLite's first messages (or why it could not be checked).
    pub integrity: String,
    /// A hot journal was in the snapshot and rolled back in the scratch copy.
    pub hot_journal: bool,
}

/// The lock's bounds (`--lock-cap-ms`, `--lock-wait-ms`).
#[derive(Debug, Clone, Copy)]
pub struct LockBounds {
    pub wait: Duration,
    pub cap: Duration,
}

impl Default for LockBounds {
    fn default() -> Self {
        LockBounds {
            wait: super::lock::DEFAULT_WAIT,
            cap: super::lock::DEFAULT_CAP,
        }
    }
}

/// The name for a snapshot taken at `t`: RFC 3339 UTC to the second.
pub fn snapshot_name(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The explanation for an array set up before setup made the home a subvolume.
pub fn not_subvolume_help(home: &Path) -> String {
    format!(
        "{} is not a btrfs subvolume (arrays set up before lnraid made the node's home a \
         subvolume): a snapshot of it cannot be taken. Stop lightningd, then run \
         `lnraid snapshot migrate --lightning-dir {}`: it copies the directory into a new \
         subvolume with setup's verified-copy discipline and keeps the old directory beside it",
        home.display(),
        home.display()
    )
}

/// Takes a snapshot under the lock, verifies it, writes its record. Fails (leaving no
/// snapshot) when the lock could not be had in time or the snapshot would outlast the cap.
pub fn create(runner: &dyn Runner, layout: &Layout, bounds: LockBounds) -> Result<SnapshotRecord> {
    if !is_subvolume(&layout.home)? {
        bail!(not_subvolume_help(&layout.home));
    }
    let db = layout.home.join(DB_NAME);
    if !db.is_file() {
        bail!("{} has no {DB_NAME}", layout.home.display());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&layout.dir)
        .with_context(|| format!("creating {}", layout.dir.display()))?;
    let mut name = snapshot_name(Timestamp::now());
    while fs::symlink_metadata(layout.snapshot(&name)).is_ok() {
        std::thread::sleep(Duration::from_millis(200)); // one per second: names are seconds
        name = snapshot_name(Timestamp::now());
    }
    let snap = layout.snapshot(&name);
    // Descriptors opened and the argument built before the lock: under it, one ioctl.
    let call = SnapshotCall::prepare(&layout.home, &layout.dir, &name)?;
    tracing::debug!("{} (ioctl)", call.describe);
    // The snapshot writes out the subvolume's dirty data first; do that before the lock, so
    // under the lock only what the node wrote in the last milliseconds is left to flush.
    presync(&layout.home)?;
    let held = with_shared_lock(&db, bounds.wait, bounds.cap, |_locked| call.run())?;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    if held.cap_exceeded || held.result.is_err() {
        if fs::symlink_metadata(&snap).is_ok() {
            runner.run_ok(&delete_cmd(&snap))?;
        }
        if held.cap_exceeded {
            bail!(
                "the snapshot took longer than the lock cap ({} ms): the lock was released at \
                 the cap so the node was not stalled, and the snapshot was deleted. Nothing \
                 changed; try again, or raise --lock-cap-ms",
                bounds.cap.as_millis()
            );
        }
        return Err(held.result.unwrap_err()).context("taking the snapshot");
    }
    let (verified, integrity, hot) =
        match verify(&snap, &layout.dir.join(format!(".scratch-{name}"))) {
            Ok(i) => (
                i.ok,
                if i.ok {
                    "ok".into()
                } else {
                    i.problems.join("; ")
                },
                i.rolled_back_hot_journal,
            ),
            Err(e) => (false, format!("{e:#}"), false),
        };
    let rec = SnapshotRecord {
        format: RECORD_FORMAT.into(),
        version: 1,
        name,
        source: layout.home.display().to_string(),
        lock_ms: ms(held.held),
        lock_wait_ms: ms(held.waited),
        journal_mode: match held.mode {
            JournalMode::Rollback => "rollback",
            JournalMode::Wal => "wal",
        }
        .into(),
        verified,
        integrity,
        hot_journal: hot,
    };
    let json = serde_json::to_string_pretty(&rec)? + "\n";
    crate::config::atomic::write_atomic_no_backup(
        &layout.record_path(&rec.name),
        json.as_bytes(),
        0o600,
    )?;
    Ok(rec)
}

/// `syncfs` on the filesystem holding `dir` (opens the directory, never the database).
pub fn presync(dir: &Path) -> Result<()> {
    let d = fs::File::open(dir).with_context(|| format!("opening {}", dir.display()))?;
    nix::unistd::syncfs(std::os::fd::AsRawFd::as_raw_fd(&d))
        .with_context(|| format!("syncing {}", dir.display()))
}

pub fn snapshot_cmd(home: &Path, snap: &Path) -> Cmd {
    Cmd::mutating(
        "btrfs",
        ["subvolume", "snapshot", "-r"]
            .map(String::from)
            .into_iter()
            .chain([home.display().to_string(), snap.display().to_string()]),
    )
}

pub fn delete_cmd(snap: &Path) -> Cmd {
    Cmd::mutating(
        "btrfs",
        [
            "subvolume".to_string(),
            "delete".into(),
            snap.display().to_string(),
        ],
    )
}

/// Integrity-checks the database in `snap` on a scratch clone in `scratch` (created, then
/// removed): the snapshot is only read.
pub fn verify(snap: &Path, scratch: &Path) -> Result<crate::sqlite::Integrity> {
    fs::DirBuilder::new()
        .mode(0o700)
        .create(scratch)
        .with_context(|| format!("creating {}", scratch.display()))?;
    let result = (|| {
        let db = snap.join(DB_NAME);
        for suffix in ["", "-journal", "-wal"] {
            let src = sibling(&db, suffix);
            if src.is_file() {
                reflink_or_copy(&src, &sibling(&scratch.join(DB_NAME), suffix), 0o600)?;
            }
        }
        integrity_check(&scratch.join(DB_NAME), &scratch.join("rollback"))
    })();
    let _ = fs::remove_dir_all(scratch); // our own scratch clones only
    result
}

/// A snapshot on disk and its record, if it has one.
#[derive(Debug, Clone)]
pub struct Listed {
    pub name: String,
    pub time: Timestamp,
    pub path: PathBuf,
    pub record: Option<SnapshotRecord>,
}

impl Listed {
    pub fn verified(&self) -> bool {
        self.record.as_ref().is_some_and(|r| r.verified)
    }
}

/// The snapshots in `layout.dir`, oldest first. Entries not named by a timestamp are ignored.
pub fn list(layout: &Layout) -> Result<Vec<Listed>> {
    let mut out = Vec::new();
    let rd = match fs::read_dir(&layout.dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e).with_context(|| format!("listing {}", layout.dir.display())),
    };
    for e in rd {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        let Ok(time) = name.parse::<Timestamp>() else {
            continue;
        };
        if !e.file_type()?.is_dir() {
            continue;
        }
        let record = fs::read_to_string(layout.record_path(&name))
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok());
        out.push(Listed {
            name,
            time,
            path: e.path(),
            record,
        });
    }
    out.sort_by_key(|l| l.time);
    Ok(out)
}

/// Deletes one listed snapshot and its record.
pub fn delete(runner: &dyn Runner, layout: &Layout, s: &Listed) -> Result<()> {
    if s.path.parent() != Some(layout.dir.as_path()) {
        bail!("{} is not in {}", s.path.display(), layout.dir.display());
    }
    runner.run_ok(&delete_cmd(&s.path))?;
    let _ = fs::remove_file(layout.record_path(&s.name));
    Ok(())
}

/// "3d 4h", "2h 5m", "40s": how old `t` is now.
pub fn age(t: Timestamp) -> String {
    let s = (Timestamp::now().as_second() - t.as_second()).max(0);
    let (d, h, m) = (s / 86400, s % 86400 / 3600, s % 3600 / 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_rfc3339_utc_seconds_and_parse_back() {
        let t: Timestamp = "2026-12-01T17:20:52.987Z".parse().unwrap();
        let n = snapshot_name(t);
        assert_eq!(n, "2026-12-01T17:20:52Z");
        assert_eq!(n.parse::<Timestamp>().unwrap().as_second(), t.as_second());
    }

    #[test]
    fn layout_puts_snapshots_beside_the_home() {
        let t = tempfile::tempdir().unwrap();
        let home = t.path().join("bitcoin");
        fs::create_dir(&home).unwrap();
        std::os::unix::fs::symlink(&home, t.path().join("link")).unwrap();
        let l = Layout::for_dir(&t.path().join("link")).unwrap();
        let canon = fs::canonicalize(t.path()).unwrap();
        assert_eq!(l.home, canon.join("bitcoin"));
        assert_eq!(l.dir, canon.join(".lnraid-snapshots/bitcoin"));
        assert!(!is_subvolume(&l.home).unwrap(), "a plain directory");
    }

    #[test]
    fn verify_rolls_back_a_hot_journal_in_scratch_only() {
        use crate::testkit::{generate_node_dir, NodeSpec};
        let t = tempfile::tempdir().unwrap();
        let snap = t.path().join("snap");
        let spec = NodeSpec {
            db_bytes: 1 << 20,
            gossip_bytes: 1,
            hot_journal: true,
        };
        generate_node_dir(&snap, &spec).unwrap();
        let before = fs::read(snap.join(DB_NAME)).unwrap();
        let i = verify(&snap, &t.path().join("scratch")).unwrap();
        assert!(i.ok && i.rolled_back_hot_journal, "{i:?}");
        assert_eq!(fs::read(snap.join(DB_NAME)).unwrap(), before);
        assert!(snap.join("lightningd.sqlite3-journal").exists());
        assert!(!t.path().join("scratch").exists());
    }
}
