//! `lnraid maintain scrub|balance`: what the schedule runs, done safely.
//!
//! Before running: hold lnraid's per-filesystem lock and btrfsmaintenance's
//! (`/run/btrfs-maintenance-running.<FSUUID>`), waiting a bounded time, so no two
//! maintenance jobs ever overlap; then skip (and alert) when the array is not mounted,
//! degraded, missing a device, or busy with another exclusive operation — a scrub on a
//! degraded mount aborts, and a balance there writes more unprotected `single` chunks. Every
//! run is recorded in the state dir. Exit codes follow `status`: 0 ok, 1 warning (errors
//! corrected, or skipped because busy), 2 critical (uncorrectable errors, or skipped because
//! degraded/unmounted), 3 unknown (the job failed to run).
//!
//! The job itself is a [`Plan`] (src/plan/maintain.rs) walked by the one executor; the dry
//! run prints that very plan. This module decides whether it runs and judges its outcome; it
//! starts no command itself.

mod balance;
mod md;
mod scrub;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::alert::{self, Event, EVENT_VERSION};
use crate::cli::{MaintainArgs, MaintainJob};
use crate::exec::Runner;
use crate::host::{btrfsmaintenance_lock_name, Lock};
use crate::plan::maintain::{plan_balance, plan_scrub, Locks};
use crate::plan::{render_plan, Plan};
use crate::probe::btrfs::balance::BalanceState;
use crate::probe::btrfs::scrub::ScrubState;
use crate::records::{now_unix, write_record, Job, JobRecord, Outcome};
use crate::status::gather::{gather, targets, Target};
use crate::status::{ArrayFacts, Severity};
use crate::types::{Bytes, FsUuid};
use crate::walk::{walk, Journal, RealMachine, Walker};

/// What one run came to.
pub(crate) struct RunResult {
    pub outcome: Outcome,
    pub detail: String,
    pub counts: std::collections::BTreeMap<String, u64>,
    /// Devices to name in the alert.
    pub devices: Vec<String>,
}

pub fn run(args: &MaintainArgs, runner: &dyn Runner) -> Result<i32> {
    let ctx = super::status::ctx_from(&args.host, None);
    let list = targets(&ctx, args.mountpoint.as_deref())?;
    if list.is_empty() {
        return Err(super::Refused(vec![
            "no lnraid array in the fstab; name a mountpoint".into()
        ])
        .into());
    }
    let mut worst = Severity::Ok;
    for t in &list {
        worst = Severity::worst(worst, run_one(args, runner, t)?);
    }
    Ok(worst.exit_code())
}

fn job(args: &MaintainArgs) -> Job {
    match args.job {
        MaintainJob::Scrub => Job::Scrub,
        MaintainJob::Balance => Job::Balance,
    }
}

fn run_one(args: &MaintainArgs, runner: &dyn Runner, t: &Target) -> Result<Severity> {
    let ctx = super::status::ctx_from(&args.host, None);
    // The backend holding the array decides the job (the one match is in backend::).
    if let crate::backend::Located::Md { device, fs_uuid } = crate::backend::locate(runner, &ctx, t)
    {
        let dev = device.ok_or_else(|| {
            anyhow::anyhow!(
                "the md array holding {} is not assembled",
                t.mountpoint.display()
            )
        })?;
        let uuid = fs_uuid
            .ok_or_else(|| anyhow::anyhow!("no filesystem UUID for {}", t.mountpoint.display()))?;
        return md::run(args, runner, &dev, uuid, t.mountpoint.clone());
    }
    let facts = gather(runner, &ctx, t);
    let Some(uuid) = facts.uuid.clone() else {
        anyhow::bail!(
            "cannot tell which filesystem is at {}: {}",
            t.mountpoint.display(),
            facts.errors.join("; ")
        );
    };
    let r = JobRun {
        args,
        runner,
        uuid,
        job: job(args),
        mountpoint: t.mountpoint.clone(),
    };
    if args.dry_run {
        return dry_run(&r, &facts);
    }
    let wait = Duration::from_secs(args.wait);
    let waited_from = now_unix();
    let lock_name = format!("lnraid-maintain.{}.lock", r.uuid);
    let Some(_ours) = Lock::acquire_within(&args.host.lock_dir, &lock_name, wait)? else {
        return r.skip(
            waited_from,
            Severity::Warning,
            "another lnraid maintenance job held the lock too long".into(),
        );
    };
    let bm_lock = btrfsmaintenance_lock_name(&r.uuid);
    let Some(_theirs) = Lock::acquire_within(&args.btrfsmaintenance_lock_dir, &bm_lock, wait)?
    else {
        return r.skip(
            waited_from,
            Severity::Warning,
            "a btrfsmaintenance job held its lock too long".into(),
        );
    };
    // Re-probe under the locks: the job we waited for may have changed things. The run
    // starts now, so records of two jobs never overlap in time.
    let started = now_unix();
    let facts = gather(runner, &ctx, t);
    if let Some((sev, why)) = unsafe_to_run(&facts, r.job) {
        return r.skip(started, sev, why);
    }
    let mp = facts
        .mounted_at
        .clone()
        .unwrap_or_else(|| t.mountpoint.clone());
    let result = job_plan(&r, &facts, &mp).and_then(|plan| match r.job {
        Job::Scrub => scrub::run(runner, &plan, &mp),
        Job::Balance => balance::run(runner, &plan),
    });
    let result = result.unwrap_or_else(|e| RunResult {
        outcome: Outcome::Failed,
        detail: format!("{e:#}"),
        counts: Default::default(),
        devices: vec![],
    });
    r.finish(started, result, mp)
}

