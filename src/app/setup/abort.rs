//! `lnraid setup --abort`: print the undo plan ([`crate::plan::abort::plan_abort`]), confirm
//! when it erases, and walk it with the one executor. The setup journal's proofs (the copy's
//! file stats after verification) travel with it, so the executor can refuse to erase an
//! array copy the node has run on.

use anyhow::Result;

use super::{record_name, SetupJournal};
use crate::exec::Runner;
use crate::plan::abort::plan_abort;
use crate::plan::{render_plan, Step};
use crate::ui::sanitize_multiline;
use crate::walk::{walk, Journal, JournalState, Machine, Walker};

pub fn abort(
    j: &mut SetupJournal,
    runner: &dyn Runner,
    machine: &dyn Machine,
    dry_run: bool,
    yes: bool,
) -> Result<i32> {
    let plan = plan_abort(&j.request, &|id| j.touched(id));
    print!("{}", sanitize_multiline(&render_plan(&plan)));
    if dry_run {
        println!("\n(dry run: nothing was changed)");
        return Ok(crate::app::exit::OK);
    }
    if plan.steps.iter().any(Step::is_destructive) {
        let devs: Vec<String> = j.request.devices.iter().map(|d| d.to_string()).collect();
        let what = match &j.request.md {
            Some(m) => format!("md superblocks of the new array {}", m.md_uuid),
            None => format!("new filesystem {}", j.request.fs_uuid),
        };
        let summary = format!(
            "\nThe {what} on {} will be erased (each device re-proven first).\n",
            devs.join(", ")
        );
        if !crate::ui::confirm::confirm_destruction(&summary, yes)? {
            return Err(
                crate::app::Refused(vec!["not confirmed; nothing was changed".into()]).into(),
            );
        }
    }
    // The undo is walked in memory; the setup journal stays until it has succeeded.
    let mut undo: Journal<()> = Journal::new(None, (), plan.clone());
    undo.manifest = j.manifest.clone();
    undo.source = j.source.clone();
    undo.copy = j.copy.clone();
    let w = Walker::new(runner, machine);
    walk(&w, &mut undo, &plan, &|u, step| {
        format!(
            "abort stopped at '{}' (undone: {}); the setup journal is kept: fix the cause and run `lnraid setup --abort` again",
            step.id,
            u.completed_list()
        )
    })?;
    j.state = JournalState::Aborted;
    j.started = None;
    j.save()?;
    let archived = j.archive(&record_name(j.request.fs_uuid.as_str(), j.state))?;
    println!(
        "{}",
        crate::ui::sanitize(&format!(
            "setup aborted; {} is as it was. Record: {}",
            j.request.lightning_dir.display(),
            archived.display()
        ))
    );
    Ok(crate::app::exit::OK)
}
