//! Device eligibility: may lnraid destroy this device? Pure — it reads only the [`Snapshot`].
//!
//! A device is eligible only on positive proof: every check below must pass, and a device we
//! could not fully identify is refused, not assumed blank. Every refusal reason is collected
//! (not just the first) and each names a remedy, so the operator sees the whole picture at once.
//! Signature refusals (filesystem, RAID superblock, partition table) are the only ones that
//! `--wipe` may override; nothing overrides "in use".

mod graph;
pub mod loops;
mod reasons;

pub use loops::LoopCheck;
pub use reasons::{Advice, Refusal};

use graph::{backing_devices, disk_of, with_ancestors, with_descendants};

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::probe::lsblk::BlockDev;
use crate::probe::mounts::{mount_containing, Mount};
use crate::probe::snapshot::{Exclusive, IdentityProbe, Resolved, Snapshot};
use crate::types::{Bytes, DevPath};

/// What the policy needs besides the snapshot.
#[derive(Debug, Clone)]
pub struct PolicyContext {
    /// Devices smaller than this are refused.
    pub min_size: Bytes,
    /// Canonical paths whose backing devices must never be touched: `/`, `/boot`, and the
    /// node's `$LIGHTNINGDIR` when given.
    pub protected: Vec<(PathBuf, Protected)>,
    /// Judge loop devices by where their backing files live (see [`loops`]); `None`: not
    /// checked (`lnraid devices`, which judges one device at a time).
    pub loops: Option<LoopCheck>,
}

/// Why a path is protected, for the refusal message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Protected {
    System,
    LightningDir,
}

/// Default minimum member size: anything smaller is almost surely the wrong device, and a
/// btrfs RAID-1 needs room for two metadata copies plus the node's growing database.
pub const DEFAULT_MIN_SIZE: Bytes = Bytes(Bytes::GIB);

/// The environment variable that lowers (or raises) the minimum member size for every command
/// and for the executor's re-checks alike. A TEST/REHEARSAL knob (the VM tier's 256M disks,
/// `lnraid drill`), never silently active: every command announces it on stderr while it is
/// set ([`min_size_override`], called by `app::run`), and an unparsable value is an error
/// there, not the default. Unset: [`DEFAULT_MIN_SIZE`].
pub const MIN_SIZE_ENV: &str = "LNRAID_MIN_SIZE";

/// The warning every command prints while [`MIN_SIZE_ENV`] is set (`Ok(None)`: unset), or why
/// its value is not a size.
pub fn min_size_override() -> Result<Option<String>, String> {
    let Ok(v) = std::env::var(MIN_SIZE_ENV) else {
        return Ok(None);
    };
    match Bytes::parse_human(&v) {
        Some(b) => Ok(Some(format!(
            "{MIN_SIZE_ENV}={v} is set: devices down to {b} are accepted as members (default {DEFAULT_MIN_SIZE}); a test/rehearsal setting — unset it on a real machine"
        ))),
        None => Err(format!(
            "{MIN_SIZE_ENV}={v:?} is not a size (e.g. 256M, 2G); unset it to use the default {DEFAULT_MIN_SIZE}"
        )),
    }
}

fn min_size_from_env() -> Bytes {
    std::env::var(MIN_SIZE_ENV)
        .ok()
        .and_then(|s| Bytes::parse_human(&s))
        .unwrap_or(DEFAULT_MIN_SIZE)
}

impl PolicyContext {
    pub fn new(lightning_dir: Option<&Path>) -> PolicyContext {
        let mut protected: Vec<(PathBuf, Protected)> = ["/", "/boot", "/boot/efi"]
            .iter()
            .map(|p| (PathBuf::from(p), Protected::System))
            .collect();
        if let Some(d) = lightning_dir {
            protected.push((d.to_path_buf(), Protected::LightningDir));
        }
        PolicyContext {
            min_size: min_size_from_env(),
            protected,
            loops: None,
        }
    }
}

/// The policy's answer for one device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub refusals: Vec<Refusal>,
    pub advice: Vec<Advice>,
}

impl Verdict {
    pub fn is_eligible(&self) -> bool {
        self.refusals.is_empty()
    }

    /// Eligible once `--wipe` is given: every refusal is a signature refusal.
    pub fn is_eligible_with_wipe(&self) -> bool {
        self.refusals.iter().all(Refusal::overridable_by_wipe)
    }
}

/// Classifies one device of the snapshot.
pub fn classify(dev: &BlockDev, snap: &Snapshot, ctx: &PolicyContext) -> Verdict {
    let mut r = Vec::new();
    own_use(dev, snap, &mut r);
    protected_paths(dev, snap, ctx, &mut r);
    related_use(dev, snap, &mut r);
    contents(dev, snap, &mut r);
    properties(dev, snap, ctx, &mut r);
    Verdict {
        refusals: r,
        advice: advice(dev),
    }
}

