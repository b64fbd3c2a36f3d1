//! The backend seam: btrfs RAID-1 and md RAID-1 behind one enum, dispatched HERE and nowhere
//! else (stratisd's `Engine`, minus its 500-line dispatch). Each backend lives in its own
//! folder and returns data — a neutral [`Health`], problems, `Plan`s — never effects; the one
//! executor walks the plans.
//!
//! Role: [`detect`] tells which backend holds an array (fstab line's type, filesystem UUID,
//! md UUID); [`Backend`]'s methods are the only `match` on a backend. Code above the seam asks
//! the backend, never compares a filesystem type with a string (tests/seam_grep.rs checks).
//! May not: run mutating commands (planning is pure; probing is read-only).

pub mod btrfs;
pub mod health;
pub mod md;
pub mod mounts;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use health::Health;

use crate::config::fstab::parse_fstab;
use crate::exec::Runner;
use crate::probe::blkid::probe_identity;
use crate::types::{DevPath, FsUuid};

/// Which RAID-1 implementation an array uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// btrfs RAID-1: checksums every block, repairs a bad copy from the good one.
    #[default]
    Btrfs,
    /// Linux md RAID-1 (`mdadm`) with ext4 on top: no checksums.
    #[value(name = "mdadm", alias = "md")]
    Md,
}

impl Backend {
    /// The name operators use (`--backend btrfs|mdadm`).
    pub fn name(self) -> &'static str {
        match self {
            Backend::Btrfs => "btrfs",
            Backend::Md => "mdadm",
        }
    }

    /// The filesystem type the array's fstab line carries.
    pub fn fstype(self) -> &'static str {
        match self {
            Backend::Btrfs => btrfs::FSTYPE,
            Backend::Md => md::FSTYPE,
        }
    }

    /// Whether the backend checksums data (said where the operator chooses).
    pub fn checksums(self) -> bool {
        match self {
            Backend::Btrfs => true,
            Backend::Md => false,
        }
    }

    /// Every backend, for questions asked of all of them.
    pub const ALL: [Backend; 2] = [Backend::Btrfs, Backend::Md];

    /// Whether `blkid_type` (blkid's `TYPE`) is a signature this backend writes on the
    /// devices it is given: btrfs on each member; `linux_raid_member` for md.
    pub fn writes(self, blkid_type: &str) -> bool {
        match self {
            Backend::Btrfs => blkid_type == btrfs::FSTYPE,
            Backend::Md => blkid_type == md::MEMBER_TYPE,
        }
    }

    /// Whether some backend writes `blkid_type` on its members.
    pub fn writes_any(blkid_type: &str) -> bool {
        Backend::ALL.iter().any(|b| b.writes(blkid_type))
    }

    /// The backend an fstab filesystem type belongs to, if any.
    pub fn for_fstype(fstype: &str) -> Option<Backend> {
        if fstype == btrfs::FSTYPE {
            Some(Backend::Btrfs)
        } else if md::FSTYPES.contains(&fstype) {
            Some(Backend::Md)
        } else {
            None
        }
    }
}

/// An array found and attributed to its backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Located {
    /// A btrfs: every member shares the filesystem UUID.
    Btrfs { fs_uuid: Option<FsUuid> },
    /// An md array; `device` is `None` when it is not assembled (no md carries the fs UUID).
    Md {
        device: Option<DevPath>,
        fs_uuid: Option<FsUuid>,
    },
}

impl Located {
    pub fn backend(&self) -> Backend {
        match self {
            Located::Btrfs { .. } => Backend::Btrfs,
            Located::Md { .. } => Backend::Md,
        }
    }
}

/// Where detection looks.
#[derive(Debug, Clone)]
pub struct DetectCtx {
    pub fstab_text: String,
    pub sys_root: PathBuf,
}

/// The fstab type of the line that mounts `uuid` or `mountpoint`.
fn fstab_type(text: &str, uuid: Option<&FsUuid>, mountpoint: &Path) -> Option<String> {
    let tab = parse_fstab(text).ok()?;
    let by_uuid = |spec: &str| {
        uuid.is_some_and(|u| {
            spec.strip_prefix("UUID=")
                .and_then(FsUuid::parse)
                .is_some_and(|s| &s == u)
        })
    };
    let hit = tab
        .entries()
        .find(|e| by_uuid(&e.spec))
        .or_else(|| tab.entries().find(|e| Path::new(&e.file) == mountpoint))?;
    Some(hit.vfstype.clone())
}

/// The md array (`/dev/md127`) whose content carries filesystem `uuid`, read from each md
/// device itself with `blkid -p` (no udev, no cache).
pub fn md_holding(runner: &dyn Runner, sys_root: &Path, uuid: &FsUuid) -> Option<DevPath> {
    md::probe::list_arrays(sys_root).into_iter().find_map(|k| {
        let dev = DevPath::new(format!("/dev/{k}"));
        let id = probe_identity(runner, &dev).ok()?;
        (id.fs_uuid().as_ref() == Some(uuid)).then_some(dev)
    })
}

