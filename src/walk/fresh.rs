//! Freshness: proof that a copy may become the node's, or be destroyed, without losing a
//! committed channel state.
//!
//! [`FileProof`] records every regular file and symlink below a directory — size, mtime,
//! ctime, inode — plus the database's SQLite file change counter (header offset 24, read with
//! a plain read: never open the live database with SQLite). A commit made after the copy
//! changes at least the counter, the mtime or the ctime; a later comparison names the file.
//!
//! [`SourceLock`] holds an open-file-description (OFD) read lock on SQLite's SHARED byte range
//! of the source database for the whole copy and verification: a writer cannot get the
//! EXCLUSIVE lock a commit needs, so a `lightningd` started meanwhile waits its busy timeout
//! and exits — the right outcome for a node that must be stopped. OFD locks, unlike the POSIX
//! locks SQLite itself takes, survive the copy closing its own descriptor of the file (closing
//! any descriptor drops a process's POSIX locks), and taking one never writes to the source
//! (a read-only SQLite connection would try to roll back a hot journal). In WAL mode (not
//! lightningd's default) commits go to `-wal` under the `-shm` locks and are not stopped by
//! this lock; the proof still catches them, since `-wal` changes size and mtime.

use std::fs::{self, File};
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// The node's database file name.
pub const DATABASE: &str = "lightningd.sqlite3";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStat {
    pub rel: PathBuf,
    pub size: u64,
    pub mtime: (i64, i64),
    pub ctime: (i64, i64),
    pub ino: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileProof {
    pub files: Vec<FileStat>,
    /// The database's file change counter, when the directory has a database.
    pub db_change_counter: Option<u32>,
}

/// Reads the proof of `dir` (regular files and symlinks; sockets and FIFOs are skipped, as
/// the copy skips them).
pub fn read_proof(dir: &Path) -> Result<FileProof> {
    let mut files = Vec::new();
    walk(dir, Path::new(""), &mut files)?;
    files.sort_by(|a, b| a.rel.cmp(&b.rel));
    let db = dir.join(DATABASE);
    let db_change_counter = if db.is_file() {
        Some(read_change_counter(&db)?)
    } else {
        None
    };
    Ok(FileProof {
        files,
        db_change_counter,
    })
}

fn walk(dir: &Path, rel: &Path, out: &mut Vec<FileStat>) -> Result<()> {
    let here = dir.join(rel);
    for e in fs::read_dir(&here).with_context(|| format!("listing {}", here.display()))? {
        let e = e?;
        let r = rel.join(e.file_name());
        let m = fs::symlink_metadata(e.path())
            .with_context(|| format!("reading {}", e.path().display()))?;
        if m.is_dir() {
            walk(dir, &r, out)?;
        } else if m.is_file() || m.file_type().is_symlink() {
            out.push(FileStat {
                rel: r,
                size: m.size(),
                mtime: (m.mtime(), m.mtime_nsec()),
                ctime: (m.ctime(), m.ctime_nsec()),
                ino: m.ino(),
            });
        }
    }
    Ok(())
}

/// SQLite's file change counter: 4 bytes big-endian at offset 24 of the header, incremented
/// by every committed write transaction in rollback-journal mode. A plain read.
pub fn read_change_counter(db: &Path) -> Result<u32> {
    let mut header = [0u8; 28];
    File::open(db)
        .and_then(|mut f| f.read_exact(&mut header))
        .with_context(|| format!("reading the header of {}", db.display()))?;
    Ok(u32::from_be_bytes([
        header[24], header[25], header[26], header[27],
    ]))
}

/// What differs between `then` and `now`, one sentence per file (empty: unchanged).
///
/// One precise exception, for the database's rollback journal (`lightningd.sqlite3-journal`)
/// only: while the database file itself is unchanged (size, mtime, ctime, inode and SQLite
/// change counter all equal), the journal appearing, disappearing, or having only its ctime
/// changed is not a change of the node's state. A writer bouncing off the source lock does
/// exactly that: it creates a journal under RESERVED and deletes it when its commit times out,
/// and SQLite running as root `fchown`s an existing (hot) journal when it opens the database
/// (its ctime moves, not a byte of it). A commit cannot complete without writing pages into
/// the database file, so it is still caught by the database's own record; and a journal whose
/// size, mtime or inode changed is still reported. `-wal` gets no exception: in WAL mode the
/// commits live there.
pub fn differences(then: &FileProof, now: &FileProof) -> Vec<String> {
    let journal = PathBuf::from(format!("{DATABASE}-journal"));
    let db_same = then.db_change_counter == now.db_change_counter
        && then.file(Path::new(DATABASE)).is_some()
        && then.file(Path::new(DATABASE)) == now.file(Path::new(DATABASE));
    let excused = |t: Option<&FileStat>, n: Option<&FileStat>| {
        db_same
            && match (t, n) {
                (Some(t), Some(n)) => {
                    t.rel == journal && (t.size, t.mtime, t.ino) == (n.size, n.mtime, n.ino)
                }
                (Some(x), None) | (None, Some(x)) => x.rel == journal,
                (None, None) => true,
            }
    };
    let mut d = Vec::new();
    for t in &then.files {
        let n = now.files.iter().find(|n| n.rel == t.rel);
        if n == Some(t) || excused(Some(t), n) {
            continue;
        }
        let Some(n) = n else {
            d.push(format!("{} was removed", t.rel.display()));
            continue;
        };
        let mut what = Vec::new();
        if n.size != t.size {
            what.push(format!("size {} -> {}", t.size, n.size));
        }
        if n.mtime != t.mtime {
            what.push("modified (mtime)".to_string());
        }
        if n.ctime != t.ctime {
            what.push("changed (ctime)".to_string());
        }
        if n.ino != t.ino {
            what.push("replaced (inode)".to_string());
        }
        d.push(format!("{} changed: {}", t.rel.display(), what.join(", ")));
    }
    for n in &now.files {
        if !then.files.iter().any(|t| t.rel == n.rel) && !excused(None, Some(n)) {
            d.push(format!("{} appeared", n.rel.display()));
        }
    }
    if then.db_change_counter != now.db_change_counter {
        d.push(format!(
            "{DATABASE} was committed to (SQLite change counter {:?} -> {:?})",
            then.db_change_counter, now.db_change_counter
        ));
    }
    d
}

impl FileProof {
    /// The record of `rel`, if the proof has one.
    pub fn file(&self, rel: &Path) -> Option<&FileStat> {
        self.files.iter().find(|f| f.rel == rel)
    }
}

/// SQLite's lock bytes (os_unix.c): PENDING at 1 GiB, RESERVED after it, then the SHARED
/// range of 510 bytes. A read lock on the SHARED range is what a reader holds.
const SHARED_FIRST: i64 = 0x4000_0000 + 2;
const SHARED_SIZE: i64 = 510;

/// A read lock on the source database, held while this value lives.
#[derive(Debug)]
pub struct SourceLock {
    _file: File,
    pub path: PathBuf,
}

impl SourceLock {
    /// Locks `db` against commits. Fails at once (no waiting) when a writer holds it.
    pub fn acquire(db: &Path) -> Result<SourceLock> {
        let file = File::open(db).with_context(|| format!("opening {}", db.display()))?;
        let lock = nix::libc::flock {
            l_type: nix::libc::F_RDLCK as i16,
            l_whence: nix::libc::SEEK_SET as i16,
            l_start: SHARED_FIRST,
            l_len: SHARED_SIZE,
            l_pid: 0,
        };
        nix::fcntl::fcntl(file.as_raw_fd(), nix::fcntl::FcntlArg::F_OFD_SETLK(&lock))
            .with_context(|| {
                format!(
                    "{} is being written (a writer holds its lock): is lightningd running? Stop it first",
                    db.display()
                )
            })?;
        Ok(SourceLock {
            _file: file,
            path: db.to_path_buf(),
        })
    }
}

/// Refuses when `then` and the files below `dir` now differ, naming each change.
pub fn require_unchanged(what: &str, dir: &Path, then: &FileProof, advice: &str) -> Result<()> {
    let now = read_proof(dir)?;
    let d = differences(then, &now);
    if !d.is_empty() {
        bail!(
            "{what} {} changed since it was copied, so the copy is stale; nothing was published or erased:\n  {}\n{advice}",
            dir.display(),
            d.join("\n  ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    fn db(dir: &Path) -> Connection {
        let c = Connection::open(dir.join(DATABASE)).unwrap();
        c.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
        c
    }

    #[test]
    fn a_commit_is_seen_by_counter_and_named() {
        let tmp = tempfile::tempdir().unwrap();
        let c = db(tmp.path());
        fs::write(tmp.path().join("config"), "network=bitcoin\n").unwrap();
        let then = read_proof(tmp.path()).unwrap();
        assert!(differences(&then, &read_proof(tmp.path()).unwrap()).is_empty());
        c.execute("INSERT INTO t VALUES (2)", []).unwrap();
        let d = differences(&then, &read_proof(tmp.path()).unwrap());
        assert!(d.iter().any(|l| l.contains("change counter")), "{d:?}");
    }

    #[test]
    fn a_touched_or_new_file_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("config"), "a\n").unwrap();
        let then = read_proof(tmp.path()).unwrap();
        fs::write(tmp.path().join("config"), "b\n").unwrap();
        fs::write(tmp.path().join("new"), "x").unwrap();
        let d = differences(&then, &read_proof(tmp.path()).unwrap());
        assert!(d.iter().any(|l| l.starts_with("config changed")), "{d:?}");
        assert!(d.iter().any(|l| l == "new appeared"), "{d:?}");
    }

    #[test]
    fn the_lock_blocks_a_commit_even_after_another_descriptor_closes() {
        let tmp = tempfile::tempdir().unwrap();
        drop(db(tmp.path()));
        let path = tmp.path().join(DATABASE);
        let lock = SourceLock::acquire(&path).unwrap();
        // The copy opens and closes the file: with a POSIX lock this would drop it.
        drop(File::open(&path).unwrap());
        let writer = std::thread::spawn(move || {
            let c = Connection::open(&path).unwrap();
            c.busy_timeout(std::time::Duration::from_millis(200))
                .unwrap();
            c.execute("INSERT INTO t VALUES (3)", [])
        });
        let r = writer.join().unwrap();
        assert!(
            r.is_err(),
            "the commit must be blocked while the lock is held"
        );
        drop(lock);
        let c = Connection::open(tmp.path().join(DATABASE)).unwrap();
        c.execute("INSERT INTO t VALUES (4)", []).unwrap();
    }

    fn touch_ctime(p: &Path) {
        use std::os::unix::fs::PermissionsExt;
        std::thread::sleep(std::time::Duration::from_millis(20));
        let mode = fs::metadata(p).unwrap().permissions().mode();
        // chmod to the same mode: only the ctime moves (as SQLite's fchown as root does).
        fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
    }

    /// A journal bouncing off the lock (appearing, disappearing, ctime re-owned) while the
    /// database is untouched is not a change; the same on `config`, a database commit, a
    /// journal with new content, or a `-wal` still is.
    #[test]
    fn journal_noise_is_not_a_change_but_real_changes_are() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let c = db(dir);
        let journal = dir.join(format!("{DATABASE}-journal"));
        fs::write(dir.join("config"), "a\n").unwrap();
        fs::write(&journal, b"hot journal pages").unwrap();
        let then = read_proof(dir).unwrap();
        touch_ctime(&journal);
        let now = read_proof(dir).unwrap();
        assert_ne!(
            then.file(&journal_rel()),
            now.file(&journal_rel()),
            "ctime moved"
        );
        assert!(
            differences(&then, &now).is_empty(),
            "{:?}",
            differences(&then, &now)
        );
        fs::remove_file(&journal).unwrap();
        assert!(
            differences(&then, &read_proof(dir).unwrap()).is_empty(),
            "disappeared"
        );
        assert!(
            differences(&read_proof(dir).unwrap(), &then).is_empty(),
            "appeared"
        );

        // The other direction: each of these is still a change.
        fs::write(&journal, b"hot journal pages").unwrap();
        let then = read_proof(dir).unwrap();
        fs::write(&journal, b"other journal pages, longer").unwrap();
        let d = differences(&then, &read_proof(dir).unwrap());
        assert!(
            d.iter().any(|l| l.contains("-journal changed: size")),
            "{d:?}"
        );
        fs::write(&journal, b"hot journal pages").unwrap();
        let then = read_proof(dir).unwrap();
        touch_ctime(&dir.join("config"));
        let d = differences(&then, &read_proof(dir).unwrap());
        assert_eq!(d, ["config changed: changed (ctime)"]);
        fs::remove_file(&journal).unwrap();
        let then = read_proof(dir).unwrap();
        c.execute("INSERT INTO t VALUES (5)", []).unwrap();
        fs::write(&journal, b"hot journal pages").unwrap();
        let d = differences(&then, &read_proof(dir).unwrap());
        assert!(d.iter().any(|l| l.contains("change counter")), "{d:?}");
        assert!(
            d.iter().any(|l| l.contains("-journal")),
            "the database changed: its journal counts too: {d:?}"
        );
        let then = read_proof(dir).unwrap();
        fs::write(dir.join(format!("{DATABASE}-wal")), b"wal frames").unwrap();
        let d = differences(&then, &read_proof(dir).unwrap());
        assert_eq!(d, [format!("{DATABASE}-wal appeared")]);
    }

    /// Without a database there is nothing to excuse a journal against.
    #[test]
    fn a_journal_without_database_is_a_file_like_any() {
        let tmp = tempfile::tempdir().unwrap();
        let then = read_proof(tmp.path()).unwrap();
        fs::write(tmp.path().join(format!("{DATABASE}-journal")), b"x").unwrap();
        let d = differences(&then, &read_proof(tmp.path()).unwrap());
        assert_eq!(d.len(), 1, "{d:?}");
    }

    fn journal_rel() -> PathBuf {
        PathBuf::from(format!("{DATABASE}-journal"))
    }
}
