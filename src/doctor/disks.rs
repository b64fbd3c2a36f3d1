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
                !self.disks.is_empty() && crate::backend::mounts::same_filesystem(a, b)
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
        top.extend(crate::backend::mounts::member_knames(sys, m));
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    /// A sysfs tree: sda (USB) and sdb with one partition each, md0 over both partitions,
    /// dm-0 over md0, and loop3 with a backing file.
    fn fake_sys(root: &Path) {
        let dev = root.join("devices");
        let usb = dev.join("pci0000:00/0000:00:14.0/usb2/2-1/host6/block/sda");
        let sata = dev.join("pci0000:00/ata1/host0/block/sdb");
        for (disk, part) in [(&usb, "sda1"), (&sata, "sdb1")] {
            fs::create_dir_all(disk.join(part)).unwrap();
            fs::write(disk.join(part).join("partition"), "1\n").unwrap();
        }
        let virt = dev.join("virtual/block");
        for v in ["md0", "dm-0", "loop3"] {
            fs::create_dir_all(virt.join(v).join("slaves")).unwrap();
        }
        fs::create_dir_all(virt.join("loop3/loop")).unwrap();
        fs::write(virt.join("loop3/loop/backing_file"), "/srv/img/a.img\n").unwrap();
        let class = root.join("class/block");
        fs::create_dir_all(&class).unwrap();
        symlink(&usb, class.join("sda")).unwrap();
        symlink(usb.join("sda1"), class.join("sda1")).unwrap();
        symlink(&sata, class.join("sdb")).unwrap();
        symlink(sata.join("sdb1"), class.join("sdb1")).unwrap();
        for v in ["md0", "dm-0", "loop3"] {
            symlink(virt.join(v), class.join(v)).unwrap();
        }
        fs::write(virt.join("md0/slaves/sda1"), "").unwrap();
        fs::write(virt.join("md0/slaves/sdb1"), "").unwrap();
        fs::write(virt.join("dm-0/slaves/md0"), "").unwrap();
    }

    fn walk(sys: &Path, k: &str) -> Location {
        let mut loc = Location {
            path: "/".into(),
            st_dev: 0,
            mount: None,
            disks: BTreeSet::new(),
            usb: BTreeSet::new(),
            loops: Vec::new(),
        };
        leaves(sys, k, 0, &mut loc);
        loc
    }

    #[test]
    fn partitions_slaves_usb_and_loops() {
        let t = tempfile::tempdir().unwrap();
        fake_sys(t.path());
        let dm = walk(t.path(), "dm-0");
        assert_eq!(dm.disks, ["sda", "sdb"].map(String::from).into());
        assert_eq!(dm.usb, ["sda"].map(String::from).into());
        let p = walk(t.path(), "sdb1");
        assert_eq!(p.disks, ["sdb"].map(String::from).into());
        assert!(
            !dm.shared_disks(&p).is_empty(),
            "md over sdb1 shares sdb with sdb1"
        );
        let l = walk(t.path(), "loop3");
        assert_eq!(
            l.loops,
            vec![("loop3".to_string(), "/srv/img/a.img".to_string())]
        );
        assert!(l.describe().contains("loop over /srv/img/a.img"));
    }
}
