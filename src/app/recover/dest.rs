//! Checks on the destination, before anything is mounted or written. Read-only.
//!
//! The copy must land on new media: never on the degraded array (writing to it allocates
//! unprotected `single` chunks and may damage the only good copy), never on another partition
//! or a stacked device of a disk the array uses (the one surviving disk would then hold both
//! copies). DEST's filesystem is identified three ways, because each alone has a hole: its
//! `st_dev` (btrfs gives an anonymous `0:N`), the mount holding it and that mount's source
//! device, and for btrfs the filesystem UUID that source belongs to (`/sys/fs/btrfs/*/devices`).

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::discover::ArrayFound;
use crate::app::Refused;
use crate::probe::mounts::{mount_containing, read_mounts};
use crate::probe::sysfs::Sysfs;
use crate::recover::{COPY_SET, MANIFEST_NAME};
use crate::types::{DevNum, FsUuid};

/// DEST as the operator named it, made absolute, and its nearest existing ancestor.
#[derive(Debug, Clone)]
pub struct Dest {
    pub path: PathBuf,
    pub exists: bool,
    /// Canonical path of DEST, or of its nearest existing ancestor when DEST is missing.
    pub anchor: PathBuf,
}

impl Dest {
    pub fn new(given: &Path) -> Result<Dest> {
        let path =
            std::path::absolute(given).with_context(|| format!("--to {}", given.display()))?;
        let exists = match fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => true,
            Ok(m) if m.file_type().is_symlink() && path.is_dir() => true,
            Ok(_) => {
                return Err(Refused(vec![format!(
                    "--to {}: exists and is not a directory",
                    path.display()
                )])
                .into())
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let mut anchor = path.clone();
        while fs::symlink_metadata(&anchor).is_err() {
            if !anchor.pop() {
                break;
            }
        }
        let anchor =
            fs::canonicalize(&anchor).with_context(|| format!("resolving {}", anchor.display()))?;
        Ok(Dest {
            path,
            exists,
            anchor,
        })
    }

    fn st_dev(&self) -> Result<DevNum> {
        let m = fs::metadata(&self.anchor)
            .with_context(|| format!("reading {}", self.anchor.display()))?;
        Ok(DevNum::from_rdev(m.dev()))
    }
}

/// Every check on DEST that can be made before mounting; all problems at once.
pub fn check_dest(dest: &Dest, array: &ArrayFound, names: &[&str]) -> Result<()> {
    let mut problems = Vec::new();
    let dev = dest.st_dev()?;
    if let Some(ex) = &array.existing {
        if dev == ex.devnum || dev == ex.root_dev || dest.anchor.starts_with(&ex.mountpoint) {
            problems.push(on_array(dest, &array.choice.uuid));
        }
    }
    let mounts = read_mounts(Path::new("/proc/self/mountinfo"))?;
    let holder = mount_containing(&mounts, &dest.anchor);
    let (fs_uuid, dest_devs) =
        dest_devices(dev, holder.map(|m| (m.fstype.as_str(), m.source.as_str())));
    if fs_uuid.as_ref() == Some(&array.choice.uuid) {
        problems.push(on_array(dest, &array.choice.uuid));
    }
    let dest_disks: BTreeSet<String> = dest_devs
        .iter()
        .flat_map(|d| underlying_disks(*d))
        .collect();
    for (member, num) in &array.member_devnums {
        let shared: Vec<String> = underlying_disks(*num)
            .intersection(&dest_disks)
            .cloned()
            .collect();
        if !shared.is_empty() {
            problems.push(format!(
                "--to {} is on disk {} which also holds array member {member}: copy to new media, not to the surviving disk",
                dest.path.display(),
                shared.join(", ")
            ));
        }
    }
    if dest.exists {
        let taken: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| fs::symlink_metadata(dest.path.join(n)).is_ok())
            .collect();
        if !taken.is_empty() {
            problems.push(format!(
                "--to {} already holds {}: recovered files must never mix with (or replace) other copies; choose a new or empty directory",
                dest.path.display(),
                taken.join(", ")
            ));
        }
        // An interrupted (killed) recover's staging directory: never published, not usable.
        for e in fs::read_dir(&dest.path).into_iter().flatten().flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with(".lnraid-recover-staging-")
                || n.starts_with(".lnraid-integrity-check-")
            {
                problems.push(format!(
                    "--to {} holds {n}, the unfinished copy of an interrupted `lnraid recover` (never verified, no MANIFEST): nothing in it is usable; remove it (`rm -r {}`) or choose another DEST",
                    dest.path.display(),
                    crate::exec::shell_quote(&e.path().to_string_lossy())
                ));
            }
        }
    }
    problems.dedup();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Refused(problems).into())
    }
}

