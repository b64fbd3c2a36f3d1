//! Where a path really lives: its filesystem (`st_dev` and the mount holding it, from this
//! process's mountinfo), and the whole disks under that filesystem (sysfs: partitions to their
//! disk, md/dm `slaves/` down to the leaves, every member of a multi-device btrfs by
//! `/sys/fs/btrfs/<uuid>/devices`). Two copies on one disk die together: the guide's "At the
//! minimum, set the backup to a different storage device". Read-only.
//!
//! A loop device counts as a disk of its own (its backing file is reported, not followed):
//! following it would make every loop-backed test array "the root disk".

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::probe::mounts::{mount_containing, parse_mountinfo, Mount};
use crate::types::DevNum;

/// A path's storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The existing path examined (the nearest existing ancestor of what was asked).
    pub path: PathBuf,
    pub st_dev: u64,
    pub mount: Option<Mount>,
    /// Whole-disk kernel names (`sda`, `nvme0n1`, `loop3`).
    pub disks: BTreeSet<String>,
    /// Disks attached over USB.
    pub usb: BTreeSet<String>,
    /// Loop devices among the disks, with their backing files.
    pub loops: Vec<(String, String)>,
}

impl Location {
    pub fn fstype(&self) -> &str {
        self.mount
            .as_ref()
            .map(|m| m.fstype.as_str())
            .unwrap_or("?")
    }

    /// Same filesystem: same `st_dev`, or the same mounted filesystem (btrfs subvolumes each
    /// have their own `st_dev`), or a btrfs over the same member set.
    pub fn same_filesystem(&self, other: &Location) -> bool {
        if self.st_dev == other.st_dev {
            return true;
        }
        match (&self.mount, &other.mount) {
            (Some(a), Some(b)) if a.devnum == b.devnum => true,
            (Some(a), Some(b)) => {
                a.fstype == "btrfs"
                    && b.fstype == "btrfs"
                    && !self.disks.is_empty()
                    && a.source == b.source
            }
            _ => false,
        }
    }

    /// Disks both live on.
    pub fn shared_disks(&self, other: &Location) -> Vec<String> {
        self.disks.intersection(&other.disks).cloned().collect()
    }

    /// A network filesystem, and whether it is NFS version 4 (what the guide asks for).
    pub fn network_fs(&self) -> Option<(String, bool)> {
        let m = self.mount.as_ref()?;
        let net = [
            "nfs",
            "nfs4",
            "cifs",
            "smb3",
            "smbfs",
            "fuse.sshfs",
            "9p",
            "ceph",
            "glusterfs",
            "fuse.glusterfs",
            "davfs",
            "fuse.rclone",
        ];
        if !net.contains(&m.fstype.as_str()) {
            return None;
        }
        let v4 = m.fstype == "nfs4"
            || (m.fstype == "nfs"
                && m.super_options
                    .split(',')
                    .any(|o| o.starts_with("vers=4") || o.starts_with("nfsvers=4")));
        Some((m.fstype.clone(), v4))
    }

    /// Words for the evidence: `ext4 on sdb (usb)`.
    pub fn describe(&self) -> String {
        let disks = if self.disks.is_empty() {
            "no block device".to_string()
        } else {
            self.disks
                .iter()
                .map(|d| {
                    let mut s = d.clone();
                    if self.usb.contains(d) {
                        s.push_str(" (USB)");
                    }
                    if let Some((_, b)) = self.loops.iter().find(|(l, _)| l == d) {
                        s.push_str(&format!(" (loop over {b})"));
                    }
                    s
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mp = self
            .mount
            .as_ref()
            .map(|m| m.mountpoint.display().to_string())
            .unwrap_or_else(|| "?".into());
        format!("{} at {mp} on {disks}", self.fstype())
    }
}

/// The nearest existing ancestor of `p` (itself when it exists).
pub fn existing_ancestor(p: &Path) -> Option<PathBuf> {
    p.ancestors()
        .find(|a| a.exists())
        .and_then(|a| std::fs::canonicalize(a).ok())
}

/// Locates `path` (or its nearest existing ancestor) on this machine.
pub fn locate(path: &Path, sys: &Path) -> std::io::Result<Location> {
    let p = existing_ancestor(path)
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no existing ancestor"))?;
    let st_dev = std::fs::metadata(&p)?.dev();
    let mounts = std::fs::read_to_string("/proc/self/mountinfo")
        .ok()
        .and_then(|t| parse_mountinfo(&t).ok())
        .unwrap_or_default();
    let mount = mount_containing(&mounts, &p).cloned();
    let mut top = BTreeSet::new();
    if let Some(m) = &mount {
        if m.fstype == "btrfs" {
            top.extend(btrfs_members(sys, &m.source));
        }
        if top.is_empty() {
            if let Some(k) = kname_of_source(&m.source) {
                top.insert(k);
            }
        }
    }
    if top.is_empty() {
        let d = DevNum::from_rdev(st_dev);
        if let Ok(t) = std::fs::read_link(sys.join(format!("dev/block/{d}"))) {
            if let Some(n) = t.file_name() {
                top.insert(n.to_string_lossy().into_owned());
            }
        }
    }
    let mut loc = Location {
        path: p,
        st_dev,
        mount,
        disks: BTreeSet::new(),
        usb: BTreeSet::new(),
        loops: Vec::new(),
    };
    for k in top {
        leaves(sys, &k, 0, &mut loc);
    }
    Ok(loc)
}

fn kname_of_source(source: &str) -> Option<String> {
    if !source.starts_with("/dev/") {
        return None;
    }
    let c = std::fs::canonicalize(source).ok()?;
    Some(c.file_name()?.to_string_lossy().into_owned())
}

/// Every member of the mounted btrfs whose mountinfo source is `source`.
fn btrfs_members(sys: &Path, source: &str) -> Vec<String> {
    let Some(k) = kname_of_source(source) else {
        return Vec::new();
    };
    for fs in std::fs::read_dir(sys.join("fs/btrfs"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let devs: Vec<String> = std::fs::read_dir(fs.path().join("devices"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        if devs.contains(&k) {
            return devs;
        }
    }
    Vec::new()
}

/// Walks a block device down to whole disks: partition → its disk; md/dm → its slaves.
fn leaves(sys: &Path, kname: &str, depth: usize, loc: &mut Location) {
    let class = sys.join("class/block").join(kname);
    let disk = if class.join("partition").exists() {
        std::fs::canonicalize(&class)
            .ok()
            .and_then(|c| {
                c.parent()
                    .and_then(|p| p.file_name())
                    .map(|n| n.to_string_lossy().into_owned())
            })
            .unwrap_or_else(|| kname.to_string())
    } else {
        kname.to_string()
    };
    let dclass = sys.join("class/block").join(&disk);
    let slaves: Vec<String> = std::fs::read_dir(dclass.join("slaves"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    if !slaves.is_empty() && depth < 8 {
        for s in slaves {
            leaves(sys, &s, depth + 1, loc);
        }
        return;
    }
    if let Ok(b) = std::fs::read_to_string(dclass.join("loop/backing_file")) {
        loc.loops.push((disk.clone(), b.trim().to_string()));
    }
    if std::fs::canonicalize(&dclass).is_ok_and(|c| c.to_string_lossy().contains("/usb")) {
        loc.usb.insert(disk.clone());
    }
    loc.disks.insert(disk);
}

/// Free bytes for unprivileged writers on the filesystem holding `p`.
pub fn free_bytes(p: &Path) -> Option<u64> {
    let s = nix::sys::statvfs::statvfs(p).ok()?;
    Some(s.blocks_available() as u64 * s.fragment_size() as u64)
}
