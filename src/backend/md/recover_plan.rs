//! md recover as a plan (pure; the dry run prints this very value, `app::recover` walks it,
//! journaled, with the one executor). From the source as found:
//! - mounted: a private read-only bind mount of the live mount (nothing replayed);
//! - assembled, not mounted: the array itself is the overlay's origin;
//! - stopped: the survivor (highest event count; stale members named, never used, never
//!   `--force`) assembled `--readonly` as /dev/md/lnraid-recover, then the origin.
//!
//! On the origin, ext4's journal replays into a dm-snapshot overlay whose copy-on-write file
//! is on the destination media ([`Overlay::Dm`]), or — no device-mapper, after the operator
//! agreed — into a `dd` image of the origin on that media ([`Overlay::Image`]). The mount is
//! `ro`, proven read-only, copied out with the MANIFEST; then `unmount` and `teardown`
//! (overlay, loop device, file, assembly), the steps a failed or killed walk is cleaned up
//! with ([`crate::plan::recover::teardown_of`]). Never `noload`, never a write to the survivor.

use std::path::{Path, PathBuf};

use super::recover::{Candidate, OVERLAY_NAME, RECOVER_NAME};
use super::recover_action::{attach_cmd, MdRecoverAction as M};
use crate::exec::Cmd;
use crate::plan::recover::{copy_and_unmount_steps, CopyOut};
use crate::plan::{Action, Plan, Step, Tag};
use crate::recover::manifest::{ArrayInfo, Member, MountInfo, MountKind};
use crate::recover::mountpoint::bind_ro_cmd;
use crate::types::{DevPath, FsUuid};

/// The step after which `LNRAID_FAILPOINT=recover-mounted` kills the process (as btrfs).
pub use crate::backend::btrfs::recover::plan::MOUNTED;

/// Mount options of the overlay / image (read-only; the journal replays below it).
pub const MOUNT_OPTIONS: &str = "ro,nodev,nosuid,noexec";

/// The copy-on-write file's size cap (sparse; the replay writes little).
pub const COW_MAX: u64 = 1 << 30;

/// Where the filesystem is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MdSource {
    /// Mounted at `mountpoint`: read through a read-only bind mount.
    Mounted { mountpoint: PathBuf },
    /// Assembled (not mounted) as `device`, `sectors` long.
    Running { device: DevPath, sectors: u64 },
    /// Stopped: assemble `survivor` read-only; the array is `sectors` long (its superblock's
    /// Array Size); `stale` are named and never used.
    Stopped {
        survivor: Candidate,
        stale: Vec<Candidate>,
        sectors: u64,
    },
}

/// Where the journal replay's writes go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    /// dm-snapshot with its copy-on-write file `cow` attached as `loopdev`.
    Dm { cow: PathBuf, loopdev: String },
    /// No device-mapper, confirmed by the operator: a `dd` image of the origin, as `loopdev`.
    Image { image: PathBuf, loopdev: String },
}

/// Everything the md recover plan is made of (probed by app/recover/md.rs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdRecover {
    pub source: MdSource,
    pub overlay: Overlay,
    pub fs_uuid: FsUuid,
    /// The members shown (and named in the MANIFEST).
    pub members: Vec<Candidate>,
    pub dest: PathBuf,
    pub dir_name: Option<String>,
    pub all: bool,
    pub mountpoint: PathBuf,
}

/// `mount -t ext4 -o ro,nodev,nosuid,noexec DEV MOUNTPOINT`.
pub fn mount_cmd(dev: &str, mp: &Path) -> Cmd {
    Cmd::mutating(
        "mount",
        [
            "-t",
            super::FSTYPE,
            "-o",
            MOUNT_OPTIONS,
            dev,
            &mp.to_string_lossy(),
        ],
    )
}

/// `/dev/mapper/lnraid-recover-overlay`: made by `dmsetup mknodes` (no udev in a rescue).
pub fn overlay_dev() -> String {
    format!("/dev/mapper/{OVERLAY_NAME}")
}