/// Classifies devices named by the operator, adding the refusals that need the whole list:
/// the same device named twice (by any two paths), two members on one physical disk.
pub fn classify_request(req: &[Resolved], snap: &Snapshot, ctx: &PolicyContext) -> Vec<Verdict> {
    let mut out = Vec::with_capacity(req.len());
    for (i, r) in req.iter().enumerate() {
        let mut v = match snap
            .device_by_num(r.devnum)
            .or_else(|| snap.device(&r.path))
        {
            Some(dev) => classify(dev, snap, ctx),
            None => Verdict {
                refusals: vec![Refusal::Unknown {
                    path: r.path.clone(),
                }],
                advice: vec![],
            },
        };
        for (j, other) in req.iter().enumerate() {
            if i == j {
                continue;
            }
            if other.devnum == r.devnum {
                v.refusals.push(Refusal::NamedTwice {
                    other: other.given.clone(),
                });
            } else if let (Some(a), Some(b)) = (disk_of(snap, &r.path), disk_of(snap, &other.path))
            {
                if a == b {
                    v.refusals.push(Refusal::SameDisk {
                        disk: a,
                        other: other.given.clone(),
                    });
                }
            }
        }
        out.push(v);
    }
    if let Some(lc) = &ctx.loops {
        let members: Vec<DevPath> = req.iter().map(|r| r.path.clone()).collect();
        let dir = ctx
            .protected
            .iter()
            .find(|(_, why)| *why == Protected::LightningDir)
            .map(|(d, _)| d.as_path());
        for (dev, refusal) in
            loops::loop_refusals(&members, dir, snap, &lc.sys_block, lc.allow_shared)
        {
            if let Some(i) = members.iter().position(|m| *m == dev) {
                out[i].refusals.push(refusal);
            }
        }
    }
    out
}

/// The device's own use: mounted, swap, btrfs membership, holders, md.
fn own_use(dev: &BlockDev, snap: &Snapshot, r: &mut Vec<Refusal>) {
    for m in mounts_of(dev, snap) {
        r.push(Refusal::Mounted {
            at: m.mountpoint.clone(),
            fstype: m.fstype.clone(),
        });
    }
    if snap.swaps.iter().any(|s| s.path == dev.path.as_path()) {
        r.push(Refusal::Swap);
    }
    if let Some((uuid, mountpoint)) = crate::backend::mounts::mounted_membership(dev, snap) {
        // Already reported as Mounted when mountinfo happens to name this very member.
        if !r.iter().any(|x| matches!(x, Refusal::Mounted { .. })) {
            r.push(Refusal::MountedBtrfsMember {
                fs_uuid: uuid,
                mountpoint,
            });
        }
    }
    if let Some(sys) = snap.sys.get(&dev.path) {
        if !sys.holders.is_empty() {
            r.push(Refusal::Holders {
                holders: sys.holders.clone(),
            });
        }
    }
    // An md member, from the kernel's own table (an inactive array holds its members too),
    // or from the superblock plus an array stacked on the device.
    let in_mdstat = dev
        .path
        .kname()
        .and_then(|k| snap.md_array_of(k))
        .map(|a| a.name.clone());
    let id = snap.identity(&dev.path);
    let raid_child = id.is_some_and(|i| i.fstype.as_deref() == Some("linux_raid_member"))
        && snap.children(&dev.path).any(|c| c.kind.starts_with("raid"));
    if in_mdstat.is_some() || raid_child {
        r.push(Refusal::MdMember {
            label: in_mdstat.or_else(|| id.and_then(|i| i.label.clone())),
        });
    }
    match snap.exclusive.get(&dev.path) {
        Some(Exclusive::Free) => {}
        Some(Exclusive::Busy) => r.push(Refusal::ExclusiveOpenFailed {
            error: "device or resource busy".into(),
        }),
        Some(Exclusive::Error { error }) => r.push(Refusal::ExclusiveOpenFailed {
            error: error.clone(),
        }),
        None => r.push(Refusal::ExclusiveOpenFailed {
            error: "not probed".into(),
        }),
    }
}

/// Mounts whose device is `dev`: by device number (not for btrfs, whose number is anonymous)
/// or by the source path.
fn mounts_of<'a>(dev: &'a BlockDev, snap: &'a Snapshot) -> impl Iterator<Item = &'a Mount> + 'a {
    snap.mounts
        .iter()
        .filter(move |m| Some(m.devnum) == dev.devnum || Path::new(&m.source) == dev.path.as_path())
}

