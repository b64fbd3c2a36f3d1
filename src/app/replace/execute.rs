//! Executes a replacement plan step by step, journaled in the state dir so that running
//! `lnraid replace` again continues an interrupted one. The `btrfs replace` step runs on a
//! worker thread while `replace status` drives the progress bar; on resume, a replacement the
//! kernel is still running (or resumed at mount) is waited for, never started twice.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::prepare::ReplaceRequest;
use crate::cli::ReplaceArgs;
use crate::config::atomic::write_atomic_no_backup;
use crate::exec::{Cmd, Runner};
use crate::plan::{Action, Plan, Step};
use crate::policy::{classify_request, PolicyContext};
use crate::probe::btrfs::replace::{
    explain_failure, probe_replace_status, replace_kernel_lines, ReplaceState,
};
use crate::probe::snapshot::{probe_snapshot, resolve_device, ProbeSources};
use crate::ui::progress::{Progress, Unit};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReplaceJournal {
    pub request: ReplaceRequest,
    pub plan: Plan,
    pub completed: Vec<String>,
    pub started: Option<String>,
    #[serde(skip)]
    pub path: PathBuf,
}

fn journal_path(state_dir: &Path) -> PathBuf {
    state_dir.join("replace-journal.json")
}

impl ReplaceJournal {
    pub fn new(state_dir: &Path, request: ReplaceRequest, plan: Plan) -> ReplaceJournal {
        ReplaceJournal {
            request,
            plan,
            completed: vec![],
            started: None,
            path: journal_path(state_dir),
        }
    }

