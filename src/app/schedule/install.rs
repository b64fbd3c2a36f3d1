//! `schedule install` and `schedule remove`: probe what is installed, build the plan (pure:
//! [`crate::plan::schedule`]), print it for the dry run, or walk that very plan under the
//! schedule lock with the one executor.

use anyhow::Result;

use super::{
    conf, current_exe, default_scheduler, display, probe_installed, read_arrays, say, target,
    targets, Target,
};
use crate::app::{exit, Refused};
use crate::cli::{BalanceRecipe, ScheduleInstallArgs, ScheduleTarget};
use crate::exec::{Cmd, Runner};
use crate::host::Lock;
use crate::plan::schedule::{plan_install, plan_remove, DirChanges};
use crate::plan::{render_plan, Plan};
use crate::schedule::config::Requested;
use crate::schedule::{plan_changes, plan_schedule, timer_names, Change, ScheduleSpec, Scheduler};
use crate::walk::{walk, Journal, RealMachine, Walker};

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
    // Hook of the mdadm helper (src/backend/md/schedule.rs): md arrays whose checks the
    // distribution already schedules get no lnraid job; the operator is told why.
    let (arrays, md_notes) = crate::backend::md::schedule::leave_to_distro(
        runner,
        arrays,
        &std::fs::read_to_string(&t.host.fstab).unwrap_or_default(),
        std::path::Path::new("/"),
        crate::host::systemd_running(),
    );
    md_notes.iter().for_each(|n| say(n));
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
    let spec = conf::spec(&conf.new, &t.config.path, current_exe()?, arrays)?;
    let dirs = dir_changes(&spec, &main, t, runner)?;
    let plan = plan_install(
        format!(
            "lnraid schedule ({}) in {}:",
            scheduler.name(),
            main.dir.display()
        ),
        conf.config_change(),
        conf.alert_step(),
        &dirs,
    );
    print!("{}", display(&conf.notes()));
    for c in dirs.iter().flat_map(|d| &d.changes) {
        if let Change::Unchanged(f) = c {
            say(&format!("unchanged {}", f.path.display()));
        }
    }
    if t.dry_run {
        print!("{}", display(&render_plan(&plan)));
        say(if plan.steps.is_empty() {
            "\n(dry run: already installed, nothing would change)"
        } else {
            "\n(dry run: nothing was changed)"
        });
        return Ok(exit::OK);
    }
    run_plan(runner, &plan)?;
    say(&if plan.steps.is_empty() {
        "The schedule is already installed: nothing changed.".into()
    } else {
        summary(&spec)
    });
    Ok(exit::OK)
}

/// Walks a schedule plan (in memory: the files themselves are the state, and install and
/// remove are idempotent — run again, they finish what an interrupted run left).
pub(crate) fn run_plan(runner: &dyn Runner, plan: &Plan) -> Result<()> {
    let mut j = Journal::new(None, (), plan.clone());
    let w = Walker::new(runner, &RealMachine);
    walk(&w, &mut j, plan, &|_, s| {
        format!(
            "the schedule is partly changed (stopped at {}); run the same command again to finish",
            s.id
        )
    })
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
/// (with both installed, every job would run twice); which timers already run (live only).
fn dir_changes(
    spec: &ScheduleSpec,
    main: &Target,
    t: &ScheduleTarget,
    runner: &dyn Runner,
) -> Result<Vec<DirChanges>> {
    let desired =
        plan_schedule(spec, main.scheduler, &main.dir).map_err(|e| Refused(vec![e.to_string()]))?;
    let mut out = vec![dir(
        main,
        plan_changes(&desired, &probe_installed(main)?),
        runner,
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
            out.push(dir(&o, removals, runner));
        }
    }
    Ok(out)
}

fn dir(t: &Target, changes: Vec<Change>, runner: &dyn Runner) -> DirChanges {
    let running = if t.live && t.scheduler == Scheduler::Systemd {
        let kept = changes
            .iter()
            .filter(|c| !matches!(c, Change::Remove(_)))
            .map(Change::path);
        timer_names(kept)
            .into_iter()
            .filter(|u| timer_running(runner, u))
            .collect()
    } else {
        Vec::new()
    };
    DirChanges {
        scheduler: t.scheduler,
        live: t.live,
        changes,
        running,
    }
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
    let mut dirs = Vec::new();
    let looked = targets(t.scheduler, &t.cron, &t.host);
    for target in &looked {
        let removals: Vec<Change> = probe_installed(target)?
            .into_iter()
            .map(Change::Remove)
            .collect();
        if !removals.is_empty() {
            dirs.push(dir(target, removals, runner));
        }
    }
    if dirs.is_empty() {
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
    let plan = plan_remove("Removing the lnraid schedule:".into(), &dirs);
    if t.dry_run {
        print!("{}", display(&render_plan(&plan)));
        say("\n(dry run: nothing was changed)");
        return Ok(exit::OK);
    }
    run_plan(runner, &plan)?;
    say("The lnraid schedule is removed.");
    Ok(exit::OK)
}
