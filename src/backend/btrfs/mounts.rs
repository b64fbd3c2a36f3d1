//! What a mounted btrfs means for the code above the seam. DESIGN.md §4: every member of a
//! multi-device btrfs shares the filesystem UUID, and `/proc/self/mountinfo` names only ONE of
//! them, so "which devices back this mount" and "is this device in use" need btrfs's own view
//! (`/sys/fs/btrfs/<uuid>/devices/`, the UUID `blkid -p` read). Subvolume mounts each get an
//! anonymous device number, so "same filesystem" cannot be decided by `st_dev` either.
//!
//! Read-only (sysfs and the snapshot); reached through [`crate::backend::mounts`].

use std::path::{Path, PathBuf};

use super::FSTYPE;
use crate::probe::lsblk::BlockDev;
use crate::probe::mounts::Mount;
use crate::probe::snapshot::Snapshot;
use crate::types::{DevPath, FsUuid};

/// Whether mountinfo's line `m` is a btrfs.
pub fn is_btrfs(m: &Mount) -> bool {
    m.fstype == FSTYPE
}

/// The kernel name mountinfo's source names (`/dev/loop3` → `loop3`).
fn source_kname(m: &Mount) -> &str {
    Path::new(&m.source)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
}

/// Whether this process's view has a btrfs mounted exactly at `mp` (a plain directory on a
/// btrfs root is not one: `btrfs filesystem show` of it describes the root filesystem).
pub fn mounted_at(mounts: &[Mount], mp: &Path) -> bool {
    mounts.iter().any(|m| m.mountpoint == mp && is_btrfs(m))
}

/// The btrfs mount holding `uuid`/`mountpoint`: at the mountpoint, or (by UUID) wherever sysfs
/// says one of its members is mounted.
pub fn find_mount(
    uuid: Option<&FsUuid>,
    mountpoint: &Path,
    mounts: &[Mount],
    sys_root: &Path,
) -> Option<Mount> {
    let at = mounts
        .iter()
        .rev()
        .find(|m| m.mountpoint == mountpoint && is_btrfs(m));
    if at.is_some() {
        return at.cloned();
    }
    let members = sys_members(sys_root, uuid?.as_str());
    mounts
        .iter()
        .filter(|m| is_btrfs(m))
        .find(|m| members.iter().any(|k| k.as_str() == source_kname(m)))
        .cloned()
}

/// Kernel names in `/sys/fs/btrfs/<uuid>/devices/`.
fn sys_members(sys_root: &Path, uuid: &str) -> Vec<String> {
    std::fs::read_dir(sys_root.join("fs/btrfs").join(uuid).join("devices"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// Every member (kernel names) of the mounted btrfs `m`, by sysfs; empty for other types.
pub fn member_knames(sys: &Path, m: &Mount) -> Vec<String> {
    if !is_btrfs(m) {
        return Vec::new();
    }
    let Some(k) = canonical_kname(&m.source) else {
        return Vec::new();
    };
    for fs in std::fs::read_dir(sys.join("fs/btrfs"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let devs = sys_members(sys, &fs.file_name().to_string_lossy());
        if devs.contains(&k) {
            return devs;
        }
    }
    Vec::new()
}

fn canonical_kname(source: &str) -> Option<String> {
    if !source.starts_with("/dev/") {
        return None;
    }
    let c = std::fs::canonicalize(source).ok()?;
    Some(c.file_name()?.to_string_lossy().into_owned())
}

/// Two mounts of one btrfs (subvolumes: different anonymous device numbers, same source).
pub fn same_filesystem(a: &Mount, b: &Mount) -> bool {
    is_btrfs(a) && is_btrfs(b) && a.source == b.source
}

/// The snapshot's devices that are members of the mounted btrfs `m` (mountinfo names one).
pub fn backing_members(m: &Mount, snap: &Snapshot) -> Vec<DevPath> {
    if !is_btrfs(m) {
        return Vec::new();
    }
    let src = source_kname(m);
    let mut out = Vec::new();
    for fs in snap
        .btrfs_mounted
        .iter()
        .filter(|f| f.members.iter().any(|k| k == src))
    {
        for d in &snap.devices {
            if d.path
                .kname()
                .is_some_and(|k| fs.members.iter().any(|mk| mk == k))
            {
                out.push(d.path.clone());
            }
        }
    }
    out
}

/// If `dev` belongs to a mounted btrfs: its filesystem UUID and a mountpoint. Found by kernel
/// name in `/sys/fs/btrfs/<uuid>/devices/` and by the UUID blkid read from the device, because
/// mountinfo names only one member of a multi-device btrfs.
pub fn mounted_membership(dev: &BlockDev, snap: &Snapshot) -> Option<(String, Option<PathBuf>)> {
    let kname = dev.path.kname()?;
    let by_uuid = snap
        .identity(&dev.path)
        .filter(|id| id.fstype.as_deref() == Some(FSTYPE))
        .and_then(|id| id.fs_uuid());
    let fs = snap
        .btrfs_mounted
        .iter()
        .find(|f| f.members.iter().any(|m| m == kname) || Some(&f.uuid) == by_uuid.as_ref())?;
    let mountpoint = snap
        .mounts
        .iter()
        .filter(|m| is_btrfs(m))
        .find(|m| fs.members.iter().any(|k| k == source_kname(m)))
        .map(|m| m.mountpoint.clone());
    Some((fs.uuid.to_string(), mountpoint))
}

/// Whether `/proc/filesystems` (its text) lists btrfs: the kernel can mount one.
pub fn kernel_has_btrfs(proc_filesystems: &str) -> bool {
    proc_filesystems
        .lines()
        .any(|l| l.split_whitespace().last() == Some(FSTYPE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_filesystems_lists_btrfs_or_not() {
        // This machine's /proc/filesystems (kernel 6.x), abridged; btrfs is built in.
        let with = "nodev\tsysfs\nnodev\ttmpfs\n\text3\n\text4\n\tbtrfs\nnodev\tbinfmt_misc\n";
        assert!(kernel_has_btrfs(with));
        assert!(!kernel_has_btrfs("nodev\tsysfs\n\text4\n\tvfat\n"));
        // A name that merely contains btrfs is not btrfs.
        assert!(!kernel_has_btrfs("nodev\tbtrfs_test\n"));
    }
}
