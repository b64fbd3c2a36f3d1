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

    /// Parses a size given by an operator: `512M`, `1G`, `1.5T`, `1048576` (binary units).
    pub fn parse_human(s: &str) -> Option<Bytes> {
        let s = s.trim();
        let split = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let (num, unit) = s.split_at(split);
        let mult: u64 = match unit
            .trim()
            .to_ascii_uppercase()
            .trim_end_matches("IB")
            .trim_end_matches('B')
        {
            "" => 1,
            "K" => 1 << 10,
            "M" => 1 << 20,
            "G" => 1 << 30,
            "T" => 1 << 40,
            "P" => 1 << 50,
            _ => return None,
        };
        if num.contains('.') {
            let v: f64 = num.parse().ok()?;
            let bytes = v * mult as f64;
            (bytes.is_finite() && bytes >= 0.0 && bytes < u64::MAX as f64)
                .then_some(Bytes(bytes as u64))
        } else {
            num.parse::<u64>().ok()?.checked_mul(mult).map(Bytes)
        }
    }
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