/// `--dry-run`: the safety checks and the plan, with no lock taken, nothing run and nothing
/// recorded.
fn dry_run(r: &JobRun, facts: &ArrayFacts) -> Result<Severity> {
    let mp = facts
        .mounted_at
        .clone()
        .unwrap_or_else(|| r.mountpoint.clone());
    if let Some((sev, why)) = unsafe_to_run(facts, r.job) {
        println!(
            "lnraid maintain {} of {} ({})",
            r.job.name(),
            mp.display(),
            r.uuid
        );
        println!(
            "  would SKIP ({}): {}",
            sev.word(),
            crate::ui::sanitize(&why)
        );
        println!("\n(dry run: nothing was changed)");
        return Ok(sev);
    }
    let plan = job_plan(r, facts, &mp)?;
    print!("{}", crate::ui::sanitize_multiline(&render_plan(&plan)));
    println!("\n(dry run: nothing was changed)");
    Ok(Severity::Ok)
}

/// The plan of one job on one array: what the dry run prints and the very value walked.
fn job_plan(r: &JobRun, f: &ArrayFacts, mp: &Path) -> Result<Plan> {
    let locks = Locks {
        ours: r
            .args
            .host
            .lock_dir
            .join(format!("lnraid-maintain.{}.lock", r.uuid)),
        btrfsmaintenance: r
            .args
            .btrfsmaintenance_lock_dir
            .join(btrfsmaintenance_lock_name(&r.uuid)),
    };
    Ok(match r.job {
        Job::Scrub => {
            let limit = r
                .args
                .limit
                .as_deref()
                .map(|l| {
                    Bytes::parse_human(l)
                        .map(|b| b.0)
                        .with_context(|| format!("--limit {l:?} is not a size"))
                })
                .transpose()?;
            plan_scrub(mp, &r.uuid, limit, scrub::estimate_bytes(f), &locks)
        }
        Job::Balance => plan_balance(mp, &r.uuid, r.args.recipe, &locks),
    })
}

/// Walks a maintenance plan in memory (the job's record in the state dir is its state: a
/// scheduled job that was interrupted simply runs again). Returns the journal (the long
/// command's output) and the error, stripped of the walk's step context.
pub(crate) fn walk_plan(runner: &dyn Runner, plan: &Plan) -> (Journal<()>, Option<String>) {
    let mut j = Journal::new(None, (), plan.clone());
    let w = Walker::new(runner, &RealMachine);
    let err = walk(&w, &mut j, plan, &|_, _| String::new())
        .err()
        .map(|e| {
            let parts: Vec<String> = e.chain().skip(2).map(ToString::to_string).collect();
            if parts.is_empty() {
                format!("{e:#}")
            } else {
                parts.join(": ")
            }
        });
    (j, err)
}

