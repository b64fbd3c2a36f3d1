//! btrfs recover as a plan (pure): register the present members, mount the survivor
//! `ro,degraded` on a private mountpoint (or bind the existing mount read-only), prove the
//! mount read-only, copy out, unmount. The dry run prints this very value; `app::recover`
//! walks it with the one executor, journaled.
//!
//! Never a read-write mount of the degraded filesystem: `ro,degraded` (a `ro` btrfs mount may
//! still replay the tree log — see `LOG_REPLAY_NOTE` in app/recover/report.rs — and
//! `nologreplay` would drop the last fsynced commits), and the read-only proof before any read.

use std::path::Path;

use super::discover::ArrayFound;
use crate::exec::Cmd;
use crate::plan::recover::{copy_and_unmount_steps, CopyOut};
use crate::plan::{Action, Plan, Step, Tag};
use crate::recover::manifest::{ArrayInfo, Member, MountInfo, MountKind};
use crate::recover::mountpoint::bind_ro_cmd;
use crate::types::DevPath;

/// `mount -o` for the survivor.
pub const DEGRADED_OPTIONS: &str = "ro,degraded";

/// The step after which `LNRAID_FAILPOINT=recover-mounted` kills the process (tests).
pub const MOUNTED: &str = "recover-mounted";

/// `btrfs device scan <dev>`: registers one named member with the kernel. Never run without a
/// device: with no argument it rescans every device on the machine.
pub fn scan_cmd(dev: &DevPath) -> Cmd {
    Cmd::mutating("btrfs", ["device", "scan"]).arg(dev.to_string())
}

/// The recover plan for `array` into `dest`, mounting at `mountpoint` (chosen by the caller,
/// `crate::recover::mountpoint::fresh_mountpoint`, so the dry run names it).
pub fn plan_recover(
    array: &ArrayFound,
    dest: &Path,
    dir_name: Option<&str>,
    all: bool,
    mountpoint: &Path,
) -> Plan {
    let mp = mountpoint.to_path_buf();
    let mkdir = Action::MakeDir {
        path: mp.clone(),
        mode: 0o700,
    };
    let prove = Action::RequireReadOnly {
        mountpoint: mp.clone(),
    };
    let mut steps = Vec::new();
    let (kind, options) = match &array.existing {
        Some(ex) => {
            steps.push(Step::new(
                MOUNTED,
                Tag::Safe,
                format!(
                    "the array is already mounted at {}: read it through a private read-only bind mount (nothing is written to it, not even access times)",
                    ex.mountpoint.display()
                ),
                vec![mkdir, Action::Run { cmd: bind_ro_cmd(&ex.mountpoint, &mp) }, prove],
            ));
            (MountKind::Existing, "bind,ro")
        }
        None => {
            steps.push(Step::new(
                "scan",
                Tag::Safe,
                "register the present member(s) with the kernel (reads only)",
                array
                    .choice
                    .members
                    .iter()
                    .map(|m| Action::Run {
                        cmd: scan_cmd(&m.path),
                    })
                    .collect(),
            ));
            steps.push(Step::new(
                MOUNTED,
                Tag::Safe,
                format!(
                    "mount the survivor {} read-only and degraded on a private temporary mountpoint (never read-write; it is re-read with blkid -p right before)",
                    array.survivor.path
                ),
                vec![
                    mkdir,
                    Action::Mount {
                        fs_uuid: array.choice.uuid.to_string(),
                        members: vec![array.survivor.path.clone()],
                        mountpoint: mp.clone(),
                        options: DEGRADED_OPTIONS.into(),
                    },
                    prove,
                ],
            ));
            (MountKind::Temporary, DEGRADED_OPTIONS)
        }
    };
    let out = CopyOut {
        mountpoint: mp,
        dir_name: dir_name.map(String::from),
        dest: dest.to_path_buf(),
        all,
        array: ArrayInfo {
            fs_uuid: array.choice.uuid.clone(),
            label: array.choice.label.clone(),
            total_devices: None,
            survivors: array
                .choice
                .members
                .iter()
                .map(|m| Member {
                    devid: None,
                    path: m.path.to_string(),
                    uuid_sub: m.uuid_sub.clone(),
                })
                .collect(),
            missing_devids: Vec::new(),
        },
        mount: MountInfo {
            kind,
            options: options.into(),
            existing_mountpoint: array
                .existing
                .as_ref()
                .map(|e| e.mountpoint.to_string_lossy().into_owned()),
        },
        live_mount: array.existing.as_ref().map(|e| e.mountpoint.clone()),
        btrfs_devids: true,
    };
    steps.extend(copy_and_unmount_steps(out));
    Plan::new(
        format!(
            "Recover the node's files from the btrfs array {} to {}",
            array.choice.uuid,
            dest.display()
        ),
        steps,
    )
}
