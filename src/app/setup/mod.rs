//! `lnraid setup`: preflight → plan → (dry run | confirm → journal → execute) → summary, and
//! `--resume` / `--abort` of an interrupted run. Phases live in their own files.

mod abort;
pub(crate) mod execute;
mod journal;
pub(crate) mod preflight;

use anyhow::{Context, Result};

use super::{exit, Refused};
use crate::cli::SetupArgs;
use crate::exec::Runner;
use crate::host::Lock;
use crate::plan::setup::plan_setup;
use crate::plan::{render_plan, Plan, Tag};
use crate::ui::confirm::{confirm_destruction, describe_targets};
use crate::ui::sanitize_multiline;
use journal::{Journal, JournalState};
use preflight::{preflight, Preflight};

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
    let existing = Journal::load(&host.state_dir)?.filter(|j| j.state == JournalState::InProgress);
    if args.resume || args.abort {
        let mut j = existing.with_context(|| {
            format!(
                "no interrupted setup is recorded in {}",
                journal::journal_path(&host.state_dir).display()
            )
        })?;
        if args.abort {
            return abort::abort(&mut j, runner, args.dry_run, args.yes);
        }
        return resume(args, &mut j, runner);
    }
    if let Some(j) = existing {
        return Err(Refused(vec![format!(
            "an interrupted setup of {} is recorded in {} (completed: {}): run `lnraid setup --resume` to continue it or `lnraid setup --abort` to undo it",
            j.request.lightning_dir.display(),
            j.path.display(),
            if j.completed.is_empty() { "none".into() } else { j.completed.join(", ") }
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
    eprintln!(
        "tools: btrfs-progs {}, util-linux {}, kernel {}",
        v.btrfs_progs.as_deref().unwrap_or("?"),
        v.util_linux.as_deref().unwrap_or("?"),
        v.kernel
    );
    for w in &prepared.warnings {
        eprintln!("warning: {}", crate::ui::sanitize(w));
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
    if !confirm_destruction(&format!("\n{}", describe_targets(&targets)), args.yes)? {
        return Err(Refused(vec!["not confirmed; nothing was changed".into()]).into());
    }
    let mut j = Journal::new(&host.state_dir, prepared.request, plan);
    j.save()?;
    execute::execute(&mut j, runner)?;
    finish(&mut j)
}

fn resume(args: &SetupArgs, j: &mut Journal, runner: &dyn Runner) -> Result<i32> {
    let remaining = Plan {
        title: format!("Resuming: {}", j.plan.title),
        steps: j
            .plan
            .steps
            .iter()
            .filter(|s| !j.is_completed(&s.id))
            .map(|s| {
                let mut s = s.clone();
                let resumed = j.started.as_deref() == Some(s.id.as_str());
                for a in &mut s.actions {
                    if let crate::plan::Action::Run { cmd } = a {
                        *cmd = execute::resumed_cmd(cmd, resumed);
                    }
                }
                s
            })
            .collect(),
    };
    print!("{}", sanitize_multiline(&render_plan(&remaining)));
    if args.dry_run {
        println!("\n(dry run: nothing was changed)");
        return Ok(exit::OK);
    }
    if remaining.steps.iter().any(|s| s.tag == Tag::Destructive) {
        let devs: Vec<String> = j.request.devices.iter().map(|d| d.to_string()).collect();
        let summary = format!("\nThe remaining steps erase {}.\n", devs.join(", "));
        if !confirm_destruction(&summary, args.yes)? {
            return Err(Refused(vec!["not confirmed; nothing was changed".into()]).into());
        }
    }
    execute::execute(j, runner)?;
    finish(j)
}

fn finish(j: &mut Journal) -> Result<i32> {
    j.state = JournalState::Done;
    j.save()?;
    let record = j.archive()?;
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
        "\nThe original directory is kept, unchanged, at {aside}.\n  It is a second copy of your node's state: NEVER start lightningd from it; running two nodes\n  from copies of the same state can lose your channel funds. Once the node has run well from\n  the array, remove it: rm -rf -- '{aside}'\nNext: start lightningd. Record of this setup: {}\n",
        record.display(),
        aside = r.aside().display(),
    ));
    print!("{}", sanitize_multiline(&out));
    Ok(exit::OK)
}