    pub fn load(state_dir: &Path) -> Result<Option<ReplaceJournal>> {
        let path = journal_path(state_dir);
        match std::fs::read_to_string(&path) {
            Ok(t) => {
                let mut j: ReplaceJournal = serde_json::from_str(&t)
                    .with_context(|| format!("{} is damaged", path.display()))?;
                j.path = path;
                Ok(Some(j))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    pub fn save(&self) -> Result<()> {
        if let Some(d) = self.path.parent() {
            std::fs::create_dir_all(d)?;
        }
        write_atomic_no_backup(
            &self.path,
            serde_json::to_string_pretty(self)?.as_bytes(),
            0o600,
        )
    }

    /// Keeps the record under the filesystem UUID and clears the way for the next replace.
    pub fn finish(&self) -> Result<()> {
        let to = self.path.with_file_name(format!(
            "replace-{}-devid{}-done.json",
            self.request.uuid, self.request.old_devid
        ));
        std::fs::rename(&self.path, &to)
            .with_context(|| format!("archiving {}", self.path.display()))?;
        Ok(())
    }
}

pub fn execute(j: &mut ReplaceJournal, runner: &dyn Runner, args: &ReplaceArgs) -> Result<()> {
    let steps = j.plan.steps.clone();
    for (n, step) in steps.iter().enumerate() {
        if j.completed.contains(&step.id) {
            continue;
        }
        let resumed = j.started.as_deref() == Some(step.id.as_str());
        j.started = Some(step.id.clone());
        j.save()?;
        eprintln!("[{}/{}] {}", n + 1, steps.len(), step.describe);
        run_step(step, j, runner, args, resumed).with_context(|| {
            format!(
                "step {} ({}) failed; completed: {}. Fix the cause and run `lnraid replace` again to continue (the journal is {})",
                n + 1,
                step.id,
                if j.completed.is_empty() { "none".into() } else { j.completed.join(", ") },
                j.path.display()
            )
        })?;
        j.completed.push(step.id.clone());
        j.started = None;
        j.save()?;
        crate::app::setup::execute::failpoint(&step.id);
    }
    Ok(())
}

fn run_step(
    step: &Step,
    j: &ReplaceJournal,
    runner: &dyn Runner,
    args: &ReplaceArgs,
    resumed: bool,
) -> Result<()> {
    let mp = j.request.mountpoint.clone();
    if step.id == "replace" {
        if resumed {
            // The kernel may still be running it (or resumed it at mount): never start twice.
            match probe_replace_status(runner, &mp)?.state {
                ReplaceState::Finished => return Ok(()),
                ReplaceState::Running { .. } | ReplaceState::Suspended { .. } => {
                    return wait_for_replace(runner, &mp)
                }
                _ => {}
            }
        } else {
            recheck_new(j, runner, args)?;
        }
    } else if step.is_destructive() && !resumed {
        recheck_new(j, runner, args)?;
    }
    for a in &step.actions {
        let Action::Run { cmd } = a else {
            bail!("internal error: unexpected action in a replace plan")
        };
        if step.id == "mount" && cmd.program == "mount" && is_mounted(&mp)? {
            continue;
        }
        if step.id == "replace" {
            run_replace(runner, cmd, &mp)?;
        } else {
            runner.run_ok(cmd)?;
        }
    }
    Ok(())
}

fn is_mounted(mp: &Path) -> Result<bool> {
    Ok(
        crate::probe::mounts::read_mounts(Path::new(crate::probe::mounts::PID1_MOUNTINFO))?
            .iter()
            .any(|m| m.mountpoint == mp),
    )
}

/// Right before destroying the new device: still the confirmed disk, still eligible.
fn recheck_new(j: &ReplaceJournal, runner: &dyn Runner, args: &ReplaceArgs) -> Result<()> {
    let n = &j.request.new;
    let r = resolve_device(n.path.as_path())?;
    let snap = probe_snapshot(runner, &ProbeSources::default())?;
    let same = snap
        .device_by_num(r.devnum)
        .is_some_and(|b| b.size.0 == n.size && b.model == n.model && b.serial == n.serial);
    if !same {
        bail!(
            "{} is no longer the device that was confirmed; nothing was overwritten",
            n.path
        );
    }
    let v = classify_request(std::slice::from_ref(&r), &snap, &PolicyContext::new(None)).remove(0);
    let blocking: Vec<String> = v
        .refusals
        .iter()
        .filter(|x| !(args.wipe && x.overridable_by_wipe()))
        .map(|x| x.message())
        .collect();
    if !blocking.is_empty() {
        bail!(
            "{} is no longer eligible: {}; nothing was overwritten",
            n.path,
            blocking.join("; ")
        );
    }
    Ok(())
}

fn run_replace(runner: &dyn Runner, cmd: &Cmd, mp: &Path) -> Result<()> {
    let out = std::thread::scope(|s| {
        let worker = s.spawn(|| runner.output(cmd));
        let mut bar = Progress::with_unit("replacing", 10_000, Unit::Percent);
        while !worker.is_finished() {
            std::thread::sleep(Duration::from_millis(500));
            if let Ok(st) = probe_replace_status(runner, mp) {
                if let ReplaceState::Running { percent } = st.state {
                    bar.set(u64::from(percent.0));
                }
            }
        }
        bar.finish();
        worker
            .join()
            .map_err(|_| anyhow::anyhow!("replace worker panicked"))
    })??;
    let st = probe_replace_status(runner, mp)?;
    match st.state {
        ReplaceState::Finished if out.status.success() => Ok(()),
        _ => bail!(
            "`{cmd}` did not finish: {}",
            failure_cause(runner, &out.stderr)
        ),
    }
}

/// The real cause of a replacement that stopped: the kernel's lines (dmesg, read through the
/// runner) and progs' error, never a guess from the status (which says "canceled" for all).
fn failure_cause(runner: &dyn Runner, progs_stderr: &str) -> String {
    let kernel = runner
        .run_ok(&Cmd::read_only("dmesg", std::iter::empty::<&str>()))
        .map(|o| replace_kernel_lines(&o.stdout))
        .unwrap_or_default();
    explain_failure(progs_stderr, &kernel).message()
}

fn wait_for_replace(runner: &dyn Runner, mp: &Path) -> Result<()> {
    eprintln!(
        "  a replacement is already running on {}: waiting for it",
        mp.display()
    );
    loop {
        match probe_replace_status(runner, mp)?.state {
            ReplaceState::Finished => return Ok(()),
            ReplaceState::Canceled => bail!(
                "the running replacement stopped: {}",
                failure_cause(runner, "")
            ),
            _ => std::thread::sleep(Duration::from_secs(2)),
        }
    }
}
