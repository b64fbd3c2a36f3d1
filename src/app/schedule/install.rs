//! `schedule install` and `schedule remove`: probe what is installed, plan the changes
//! (pure: [`plan_changes`]), show them, then apply under the schedule lock.

use std::fs;

use anyhow::{Context, Result};

use super::{
    conf, current_exe, daemon_reload, default_scheduler, disable_timers, display, probe_installed,
    read_arrays, remove_ours, say, target, targets, Target,
};
use crate::app::{exit, Refused};
use crate::cli::{BalanceRecipe, ScheduleInstallArgs, ScheduleTarget};
use crate::config::atomic::write_atomic_no_backup;
use crate::exec::{Cmd, Runner};
use crate::host::Lock;
use crate::schedule::config::Requested;
use crate::schedule::{
    is_live_name, plan_changes, plan_schedule, timer_names, Change, ScheduleSpec, Scheduler,
};

const LOCK: &str = "schedule.lock";

pub fn install(args: &ScheduleInstallArgs, runner: &dyn Runner) -> Result<i32> {
    let t = &args.target;
    // Held from the first read, so two installs never plan against each other's files.
    let _lock = (!t.dry_run)
        .then(|| Lock::try_acquire(&t.host.lock_dir, LOCK))
        .transpose()?;
    let arrays = read_arrays(&t.host.fstab)?;
    if arrays.is_empty() {
        return Err(Refused(vec![format!(
            "{} has no lnraid array (no line marked `# lnraid-managed`): run `lnraid setup` first; nothing was changed",
            t.host.fstab.display()
        )])
        .into());
    }
    let conf = conf::plan(&t.config.path, &requested(args))?;
    let scheduler = t
        .scheduler
        .or(conf.new.scheduler)
        .unwrap_or_else(default_scheduler);
    let main = target(scheduler, &t.cron, &t.host).map_err(|e| Refused(vec![e]))?;
    let mut new_conf = conf.new.clone();
    new_conf.scheduler = Some(scheduler);
    let conf = conf::Planned {
        new: new_conf,
        ..conf
    };
    let spec = conf::spec(&conf.new, current_exe()?, arrays)?;
    let plan = plan_install(&spec, &main, t)?;
    let changed = plan.iter().flat_map(|(_, c)| c).any(Change::is_change) || conf.is_change();
    say(&format!(
        "lnraid schedule ({}) in {}:",
        scheduler.name(),
        main.dir.display()
    ));
    print!("{}", display(&conf.render()));
    if t.dry_run {
        for c in plan.iter().flat_map(|(_, c)| c) {
            print!("{}", display(&c.render()));
        }
        say(if changed {
            "\n(dry run: nothing was changed)"
        } else {
            "\n(dry run: already installed, nothing would change)"
        });
        return Ok(exit::OK);
    }
    // The alert file and the config first: no job file ever names a file not yet written.
    conf.apply_before()?;
    for (target, changes) in &plan {
        apply(target, changes, runner)?;
    }
    conf.apply_after()?;
    say(&if changed {
        summary(&spec)
    } else {
        "The schedule is already installed: nothing changed.".into()
    });
    Ok(exit::OK)
}

/// The options this command line sets; the others keep their configured values.
fn requested(args: &ScheduleInstallArgs) -> Requested {
    let opt = |set: bool, off: bool| match (set, off) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    };
    let value = |v: &Option<String>, off: bool| match (v, off) {
        (Some(v), _) => Some(Some(v.clone())),
        (None, true) => Some(None),
        (None, false) => None,
    };
    Requested {
        scheduler: args.target.scheduler,
        balance_at: args.balance_at.clone(),
        scrub_at: args.scrub_at.clone(),
        guide_balance: args.balance_recipe.map(|r| r == BalanceRecipe::ClnGuide),
        scrub_limit: value(&args.scrub_limit, args.no_scrub_limit),
        monitor: opt(args.monitor, args.no_monitor),
        textfile: match (&args.textfile, args.no_textfile) {
            (Some(t), _) => Some(Some(t.clone())),
            (None, true) => Some(None),
            (None, false) => None,
        },
        alert_command: value(&args.alert_command, args.no_alert_command),
        snapshot: crate::app::schedule_hot::snapshot(&args.hot),
        backup: crate::app::schedule_hot::backup(&args.hot),
    }
}

