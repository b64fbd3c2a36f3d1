//! `setup --resume` of an md setup: the remaining steps of the confirmed plan
//! ([`crate::walk::resume_plan`]), plus what md needs to continue where a run stopped:
//! - the array was created but is not running now (a reboot: nothing assembles it, mdadm.conf
//!   may not name it yet): assemble it by its md UUID first;
//! - the create itself was interrupted: stop the half-made array (by its md UUID) and zero
//!   the members' superblocks of THAT array before creating again — after the step's
//!   re-proof, which accepts a member carrying lnraid's own new md UUID and nothing else new.
//!
//! Pure (the journal in, a plan out); the executor does the rest.

use super::action::MdAction;
use super::array_path;
use crate::plan::setup::SetupRequest;
use crate::plan::{Action, Plan, Step, Tag};
use crate::walk::Journal;

/// Step ids this module inserts; a resume forgets their old completions (they are re-judged
/// on every resume: the array may have stopped again since).
pub const INSERTED: [&str; 2] = ["md-assemble", "md-stop-own"];

/// The plan `setup --resume` walks for an md setup (and its dry run prints).
pub fn resume_plan(j: &mut Journal<SetupRequest>) -> Plan {
    j.completed.retain(|c| !INSERTED.contains(&c.as_str()));
    let mut plan = crate::walk::resume_plan(j);
    let Some(m) = j.request.md.clone() else {
        return plan;
    };
    let md = array_path(&m.name);
    let stop = MdAction::Stop {
        array: md.clone(),
        md_uuid: m.md_uuid.clone(),
    };
    if j.is_completed("md-create") {
        if plan.steps.is_empty() {
            return plan;
        }
        plan.steps.insert(
            0,
            Step::new(
                "md-assemble",
                Tag::Safe,
                format!("make sure the new array {md} runs (assembled by its UUID if a reboot stopped it)"),
                vec![Action::Md(MdAction::Assemble {
                    array: md,
                    md_uuid: m.md_uuid.clone(),
                    members: j.request.devices.clone(),
                })],
            ),
        );
    } else if j.touched("md-create") {
        plan.steps.insert(
            0,
            Step::new(
                "md-stop-own",
                Tag::Safe,
                format!(
                    "stop the half-made array {md} (UUID {}), if it runs",
                    m.md_uuid
                ),
                vec![Action::Md(stop)],
            ),
        );
        if let Some(create) = plan.steps.iter_mut().find(|s| s.id == "md-create") {
            let mut pre: Vec<Action> = j
                .request
                .devices
                .iter()
                .map(|d| {
                    Action::Md(MdAction::ZeroOwn {
                        device: d.clone(),
                        md_uuid: m.md_uuid.clone(),
                    })
                })
                .collect();
            pre.append(&mut create.actions);
            create.actions = pre;
            create.describe = format!(
                "{} (re-planned: first zero the half-made array's superblocks, where a device carries them)",
                create.describe
            );
        }
    }
    plan
}
