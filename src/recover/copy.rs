//! The copy-out into DEST and its verification: the default set file by file, or the whole
//! node directory (`--all`) through the copy engine into a staging directory that is verified
//! and then published into DEST. Reads only below the read-only mount; writes only in DEST.

use std::fs;
use std::os::unix::fs::{chown, DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::copy::{copy_tree, hash_from_disk, verify, CopyOptions, EntryKind as CopyKind};
use crate::recover::files::{copy_out, fsync_dir, publish_staged, Outcome, BUF_SIZE, SECRET_MODE};
use crate::recover::manifest::{mode_string, DatabaseCheck, EntryKind, FileEntry, NotCopied};
use crate::recover::select::is_essential;
use crate::recover::{COPY_SET, DATABASE, HSM_SECRET};
use crate::types::Bytes;
use crate::ui::progress::Progress;

/// What was copied and checked.
#[derive(Debug, Default)]
pub struct Copied {
    pub files: Vec<FileEntry>,
    pub not_copied: Vec<NotCopied>,
    pub database: Option<DatabaseCheck>,
    pub bytes: u64,
}

/// Creates DEST when missing: 0700, owned like the node directory (the node's user must be
/// able to start lightningd on it); its parents with default permissions.
pub fn create_dest(dest: &Path, node: &Path) -> Result<()> {
    if dest.is_dir() {
        return Ok(());
    }
    let parent = dest.parent().context("--to has no parent directory")?;
    fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    fs::DirBuilder::new()
        .mode(0o700)
        .create(dest)
        .with_context(|| format!("creating {}", dest.display()))?;
    let owner = fs::metadata(node)?;
    chown(dest, Some(owner.uid()), Some(owner.gid()))
        .with_context(|| format!("chown {}", dest.display()))?;
    fsync_dir(parent)
}

/// Total bytes of the regular files of the default set (for the progress bar).
fn set_bytes(node: &Path) -> u64 {
    COPY_SET
        .iter()
        .filter_map(|n| fs::symlink_metadata(node.join(n)).ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

/// Bytes the copy writes into DEST and the scratch bytes its check needs (a WAL database is
/// checked in a scratch copy of the database and its `-wal`).
pub fn space_needed(node: &Path, all: bool) -> Result<(u64, u64)> {
    let bytes = if all {
        crate::app::setup::preflight::dir_size(node)?
    } else {
        set_bytes(node)
    };
    let len = |n: &str| {
        fs::symlink_metadata(node.join(n))
            .map(|m| m.len())
            .unwrap_or(0)
    };
    let wal = format!("{DATABASE}-wal");
    let scratch = if fs::symlink_metadata(node.join(&wal)).is_ok_and(|m| m.is_file()) {
        len(DATABASE) + len(&wal)
    } else {
        0
    };
    Ok((bytes, scratch))
}

/// Copies the default set, then reads every copy back from the disk and integrity-checks the
/// database copy.
pub fn copy_set(node: &Path, dest: &Path) -> Result<Copied> {
    let mut out = Copied::default();
    let mut buf = vec![0u8; BUF_SIZE];
    let total = set_bytes(node);
    let mut bar = Progress::new("copying", total);
    let mut done = 0u64;
    let mut copied = Vec::new();
    for name in COPY_SET {
        match copy_out(node, name, dest, &mut buf, &mut |n| {
            done += n;
            bar.set(done)
        })? {
            Outcome::Copied(c) => copied.push(c),
            Outcome::Absent => {
                if is_essential(name) {
                    out.not_copied.push(NotCopied {
                        path: name.to_string(),
                        reason: "absent from the node directory".into(),
                    });
                }
            }
            Outcome::NotRegular { kind } => out.not_copied.push(NotCopied {
                path: name.to_string(),
                reason: format!("a {kind}, not a regular file: not followed or copied"),
            }),
        }
    }
    bar.finish();
    fsync_dir(dest)?;
    let mut bar = Progress::new("verifying", copied.iter().map(|c| c.size).sum());
    let mut read = 0u64;
    let mut mismatches = Vec::new();
    for c in &copied {
        let p = dest.join(&c.name);
        let (size, hash) = hash_from_disk(&p, &mut |n| {
            read += n;
            bar.set(read)
        })?;
        let mode = fs::metadata(&p)?.mode() & 0o7777;
        if size != c.size || hash != c.blake3 {
            mismatches.push(format!(
                "{}: the copy read back from disk differs from the source",
                c.name
            ));
        }
        if mode != c.mode {
            mismatches.push(format!(
                "{}: mode {:04o} instead of {:04o}",
                c.name, mode, c.mode
            ));
        }
    }
    bar.finish();
    if !mismatches.is_empty() {
        bail!(unverified(dest, &mismatches));
    }
    out.bytes = copied.iter().map(|c| c.size).sum();
    out.files = copied
        .into_iter()
        .map(|c| FileEntry {
            path: c.name,
            kind: EntryKind::File,
            size: c.size,
            mode: mode_string(c.mode),
            uid: c.uid,
            gid: c.gid,
            blake3: Some(c.blake3),
            target: None,
        })
        .collect();
    out.database = check_database(dest)?;
    Ok(out)
}

fn unverified(dest: &Path, problems: &[String]) -> String {
    format!(
        "the copy in {} does NOT match the array; do not use it (no MANIFEST was written):\n  {}",
        dest.display(),
        problems.join("\n  ")
    )
}

/// The staging directory of an `--all` copy, inside DEST (same filesystem: publishing is a
/// rename).
pub fn staging_dir(dest: &Path) -> PathBuf {
    dest.join(format!(".lnraid-recover-staging-{}", std::process::id()))
}

/// `--all`: the copy engine copies the whole directory into a staging directory in DEST
/// (created 0700: nothing in it is reachable by others while it fills), verifies it read back
/// from disk, gives `hsm_secret` mode 0400, then moves its entries up into DEST.
pub fn copy_all(node: &Path, dest: &Path) -> Result<Copied> {
    let staging = staging_dir(dest);
    let total = crate::app::setup::preflight::dir_size(node)?;
    let mut bar = Progress::new("copying", total);
    let manifest = copy_tree(node, &staging, &CopyOptions::default(), &mut |n| bar.set(n))?;
    bar.finish();
    let mut bar = Progress::new("verifying", manifest.bytes());
    let report = verify(&manifest, &staging, &mut |n| bar.set(n))?;
    bar.finish();
    if !report.is_ok() {
        let list: Vec<String> = report
            .mismatches
            .iter()
            .map(|m| format!("{}: {}", m.rel.display(), m.what))
            .collect();
        bail!(unverified(&staging, &list));
    }
    let secret = staging.join(HSM_SECRET);
    if fs::symlink_metadata(&secret).is_ok_and(|m| m.is_file()) {
        fs::set_permissions(&secret, fs::Permissions::from_mode(SECRET_MODE))?;
        fs::File::open(&secret)?.sync_all()?;
    }
    publish_staged(&staging, dest)?;
    let mut out = Copied {
        bytes: manifest.bytes(),
        ..Copied::default()
    };
    for e in manifest
        .entries
        .iter()
        .filter(|e| !e.rel.as_os_str().is_empty())
    {
        let path = e.rel.to_string_lossy().into_owned();
        let mode = if path == HSM_SECRET && e.kind == CopyKind::File {
            SECRET_MODE
        } else {
            e.mode
        };
        out.files.push(FileEntry {
            kind: match e.kind {
                CopyKind::File => EntryKind::File,
                CopyKind::Dir => EntryKind::Dir,
                CopyKind::Symlink => EntryKind::Symlink,
            },
            size: e.size,
            mode: mode_string(mode),
            uid: e.uid,
            gid: e.gid,
            blake3: e.hash.clone(),
            target: e.target.as_ref().map(|t| t.to_string_lossy().into_owned()),
            path,
        });
    }
    for s in &manifest.skipped {
        out.not_copied.push(NotCopied {
            path: s.rel.to_string_lossy().into_owned(),
            reason: format!("a {} (lightningd recreates it)", s.kind),
        });
    }
    for name in [DATABASE, HSM_SECRET] {
        if !out.files.iter().any(|f| f.path == name) {
            out.not_copied.push(NotCopied {
                path: name.into(),
                reason: "absent from the node directory".into(),
            });
        }
    }
    out.database = check_database(dest)?;
    Ok(out)
}

/// `PRAGMA integrity_check` on the copied database. A hot `-journal` is rolled back in a
/// scratch copy (the copy in DEST stays as the array had it); a `-wal` is checked the same
/// way, so no `-shm` or checkpoint ever touches DEST's copy.
fn check_database(dest: &Path) -> Result<Option<DatabaseCheck>> {
    let db = dest.join(DATABASE);
    if !db.is_file() {
        return Ok(None);
    }
    let scratch = dest.join(format!(".lnraid-integrity-check-{}", std::process::id()));
    let wal = dest.join(format!("{DATABASE}-wal"));
    let started = std::time::Instant::now();
    let result = if wal.is_file() {
        check_wal_copy(&db, &wal, &scratch)
    } else {
        crate::sqlite::integrity_check(&db, &scratch)
            .map(|i| (i.ok, i.problems, i.rolled_back_hot_journal))
    };
    let (ok, problems, hot) = result?;
    tracing::info!(
        "  integrity_check done in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    if !ok {
        bail!(
            "PRAGMA integrity_check on the copied {DATABASE} failed: {}\n  The array's database itself may be damaged; keep the array untouched and get help before starting a node.",
            problems.join("; ")
        );
    }
    Ok(Some(DatabaseCheck {
        path: DATABASE.into(),
        integrity_check: "ok".into(),
        hot_journal: hot,
    }))
}

/// WAL mode: database and `-wal` copied into `scratch`, opened read-write there (SQLite
/// replays the WAL as lightningd would), checked, and the scratch files removed one by one.
fn check_wal_copy(db: &Path, wal: &Path, scratch: &Path) -> Result<(bool, Vec<String>, bool)> {
    fs::DirBuilder::new()
        .mode(0o700)
        .create(scratch)
        .with_context(|| format!("creating {}", scratch.display()))?;
    let sdb = scratch.join(DATABASE);
    let names = [
        sdb.clone(),
        scratch.join(format!("{DATABASE}-wal")),
        scratch.join(format!("{DATABASE}-shm")),
        scratch.join(format!("{DATABASE}-journal")),
    ];
    let result = (|| {
        fs::copy(db, &sdb)?;
        fs::copy(wal, &names[1])?;
        let conn = rusqlite::Connection::open(&sdb)?;
        // As in crate::sqlite: the default 2 MB page cache makes the check ~40x slower.
        conn.pragma_update(None, "cache_size", -256 * 1024)?;
        let mut stmt = conn.prepare("PRAGMA integrity_check(50)")?;
        let rows: Vec<String> = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<_>>()?;
        let ok = rows.len() == 1 && rows[0] == "ok";
        anyhow::Ok((ok, if ok { Vec::new() } else { rows }, false))
    })();
    for n in &names {
        let _ = fs::remove_file(n);
    }
    let _ = fs::remove_dir(scratch);
    result.context("integrity_check of the copied database with its -wal")
}

/// One line per copied regular file for the summary (never content, never a hash of a secret).
pub fn summary_lines(c: &Copied) -> Vec<String> {
    c.files
        .iter()
        .filter(|f| f.kind == EntryKind::File)
        .map(|f| {
            format!(
                "{:<28} {:>10}  {}",
                f.path,
                Bytes(f.size).to_string(),
                f.mode
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database in WAL mode whose last commit lives only in `-wal` (as after a crash):
    /// the check replays it in a scratch copy, and DEST keeps exactly its two files.
    #[test]
    fn wal_database_checked_in_scratch() {
        let t = tempfile::tempdir().unwrap();
        let (live, dest) = (t.path().join("live"), t.path().join("dest"));
        fs::create_dir(&live).unwrap();
        fs::create_dir(&dest).unwrap();
        let conn = rusqlite::Connection::open(live.join(DATABASE)).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        conn.execute_batch("CREATE TABLE vars (name TEXT PRIMARY KEY, val TEXT); INSERT INTO vars VALUES ('m', 'walonly');")
            .unwrap();
        // Snapshot database and WAL while the connection is open (nothing checkpointed).
        for n in [DATABASE.to_string(), format!("{DATABASE}-wal")] {
            fs::copy(live.join(&n), dest.join(&n)).unwrap();
        }
        drop(conn);
        let before: Vec<Vec<u8>> = [DATABASE.to_string(), format!("{DATABASE}-wal")]
            .iter()
            .map(|n| fs::read(dest.join(n)).unwrap())
            .collect();
        let check = check_database(&dest).unwrap().unwrap();
        assert_eq!(check.integrity_check, "ok");
        assert!(!check.hot_journal);
        let mut names: Vec<String> = fs::read_dir(&dest)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, [DATABASE.to_string(), format!("{DATABASE}-wal")]);
        let after: Vec<Vec<u8>> = [DATABASE.to_string(), format!("{DATABASE}-wal")]
            .iter()
            .map(|n| fs::read(dest.join(n)).unwrap())
            .collect();
        assert_eq!(before, after, "no -shm, no checkpoint in DEST");
    }
}
