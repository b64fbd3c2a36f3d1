//! The btrfs part of `setup --abort`'s undo plan: forget the new filesystem's members in the
//! kernel, then erase lnraid's own new btrfs from each device that provably carries it (each
//! re-proven right before: still the confirmed device, nothing else on it, nothing holding
//! it). Runs after the node-side undo (`plan::abort`), so the node's directory is already
//! back. Pure.

use crate::exec::Cmd;
use crate::plan::setup::SetupRequest;
use crate::plan::{Action, Allow, Check, Step, Tag};

/// Undo steps for the array of an interrupted btrfs setup (`touched(id)`: the setup step
/// `id` ran at least partly).
pub fn array_steps(r: &SetupRequest, touched: &dyn Fn(&str) -> bool) -> Vec<Step> {
    let mut steps = Vec::new();
    if !touched("mkfs") {
        return steps;
    }
    let devs: Vec<String> = r.devices.iter().map(|d| d.to_string()).collect();
    steps.push(Step::new(
        "forget",
        Tag::Safe,
        "make the kernel forget the new filesystem's members (fails harmlessly for ones it does not know)",
        vec![Action::Try {
            cmd: Cmd::mutating("btrfs", ["device", "scan", "--forget"])
                .args_from(devs.iter().map(String::as_str)),
        }],
    ));
    for (i, d) in r.devices.iter().enumerate() {
        steps.push(
            Step::new(
                &format!("erase-{}", i + 1),
                Tag::Destructive,
                format!(
                    "erase lnraid's new filesystem {} from {d} if it carries it (it holds only a copy; anything else is left untouched)",
                    r.fs_uuid
                ),
                vec![Action::WipeOwn {
                    device: d.clone(),
                    fs_uuid: r.fs_uuid.to_string(),
                    strict: true,
                }],
            )
            .check(Check::Targets {
                devices: vec![d.clone()],
                allow: Allow::OwnOrBlank,
            }),
        );
    }
    steps
}
