//! Loop devices as members: where their backing files live. Read-only (sysfs, the snapshot).
//!
//! A loop device is only as independent as the disk under its backing file. Refused:
//! - a backing file on the array being built (on a chosen member, or on a filesystem that
//!   sits on one): the array would write into its own member; never allowed;
//! - a backing file on `$LIGHTNINGDIR`'s filesystem, or on a disk another chosen member also
//!   lives on: the "mirror" dies with that one disk. Rehearsals (tests, drills, the demo) do
//!   this on purpose and say so with `--allow-loop-on-shared-disk`.
//!
//! Part of the full device policy ([`super::classify_request`] with
//! [`super::PolicyContext::loops`] set), so it runs at setup's preflight and again at every
//! re-check of the executor: a loop device re-pointed (`losetup` on the same `/dev/loopN`)
//! between confirmation and a resumed step is judged by its backing file of now.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use super::Refusal;
use crate::probe::mounts::{mount_containing, Mount};
use crate::probe::snapshot::Snapshot;
use crate::types::DevPath;

/// Where the loop check reads backing files, and the operator's rehearsal consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoopCheck {
    /// `/sys/block` (a directory of `<kname>/loop/backing_file` in tests).
    pub sys_block: PathBuf,
    /// `--allow-loop-on-shared-disk`: accept the rehearsal cases (never a file on the array).
    pub allow_shared: bool,
}

impl LoopCheck {
    pub fn new(sys_block: impl Into<PathBuf>, allow_shared: bool) -> LoopCheck {
        LoopCheck {
            sys_block: sys_block.into(),
            allow_shared,
        }
    }
}

/// Loops on loops deeper than this are not followed (and refused as unknown territory).
const MAX_DEPTH: usize = 4;

/// The file behind loop device `dev` (or behind the loop disk a partition sits on), as the
/// kernel reports it in sysfs. `None` for a device that is not a loop device.
pub fn backing_file(dev: &DevPath, snap: &Snapshot, sys_block: &Path) -> Option<PathBuf> {
    let disk = base_disk(dev, snap);
    let kname = disk.kname()?;
    let text = fs::read_to_string(sys_block.join(kname).join("loop/backing_file")).ok()?;
    let text = text.trim_end_matches('\n');
    Some(PathBuf::from(
        text.strip_suffix(" (deleted)").unwrap_or(text),
    ))
}

/// The whole disk under `dev` (a partition's disk; the device itself otherwise).
fn base_disk(dev: &DevPath, snap: &Snapshot) -> DevPath {
    let mut cur = dev.clone();
    for _ in 0..8 {
        match snap.device(&cur).and_then(|d| d.parents.first()) {
            Some(p) => cur = p.clone(),
            None => break,
        }
    }
    cur
}

/// The block devices a mounted filesystem sits on: its source, and for btrfs every member
/// the kernel lists (mountinfo names only one).
fn fs_devices(m: &Mount, snap: &Snapshot) -> Vec<DevPath> {
    let mut out = Vec::new();
    if let Some(d) = snap.device_by_num(m.devnum) {
        out.push(d.path.clone());
    }
    if m.source.starts_with("/dev/") {
        let p = fs::canonicalize(&m.source).unwrap_or_else(|_| PathBuf::from(&m.source));
        out.push(DevPath::new(p));
    }
    let uuid = out
        .iter()
        .find_map(|d| snap.identity(d).and_then(|i| i.uuid.clone()));
    if let Some(b) = snap.btrfs_mounted.iter().find(|b| {
        uuid.as_deref()
            .is_some_and(|u| b.uuid.to_string().eq_ignore_ascii_case(u))
    }) {
        out.extend(b.members.iter().map(|k| DevPath::new(format!("/dev/{k}"))));
    }
    out.sort();
    out.dedup();
    out
}

/// Everything `dev` depends on: the devices under it (a loop's backing filesystem's devices,
/// recursively) and the physical disks at the bottom.
#[derive(Debug, Default)]
struct Chain {
    through: BTreeSet<DevPath>,
    disks: BTreeSet<DevPath>,
}

fn chain(dev: &DevPath, snap: &Snapshot, sys_block: &Path, depth: usize, out: &mut Chain) {
    let disk = base_disk(dev, snap);
    out.through.insert(dev.clone());
    out.through.insert(disk.clone());
    let backing = match backing_file(&disk, snap, sys_block) {
        Some(b) if depth < MAX_DEPTH => b,
        _ => {
            out.disks.insert(disk);
            return;
        }
    };
    let Some(m) = mount_containing(&snap.mounts, &backing) else {
        return;
    };
    for d in fs_devices(m, snap) {
        chain(&d, snap, sys_block, depth + 1, out);
    }
}

/// The refusals for loop members of `members` (given in this order), with `dir` the node's
/// canonical directory. `allow_shared` accepts the rehearsal cases (not a file on the array).
pub fn loop_refusals(
    members: &[DevPath],
    dir: Option<&Path>,
    snap: &Snapshot,
    sys_block: &Path,
    allow_shared: bool,
) -> Vec<(DevPath, Refusal)> {
    let chains: Vec<Chain> = members
        .iter()
        .map(|m| {
            let mut c = Chain::default();
            chain(m, snap, sys_block, 0, &mut c);
            c
        })
        .collect();
    let dir_mount = dir.and_then(|d| mount_containing(&snap.mounts, d));
    let mut out = Vec::new();
    for (i, m) in members.iter().enumerate() {
        let Some(backing) = backing_file(m, snap, sys_block) else {
            continue;
        };
        let mut below = Chain::default();
        if let Some(bm) = mount_containing(&snap.mounts, &backing) {
            for d in fs_devices(bm, snap) {
                chain(&d, snap, sys_block, 1, &mut below);
            }
        }
        let on_member = members.iter().find(|o| {
            let od = base_disk(o, snap);
            below.through.contains(o) || below.through.contains(&od)
        });
        if let Some(member) = on_member {
            out.push((
                m.clone(),
                Refusal::LoopBackedByMember {
                    backing: backing.clone(),
                    member: member.clone(),
                },
            ));
            continue;
        }
        if allow_shared {
            continue;
        }
        let bm = mount_containing(&snap.mounts, &backing);
        if let (Some(d), Some(dm), Some(bm)) = (dir, dir_mount, bm) {
            if dm.devnum == bm.devnum || (dm.source == bm.source && dm.source.starts_with("/dev/"))
            {
                out.push((
                    m.clone(),
                    Refusal::LoopOnNodeFilesystem {
                        backing: backing.clone(),
                        dir: d.to_path_buf(),
                    },
                ));
                continue;
            }
        }
        let shared = members.iter().enumerate().find_map(|(j, o)| {
            (j != i)
                .then(|| chains[i].disks.intersection(&chains[j].disks).next())
                .flatten()
                .map(|disk| (disk.clone(), o))
        });
        if let Some((disk, other)) = shared {
            out.push((
                m.clone(),
                Refusal::LoopSharesDisk {
                    backing,
                    disk,
                    other: other.as_path().to_path_buf(),
                },
            ));
        }
    }
    out
}
