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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::btrfs::recover::discover::ExistingMount;
    use crate::recover::select::{ArrayChoice, Candidate};
    use crate::types::{DevNum, FsUuid};

    fn array(existing: bool) -> ArrayFound {
        let uuid = FsUuid::parse("5d1c0e2a-1111-2222-3333-444455556666").unwrap();
        let a = Candidate {
            path: DevPath::new("/dev/sdb"),
            uuid: uuid.clone(),
            uuid_sub: Some("sub-a".into()),
            label: Some("lnraid".into()),
        };
        ArrayFound {
            choice: ArrayChoice {
                uuid,
                label: Some("lnraid".into()),
                members: vec![a.clone()],
            },
            survivor: a,
            member_devnums: vec![],
            existing: existing.then(|| ExistingMount {
                mountpoint: "/mnt/lnraid".into(),
                devnum: DevNum {
                    major: 0,
                    minor: 40,
                },
                root_dev: DevNum {
                    major: 0,
                    minor: 41,
                },
                options: "rw,degraded".into(),
                root: "/".into(),
            }),
            seen: vec![],
            ignored: vec![],
        }
    }

    fn ids(p: &Plan) -> Vec<&str> {
        p.steps.iter().map(|s| s.id.as_str()).collect()
    }

    /// The survivor is mounted `ro,degraded` by a member re-read with blkid (Action::Mount),
    /// proven read-only before the copy, and unmounted last; the plan's commands are exactly
    /// the read-only mount's (nothing that writes to the array).
    #[test]
    fn unmounted_survivor_plan_is_read_only_and_in_order() {
        let mp = Path::new("/run/lnraid/recover-0123456789ab");
        let p = plan_recover(&array(false), Path::new("/media/usb/rec"), None, false, mp);
        assert_eq!(ids(&p), ["scan", MOUNTED, "copy", "unmount"]);
        let mount = &p.steps[1].actions;
        assert!(matches!(&mount[0], Action::MakeDir { mode: 0o700, .. }));
        assert!(matches!(&mount[1], Action::Mount { options, members, .. }
            if options == "ro,degraded" && members == &[DevPath::new("/dev/sdb")]));
        assert!(matches!(&mount[2], Action::RequireReadOnly { mountpoint } if mountpoint == mp));
        assert!(matches!(&p.steps[2].actions[0], Action::CopyOut { out }
            if out.mountpoint == mp && out.btrfs_devids && out.mount.options == "ro,degraded"));
        let cmds: Vec<String> = p.commands().iter().map(ToString::to_string).collect();
        assert_eq!(
            cmds,
            [
                "btrfs device scan /dev/sdb",
                "mount -t btrfs -o ro,degraded /dev/sdb /run/lnraid/recover-0123456789ab",
                "umount /run/lnraid/recover-0123456789ab",
            ]
        );
        let text = crate::plan::render_plan(&p);
        assert!(text.contains("mounted read-only (statvfs)"), "{text}");
    }

    #[test]
    fn existing_mount_is_read_through_a_read_only_bind() {
        let mp = Path::new("/run/lnraid/recover-x");
        let p = plan_recover(
            &array(true),
            Path::new("/media/usb/rec"),
            Some("bitcoin"),
            true,
            mp,
        );
        assert_eq!(ids(&p), [MOUNTED, "copy", "unmount"]);
        let cmds: Vec<String> = p.commands().iter().map(ToString::to_string).collect();
        assert_eq!(
            cmds,
            [
                "mount --bind -o ro /mnt/lnraid /run/lnraid/recover-x",
                "umount /run/lnraid/recover-x"
            ]
        );
        assert!(matches!(&p.steps[1].actions[0], Action::CopyOut { out }
            if out.live_mount.as_deref() == Some(Path::new("/mnt/lnraid")) && out.all
                && out.dir_name.as_deref() == Some("bitcoin") && out.mount.options == "bind,ro"));
    }
}
