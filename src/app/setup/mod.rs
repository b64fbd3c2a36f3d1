//! `lnraid setup`: preflight → plan → (dry run | confirm → journal → walk) → summary, and
//! `--resume` / `--abort` of an interrupted run. Every change is made by the one executor
//! ([`crate::walk`]) walking a plan this file printed first; `--abort`'s undo is a plan too.

mod abort;
mod paths;
pub(crate) mod preflight;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::{exit, Refused};
use crate::cli::SetupArgs;
use crate::exec::Runner;
use crate::host::Lock;
use crate::plan::setup::{plan_setup, SetupRequest};
use crate::plan::{render_plan, Step};
use crate::probe::blkid::Identity;
use crate::probe::lsblk::BlockDev;
use crate::ui::confirm::{confirm_erase, describe_targets};
use crate::ui::sanitize_multiline;
use crate::walk::{walk, Journal, JournalState, Machine, RealMachine, Walker};
use preflight::{preflight, Preflight};

pub type SetupJournal = Journal<SetupRequest>;

/// A disk as the confirmation shows it: lsblk's view and what `blkid -p` reads on it.
type Disk = (BlockDev, Option<Identity>);

/// The setup journal file in `state_dir`.
pub fn journal_path(state_dir: &Path) -> PathBuf {
    state_dir.join("setup-journal.json")
}

/// The archived record of a finished setup of `fs_uuid` (`state` done or aborted).
pub fn record_path(state_dir: &Path, fs_uuid: &str, state: JournalState) -> PathBuf {
    state_dir.join(record_name(fs_uuid, state))
}

fn record_name(fs_uuid: &str, state: JournalState) -> String {
    format!("setup-{fs_uuid}-{state:?}.json").to_lowercase()
}

pub fn run(args: &SetupArgs, runner: &dyn Runner) -> Result<i32> {
    let host = &args.host;
    if !nix::unistd::Uid::effective().is_root() {
        return Err(Refused(vec![
            "lnraid setup must run as root: it formats devices, mounts and edits fstab".into(),
        ])
        .into());
    }
    let _lock = if args.dry_run {
        None
    } else {
        Some(Lock::try_acquire(&host.lock_dir, "lnraid.lock")?)
    };
    let machine = RealMachine;
    let existing = SetupJournal::load(&journal_path(&host.state_dir))?
        .filter(|j| j.state == JournalState::InProgress);
    if args.resume || args.abort {
        let mut j = existing.with_context(|| {
            format!(
                "no interrupted setup is recorded in {}",
                journal_path(&host.state_dir).display()
            )
        })?;
        if args.abort {
            return abort::abort(&mut j, runner, &machine, args.dry_run, args.yes);
        }
        return resume(args, &mut j, runner, &machine);
    }
    if let Some(j) = existing {
        return Err(Refused(vec![format!(
            "an interrupted setup of {} is recorded in {} (completed: {}): run `lnraid setup --resume` to continue it or `lnraid setup --abort` to undo it",
            j.request.lightning_dir.display(),
            journal_path(&host.state_dir).display(),
            j.completed_list()
        )])
        .into());
    }
    let prepared = match preflight(args, runner)? {
        Preflight::AlreadyDone(msg) => {
            println!("{}", crate::ui::sanitize(&msg));
            return Ok(exit::OK);
        }
        Preflight::Ready(p) => p,
    };
    let v = &prepared.snapshot.versions;
    tracing::info!(
        "tools: btrfs-progs {}, util-linux {}, kernel {}",
        v.btrfs_progs.as_deref().unwrap_or("?"),
        v.util_linux.as_deref().unwrap_or("?"),
        v.kernel
    );
    for w in &prepared.warnings {
        tracing::warn!("{}", crate::ui::sanitize(w));
    }
    let plan = plan_setup(&prepared.request, &prepared.fstab_diff);
    print!("{}", sanitize_multiline(&render_plan(&plan)));
    if args.dry_run {
        println!("\n(dry run: nothing was changed)");
        return Ok(exit::OK);
    }
    let targets: Vec<_> = prepared
        .targets
        .iter()
        .map(|b| (b.clone(), prepared.snapshot.identity(&b.path).cloned()))
        .collect();
    if !confirm_erase(
        &format!("\n{}", describe_targets(&targets)),
        &targets,
        args.yes,
    )? {
        return Err(Refused(vec!["not confirmed; nothing was changed".into()]).into());
    }
    let mut j = Journal::new(
        Some(journal_path(&host.state_dir)),
        prepared.request,
        plan.clone(),
    );
    j.save()?;
    let w = Walker::new(runner, &machine);
    walk(&w, &mut j, &plan, &state_report)?;
    drop(w);
    finish(&mut j)
}

