//! The md part of `setup --abort`'s undo plan, after the node-side undo (`plan::abort`: the
//! node's directory is back, the array unmounted): remove the lines lnraid appended to
//! mdadm.conf (and refresh the initramfs that copied them), stop the array by its md UUID,
//! then zero the md superblock of each member — each member re-proven right before (still
//! the confirmed device, nothing else on it, nothing holding it), and zeroed only while
//! `mdadm --examine` shows it a member of the array setup created. Pure.
//!
//! Afterwards the members are blank (the ext4 lived inside the array's data area, past the
//! superblock, where blkid does not look) and mdadm.conf is byte for byte what it was.

use super::action::MdAction;
use super::array_path;
use super::setup::conf_lines;
use crate::plan::setup::SetupRequest;
use crate::plan::{Action, Allow, Check, Step, Tag};

/// Undo steps for the array of an interrupted md setup (`touched(id)`: the setup step `id`
/// ran at least partly).
pub fn array_steps(r: &SetupRequest, touched: &dyn Fn(&str) -> bool) -> Vec<Step> {
    let Some(m) = &r.md else {
        return Vec::new();
    };
    let md = array_path(&m.name);
    let mut steps = Vec::new();
    if touched("mdadm-conf") {
        let mut actions = vec![Action::Md(MdAction::ConfRemove {
            path: m.conf.clone(),
            lines: conf_lines(m, &md),
            md_uuid: m.md_uuid.clone(),
        })];
        if let Some(cmd) = &m.initramfs {
            actions.push(Action::Run { cmd: cmd.clone() });
        }
        steps.push(Step::new(
            "remove-mdadm-conf",
            Tag::Safe,
            format!(
                "remove the lines lnraid added to {} (the rest kept byte for byte)",
                m.conf.display()
            ),
            actions,
        ));
    }
    if !touched("md-create") {
        return steps;
    }
    steps.push(Step::new(
        "md-stop",
        Tag::Safe,
        format!(
            "stop the new md array {md} (UUID {}), if it runs",
            m.md_uuid
        ),
        vec![Action::Md(MdAction::Stop {
            array: md.clone(),
            md_uuid: m.md_uuid.clone(),
        })],
    ));
    for (i, d) in r.devices.iter().enumerate() {
        steps.push(
            Step::new(
                &format!("zero-{}", i + 1),
                Tag::Destructive,
                format!(
                    "zero the md superblock of the new array {} on {d} (it held only a copy; anything else is left untouched)",
                    m.md_uuid
                ),
                vec![Action::Md(MdAction::ZeroOwn {
                    device: d.clone(),
                    md_uuid: m.md_uuid.clone(),
                })],
            )
            .check(Check::Targets {
                devices: vec![d.clone()],
                allow: Allow::OwnOrBlank,
            }),
        );
    }
    steps
}