/// `/`, `/boot` and `$LIGHTNINGDIR` must keep their disks: refuse any device that backs them
/// or that they are stacked on.
fn protected_paths(dev: &BlockDev, snap: &Snapshot, ctx: &PolicyContext, r: &mut Vec<Refusal>) {
    for (path, why) in &ctx.protected {
        // `/boot` on the root filesystem is already covered by `/`: only a system path that
        // is a mountpoint of its own adds devices (and a reason) of its own.
        let own_mount = mount_containing(&snap.mounts, path).is_some_and(|m| &m.mountpoint == path);
        if *why == Protected::System && !own_mount {
            continue;
        }
        for backing in backing_devices(path, snap) {
            if with_ancestors(&backing, snap).contains(&dev.path) {
                r.push(Refusal::HoldsProtectedPath {
                    path: path.clone(),
                    kind: *why,
                    via: backing.clone(),
                });
            }
        }
    }
}

/// Use by related devices: a partition or array stacked on `dev` that is in use, or — for a
/// partition — another partition of the same disk in use (one dying disk would take both).
fn related_use(dev: &BlockDev, snap: &Snapshot, r: &mut Vec<Refusal>) {
    let below = with_descendants(&dev.path, snap);
    for child in below.iter().filter(|c| **c != dev.path) {
        if let Some(what) = in_use(child, snap) {
            r.push(Refusal::ChildInUse {
                child: child.clone(),
                what,
            });
        }
    }
    if dev.is_partition() {
        for disk in &dev.parents {
            for sib in with_descendants(disk, snap)
                .iter()
                .filter(|s| *s != disk && !below.contains(*s))
            {
                if let Some(what) = in_use(sib, snap) {
                    r.push(Refusal::SiblingInUse {
                        disk: disk.clone(),
                        sibling: sib.clone(),
                        what,
                    });
                }
            }
        }
    }
}

/// A one-line description of how `path` is in use, if it is.
fn in_use(path: &DevPath, snap: &Snapshot) -> Option<String> {
    let dev = snap.device(path)?;
    if let Some(m) = mounts_of(dev, snap).next() {
        return Some(format!("mounted at {}", m.mountpoint.display()));
    }
    if snap.swaps.iter().any(|s| s.path == path.as_path()) {
        return Some("active swap".into());
    }
    if let Some((uuid, mp)) = crate::backend::mounts::mounted_membership(dev, snap) {
        let at = mp
            .map(|p| format!(" at {}", p.display()))
            .unwrap_or_default();
        return Some(format!("member of the mounted btrfs {uuid}{at}"));
    }
    if dev.kind.starts_with("raid") || dev.kind == "crypt" || dev.kind == "lvm" || dev.kind == "dm"
    {
        return Some(format!("an active {} device", dev.kind));
    }
    None
}

/// What the device carries: refusable, overridable with `--wipe`.
fn contents(dev: &BlockDev, snap: &Snapshot, r: &mut Vec<Refusal>) {
    match snap.identities.get(&dev.path) {
        None => r.push(Refusal::IdentityUnreadable {
            error: "not probed".into(),
        }),
        Some(IdentityProbe::Unreadable { error }) => r.push(Refusal::IdentityUnreadable {
            error: error.clone(),
        }),
        Some(IdentityProbe::Known(id)) => {
            if id.ambivalent {
                r.push(Refusal::AmbivalentSignatures);
            }
            match (id.fstype.as_deref(), id.usage.as_deref()) {
                (Some(t), Some("raid")) => r.push(Refusal::RaidSignature {
                    fstype: t.to_string(),
                    label: id.label.clone(),
                }),
                (Some(t), _) => r.push(Refusal::Filesystem {
                    fstype: t.to_string(),
                    uuid: id.uuid.clone(),
                    label: id.label.clone(),
                }),
                (None, _) => {}
            }
            if let Some(pt) = &id.pttype {
                r.push(Refusal::PartitionTable { pttype: pt.clone() });
            }
        }
    }
}

fn properties(dev: &BlockDev, snap: &Snapshot, ctx: &PolicyContext, r: &mut Vec<Refusal>) {
    let sys_ro = snap.sys.get(&dev.path).is_some_and(|s| s.read_only);
    if dev.read_only || sys_ro {
        r.push(Refusal::ReadOnly);
    }
    if dev.size < ctx.min_size {
        r.push(Refusal::TooSmall {
            size: dev.size,
            min: ctx.min_size,
        });
    }
    if dev.kind == "rom" {
        r.push(Refusal::NotADisk {
            kind: dev.kind.clone(),
        });
    }
}

fn advice(dev: &BlockDev) -> Vec<Advice> {
    let mut a = Vec::new();
    if dev.transport.as_deref() == Some("usb") && !dev.rotational {
        a.push(Advice::UsbFlash);
    }
    a
}

#[cfg(test)]
mod tests;
