//! btrfs recover's checks on the destination, before anything is mounted or written.
//! Read-only. (The generic part — DEST itself, names already taken, disks under a device —
//! is `crate::recover::dest`.)
//!
//! The copy must land on new media: never on the degraded array (writing to it allocates
//! unprotected `single` chunks and may damage the only good copy), never on another partition
//! or a stacked device of a disk the array uses (the one surviving disk would then hold both
//! copies). DEST's filesystem is identified three ways, because each alone has a hole: its
//! `st_dev` (btrfs gives an anonymous `0:N`), the mount holding it and that mount's source
//! device, and for btrfs the filesystem UUID that source belongs to (`/sys/fs/btrfs/*/devices`).

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use anyhow::Result;

use super::discover::ArrayFound;
use crate::app::Refused;
use crate::probe::mounts::{mount_containing, read_mounts};
use crate::probe::sysfs::Sysfs;
use crate::recover::dest::{underlying_disks, Dest};
use crate::recover::{COPY_SET, MANIFEST_NAME};
use crate::types::{DevNum, FsUuid};

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
    problems.extend(crate::recover::dest::names_taken(dest, names));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names_are_the_copy_set_and_the_manifest() {
        let n = default_names();
        assert!(n.contains(&"hsm_secret") && n.contains(&MANIFEST_NAME));
        assert_eq!(
            dest_devices(
                DevNum {
                    major: 8,
                    minor: 16
                },
                None
            )
            .1
            .len(),
            1
        );
        assert!(dest_devices(
            DevNum {
                major: 0,
                minor: 40
            },
            None
        )
        .1
        .is_empty());
    }
}