/// The md recover plan.
pub fn plan_md_recover(r: &MdRecover) -> Plan {
    let mp = r.mountpoint.clone();
    let mkdir = Action::MakeDir {
        path: mp.clone(),
        mode: 0o700,
    };
    let prove = Action::RequireReadOnly {
        mountpoint: mp.clone(),
    };
    let (origin, sectors, mut steps) = match &r.source {
        MdSource::Mounted { mountpoint } => {
            let step = Step::new(
                MOUNTED,
                Tag::Safe,
                format!("the array is mounted at {}: read it through a private read-only bind mount (nothing is replayed or written)", mountpoint.display()),
                vec![mkdir, Action::Run { cmd: bind_ro_cmd(mountpoint, &mp) }, prove],
            );
            let mut steps = vec![step];
            steps.extend(copy_and_unmount_steps(copy_out(
                r,
                MountKind::Existing,
                "bind,ro",
            )));
            return plan(r, steps);
        }
        MdSource::Running { device, sectors } => (device.clone(), *sectors, vec![]),
        MdSource::Stopped {
            survivor,
            stale,
            sectors,
        } => {
            let stale: Vec<String> = stale
                .iter()
                .map(|s| format!("{} (events {} < {})", s.device, s.events, survivor.events))
                .collect();
            let note = if stale.is_empty() {
                String::new()
            } else {
                format!("; stale, never used: {}", stale.join(", "))
            };
            let step = Step::new(
                "assemble",
                Tag::Safe,
                format!(
                    "assemble the survivor {} (events {}, the highest) read-only as {}{note}",
                    survivor.device,
                    survivor.events,
                    super::array_path(RECOVER_NAME)
                ),
                vec![Action::MdRecover(M::Assemble {
                    survivor: survivor.device.clone(),
                    events: survivor.events,
                })],
            );
            (
                DevPath::new(super::array_path(RECOVER_NAME)),
                *sectors,
                vec![step],
            )
        }
    };
    let (dev, how) = match &r.overlay {
        Overlay::Dm { cow, loopdev } => {
            steps.push(Step::new(
                "overlay",
                Tag::Safe,
                format!("put a dm-snapshot overlay on {origin}; its copy-on-write file {} is on the destination media, so the journal replay never writes to {origin}", cow.display()),
                vec![
                    Action::MdRecover(M::NewFile { path: cow.clone(), bytes: (sectors * 512).min(COW_MAX) }),
                    Action::Run { cmd: attach_cmd(loopdev, cow) },
                    Action::MdRecover(M::Overlay { origin: origin.clone(), sectors, cow: loopdev.clone() }),
                    Action::Run { cmd: Cmd::mutating("dmsetup", ["mknodes", OVERLAY_NAME]) },
                ],
            ));
            (
                overlay_dev(),
                "ro (ext4 journal replayed onto a dm-snapshot overlay)",
            )
        }
        Overlay::Image { image, loopdev } => {
            steps.push(Step::new(
                "image",
                Tag::Long,
                format!("as you confirmed: copy {origin} into {} on the destination media ({origin} is only read)", image.display()),
                vec![
                    Action::MdRecover(M::NewFile { path: image.clone(), bytes: 0 }),
                    Action::Run { cmd: crate::recover::no_overlay::image_cmd(&origin.to_string(), image) },
                    Action::Run { cmd: attach_cmd(loopdev, image) },
                ],
            ));
            (
                loopdev.clone(),
                "ro (ext4 journal replayed into an image copy of the survivor)",
            )
        }
    };
    steps.push(Step::new(
        MOUNTED,
        Tag::Safe,
        format!("mount {dev} read-only on a private temporary mountpoint: ext4 replays its journal below it, never on the survivor (never noload)"),
        vec![mkdir, Action::Run { cmd: mount_cmd(&dev, &mp) }, prove],
    ));
    steps.extend(copy_and_unmount_steps(copy_out(
        r,
        MountKind::Temporary,
        how,
    )));
    steps.push(teardown(r));
    plan(r, steps)
}

fn plan(r: &MdRecover, steps: Vec<Step>) -> Plan {
    Plan::new(
        format!(
            "Recover the node's files from the md array (filesystem {}) to {}",
            r.fs_uuid,
            r.dest.display()
        ),
        steps,
    )
}

/// Undoes what the plan set up, each action only if it is there (also the cleanup after a
/// failed or killed walk).
fn teardown(r: &MdRecover) -> Step {
    let mut actions = Vec::new();
    let (file, loopdev) = match &r.overlay {
        Overlay::Dm { cow, loopdev } => {
            actions.push(Action::MdRecover(M::RemoveOverlay));
            (cow, loopdev)
        }
        Overlay::Image { image, loopdev } => (image, loopdev),
    };
    actions.push(Action::MdRecover(M::DetachLoop {
        loopdev: loopdev.clone(),
        file: file.clone(),
    }));
    actions.push(Action::MdRecover(M::RemoveFile { path: file.clone() }));
    if matches!(r.source, MdSource::Stopped { .. }) {
        actions.push(Action::MdRecover(M::StopAssembly));
    }
    Step::new(
        "teardown",
        Tag::Safe,
        "take down what recover set up: overlay, loop device, its file on the destination media, the read-only assembly",
        actions,
    )
}

fn copy_out(r: &MdRecover, kind: MountKind, options: &str) -> CopyOut {
    let live = match &r.source {
        MdSource::Mounted { mountpoint } => Some(mountpoint.clone()),
        _ => None,
    };
    CopyOut {
        mountpoint: r.mountpoint.clone(),
        dir_name: r.dir_name.clone(),
        dest: r.dest.clone(),
        all: r.all,
        array: ArrayInfo {
            fs_uuid: r.fs_uuid.clone(),
            label: None,
            total_devices: None,
            survivors: r
                .members
                .iter()
                .map(|m| Member {
                    devid: None,
                    path: m.device.to_string(),
                    uuid_sub: None,
                })
                .collect(),
            missing_devids: Vec::new(),
        },
        mount: MountInfo {
            kind,
            options: options.into(),
            existing_mountpoint: live.as_ref().map(|p| p.to_string_lossy().into_owned()),
        },
        live_mount: live,
        btrfs_devids: false,
    }
}

#[cfg(test)]
#[path = "recover_plan_tests.rs"]
pub(crate) mod tests;
