//! The database facts doctor may know without SQLite: the first 100 bytes of the file (the
//! SQLite header), read with one plain `read`, and the inode flags (`FS_IOC_GETFLAGS`, to see
//! `chattr +C`) on the same descriptor. The file is opened `O_RDONLY`, never locked, closed at
//! once. Invariant (tests/doctor_noopen.rs proves it with strace): this is the only way doctor
//! touches `lightningd.sqlite3` or the `--wallet` replica; SQLite never opens them
//! (lightning#5380: a viewer on the replica crashed lightningd).

use std::fs::File;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::path::Path;

/// The journal mode recorded in the header (bytes 18 and 19, the file format write/read
/// versions: 1 legacy rollback journal, 2 WAL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JournalMode {
    Rollback,
    Wal,
    Unknown(u8, u8),
}

/// What the header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The file starts with "SQLite format 3\0".
    pub is_sqlite: bool,
    pub mode: JournalMode,
    /// `chattr +C` (FS_NOCOW_FL) is set on the file; `None` when the filesystem cannot tell.
    pub nocow: Option<bool>,
}

const MAGIC: &[u8; 16] = b"SQLite format 3\0";
const FS_NOCOW_FL: nix::libc::c_long = 0x0080_0000;

nix::ioctl_read!(fs_ioc_getflags, b'f', 1, nix::libc::c_long);

/// Parses the first bytes of a file (pure). Fewer than 20 bytes is not a database.
pub fn parse_header(bytes: &[u8]) -> (bool, JournalMode) {
    let is_sqlite = bytes.len() >= 20 && &bytes[..16] == MAGIC;
    let mode = if bytes.len() < 20 {
        JournalMode::Unknown(0, 0)
    } else {
        match (bytes[18], bytes[19]) {
            (1, 1) => JournalMode::Rollback,
            (2, 2) => JournalMode::Wal,
            (w, r) => JournalMode::Unknown(w, r),
        }
    };
    (is_sqlite, mode)
}

/// Reads the 100-byte header of `path` (one open, at most one 100-byte read, no lock).
pub fn read_header(path: &Path) -> std::io::Result<Header> {
    let mut f = File::open(path)?;
    let mut buf = [0u8; 100];
    let mut n = 0;
    // One read normally fills it; loop only on a short read, never past 100 bytes.
    while n < buf.len() {
        let k = f.read(&mut buf[n..])?;
        if k == 0 {
            break;
        }
        n += k;
    }
    let mut flags: nix::libc::c_long = 0;
    // SAFETY: FS_IOC_GETFLAGS writes one integer into `flags`, which outlives the call.
    let nocow = unsafe { fs_ioc_getflags(f.as_raw_fd(), &mut flags) }
        .ok()
        .map(|_| flags & FS_NOCOW_FL != 0);
    let (is_sqlite, mode) = parse_header(&buf[..n]);
    Ok(Header {
        is_sqlite,
        mode,
        nocow,
    })
}

impl JournalMode {
    pub fn word(self) -> String {
        match self {
            JournalMode::Rollback => "rollback journal".into(),
            JournalMode::Wal => "WAL".into(),
            JournalMode::Unknown(w, r) => format!("unknown (bytes 18/19 = {w}/{r})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_modes() {
        let mut h = [0u8; 100];
        h[..16].copy_from_slice(MAGIC);
        h[18] = 1;
        h[19] = 1;
        assert_eq!(parse_header(&h), (true, JournalMode::Rollback));
        h[18] = 2;
        h[19] = 2;
        assert_eq!(parse_header(&h), (true, JournalMode::Wal));
        assert!(!parse_header(b"short").0);
        assert!(!parse_header(&[0u8; 100]).0);
    }
}