/// Which backend holds the array lnraid knows by `uuid` (its fstab line's filesystem UUID)
/// and/or `mountpoint`. The fstab type decides when it names a backend; otherwise an md
/// device carrying the UUID does; otherwise it is btrfs (the historical default, whose
/// probes then say what is wrong).
pub fn detect(
    runner: &dyn Runner,
    ctx: &DetectCtx,
    uuid: Option<&FsUuid>,
    mountpoint: &Path,
) -> Located {
    let by_type = fstab_type(&ctx.fstab_text, uuid, mountpoint)
        .as_deref()
        .and_then(Backend::for_fstype);
    let md = |fs_uuid: Option<&FsUuid>| Located::Md {
        device: fs_uuid.and_then(|u| md_holding(runner, &ctx.sys_root, u)),
        fs_uuid: fs_uuid.cloned(),
    };
    match by_type {
        Some(Backend::Btrfs) => Located::Btrfs {
            fs_uuid: uuid.cloned(),
        },
        Some(Backend::Md) => md(uuid),
        None => match uuid.and_then(|u| md_holding(runner, &ctx.sys_root, u)) {
            Some(device) => Located::Md {
                device: Some(device),
                fs_uuid: uuid.cloned(),
            },
            None => Located::Btrfs {
                fs_uuid: uuid.cloned(),
            },
        },
    }
}

/// A device argument (`--device`, `--old`) names an md array when it is one (`/dev/md*`),
/// or when it is an md UUID (`347fb606:a385bb4f:dded9b1b:8f35ce33`).
pub fn is_md_ref(s: &str) -> bool {
    s.starts_with("/dev/md") || crate::probe::mdadm::MD_UUID.is_match(s)
}

#[cfg(test)]
mod tests;

/// The create plan of `r.backend`; `None` for btrfs, whose planner is `plan::setup`'s own
/// (it predates the seam and stays byte-for-byte what it was).
pub fn plan_create(
    r: &crate::plan::setup::SetupRequest,
    fstab_diff: &str,
) -> Option<crate::plan::Plan> {
    match (r.backend, &r.md) {
        (Backend::Btrfs, _) => None,
        (Backend::Md, Some(m)) => Some(md::setup::plan_create(r, m, fstab_diff)),
        (Backend::Md, None) => Some(crate::plan::Plan::new(
            "md setup without its md parameters (a corrupt journal?)",
            Vec::new(),
        )),
    }
}

/// The array part of `setup --abort`'s undo plan, by the setup's backend (after the
/// node-side steps of `plan::abort`).
pub fn abort_array_steps(
    r: &crate::plan::setup::SetupRequest,
    touched: &dyn Fn(&str) -> bool,
) -> Vec<crate::plan::Step> {
    match r.backend {
        Backend::Btrfs => btrfs::abort::array_steps(r, touched),
        Backend::Md => md::abort::array_steps(r, touched),
    }
}

/// The plan `setup --resume` walks, by the setup's backend: the remaining steps, plus for md
/// assembling the array again (or undoing a half-made create) first.
pub fn setup_resume_plan(
    j: &mut crate::walk::Journal<crate::plan::setup::SetupRequest>,
) -> crate::plan::Plan {
    match j.request.backend {
        Backend::Btrfs => crate::walk::resume_plan(j),
        Backend::Md => md::resume::resume_plan(j),
    }
}

/// What `blkid -p` shows on the devices of `r`'s new array (a plan's `own_fs`): the btrfs
/// filesystem UUID on each member; the md UUID (blkid's dashed form) on each md member.
pub fn own_signature(r: &crate::plan::setup::SetupRequest) -> Option<String> {
    match (r.backend, &r.md) {
        (Backend::Md, Some(m)) => md::blkid_uuid(&m.md_uuid),
        _ => Some(r.fs_uuid.to_string()),
    }
}

/// Which backend holds the array of status target `t`.
pub fn locate(
    runner: &dyn Runner,
    ctx: &crate::status::gather::GatherCtx,
    t: &crate::status::gather::Target,
) -> Located {
    let dctx = DetectCtx {
        fstab_text: std::fs::read_to_string(&ctx.fstab).unwrap_or_default(),
        sys_root: ctx.sys_root.clone(),
    };
    detect(runner, &dctx, t.uuid.as_ref(), &t.mountpoint)
}

/// The status of one array lnraid manages, from whichever backend holds it.
pub fn array_status(
    runner: &dyn Runner,
    ctx: &crate::status::gather::GatherCtx,
    t: &crate::status::gather::Target,
    md_conf: &Path,
    now: u64,
) -> crate::status::ArrayStatus {
    match locate(runner, ctx, t) {
        Located::Btrfs { .. } => {
            crate::status::evaluate(&btrfs::gather::gather(runner, ctx, t), now)
        }
        Located::Md { device, .. } => {
            md::status::array_status(runner, ctx, t, device.as_ref(), md_conf, now)
        }
    }
}

/// The `status --json` document of one evaluated array, by its backend.
pub fn to_doc(a: &crate::status::ArrayStatus) -> crate::status::doc::ArrayDoc {
    match &a.health {
        Some(h) if h.backend == Backend::Md => md::doc::to_doc(a, h),
        _ => crate::status::export::to_doc(a),
    }
}
