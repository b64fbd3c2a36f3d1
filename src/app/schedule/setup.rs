//! `setup --schedule`: the schedule part of a setup request (rendered by the same
//! [`plan_schedule`] as `schedule install`, so the dry run shows the files), and its undo for
//! `setup --abort`.

use std::fs;

use anyhow::Result;

use super::{current_exe, daemon_reload, disable_timers, read_arrays, remove_ours, say, target};
use crate::app::Refused;
use crate::cli::SetupArgs;
use crate::config::atomic::{backup_path, write_atomic_no_backup};
use crate::exec::Runner;
use crate::plan::setup::SetupRequest;
use crate::schedule::{
    plan_schedule, timer_names, ScheduleSpec, ScheduledArray, SetupSchedule, MARKER,
};

/// The schedule for the array being set up, plus every lnraid array already in the fstab (one
/// cron file serves them all). `None` without `--schedule`.
pub(crate) fn for_setup(args: &SetupArgs, request: &SetupRequest) -> Result<Option<SetupSchedule>> {
    let Some(scheduler) = args.schedule.scheduler() else {
        return Ok(None);
    };
    let t = target(scheduler, &args.cron, &args.host)
        .map_err(|e| Refused(vec![format!("--schedule {}: {e}", scheduler.name())]))?;
    let mut arrays: Vec<ScheduledArray> = read_arrays(&request.fstab)?
        .into_iter()
        .filter(|a| a.mountpoint != request.mountpoint && a.uuid != request.fs_uuid)
        .collect();
    arrays.push(ScheduledArray {
        uuid: request.fs_uuid.clone(),
        mountpoint: request.mountpoint.clone(),
    });
    // The options `schedule install` stored (monitor, alert file, scrub limit...) are kept:
    // a setup of another array must not drop them. --config / LNRAID_CONFIG as for
    // `schedule install`; the jobs name the alert file beside that config.
    let config = args.config.path.clone();
    let spec = match fs::read_to_string(&config) {
        Ok(text) => {
            let c = crate::schedule::config::parse_config(&text).map_err(|e| {
                Refused(vec![format!(
                    "--schedule: {} is not a valid lnraid config ({e})",
                    config.display()
                )])
            })?;
            super::conf::spec(&c, &config, current_exe()?, arrays)?
        }
        Err(_) => ScheduleSpec::with_defaults(current_exe()?, arrays),
    };
    let files = plan_schedule(&spec, scheduler, &t.dir)
        .map_err(|e| Refused(vec![format!("--schedule: {e}")]))?;
    let previous = files
        .iter()
        .filter_map(|f| {
            let old = fs::read_to_string(&f.path).ok()?;
            (old != f.content).then(|| (f.path.clone(), old))
        })
        .collect();
    Ok(Some(SetupSchedule {
        scheduler,
        files,
        live: t.live,
        previous,
    }))
}

/// Takes back what setup's `schedule` step wrote: a file still as setup wrote it is put back
/// as it was before (or removed); a file edited since is left alone and named.
pub(crate) fn undo_setup(s: &SetupSchedule, runner: &dyn Runner) -> Result<()> {
    let ours: Vec<_> = s
        .files
        .iter()
        .filter(|f| fs::read_to_string(&f.path).is_ok_and(|c| c == f.content))
        .collect();
    for f in s
        .files
        .iter()
        .filter(|f| f.path.exists() && !ours.contains(f))
    {
        say(&format!(
            "left {} alone: it changed after setup wrote it",
            f.path.display()
        ));
    }
    if s.live {
        let gone = ours
            .iter()
            .filter(|f| !s.previous.iter().any(|(p, _)| *p == f.path))
            .map(|f| f.path.as_path());
        disable_timers(runner, &timer_names(gone))?;
    }
    for f in &ours {
        match s.previous.iter().find(|(p, _)| *p == f.path) {
            Some((p, old)) => {
                write_atomic_no_backup(p, old.as_bytes(), f.mode)?;
                say(&format!("put back the earlier {}", p.display()));
            }
            None => {
                remove_ours(&f.path)?;
                say(&format!("removed {}", f.path.display()));
            }
        }
        // setup's writer keeps a `.bak` of a file it replaced; it is ours too.
        let bak = backup_path(&f.path);
        if fs::read_to_string(&bak).is_ok_and(|c| c.lines().any(|l| l == MARKER)) {
            remove_ours(&bak)?;
        }
    }
    if s.live && !ours.is_empty() {
        daemon_reload(runner)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::FakeRunner;
    use crate::schedule::{ScheduleFile, Scheduler};

    #[test]
    fn undo_removes_ours_restores_previous_leaves_edited() {
        let t = tempfile::tempdir().unwrap();
        let f = |name: &str, content: &str| ScheduleFile {
            path: t.path().join(name),
            content: format!("{MARKER}\n{content}\n"),
            mode: 0o644,
        };
        let (a, b, c) = (
            f("lnraid-scrub-x.timer", "a"),
            f("lnraid-scrub-x.service", "b"),
            f("lnraid-balance-x.timer", "c"),
        );
        fs::write(&a.path, &a.content).unwrap();
        fs::write(&b.path, &b.content).unwrap();
        fs::write(&c.path, "edited by the operator\n").unwrap();
        fs::write(backup_path(&b.path), format!("{MARKER}\nold b\n")).unwrap();
        let s = SetupSchedule {
            scheduler: Scheduler::Systemd,
            files: vec![a.clone(), b.clone(), c.clone()],
            live: false,
            previous: vec![(b.path.clone(), format!("{MARKER}\nold b\n"))],
        };
        let fake = FakeRunner::new();
        undo_setup(&s, &fake).unwrap();
        assert!(!a.path.exists());
        assert_eq!(
            fs::read_to_string(&b.path).unwrap(),
            format!("{MARKER}\nold b\n")
        );
        assert!(!backup_path(&b.path).exists());
        assert_eq!(
            fs::read_to_string(&c.path).unwrap(),
            "edited by the operator\n"
        );
        assert!(
            fake.lines().is_empty(),
            "no systemctl for a non-live unit dir"
        );
    }
}
