//! A consistent point-in-time source for a backup, obtained with SQLite's lock held for
//! milliseconds: a fresh read-only snapshot when the home is a btrfs subvolume; otherwise a
//! staging directory on the same filesystem holding the copy-out set, the database files
//! cloned (`FICLONE`: XFS, btrfs) under the lock — or, where the filesystem cannot clone
//! (ext4 on md), copied under the lock only up to a stated size, since that copy holds the
//! lock for as long as it reads (≈ 5 ms per MiB at 200 MB/s): above the limit lnraid refuses.
//! Both read the database through the locked descriptor, never a second one.
//!
//! Invariants: the live database is opened only by `lock` (never by SQLite); the lock's cap
//! applies to every variant (a copy that outlasts it is discarded); a staging directory is
//! lnraid's own (`.lnraid-backup-stage-*`, beside the home) and removed after the backup.

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use jiff::Timestamp;

use super::clone::{copy_from, reflink_from, reflink_or_copy};
use super::lock::{sibling, with_shared_lock};
use super::snapshot::{self, is_subvolume, snapshot_name, Layout, LockBounds, DB_NAME};
use crate::exec::Runner;

/// The files a staged (non-snapshot) backup carries besides the database (DESIGN.md §4).
pub const COPY_OUT_SET: &[&str] = &["hsm_secret", "emergency.recover", "config"];

#[derive(Debug)]
pub struct Source {
    /// RFC 3339 UTC: the point in time the copy holds; names the backup.
    pub name: String,
    pub path: PathBuf,
    pub lock_ms: f64,
    /// The database was checked (`PRAGMA integrity_check` on a scratch copy) and is `ok`.
    pub integrity: String,
    pub hot_journal: bool,
    pub kind: SourceKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// A read-only snapshot in the node's snapshots directory (kept; retention prunes it).
    Snapshot,
    /// A staging directory: database cloned under the lock.
    Reflinked,
    /// A staging directory: database copied under the lock (small databases only).
    LockedCopy,
}

impl Source {
    /// Removes a staging directory (a snapshot stays: it is the next incremental's parent).
    pub fn cleanup(&self) {
        if self.kind != SourceKind::Snapshot {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

pub fn acquire(
    runner: &dyn Runner,
    layout: &Layout,
    bounds: LockBounds,
    max_locked_copy: u64,
) -> Result<Source> {
    if is_subvolume(&layout.home)? {
        let rec = snapshot::create(runner, layout, bounds)?;
        if !rec.verified {
            bail!(
                "the new snapshot {} failed verification: {}",
                rec.name,
                rec.integrity
            );
        }
        return Ok(Source {
            path: layout.snapshot(&rec.name),
            name: rec.name,
            lock_ms: rec.lock_ms,
            integrity: rec.integrity,
            hot_journal: rec.hot_journal,
            kind: SourceKind::Snapshot,
        });
    }
    stage(layout, bounds, max_locked_copy)
}

fn stage(layout: &Layout, bounds: LockBounds, max_locked_copy: u64) -> Result<Source> {
    let name = snapshot_name(Timestamp::now());
    let parent = layout.home.parent().context("the home has no parent")?;
    let staging = parent.join(format!(".lnraid-backup-stage-{name}"));
    fs::DirBuilder::new()
        .mode(0o700)
        .create(&staging)
        .with_context(|| format!("creating {}", staging.display()))?;
    let r = stage_into(layout, &staging, bounds, max_locked_copy, name);
    if r.is_err() {
        let _ = fs::remove_dir_all(&staging);
    }
    r
}

fn stage_into(
    layout: &Layout,
    staging: &Path,
    bounds: LockBounds,
    max: u64,
    name: String,
) -> Result<Source> {
    let db = layout.home.join(DB_NAME);
    let out = staging.join(DB_NAME);
    snapshot::presync(&layout.home)?;
    let held = with_shared_lock(&db, bounds.wait, bounds.cap, |locked| {
        // The main database only through the locked descriptor; its -journal and -wal are
        // other files (SQLite locks only the main file), opened by path.
        let size = locked.metadata()?.len();
        let mut kind = SourceKind::Reflinked;
        if reflink_from(locked, &db, &out, 0o600).is_err() {
            if size > max {
                bail!(locked_copy_refusal(&layout.home, size, max));
            }
            kind = SourceKind::LockedCopy;
            copy_from(locked, &db, &out, 0o600)?;
        }
        for s in ["-journal", "-wal"] {
            let src = sibling(&db, s);
            if src.is_file() {
                reflink_or_copy(&src, &sibling(&out, s), 0o600)?;
            }
        }
        Ok(kind)
    })?;
    if held.cap_exceeded {
        bail!("copying the database took longer than the lock cap ({} ms); the copy was discarded and the node was not stalled", bounds.cap.as_millis());
    }
    let kind = held.result?;
    for f in COPY_OUT_SET {
        let src = layout.home.join(f);
        if src.is_file() {
            let mode = if *f == "hsm_secret" { 0o400 } else { 0o600 };
            reflink_or_copy(&src, &staging.join(f), mode)?;
        }
    }
    let i = snapshot::verify(staging, &staging.join(".lnraid-scratch"))?;
    if !i.ok {
        bail!(
            "the staged database failed its integrity check: {}",
            i.problems.join("; ")
        );
    }
    Ok(Source {
        name,
        path: staging.to_path_buf(),
        lock_ms: held.held.as_secs_f64() * 1000.0,
        integrity: "ok".into(),
        hot_journal: i.rolled_back_hot_journal,
        kind,
    })
}

pub fn locked_copy_refusal(home: &Path, size: u64, max: u64) -> String {
    format!(
        "{} is on a filesystem that can neither snapshot nor clone files (ext4, or anything on \
         md): a consistent copy would need SQLite's SHARED lock for the whole copy of the \
         {size}-byte database (about 5 ms per MiB), which stalls every commit of the node \
         for that long. lnraid refuses above {max} bytes (--max-locked-copy). Put the node on \
         lnraid's btrfs array (snapshots) or XFS (reflinks)",
        home.display()
    )
}