/// The names DEST must not hold for the default copy-out set.
pub fn default_names() -> Vec<&'static str> {
    COPY_SET.iter().copied().chain([MANIFEST_NAME]).collect()
}

/// After mounting: DEST must not be inside the mount lnraid made (a `--to` below
/// `/run/lnraid/recover-*` could not be ruled out earlier).
pub fn check_not_in_mount(dest: &Dest, mountpoint: &Path, uuid: &FsUuid) -> Result<()> {
    let mount_dev = DevNum::from_rdev(
        fs::metadata(mountpoint)
            .with_context(|| format!("reading {}", mountpoint.display()))?
            .dev(),
    );
    if dest.anchor.starts_with(mountpoint) || dest.st_dev()? == mount_dev {
        return Err(Refused(vec![on_array(dest, uuid)]).into());
    }
    Ok(())
}

fn on_array(dest: &Dest, uuid: &FsUuid) -> String {
    format!(
        "--to {} is on the array itself (btrfs {uuid}): never write to the degraded filesystem; copy to new media",
        dest.path.display()
    )
}

/// The block devices DEST's filesystem lives on, and its btrfs UUID when it is a btrfs.
/// A real `st_dev` is the device; btrfs (anonymous `0:N`) is resolved through the mount source
/// and then every member of that filesystem; tmpfs, NFS and the like have no device.
fn dest_devices(dev: DevNum, holder: Option<(&str, &str)>) -> (Option<FsUuid>, Vec<DevNum>) {
    if dev.major != 0 {
        return (None, vec![dev]);
    }
    let Some((fstype, source)) = holder else {
        return (None, Vec::new());
    };
    let Some(src) = fs::metadata(source)
        .ok()
        .filter(|m| std::os::unix::fs::FileTypeExt::is_block_device(&m.file_type()))
        .map(|m| DevNum::from_rdev(m.rdev()))
    else {
        return (None, Vec::new());
    };
    if fstype != "btrfs" {
        return (None, vec![src]);
    }
    let sysfs = Sysfs::default();
    for fs in sysfs.read_btrfs_mounted().unwrap_or_default() {
        let nums: Vec<DevNum> = fs
            .members
            .iter()
            .filter_map(|k| sysfs.read_block(k).ok().and_then(|b| b.devnum))
            .collect();
        if nums.contains(&src) {
            return (Some(fs.uuid), nums);
        }
    }
    (None, vec![src])
}

/// The whole disks under a block device: itself when it is a disk, its disk when it is a
/// partition, and recursively the disks under what it is stacked on (dm, md, loop over a
/// device). Unknown devices give an empty set.
pub fn underlying_disks(dev: DevNum) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    walk(&PathBuf::from(format!("/sys/dev/block/{dev}")), &mut out, 0);
    out
}

fn walk(sys: &Path, out: &mut BTreeSet<String>, depth: u32) {
    let Ok(real) = fs::canonicalize(sys) else {
        return;
    };
    if depth > 16 {
        return;
    }
    if real.join("partition").exists() {
        if let Some(parent) = real.parent() {
            walk(parent, out, depth + 1);
        }
        return;
    }
    let slaves: Vec<PathBuf> = fs::read_dir(real.join("slaves"))
        .map(|r| r.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    if slaves.is_empty() {
        if let Some(name) = real.file_name() {
            out.insert(name.to_string_lossy().into_owned());
        }
    }
    for s in slaves {
        walk(&s, out, depth + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disks_of_this_machine_root() {
        // The root filesystem's device, when it has one, maps to at least one disk name.
        let dev = DevNum::from_rdev(fs::metadata("/").unwrap().dev());
        if dev.major != 0 {
            assert!(!underlying_disks(dev).is_empty(), "{dev}");
        }
        assert!(underlying_disks(DevNum {
            major: 4095,
            minor: 4095
        })
        .is_empty());
    }

    #[test]
    fn dest_must_be_a_directory_and_anchor_exists() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("f");
        fs::write(&f, b"").unwrap();
        assert!(Dest::new(&f).is_err());
        let d = Dest::new(&t.path().join("a/b/c")).unwrap();
        assert!(!d.exists);
        assert_eq!(d.anchor, fs::canonicalize(t.path()).unwrap());
    }
}
