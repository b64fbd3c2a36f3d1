//! SQLite's SHARED lock on the live database, taken with raw POSIX `fcntl` locks on the lock
//! bytes SQLite's unix VFS uses, and held for milliseconds under a hard cap.
//!
//! Why raw `fcntl` and not `rusqlite` with `BEGIN; SELECT … FROM sqlite_master`: opening the
//! live database with SQLite reads its schema and pages and may act on a journal; a viewer
//! opening lightningd's database has crashed it (lightning#5380, DESIGN.md §4). The raw lock
//! reads no byte of the file, takes exactly the lock SQLite's `unixLock(SHARED)` takes, and
//! lets us bound the time precisely. Protocol (os_unix.c): read-lock the PENDING byte
//! (fails while a writer holds PENDING or is about to take EXCLUSIVE), read-lock the 510-byte
//! SHARED range (fails while a writer holds EXCLUSIVE), drop the PENDING byte. A committing
//! writer then waits in its busy handler until we release; lightningd waits up to 60 s and
//! then exits, so the hold is capped (default 100 ms) by a watchdog thread that releases the
//! lock itself when the cap passes, whatever the protected work is doing.
//!
//! Invariants: the locked [`File`] stays open until the lock is released (closing ANY
//! descriptor of the file drops every POSIX lock this process holds on it), so nothing else
//! in lnraid may open the live database while a [`SharedLock`] exists. This module never
//! writes to the database and never opens it with SQLite.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// SQLite's lock bytes (sqlite3.c: `PENDING_BYTE` 0x40000000, then RESERVED, then the
/// 510-byte SHARED range). They lie past the data of any database under 1 GiB and are never
/// read or written, only locked.
pub const PENDING_BYTE: i64 = 0x4000_0000;
pub const RESERVED_BYTE: i64 = PENDING_BYTE + 1;
pub const SHARED_FIRST: i64 = PENDING_BYTE + 2;
pub const SHARED_SIZE: i64 = 510;

/// How long to wait for a writer between attempts (a lightningd commit takes ~1–5 ms).
const RETRY_PAUSE: Duration = Duration::from_micros(100);

/// The default cap on how long lnraid holds the lock.
pub const DEFAULT_CAP: Duration = Duration::from_millis(100);
/// The default time to keep retrying while a writer holds PENDING/EXCLUSIVE.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(5);

/// Journal mode from the database header (bytes 18/19: 1 rollback journal, 2 WAL), read with
/// a plain `pread` of 100 bytes through `file` (never SQLite).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JournalMode {
    Rollback,
    Wal,
}

fn journal_mode(file: &File, db: &Path) -> Result<JournalMode> {
    use std::os::unix::fs::FileExt;
    let mut header = [0u8; 100];
    file.read_exact_at(&mut header, 0)
        .with_context(|| format!("reading the header of {}", db.display()))?;
    if &header[..16] != b"SQLite format 3\0" {
        bail!("{} is not an SQLite database", db.display());
    }
    Ok(match (header[18], header[19]) {
        (2, 2) => JournalMode::Wal,
        _ => JournalMode::Rollback,
    })
}

