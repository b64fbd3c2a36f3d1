//! The one plan executor. Every mutating command builds a [`Plan`] (pure, in `crate::plan`),
//! prints it for the dry run, and hands the very same value to [`walk`]; nothing else in
//! lnraid mutates a device or the node's directory.
//!
//! The safety rules live here, once, driven by the steps' typed fields — never by matching a
//! step id or a program name:
//! - before each step, its [`Check`]s: destructive targets re-proven ([`reprove`]: identity,
//!   confirmed contents, full device policy with `$LIGHTNINGDIR` protected, `O_EXCL`, waiting
//!   for and naming a tool that still holds a device), the source proven unchanged since its
//!   copy and no `lightningd` using it ([`fresh`]), an array copy proven unused before abort
//!   erases it;
//! - the source database locked against commits from the copy until the walk ends;
//! - the journal written before and after every step; a step found half done continues by
//!   its [`Resume`] rule (redo idempotent actions; re-plan a destructive step from what the
//!   devices hold now, never adding force; wait for a kernel operation already running);
//! - the failpoint `LNRAID_FAILPOINT=<step id>` kills the process right after that step.
//!
//! Invariant: the commands run are the plan's [`Plan::commands`] (minus actions found already
//! done), plus read-only probes.

mod apply;
mod apply_hotcopy;
mod apply_md;
mod apply_md_recover;
mod apply_ops;
mod apply_recover;
pub mod fresh;
pub mod journal;
pub mod machine;
pub mod reprove;

#[cfg(test)]
mod tests;

use std::cell::RefCell;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use fresh::{FileProof, SourceLock};
pub use journal::{Journal, JournalState, Ran, JOURNAL_VERSION};
pub use machine::{Machine, RealMachine};

use crate::exec::Runner;
use crate::plan::{Action, Allow, Check, Plan, Resume, Step};

/// The environment variable naming a step after which the process kills itself (tests).
pub const FAILPOINT_ENV: &str = "LNRAID_FAILPOINT";
/// `<step id>:<path>`: after that step, create `<path>` and wait (≤ 120 s) until it is
/// removed — lets a test act at an exact point of a run (e.g. commit during verify).
pub const PAUSEPOINT_ENV: &str = "LNRAID_PAUSEPOINT";

/// What the walk needs: the runner for every command, the machine for read-only facts, and
/// the source lock taken by the copy (held until the walker is dropped).
pub struct Walker<'a> {
    pub runner: &'a dyn Runner,
    pub machine: &'a dyn Machine,
    /// How long a re-check waits for a tool still holding a target before refusing.
    pub busy_wait: Duration,
    lock: RefCell<Option<SourceLock>>,
    #[cfg(test)]
    pub(crate) inject: Option<String>,
}

impl<'a> Walker<'a> {
    pub fn new(runner: &'a dyn Runner, machine: &'a dyn Machine) -> Walker<'a> {
        Walker {
            runner,
            machine,
            busy_wait: reprove::busy_wait(),
            lock: RefCell::new(None),
            #[cfg(test)]
            inject: None,
        }
    }

    /// Whether the source database is locked by this walk (tests).
    pub fn holds_source_lock(&self) -> bool {
        self.lock.borrow().is_some()
    }
}

/// Walks `plan` (the journal's plan, or [`resume_plan`] of it), recording each step in `j`.
/// On failure the journal names the failed step and the error carries `report(j, step)`:
/// where things stand and the one command to run next.
pub fn walk<R: Serialize + DeserializeOwned>(
    w: &Walker,
    j: &mut Journal<R>,
    plan: &Plan,
    report: &dyn Fn(&Journal<R>, &Step) -> String,
) -> Result<()> {
    let total = plan.steps.len();
    for (n, step) in plan.steps.iter().enumerate() {
        if j.is_completed(&step.id) {
            continue;
        }
        let resumed = j.touched(&step.id);
        j.started = Some(step.id.clone());
        j.save()?;
        tracing::info!("[{}/{}] {}", n + 1, total, step.describe);
        if let Err(e) = run_step(w, j, plan, step, resumed) {
            j.started = None;
            j.failed = Some(step.id.clone());
            j.save()?;
            let e = e.context(format!("step {} ({}) failed", n + 1, step.id));
            return Err(e.context(report(j, step)));
        }
        j.completed.push(step.id.clone());
        j.started = None;
        j.failed = None;
        j.save()?;
        failpoint(&step.id);
        pausepoint(&step.id);
    }
    Ok(())
}

fn run_step<R: Serialize + DeserializeOwned>(
    w: &Walker,
    j: &mut Journal<R>,
    plan: &Plan,
    step: &Step,
    resumed: bool,
) -> Result<()> {
    if resumed && step.resume == Resume::AwaitKernel && apply::kernel_op_settled(w, step)? {
        return Ok(());
    }
    if resumed && step.resume == Resume::SkipIfDone && step.actions.iter().all(apply::is_done) {
        return Ok(());
    }
    for c in &step.checks {
        check(w, j, plan, c)?;
    }
    #[cfg(test)]
    if w.inject.as_deref() == Some(step.id.as_str()) {
        anyhow::bail!("injected failure at step {}", step.id);
    }
    for a in &step.actions {
        apply::apply(w, j, plan, a)?;
    }
    Ok(())
}

