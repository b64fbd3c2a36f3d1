//! The undo plan of an interrupted `lnraid setup` (`setup --abort`). Pure: computed from the
//! request and which steps the journal shows touched, printed by `--abort --dry-run`, walked
//! by the one executor like every plan.
//!
//! Order matters: no timer may start a scrub on the array being taken apart, so the schedule
//! goes first; the node's directory is put back before the array is released; the new array
//! is erased last and only where it provably holds lnraid's own filesystem and nothing holds
//! the device — by its backend (`backend::abort_array_steps`: btrfs erases its members;
//! md removes its mdadm.conf lines, stops the array, zeroes its superblocks). Before the directory is put back, the array copy is proven unchanged since its
//! verification: a node that ran on the array made it the latest state, and abort then
//! refuses rather than erase it.

use super::setup::{dropin_content, SetupRequest};
use super::{Action, Check, Plan, Step, Tag};
use crate::exec::Cmd;

/// `touched(id)`: the setup step `id` ran at least partly.
pub fn plan_abort(r: &SetupRequest, touched: &dyn Fn(&str) -> bool) -> Plan {
    let mp = r.mountpoint.clone();
    let mps = mp.display().to_string();
    let mut steps = Vec::new();
    if let Some(s) = r.schedule.as_ref().filter(|_| touched("schedule")) {
        steps.push(Step::new(
            "unschedule",
            Tag::Safe,
            "remove the schedule files setup installed (restoring any it replaced)",
            vec![Action::UnSchedule {
                schedule: s.clone(),
            }],
        ));
    }
    if let Some(d) = r.dropin.as_ref().filter(|_| touched("boot-safety")) {
        let mut actions = vec![Action::RemoveOwnFile {
            path: d.clone(),
            content: dropin_content(&mp),
        }];
        if r.daemon_reload {
            actions.push(Action::Run {
                cmd: Cmd::mutating("systemctl", ["daemon-reload"]),
            });
        }
        steps.push(Step::new(
            "remove-dropin",
            Tag::Safe,
            format!("remove the systemd drop-in {}", d.display()),
            actions,
        ));
    }
    if touched("fstab") {
        steps.push(Step::new(
            "remove-fstab-line",
            Tag::Safe,
            format!("remove lnraid's line for {mps} from {}", r.fstab.display()),
            vec![Action::FstabRemove {
                path: r.fstab.clone(),
                mountpoint: mp.clone(),
            }],
        ));
    }
    let mut restore = Step::new(
        "restore-dir",
        Tag::Safe,
        format!(
            "make {} the original directory again (from {} if it was moved)",
            r.lightning_dir.display(),
            r.aside().display()
        ),
        vec![Action::RestoreDir {
            dir: r.lightning_dir.clone(),
            link_target: r.new_home(),
            aside: r.aside(),
        }],
    )
    .check(Check::NodeStopped {
        dir: r.lightning_dir.clone(),
    });
    if touched("symlink") {
        // From here on the node may have run on the array copy.
        restore = restore.check(Check::CopyUnchanged { dir: r.new_home() });
    }
    steps.push(restore);
    if touched("subvolume") {
        steps.push(super::hotcopy::remove_partial_step(r));
    }
    if touched("mount") {
        steps.push(Step::new(
            "umount",
            Tag::Safe,
            format!("unmount {mps} (if mounted)"),
            vec![Action::Umount {
                mountpoint: mp.clone(),
            }],
        ));
    }
    if touched("mountpoint") {
        let mut actions = vec![Action::MakeMutable { path: mp.clone() }];
        if !r.mountpoint_existed {
            actions.push(Action::RemoveEmptyDir { path: mp.clone() });
        }
        steps.push(Step::new(
            "release-mountpoint",
            Tag::Safe,
            format!(
                "make {mps} mutable again{}",
                if r.mountpoint_existed {
                    ""
                } else {
                    " and remove the empty directory"
                }
            ),
            actions,
        ));
    }
    steps.extend(crate::backend::abort_array_steps(r, touched));
    Plan {
        targets: r.targets.clone(),
        protect: Some(r.lightning_dir.clone()),
        own_fs: crate::backend::own_signature(r),
        ..Plan::new(
            format!(
                "lnraid setup --abort: undo the interrupted setup of {}",
                r.lightning_dir.display()
            ),
            steps,
        )
    }
}
