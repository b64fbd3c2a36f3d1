//! `lnraid schedule install|remove|show`: puts the files of [`crate::schedule`] in place, takes
//! them away, and reports what is installed and how each job last ended.
//!
//! Only files with lnraid's names AND its marker line are ever rewritten or removed. systemctl
//! runs only against the live unit directory (`/etc/systemd/system` on a systemd machine);
//! with `--unit-dir` the files are written and nothing else happens, which is what tests use.
//! Install and remove hold `schedule.lock` in the lock dir (not `lnraid.lock`: a scrub holding
//! that for hours must not block editing the schedule).

mod conf;
mod install;
pub mod secret;
mod setup;
mod show;

pub(crate) use setup::{for_setup, undo_setup};

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::Refused;
use crate::cli::{CronDir, ScheduleCommand};
use crate::config::atomic::remove_file_synced;
use crate::config::fstab_edit::managed_arrays;
use crate::exec::{Cmd, Runner};
use crate::host::{systemd_running, HostPaths};
use crate::schedule::{is_managed_name, Installed, ScheduledArray, Scheduler, MARKER};

pub fn run(cmd: &ScheduleCommand, runner: &dyn Runner) -> Result<i32> {
    match cmd {
        ScheduleCommand::Install(args) => install::install(args, runner),
        ScheduleCommand::Remove(t) => install::remove(t, runner),
        ScheduleCommand::Show(t) => show::show(t, runner),
    }
}

/// Where a scheduler's files go, and whether that is the live systemd's unit directory.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub scheduler: Scheduler,
    pub dir: PathBuf,
    pub live: bool,
}

/// The scheduler `install` uses when none is named: systemd when it is PID 1, else cron.
fn default_scheduler() -> Scheduler {
    if systemd_running() {
        Scheduler::Systemd
    } else {
        Scheduler::Cron
    }
}

/// The target directory for `scheduler`, or why there is none. A missing cron dir means cron
/// is not installed: writing a file there would schedule nothing, silently.
pub(crate) fn target(
    scheduler: Scheduler,
    cron: &CronDir,
    host: &HostPaths,
) -> Result<Target, String> {
    match scheduler {
        Scheduler::Cron if cron.cron_dir.is_dir() => Ok(Target {
            scheduler,
            dir: cron.cron_dir.clone(),
            live: false,
        }),
        Scheduler::Cron => Err(format!(
            "{} does not exist: is cron installed? (Debian: apt install cron), or use --scheduler systemd",
            cron.cron_dir.display()
        )),
        Scheduler::Systemd => match host.effective_unit_dir() {
            Some((dir, live)) => Ok(Target { scheduler, dir, live }),
            None => Err("systemd does not run this machine: use --scheduler cron (or --unit-dir DIR to only write the units)".into()),
        },
    }
}

/// The schedulers a remove/show looks at, with their directories (those that resolve).
fn targets(only: Option<Scheduler>, cron: &CronDir, host: &HostPaths) -> Vec<Target> {
    only.map(|s| vec![s])
        .unwrap_or_else(|| vec![Scheduler::Cron, Scheduler::Systemd])
        .into_iter()
        .filter_map(|s| target(s, cron, host).ok())
        .collect()
}

/// lnraid's arrays, from the marked fstab lines. A missing fstab has none.
pub(crate) fn read_arrays(fstab: &Path) -> Result<Vec<ScheduledArray>> {
    let text = match fs::read_to_string(fstab) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", fstab.display())),
    };
    Ok(managed_arrays(&text)
        .with_context(|| format!("parsing {}", fstab.display()))?
        .into_iter()
        .map(|a| ScheduledArray {
            uuid: a.uuid,
            mountpoint: a.mountpoint,
        })
        .collect())
}

/// The files of ours in `t.dir`: a managed name and the marker line. Sorted by path.
pub(crate) fn probe_installed(t: &Target) -> Result<Vec<Installed>> {
    let entries = match fs::read_dir(&t.dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("listing {}", t.dir.display())),
    };
    let mut out = Vec::new();
    for e in entries {
        let e = e.with_context(|| format!("listing {}", t.dir.display()))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if !is_managed_name(t.scheduler, &name) || !e.file_type()?.is_file() {
            continue;
        }
        let path = e.path();
        let content = fs::read_to_string(&path).unwrap_or_default();
        if content.lines().any(|l| l == MARKER) {
            let mode =
                std::os::unix::fs::PermissionsExt::mode(&e.metadata()?.permissions()) & 0o7777;
            out.push(Installed {
                path,
                content,
                mode,
            });
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// The lnraid executable the jobs will run: this one, by its absolute path. Refused when it
/// was replaced or deleted while running (the path would point at nothing or another build).
pub(crate) fn current_exe() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("finding the lnraid executable")?;
    if exe.to_string_lossy().ends_with(" (deleted)") || !exe.is_file() {
        return Err(Refused(vec![format!(
            "the running lnraid ({}) was deleted or replaced: run the installed lnraid again",
            exe.display()
        )])
        .into());
    }
    Ok(exe)
}

/// Stops and disables `timers` whose unit files are still in place (live systemd only).
fn disable_timers(runner: &dyn Runner, timers: &[String]) -> Result<()> {
    if !timers.is_empty() {
        runner.run_ok(
            &Cmd::mutating("systemctl", ["disable", "--now"])
                .args_from(timers.iter().map(String::as_str)),
        )?;
    }
    Ok(())
}

fn daemon_reload(runner: &dyn Runner) -> Result<()> {
    runner.run_ok(&Cmd::mutating("systemctl", ["daemon-reload"]))?;
    Ok(())
}

/// Removes one of our files (installed, `.bak` or temp).
fn remove_ours(path: &Path) -> Result<bool> {
    remove_file_synced(path)
}

fn say(s: &str) {
    println!("{}", display(s));
}

/// `s` for the terminal: verbatim when it holds nothing a terminal would act on, so the dry
/// run shows the files' exact bytes (`\%` in a cron line, `\x20` in a unit name); else
/// sanitized (which also doubles backslashes).
fn display(s: &str) -> String {
    let sanitized = crate::ui::sanitize_multiline(s);
    if sanitized == s.replace('\\', "\\\\") {
        s.to_string()
    } else {
        sanitized
    }
}
