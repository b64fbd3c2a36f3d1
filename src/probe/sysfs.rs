//! sysfs: per-device attributes (`/sys/class/block/<kname>/...`) and the members of every
//! mounted btrfs (`/sys/fs/btrfs/<fsuuid>/devices/`).
//!
//! The btrfs directory is the kernel's own answer to "which devices does this mounted
//! filesystem use", including the members mountinfo does not name; the policy relies on it.
//! Read-only. The root is a parameter so tests can point it at a directory they built.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::types::{Bytes, DevNum, FsUuid};

/// Where sysfs is mounted (tests use a temp dir).
#[derive(Debug, Clone)]
pub struct Sysfs {
    pub root: PathBuf,
}

impl Default for Sysfs {
    fn default() -> Self {
        Sysfs {
            root: PathBuf::from("/sys"),
        }
    }
}

/// Attributes of one block device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SysBlock {
    pub kname: String,
    pub devnum: Option<DevNum>,
    /// Devices stacked on this one (md, dm): a non-empty list means the kernel uses it.
    pub holders: Vec<String>,
    /// Devices this one is stacked on.
    pub slaves: Vec<String>,
    pub read_only: bool,
    pub removable: bool,
    pub size: Bytes,
    pub is_partition: bool,
}

/// A mounted btrfs filesystem and the kernel names of its member devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BtrfsMounted {
    pub uuid: FsUuid,
    pub members: Vec<String>,
}

impl Sysfs {
    pub fn new(root: impl Into<PathBuf>) -> Sysfs {
        Sysfs { root: root.into() }
    }

    /// Reads `/sys/class/block/<kname>`.
    pub fn read_block(&self, kname: &str) -> io::Result<SysBlock> {
        let dir = self.root.join("class/block").join(kname);
        let sectors: u64 = read_trim(&dir.join("size"))?.parse().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}/size is not a number", dir.display()),
            )
        })?;
        Ok(SysBlock {
            kname: kname.to_string(),
            devnum: read_trim(&dir.join("dev"))
                .ok()
                .as_deref()
                .and_then(DevNum::parse),
            holders: list_dir(&dir.join("holders"))?,
            slaves: list_dir(&dir.join("slaves")).unwrap_or_default(),
            read_only: read_trim(&dir.join("ro")).map(|s| s == "1")?,
            // Partitions have no `removable`; their disk's value is what matters and the
            // disk is probed too.
            removable: read_trim(&dir.join("removable"))
                .map(|s| s == "1")
                .unwrap_or(false),
            // sysfs `size` is always in 512-byte sectors, whatever the logical block size.
            size: Bytes(sectors.saturating_mul(512)),
            is_partition: dir.join("partition").exists(),
        })
    }

    /// Every mounted btrfs with its members. An absent `/sys/fs/btrfs` means none.
    pub fn read_btrfs_mounted(&self) -> io::Result<Vec<BtrfsMounted>> {
        let base = self.root.join("fs/btrfs");
        let mut out = Vec::new();
        for name in list_dir(&base)? {
            let Some(uuid) = FsUuid::parse(&name) else {
                continue;
            }; // `features`, etc.
            let members = list_dir(&base.join(&name).join("devices"))?;
            out.push(BtrfsMounted { uuid, members });
        }
        out.sort_by(|a, b| a.uuid.cmp(&b.uuid));
        Ok(out)
    }
}

fn read_trim(p: &Path) -> io::Result<String> {
    Ok(fs::read_to_string(p)?.trim().to_string())
}

/// Sorted entry names of `dir`; a missing directory is an empty list.
fn list_dir(dir: &Path) -> io::Result<Vec<String>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut names = Vec::new();
    for e in entries {
        names.push(e?.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(p: &Path, s: &str) {
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, s).unwrap();
    }

    #[test]
    fn reads_a_fake_tree() {
        let t = tempfile::tempdir().unwrap();
        let b = t.path().join("class/block/loop7");
        write(&b.join("size"), "2097152\n");
        write(&b.join("dev"), "7:7\n");
        write(&b.join("ro"), "0\n");
        write(&b.join("removable"), "0\n");
        fs::create_dir_all(b.join("holders/md0")).unwrap();
        let u = "5d1c0e2a-1111-2222-3333-444455556666";
        fs::create_dir_all(t.path().join(format!("fs/btrfs/{u}/devices/loop7"))).unwrap();
        fs::create_dir_all(t.path().join(format!("fs/btrfs/{u}/devices/loop8"))).unwrap();
        fs::create_dir_all(t.path().join("fs/btrfs/features")).unwrap();

        let sys = Sysfs::new(t.path());
        let blk = sys.read_block("loop7").unwrap();
        assert_eq!(blk.size, Bytes(1 << 30));
        assert_eq!(blk.holders, vec!["md0"]);
        assert_eq!(blk.devnum, Some(DevNum { major: 7, minor: 7 }));
        assert!(!blk.is_partition && !blk.read_only);
        let fs = sys.read_btrfs_mounted().unwrap();
        assert_eq!(fs.len(), 1);
        assert_eq!(fs[0].members, vec!["loop7", "loop8"]);
        assert!(sys.read_block("nope").is_err());
    }
}