/// Why the job must not run now, with the severity of skipping it.
fn unsafe_to_run(f: &ArrayFacts, job: Job) -> Option<(Severity, String)> {
    if f.mounted_at.is_none() {
        return Some((Severity::Critical, "the array is not mounted".into()));
    }
    let missing = f
        .show
        .as_ref()
        .map(|s| s.missing_devids())
        .unwrap_or_default();
    if !missing.is_empty() || f.show.as_ref().is_some_and(|s| s.some_missing) {
        return Some((
            Severity::Critical,
            format!(
                "{} missing: the array is degraded ({} would {})",
                crate::status::export::devid_list(&missing),
                job.name(),
                harm(job)
            ),
        ));
    }
    if f.mount_options
        .as_deref()
        .is_some_and(|o| o.split(',').any(|x| x == "degraded"))
    {
        return Some((
            Severity::Critical,
            format!("mounted degraded ({} would {})", job.name(), harm(job)),
        ));
    }
    if f.show.is_none() {
        return Some((
            Severity::Unknown,
            format!("cannot read the array's members: {}", f.errors.join("; ")),
        ));
    }
    if f.balance.as_ref().is_some_and(BalanceState::is_active) {
        return Some((Severity::Warning, "a balance is running or paused".into()));
    }
    if f.replace.as_ref().is_some_and(|r| r.is_running()) {
        return Some((Severity::Warning, "a device replacement is running".into()));
    }
    if f.scrub
        .as_ref()
        .is_some_and(|s| s.state == ScrubState::Running)
    {
        return Some((Severity::Warning, "a scrub is running".into()));
    }
    None
}

fn harm(job: Job) -> &'static str {
    match job {
        Job::Scrub => "abort on a degraded mount",
        Job::Balance => "write more unmirrored `single` chunks",
    }
}

/// One job on one array: records its outcome and raises its alert.
struct JobRun<'a> {
    args: &'a MaintainArgs,
    runner: &'a dyn Runner,
    uuid: FsUuid,
    job: Job,
    mountpoint: PathBuf,
}

impl JobRun<'_> {
    fn skip(&self, started: u64, sev: Severity, why: String) -> Result<Severity> {
        tracing::warn!(
            "{} of {} skipped: {}",
            self.job.name(),
            self.mountpoint.display(),
            crate::ui::sanitize(&why)
        );
        let outcome = RunResult {
            outcome: Outcome::Skipped,
            detail: why,
            counts: Default::default(),
            devices: vec![],
        };
        let rec = self.record(started, &outcome, self.mountpoint.clone())?;
        self.alert(
            "maintenance_skipped",
            sev,
            format!("skipped: {}", outcome.detail),
            outcome.devices,
            &rec,
        );
        Ok(sev)
    }

    fn finish(&self, started: u64, r: RunResult, mp: PathBuf) -> Result<Severity> {
        let rec = self.record(started, &r, mp.clone())?;
        let (sev, kind) = match r.outcome {
            Outcome::Ok => (Severity::Ok, ""),
            Outcome::Corrected => (Severity::Warning, "scrub_errors"),
            Outcome::Uncorrectable => (Severity::Critical, "scrub_errors"),
            Outcome::Skipped => (Severity::Warning, "maintenance_skipped"),
            Outcome::Failed => (Severity::Unknown, "maintenance_failed"),
        };
        println!(
            "{} of {}: {}",
            self.job.name(),
            mp.display(),
            crate::ui::sanitize(&r.detail)
        );
        if sev != Severity::Ok {
            self.alert(kind, sev, r.detail.clone(), r.devices, &rec);
        }
        Ok(sev)
    }

    fn record(&self, started: u64, r: &RunResult, mountpoint: PathBuf) -> Result<JobRecord> {
        let rec = JobRecord {
            job: self.job,
            fs_uuid: self.uuid.clone(),
            mountpoint,
            started,
            finished: now_unix(),
            outcome: r.outcome,
            detail: r.detail.clone(),
            counts: r.counts.clone(),
        };
        write_record(&self.args.host.state_dir, &rec)?;
        Ok(rec)
    }

    fn alert(
        &self,
        kind: &'static str,
        severity: Severity,
        what: String,
        devices: Vec<String>,
        rec: &JobRecord,
    ) {
        let ev = Event {
            version: EVENT_VERSION,
            time: now_unix(),
            host: alert::hostname(),
            source: "maintain",
            kind,
            severity,
            fs_uuid: Some(self.uuid.to_string()),
            mountpoint: self.mountpoint.clone(),
            summary: format!(
                "lnraid: {} of {}: {what}",
                self.job.name(),
                self.mountpoint.display()
            ),
            devices,
            problems: vec![],
            details: serde_json::to_value(rec).unwrap_or_default(),
        };
        match crate::app::schedule::secret::alert_command(
            self.args.alert_command.as_deref(),
            self.args.alert_command_file.as_deref(),
        ) {
            Ok(cmd) => {
                alert::send(self.runner, cmd.as_deref(), &ev);
            }
            Err(e) => tracing::error!("the alert could not be sent: {e:#}"),
        }
    }
}