fn fcntl_lock(file: &File, kind: i16, start: i64, len: i64) -> std::io::Result<()> {
    let fl = nix::libc::flock {
        l_type: kind,
        l_whence: nix::libc::SEEK_SET as i16,
        l_start: start,
        l_len: len,
        l_pid: 0,
    };
    // SAFETY: F_SETLK with a valid, initialized `flock` on a descriptor we own.
    let rc = unsafe { nix::libc::fcntl(file.as_raw_fd(), nix::libc::F_SETLK, &fl) };
    if rc == -1 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

const RDLCK: i16 = nix::libc::F_RDLCK as i16;
const UNLCK: i16 = nix::libc::F_UNLCK as i16;

/// One attempt at SQLite's SHARED lock. `Ok(false)`: a writer holds PENDING or EXCLUSIVE.
fn try_shared(file: &File) -> Result<bool> {
    let busy = |e: &std::io::Error| {
        matches!(
            e.raw_os_error(),
            Some(nix::libc::EAGAIN) | Some(nix::libc::EACCES)
        )
    };
    match fcntl_lock(file, RDLCK, PENDING_BYTE, 1) {
        Ok(()) => {}
        Err(e) if busy(&e) => return Ok(false),
        Err(e) => return Err(e).context("locking SQLite's PENDING byte"),
    }
    let shared = fcntl_lock(file, RDLCK, SHARED_FIRST, SHARED_SIZE);
    fcntl_lock(file, UNLCK, PENDING_BYTE, 1).context("releasing SQLite's PENDING byte")?;
    match shared {
        Ok(()) => Ok(true),
        Err(e) if busy(&e) => Ok(false),
        Err(e) => Err(e).context("locking SQLite's SHARED range"),
    }
}

/// How a capped hold ended.
#[derive(Debug)]
pub struct Held<T> {
    /// What the protected work returned (also when the cap passed: the caller decides).
    pub result: Result<T>,
    /// From the moment the lock was obtained to its release.
    pub held: Duration,
    /// The watchdog released the lock because the cap passed before the work finished.
    pub cap_exceeded: bool,
    /// How long it took to obtain the lock (waiting for writers).
    pub waited: Duration,
    pub mode: JournalMode,
}

/// Takes SQLite's SHARED lock on `db` (retrying for up to `wait` while a writer commits),
/// runs `work`, and releases — or releases at `cap` if `work` is still running, setting
/// [`Held::cap_exceeded`]. `work` gets the locked descriptor: it must read the database
/// through it and never open `db` itself (see the module invariants).
pub fn with_shared_lock<T: Send>(
    db: &Path,
    wait: Duration,
    cap: Duration,
    work: impl FnOnce(&File) -> Result<T> + Send,
) -> Result<Held<T>> {
    let file = File::open(db).with_context(|| format!("opening {}", db.display()))?;
    let mode = journal_mode(&file, db)?;
    let start = Instant::now();
    while !try_shared(&file)? {
        if start.elapsed() >= wait {
            bail!(
                "the node kept {} locked for writing for {} ms; try again (lnraid never waits \
                 longer, so the node is never stalled behind it)",
                db.display(),
                wait.as_millis()
            );
        }
        std::thread::sleep(RETRY_PAUSE);
    }
    let locked_at = Instant::now();
    let waited = locked_at - start;
    // The watchdog owns the release at the cap; `released` makes the release happen once.
    let state = Arc::new((Mutex::new(State::Held), Condvar::new()));
    let (result, held, cap_exceeded) = std::thread::scope(|s| {
        let st = Arc::clone(&state);
        let file = &file;
        s.spawn(move || watchdog(file, &st, locked_at, cap));
        let result = work(file);
        let (held, exceeded) = release(file, &state, locked_at);
        (result, held, exceeded)
    });
    drop(file); // only now: the lock is gone, closing the descriptor costs nothing more
    Ok(Held {
        result,
        held,
        cap_exceeded,
        waited,
        mode,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Held,
    Released(Duration, bool),
}

fn watchdog(file: &File, st: &(Mutex<State>, Condvar), locked_at: Instant, cap: Duration) {
    let (m, cv) = st;
    let mut g = m.lock().unwrap_or_else(|p| p.into_inner());
    while *g == State::Held {
        let left = cap.saturating_sub(locked_at.elapsed());
        if left.is_zero() {
            let _ = fcntl_lock(file, UNLCK, SHARED_FIRST, SHARED_SIZE);
            *g = State::Released(locked_at.elapsed(), true);
            return;
        }
        g = cv
            .wait_timeout(g, left)
            .unwrap_or_else(|p| p.into_inner())
            .0;
    }
}

fn release(file: &File, st: &(Mutex<State>, Condvar), locked_at: Instant) -> (Duration, bool) {
    let (m, cv) = st;
    let mut g = m.lock().unwrap_or_else(|p| p.into_inner());
    if *g == State::Held {
        let _ = fcntl_lock(file, UNLCK, SHARED_FIRST, SHARED_SIZE);
        *g = State::Released(locked_at.elapsed(), false);
    }
    cv.notify_all();
    match *g {
        State::Released(d, exceeded) => (d, exceeded),
        State::Held => unreachable!(),
    }
}

/// `db`'s `-journal` / `-wal` sibling.
pub fn sibling(db: &Path, suffix: &str) -> PathBuf {
    let mut s = db.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    fn db(dir: &Path) -> PathBuf {
        let p = dir.join("t.sqlite3");
        let c = Connection::open(&p).unwrap();
        c.execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);")
            .unwrap();
        p
    }

    /// Our POSIX read locks on `ino` as /proc/locks lists them: (start, end) byte ranges.
    fn our_read_locks(ino: u64) -> Vec<(i64, i64)> {
        let pid = std::process::id().to_string();
        std::fs::read_to_string("/proc/locks")
            .unwrap()
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                let inode = f.get(5)?.rsplit(':').next()?.parse::<u64>().ok()?;
                (f.get(1) == Some(&"POSIX")
                    && f.get(3) == Some(&"READ")
                    && f.get(4) == Some(&pid.as_str())
                    && inode == ino)
                    .then(|| (f[6].parse().unwrap(), f[7].parse().unwrap()))
            })
            .collect()
    }

    #[test]
    fn holds_exactly_sqlites_shared_range_and_releases_it() {
        use std::os::unix::fs::MetadataExt;
        let t = tempfile::tempdir().unwrap();
        let p = db(t.path());
        let ino = std::fs::metadata(&p).unwrap().ino();
        let held =
            with_shared_lock(&p, DEFAULT_WAIT, DEFAULT_CAP, |_| Ok(our_read_locks(ino))).unwrap();
        assert_eq!(
            held.result.as_ref().unwrap(),
            &vec![(SHARED_FIRST, SHARED_FIRST + SHARED_SIZE - 1)],
            "the SHARED range only (the PENDING byte is dropped once SHARED is held)"
        );
        assert_eq!(held.mode, JournalMode::Rollback);
        assert!(!held.cap_exceeded && held.held < DEFAULT_CAP, "{held:?}");
        assert!(our_read_locks(ino).is_empty(), "released");
    }

    #[test]
    fn reading_through_the_locked_descriptor_keeps_the_lock_a_second_one_drops_it() {
        use std::os::unix::fs::MetadataExt;
        let t = tempfile::tempdir().unwrap();
        let p = db(t.path());
        let ino = std::fs::metadata(&p).unwrap().ino();
        let out = t.path().join("copy");
        let held = with_shared_lock(&p, DEFAULT_WAIT, DEFAULT_CAP, |locked| {
            crate::hotcopy::clone::copy_from(locked, &p, &out, 0o600)?;
            let kept = our_read_locks(ino).len();
            drop(File::open(&p)?); // the POSIX pitfall this module's invariant exists for
            Ok((kept, our_read_locks(ino).len()))
        })
        .unwrap();
        assert_eq!(held.result.unwrap(), (1, 0));
        assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&p).unwrap());
    }

    #[test]
    fn cap_releases_while_work_still_runs() {
        let t = tempfile::tempdir().unwrap();
        let p = db(t.path());
        let cap = Duration::from_millis(20);
        let held = with_shared_lock(&p, DEFAULT_WAIT, cap, |_| {
            std::thread::sleep(Duration::from_millis(80));
            Ok(())
        })
        .unwrap();
        assert!(held.cap_exceeded, "{held:?}");
        assert!(
            held.held >= cap && held.held < Duration::from_millis(70),
            "{held:?}"
        );
    }

    #[test]
    fn refuses_a_file_that_is_not_sqlite() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("x");
        std::fs::write(&p, vec![0u8; 200]).unwrap();
        let e = with_shared_lock(&p, DEFAULT_WAIT, DEFAULT_CAP, |_| Ok(())).unwrap_err();
        assert!(format!("{e:#}").contains("not an SQLite database"), "{e:#}");
    }
}
