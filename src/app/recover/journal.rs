//! recover's journal: the plan is walked with `<state dir>/recover-journal.json`, so a run
//! that is killed is found by the next one, which cleans up after it (its private read-only
//! mount unmounted, the empty mountpoint removed; DEST's unfinished staging copy is then
//! refused by name; md's overlay, loop device and read-only assembly taken down by the
//! plan's own teardown steps, read from the journal) before starting afresh. A walk that fails is cleaned up at once. The
//! journal of a finished recover is kept as `recover-<uuid>-done.json`.
//!
//! May not: resume a copy-out half done (its staging copy was never verified: the next run
//! starts over into a new DEST), or remove anything below DEST.

use std::path::Path;

use anyhow::Result;

use crate::exec::Runner;
use crate::plan::recover::{teardown_of, RecoverRequest, JOURNAL};
use crate::plan::{Plan, Step};
use crate::types::FsUuid;
use crate::walk::{walk, Journal, JournalState, RealMachine, Walker};

type RecoverJournal = Journal<RecoverRequest>;

/// Walks `plan` journaled; on failure, unmounts and removes the private mountpoint before
/// returning the error (the executor's report names the step).
pub fn walk_recover(
    runner: &dyn Runner,
    state_dir: &Path,
    uuid: &FsUuid,
    dest: &Path,
    plan: &Plan,
) -> Result<()> {
    let mp = mountpoint_of(plan);
    let request = RecoverRequest {
        fs_uuid: uuid.to_string(),
        dest: dest.to_path_buf(),
        mountpoint: mp.clone(),
    };
    let path = state_dir.join(JOURNAL);
    let mut j = RecoverJournal::new(Some(path), request, plan.clone());
    let w = Walker::new(runner, &RealMachine);
    let result = walk(&w, &mut j, plan, &|j: &RecoverJournal, step: &Step| {
        format!(
            "recover stopped at '{}' (completed: {}); the read-only mount is being removed, nothing was written to the array",
            step.id,
            j.completed_list()
        )
    });
    match result {
        Ok(()) => {
            j.state = JournalState::Done;
            j.save()?;
            j.archive(&format!("recover-{uuid}-done.json"))?;
            Ok(())
        }
        Err(e) => {
            if let Err(c) = clean(runner, plan) {
                tracing::warn!("{c:#}");
            }
            j.state = JournalState::Aborted;
            let _ = j
                .save()
                .and_then(|_| j.archive(&format!("recover-{uuid}-failed.json")));
            Err(e)
        }
    }
}

/// The journal of a recover that was killed: its mount is cleaned up (a dry run only says
/// so), and the journal archived as interrupted.
pub fn clean_interrupted(runner: &dyn Runner, state_dir: &Path, dry_run: bool) -> Result<()> {
    let Some(j) = RecoverJournal::load(&state_dir.join(JOURNAL))? else {
        return Ok(());
    };
    if j.state != JournalState::InProgress {
        return Ok(());
    }
    let mp = &j.request.mountpoint;
    let at = j
        .started
        .as_ref()
        .map(|s| format!("at {s}"))
        .or_else(|| j.completed.last().map(|c| format!("after {c}")))
        .unwrap_or_else(|| "before its first step".into());
    if dry_run {
        println!(
            "An interrupted `lnraid recover` (stopped {at}) left its journal; the real run first removes its read-only mount {} (if still there) and starts afresh.",
            mp.display()
        );
        return Ok(());
    }
    println!(
        "An interrupted `lnraid recover` (stopped {at}, copying into {}) left its read-only mount {}: unmounting it and taking down what it set up (nothing was written through it).",
        j.request.dest.display(),
        mp.display()
    );
    clean(runner, &j.plan)?;
    j.archive(&format!("recover-{}-interrupted.json", j.request.fs_uuid))?;
    Ok(())
}

/// Walks the plan's own cleanup steps (`unmount`, md's `teardown`) in memory: each undoes
/// only what is there.
fn clean(runner: &dyn Runner, plan: &Plan) -> Result<()> {
    let clean = teardown_of(plan);
    let mp = mountpoint_of(plan);
    let mut j = Journal::new(None, (), clean.clone());
    walk(
        &Walker::new(runner, &RealMachine),
        &mut j,
        &clean,
        &|_, step| {
            format!(
            "could not finish recover's cleanup (step '{}'); nothing is at risk, the mount is read-only: run `umount {}`, `rmdir {}`, and the remaining commands of `lnraid recover --dry-run`'s unmount/teardown steps",
            step.id,
            crate::exec::quote_path(&mp),
            crate::exec::quote_path(&mp)
        )
        },
    )
}

/// The private mountpoint the plan mounts (its unmount step names it).
fn mountpoint_of(plan: &Plan) -> std::path::PathBuf {
    plan.steps
        .iter()
        .flat_map(|s| &s.actions)
        .find_map(|a| match a {
            crate::plan::Action::Umount { mountpoint } => Some(mountpoint.clone()),
            _ => None,
        })
        .unwrap_or_default()
}
