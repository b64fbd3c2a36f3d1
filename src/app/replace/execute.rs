//! The replacement journal and its walk. The plan is walked by the one executor
//! ([`crate::walk`]): the new device is re-proven (identity, contents as confirmed, full
//! device policy with `$LIGHTNINGDIR` protected, `O_EXCL`) right before `wipe` and `replace`,
//! also when a step is resumed; a `btrfs replace` the kernel still runs (or resumed at mount)
//! is waited for, never started twice; the final remount names a member `blkid -p` has just
//! shown carrying the array.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::prepare::ReplaceRequest;
use crate::exec::Runner;
use crate::plan::Plan;
use crate::walk::{walk, Journal, Machine, Walker};

pub type ReplaceJournal = Journal<ReplaceRequest>;

pub fn journal_path(state_dir: &Path) -> PathBuf {
    state_dir.join("replace-journal.json")
}

/// Keeps the record under the filesystem UUID and clears the way for the next replace.
pub fn finish(j: &ReplaceJournal) -> Result<PathBuf> {
    j.archive(&format!(
        "replace-{}-devid{}-done.json",
        j.request.uuid, j.request.old_devid
    ))
}

pub fn execute(
    j: &mut ReplaceJournal,
    plan: &Plan,
    runner: &dyn Runner,
    machine: &dyn Machine,
) -> Result<()> {
    let w = Walker::new(runner, machine);
    walk(&w, j, plan, &|j, step| {
        format!(
            "replace stopped at '{}'; completed: {}. Fix the cause and run `lnraid replace` again to continue (the journal is {})",
            step.id,
            j.completed_list(),
            j.path.as_deref().unwrap_or(Path::new("?")).display()
        )
    })
}