/// The changes in the scheduler's directory, and the removal of the other scheduler's files
/// (with both installed, every job would run twice).
fn plan_install(
    spec: &ScheduleSpec,
    main: &Target,
    t: &ScheduleTarget,
) -> Result<Vec<(Target, Vec<Change>)>> {
    let desired =
        plan_schedule(spec, main.scheduler, &main.dir).map_err(|e| Refused(vec![e.to_string()]))?;
    let mut plan = vec![(
        main.clone(),
        plan_changes(&desired, &probe_installed(main)?),
    )];
    let other = match main.scheduler {
        Scheduler::Cron => Scheduler::Systemd,
        Scheduler::Systemd => Scheduler::Cron,
    };
    for o in targets(Some(other), &t.cron, &t.host) {
        let removals: Vec<Change> = probe_installed(&o)?
            .into_iter()
            .map(Change::Remove)
            .collect();
        if !removals.is_empty() {
            plan.push((o, removals));
        }
    }
    Ok(plan)
}

fn summary(spec: &ScheduleSpec) -> String {
    let mps: Vec<String> = spec
        .arrays
        .iter()
        .map(|a| a.mountpoint.display().to_string())
        .collect();
    format!(
        "Installed: balance at `{}`, scrub at `{}`{} for {}.",
        spec.balance_at,
        spec.scrub_at,
        if spec.monitor.is_some() {
            ", monitor every 5 minutes,"
        } else {
            ""
        },
        mps.join(", ")
    )
}

/// Applies one directory's changes. Live systemd: disable timers before their files go,
/// reload after files change, enable and start the timers that are not yet.
fn apply(t: &Target, changes: &[Change], runner: &dyn Runner) -> Result<()> {
    let removed: Vec<&Change> = changes
        .iter()
        .filter(|c| matches!(c, Change::Remove(_)))
        .collect();
    if t.live {
        let names = removed.iter().map(|c| c.path()).filter(|p| {
            p.file_name()
                .is_some_and(|n| is_live_name(t.scheduler, &n.to_string_lossy()))
        });
        disable_timers(runner, &timer_names(names))?;
    }
    for c in changes {
        match c {
            Change::Remove(i) => {
                remove_ours(&i.path)?;
                say(&format!("  removed   {}", i.path.display()));
            }
            Change::New(f) | Change::Changed { file: f, .. } => {
                fs::create_dir_all(&t.dir)
                    .with_context(|| format!("creating {}", t.dir.display()))?;
                write_atomic_no_backup(&f.path, f.content.as_bytes(), f.mode)?;
                let what = if matches!(c, Change::New(_)) {
                    "new"
                } else {
                    "changed"
                };
                say(&format!("  wrote     {} ({what})", f.path.display()));
            }
            Change::Unchanged(f) => say(&format!("  unchanged {}", f.path.display())),
        }
    }
    if t.live && t.scheduler == Scheduler::Systemd {
        if changes.iter().any(Change::is_change) {
            daemon_reload(runner)?;
        }
        let installed = changes
            .iter()
            .filter(|c| !matches!(c, Change::Remove(_)))
            .map(|c| c.path());
        let idle: Vec<String> = timer_names(installed)
            .into_iter()
            .filter(|u| !timer_running(runner, u))
            .collect();
        if !idle.is_empty() {
            runner.run_ok(
                &Cmd::mutating("systemctl", ["enable", "--now"])
                    .args_from(idle.iter().map(String::as_str)),
            )?;
            say(&format!("  enabled and started {}", idle.join(", ")));
        }
    }
    Ok(())
}

/// True when the timer is enabled and active (then `enable --now` would change nothing).
fn timer_running(runner: &dyn Runner, unit: &str) -> bool {
    ["is-enabled", "is-active"].iter().all(|q| {
        runner
            .output(&Cmd::read_only("systemctl", ["--quiet", q, unit]))
            .is_ok_and(|o| o.status.success())
    })
}

