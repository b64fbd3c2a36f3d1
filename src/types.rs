//! Newtypes for the values lnraid must never confuse: a device path, a filesystem UUID, a size.
//!
//! A `String` that might be a UUID_SUB or a label must not reach an fstab line, and a size in
//! 512-byte sectors must not be compared with one in bytes; these types make such mix-ups a
//! compile error. Pure: no I/O here.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A size in bytes. Every size lnraid compares or prints is carried as this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[serde(transparent)]
pub struct Bytes(pub u64);

impl Bytes {
    pub const KIB: u64 = 1024;
    pub const MIB: u64 = 1024 * 1024;
    pub const GIB: u64 = 1024 * 1024 * 1024;

    /// Parses a size given by an operator: `512M`, `1G`, `1.5T`, `2GiB`, `1048576`. Binary
    /// units always (`1G` and `1GB` are 2^30, as in `truncate`, `lsblk` and `btrfs`); a suffix
    /// that is not exactly one unit (`1BB`, `1Q`) is an error, never a byte count. The one
    /// parser behind every size flag and config value (parse-size, not hand code).
    pub fn parse_size(s: &str) -> Result<Bytes, SizeError> {
        parse_size::Config::new()
            .with_binary()
            .parse_size(s.trim())
            .map(Bytes)
            .map_err(|e| SizeError {
                input: s.to_string(),
                reason: e.to_string(),
            })
    }

    /// [`Bytes::parse_size`] without the reason.
    pub fn parse_human(s: &str) -> Option<Bytes> {
        Bytes::parse_size(s).ok()
    }
}

/// A size an operator wrote that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a size ({reason}): write a number with an optional binary unit, e.g. 512M, 1.5G, 2TiB")]
pub struct SizeError {
    pub input: String,
    pub reason: String,
}

/// The clap value parser of every size flag: checks the text with [`Bytes::parse_size`] at
/// parse time, so a bad size is one usage error (exit 2) before anything is probed, and hands
/// the text on unchanged (commands that pass it to a job, like `schedule install
/// --scrub-limit`, keep the operator's spelling).
pub fn size_arg(s: &str) -> Result<String, SizeError> {
    Bytes::parse_size(s).map(|_| s.trim().to_string())
}

impl fmt::Display for Bytes {
    /// Binary units with one decimal, the way `lsblk` and `btrfs` print them: `1.0 GiB`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
        let mut v = self.0 as f64;
        let mut unit = 0;
        while v >= 1024.0 && unit + 1 < UNITS.len() {
            v /= 1024.0;
            unit += 1;
        }
        if unit == 0 {
            write!(f, "{} B", self.0)
        } else {
            write!(f, "{v:.1} {}", UNITS[unit])
        }
    }
}

/// A filesystem UUID (the one shared by every member of a btrfs), validated and lower-cased.
/// Never a `UUID_SUB`: those are per device and must never reach fstab.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FsUuid(String);

impl TryFrom<String> for FsUuid {
    type Error = String;
    fn try_from(s: String) -> Result<FsUuid, String> {
        FsUuid::parse(&s).ok_or_else(|| format!("{s:?} is not a filesystem UUID"))
    }
}

impl From<FsUuid> for String {
    fn from(u: FsUuid) -> String {
        u.0
    }
}

impl FsUuid {
    /// Accepts the canonical 8-4-4-4-12 hex form, any case. Returns `None` otherwise.
    pub fn parse(s: &str) -> Option<FsUuid> {
        let s = s.trim();
        let groups: Vec<&str> = s.split('-').collect();
        let lens = [8, 4, 4, 4, 12];
        let ok = groups.len() == 5
            && groups
                .iter()
                .zip(lens)
                .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()));
        ok.then(|| FsUuid(s.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FsUuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A path to a block device node, as the operator or a tool named it (`/dev/sdb`,
/// `/dev/disk/by-id/...`). Two different `DevPath`s may name the same device: compare
/// device numbers (`rdev`), never strings, to decide identity.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DevPath(PathBuf);

impl DevPath {
    pub fn new(p: impl Into<PathBuf>) -> DevPath {
        DevPath(p.into())
    }

    pub fn as_path(&self) -> &Path {
        &self.0
    }

    /// The kernel name: the last path component (`/dev/loop3` → `loop3`).
    pub fn kname(&self) -> Option<&str> {
        self.0.file_name().and_then(|n| n.to_str())
    }
}

impl fmt::Display for DevPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.display())
    }
}

impl AsRef<Path> for DevPath {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

/// A device number (`major:minor`), the identity of a block device independent of its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DevNum {
    pub major: u32,
    pub minor: u32,
}

impl DevNum {
    /// Parses `8:16`.
    pub fn parse(s: &str) -> Option<DevNum> {
        let (a, b) = s.trim().split_once(':')?;
        Some(DevNum {
            major: a.parse().ok()?,
            minor: b.parse().ok()?,
        })
    }

    pub fn from_rdev(rdev: u64) -> DevNum {
        DevNum {
            major: nix::sys::stat::major(rdev) as u32,
            minor: nix::sys::stat::minor(rdev) as u32,
        }
    }
}

impl fmt::Display for DevNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.major, self.minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_parse_and_display() {
        assert_eq!(Bytes::parse_human("1G"), Some(Bytes(1 << 30)));
        assert_eq!(Bytes::parse_human("512MiB"), Some(Bytes(512 << 20)));
        assert_eq!(Bytes::parse_human("1.5k"), Some(Bytes(1536)));
        assert_eq!(Bytes::parse_human("12"), Some(Bytes(12)));
        assert_eq!(Bytes::parse_human("x"), None);
        assert_eq!(Bytes::parse_human("99999999999999999999G"), None);
        assert_eq!(Bytes::parse_human("1GB"), Some(Bytes(1 << 30)));
        assert_eq!(Bytes::parse_human(" 50M "), Some(Bytes(50 << 20)));
        for bad in ["1BB", "1Q", "", "-1G", "1 G B", "G"] {
            let e = Bytes::parse_size(bad).unwrap_err().to_string();
            assert!(
                e.starts_with(&format!("{bad:?} is not a size (")),
                "{bad}: {e}"
            );
            assert!(size_arg(bad).is_err(), "{bad}");
        }
        assert_eq!(size_arg("2G").unwrap(), "2G");
        assert_eq!(Bytes(1 << 30).to_string(), "1.0 GiB");
        assert_eq!(Bytes(500).to_string(), "500 B");
    }

    #[test]
    fn fsuuid_validates() {
        let u = FsUuid::parse("5D1C0E2A-1111-2222-3333-444455556666").unwrap();
        assert_eq!(u.as_str(), "5d1c0e2a-1111-2222-3333-444455556666");
        assert!(FsUuid::parse("5d1c0e2a-1111-2222-3333-44445555666").is_none());
        assert!(FsUuid::parse("not-a-uuid").is_none());
        assert!(FsUuid::parse("").is_none());
    }

    #[test]
    fn devnum_parse() {
        assert_eq!(
            DevNum::parse("8:16"),
            Some(DevNum {
                major: 8,
                minor: 16
            })
        );
        assert_eq!(DevNum::parse("8"), None);
    }
}