fn check<R>(w: &Walker, j: &Journal<R>, plan: &Plan, c: &Check) -> Result<()> {
    match c {
        Check::Targets { devices, allow } => reprove::reprove(w, plan, devices, *allow),
        Check::NodeStopped { dir } => node_stopped(w, dir),
        Check::SourceUnchanged { dir } => {
            node_stopped(w, dir)?;
            let db = dir.join(fresh::DATABASE);
            if db.is_file() && w.lock.borrow().is_none() {
                *w.lock.borrow_mut() = Some(SourceLock::acquire(&db)?);
            }
            let then = j
                .source
                .as_ref()
                .context("the journal holds no record of the source as copied; run --abort")?;
            fresh::require_unchanged(
                "the node's directory",
                dir,
                then,
                "The node (or something else) wrote to the original after it was copied. Your node's \
                 directory is intact. Make sure lightningd is stopped, then run `lnraid setup --abort` \
                 and start setup again, so the copy is made from the latest state.",
            )
        }
        Check::CopyUnchanged { dir } => {
            let Some(then) = &j.copy else {
                return Ok(()); // never verified: the node was never pointed at it
            };
            if !dir.is_dir() {
                anyhow::bail!(
                    "{} is not there (is the array mounted?): lnraid cannot prove the node did not run on the array copy, so it erases nothing",
                    dir.display()
                );
            }
            fresh::require_unchanged(
                "the array copy",
                dir,
                then,
                "The node has run on the array since setup: the array, not the original, holds the latest \
                 state. Nothing was erased. Do not abort; run `lnraid setup --resume` to finish setup.",
            )
        }
    }
}

fn node_stopped(w: &Walker, dir: &std::path::Path) -> Result<()> {
    let users = w.machine.node_users(dir);
    if users.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = users
        .iter()
        .map(|p| {
            format!(
                "{} (pid {}) uses {}: {}",
                p.name,
                p.pid,
                dir.display(),
                p.why
            )
        })
        .collect();
    anyhow::bail!(
        "lightningd is running: {}. Nothing was published or erased; stop the node, then run this again",
        list.join("; ")
    )
}

/// The plan a resume walks (and its dry run prints): the steps not completed; a step found
/// half done or failed whose rule is [`Resume::Replan`] first forgets and wipes lnraid's own
/// half-made filesystem from its targets (each re-proven), then runs exactly as confirmed.
pub fn resume_plan<R>(j: &Journal<R>) -> Plan {
    let mut plan = j.plan.clone();
    plan.title = format!("Resuming: {}", j.plan.title);
    plan.steps.retain(|s| !j.is_completed(&s.id));
    for s in &mut plan.steps {
        if !(j.touched(&s.id) && s.resume == Resume::Replan) {
            continue;
        }
        let Some(own) = plan.own_fs.clone() else {
            continue;
        };
        let devices: Vec<_> = s
            .checks
            .iter()
            .filter_map(|c| match c {
                Check::Targets {
                    devices,
                    allow: Allow::Confirmed,
                } => Some(devices.clone()),
                _ => None,
            })
            .flatten()
            .collect();
        let mut pre = vec![Action::Try {
            cmd: crate::exec::Cmd::mutating("btrfs", ["device", "scan", "--forget"]).args_from(
                devices
                    .iter()
                    .map(|d| d.as_path().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .iter()
                    .map(String::as_str),
            ),
        }];
        pre.extend(devices.iter().map(|d| Action::WipeOwn {
            device: d.clone(),
            fs_uuid: own.clone(),
            strict: false,
        }));
        pre.append(&mut s.actions);
        s.actions = pre;
        s.describe = format!(
            "{} (re-planned: first remove lnraid's own half-made filesystem {own}, if a device carries it)",
            s.describe
        );
    }
    plan
}

/// Kills the process when `LNRAID_FAILPOINT` names `id` (after each step; recover also names
/// `recover-copied`, between its copy and its publication).
pub(crate) fn failpoint(id: &str) {
    if std::env::var(FAILPOINT_ENV).is_ok_and(|v| v == id) {
        tracing::warn!("failpoint {FAILPOINT_ENV}={id}: killing the process after this step");
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }
}

fn pausepoint(id: &str) {
    let Ok(v) = std::env::var(PAUSEPOINT_ENV) else {
        return;
    };
    let Some((step, path)) = v.split_once(':') else {
        return;
    };
    if step != id {
        return;
    }
    let path = std::path::Path::new(path);
    let _ = std::fs::write(path, id);
    let deadline = Instant::now() + Duration::from_secs(120);
    while path.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
}