pub fn remove(t: &ScheduleTarget, runner: &dyn Runner) -> Result<i32> {
    let _lock = (!t.dry_run)
        .then(|| Lock::try_acquire(&t.host.lock_dir, LOCK))
        .transpose()?;
    let mut plan = Vec::new();
    let looked = targets(t.scheduler, &t.cron, &t.host);
    for target in &looked {
        let removals: Vec<Change> = probe_installed(target)?
            .into_iter()
            .map(Change::Remove)
            .collect();
        if !removals.is_empty() {
            plan.push((target.clone(), removals));
        }
    }
    if plan.is_empty() {
        let dirs: Vec<String> = looked.iter().map(|t| t.dir.display().to_string()).collect();
        say(&format!(
            "No lnraid schedule is installed (looked in {}): nothing to remove.",
            if dirs.is_empty() {
                "no directory: none resolves here".into()
            } else {
                dirs.join(", ")
            }
        ));
        return Ok(exit::OK);
    }
    if t.dry_run {
        for c in plan.iter().flat_map(|(_, c)| c) {
            print!("{}", display(&c.render()));
        }
        say("\n(dry run: nothing was changed)");
        return Ok(exit::OK);
    }
    for (target, changes) in &plan {
        apply(target, changes, runner)?;
    }
    say("The lnraid schedule is removed.");
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::{FakeRunner, Output};
    use crate::schedule::{Installed, ScheduledArray};

    fn files(dir: &std::path::Path) -> Vec<crate::schedule::ScheduleFile> {
        let spec = ScheduleSpec::with_defaults(
            "/usr/bin/lnraid".into(),
            vec![ScheduledArray {
                uuid: crate::types::FsUuid::parse("5d1c0e2a-1111-2222-3333-444455556666").unwrap(),
                mountpoint: "/mnt/lnraid".into(),
            }],
        );
        plan_schedule(&spec, Scheduler::Systemd, dir).unwrap()
    }

    /// The live unit dir, with a fake systemctl: reload after writing, enable only the timers
    /// not yet running; on removal, disable before the files go.
    #[test]
    fn live_systemd_runs_systemctl_in_order() {
        let t = tempfile::tempdir().unwrap();
        let target = Target {
            scheduler: Scheduler::Systemd,
            dir: t.path().to_path_buf(),
            live: true,
        };
        let desired = files(t.path());
        let fake = FakeRunner::new();
        fake.reply_line("systemctl daemon-reload", "");
        fake.reply_line(
            "systemctl enable --now lnraid-balance-mnt-lnraid.timer lnraid-scrub-mnt-lnraid.timer",
            "",
        );
        apply(&target, &plan_changes(&desired, &[]), &fake).unwrap();
        let lines = fake.lines();
        assert_eq!(lines[0], "systemctl daemon-reload");
        assert_eq!(
            lines.last().unwrap(),
            "systemctl enable --now lnraid-balance-mnt-lnraid.timer lnraid-scrub-mnt-lnraid.timer"
        );
        // Installed again with both timers running: no systemctl call changes anything.
        let fake = FakeRunner::new();
        for q in ["is-enabled", "is-active"] {
            for u in [
                "lnraid-balance-mnt-lnraid.timer",
                "lnraid-scrub-mnt-lnraid.timer",
            ] {
                fake.reply(
                    &Cmd::read_only("systemctl", ["--quiet", q, u]),
                    Output::ok(""),
                );
            }
        }
        let installed: Vec<Installed> = desired
            .iter()
            .map(|f| Installed {
                path: f.path.clone(),
                content: f.content.clone(),
            })
            .collect();
        apply(&target, &plan_changes(&desired, &installed), &fake).unwrap();
        assert!(
            fake.commands().iter().all(|c| !c.is_mutating()),
            "{:?}",
            fake.lines()
        );
        // Removal: disable first, then the files go, then reload.
        let fake = FakeRunner::new();
        fake.reply_line(
            "systemctl disable --now lnraid-balance-mnt-lnraid.timer lnraid-scrub-mnt-lnraid.timer",
            "",
        );
        fake.reply_line("systemctl daemon-reload", "");
        let removals: Vec<Change> = installed.into_iter().map(Change::Remove).collect();
        apply(&target, &removals, &fake).unwrap();
        assert_eq!(
            fake.lines(),
            [
                "systemctl disable --now lnraid-balance-mnt-lnraid.timer lnraid-scrub-mnt-lnraid.timer",
                "systemctl daemon-reload"
            ]
        );
        assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 0);
    }
}