/// A resume shows what each device to be destroyed holds NOW and asks again: the operator
/// confirmed another moment's devices.
fn resume(
    args: &SetupArgs,
    j: &mut SetupJournal,
    runner: &dyn Runner,
    machine: &dyn Machine,
) -> Result<i32> {
    let plan = crate::backend::setup_resume_plan(j);
    print!("{}", sanitize_multiline(&render_plan(&plan)));
    if args.dry_run {
        println!("\n(dry run: nothing was changed)");
        return Ok(exit::OK);
    }
    if plan.steps.iter().any(Step::is_destructive) {
        let (summary, disks) = current_contents(j, runner, machine)?;
        if !confirm_erase(&summary, &disks, args.yes)? {
            return Err(Refused(vec!["not confirmed; nothing was changed".into()]).into());
        }
    }
    let w = Walker::new(runner, machine);
    walk(&w, j, &plan, &state_report)?;
    drop(w);
    finish(j)
}

/// What each target carries now next to what it carried at confirmation, and the disks as
/// they are now (the confirmation asks for their serial tails again).
fn current_contents(
    j: &SetupJournal,
    runner: &dyn Runner,
    machine: &dyn Machine,
) -> Result<(String, Vec<Disk>)> {
    let snap = machine.snapshot(runner)?;
    let mut out = String::from(
        "\nThe remaining steps ERASE these devices (each is re-proven right before):\n",
    );
    let mut disks = Vec::new();
    for t in &j.request.targets {
        let id = snap.identity(&t.device).cloned();
        let now = id
            .as_ref()
            .map(|i| crate::plan::Contents::of(i).describe())
            .unwrap_or_else(|| "unreadable".into());
        out.push_str(&format!(
            "  {} ({}): now {}; at confirmation {}\n",
            t.device,
            t.given.display(),
            now,
            t.contents.describe()
        ));
        if let Some(b) = snap.device(&t.device) {
            disks.push((b.clone(), id));
        }
    }
    Ok((crate::ui::sanitize_multiline(&out), disks))
}

/// Where things stand after a failure, and the one command to run next.
pub(crate) fn state_report(j: &SetupJournal, failed: &Step) -> String {
    let r = &j.request;
    let dir_state = if j.is_completed("move-aside") {
        format!("the original directory is kept at {}", r.aside().display())
    } else {
        format!(
            "the original directory {} is untouched",
            r.lightning_dir.display()
        )
    };
    format!(
        "setup stopped at step '{}'. Completed: {}. {dir_state}. Fix the cause, then run \
         `lnraid setup --resume` to continue (the failed step is re-planned from what the devices \
         hold then), or `lnraid setup --abort` to undo",
        failed.id,
        j.completed_list()
    )
}

fn finish(j: &mut SetupJournal) -> Result<i32> {
    j.state = JournalState::Done;
    j.save()?;
    let record = j.archive(&record_name(j.request.fs_uuid.as_str(), j.state))?;
    let r = &j.request;
    let skipped: Vec<String> = j
        .manifest
        .as_ref()
        .map(|m| {
            m.skipped
                .iter()
                .map(|s| format!("{} ({})", s.rel.display(), s.kind))
                .collect()
        })
        .unwrap_or_default();
    let array = match &r.md {
        Some(m) => format!(
            "md RAID-1 {} (md UUID {}, ext4 {}){}",
            crate::backend::md::array_path(&m.name),
            m.md_uuid,
            r.fs_uuid,
            if m.wait {
                ""
            } else {
                " — resyncing in the background, not yet redundant until it ends (`lnraid status`)"
            }
        ),
        None => format!("btrfs {} array {}", r.profile.name(), r.fs_uuid),
    };
    let mut out = format!(
        "\nDone. {} now lives on the {array} mounted at {}:\n  {} -> {}\n  fstab: {}\n",
        r.lightning_dir.display(),
        r.mountpoint.display(),
        r.lightning_dir.display(),
        r.new_home().display(),
        r.fstab_line()
    );
    out.push_str(&format!(
        "  boot safety: {} is immutable while unmounted{}\n",
        r.mountpoint.display(),
        r.dropin
            .as_ref()
            .map(|d| format!("; {} requires the mount", d.display()))
            .unwrap_or_default()
    ));
    if !skipped.is_empty() {
        out.push_str(&format!(
            "  not copied (lightningd recreates them): {}\n",
            skipped.join(", ")
        ));
    }
    out.push_str(&format!(
        "\nThe original directory is kept, unchanged since it was copied (proven before publishing), at {aside}.\n  It is a second copy of your node's state: NEVER start lightningd from it; running two nodes\n  from copies of the same state can lose your channel funds. Once the node has run well from\n  the array, remove it: rm -rf -- {aside_q}\nNext: start lightningd. Record of this setup: {}\n",
        record.display(),
        aside = r.aside().display(),
        aside_q = crate::exec::quote_path(&r.aside()),
    ));
    print!("{}", sanitize_multiline(&out));
    Ok(exit::OK)
}
