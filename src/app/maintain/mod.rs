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

mod balance;
mod md;
mod scrub;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;

use crate::alert::{self, Event, EVENT_VERSION};
use crate::cli::{MaintainArgs, MaintainJob};
use crate::exec::Runner;
use crate::host::{btrfsmaintenance_lock_name, Lock};
use crate::probe::btrfs::balance::BalanceState;
use crate::probe::btrfs::scrub::ScrubState;
use crate::records::{now_unix, write_record, Job, JobRecord, Outcome};
use crate::status::gather::{gather, targets, Target};
use crate::status::{ArrayFacts, Severity};
use crate::types::FsUuid;

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
    let result = match r.job {
        Job::Scrub => scrub::run(runner, &facts, &mp, args.limit.as_deref()),
        Job::Balance => balance::run(runner, &mp, args.recipe),
    };
    let result = result.unwrap_or_else(|e| RunResult {
        outcome: Outcome::Failed,
        detail: format!("{e:#}"),
        counts: Default::default(),
        devices: vec![],
    });
    r.finish(started, result, mp)
}

/// `--dry-run`: the safety checks and the exact command, with no lock taken, nothing run and
/// nothing recorded.
fn dry_run(r: &JobRun, facts: &ArrayFacts) -> Result<Severity> {
    let mp = facts
        .mounted_at
        .clone()
        .unwrap_or_else(|| r.mountpoint.clone());
    println!(
        "lnraid maintain {} of {} ({})",
        r.job.name(),
        mp.display(),
        r.uuid
    );
    println!(
        "  would take the locks {}/lnraid-maintain.{}.lock and {}/{}",
        r.args.host.lock_dir.display(),
        r.uuid,
        r.args.btrfsmaintenance_lock_dir.display(),
        btrfsmaintenance_lock_name(&r.uuid)
    );
    if let Some((sev, why)) = unsafe_to_run(facts, r.job) {
        println!(
            "  would SKIP ({}): {}",
            sev.word(),
            crate::ui::sanitize(&why)
        );
        println!("\n(dry run: nothing was changed)");
        return Ok(sev);
    }
    if let (Job::Scrub, Some(l)) = (r.job, &r.args.limit) {
        println!(
            "  would set /sys/fs/btrfs/{}/devinfo/*/scrub_speed_max to {l}/s, restored afterwards",
            r.uuid
        );
    }
    let cmd = match r.job {
        Job::Scrub => scrub::scrub_cmd(&mp),
        Job::Balance => balance::balance_cmd(&mp, r.args.recipe),
    };
    println!("  $ {}", crate::ui::sanitize(&cmd.to_string()));
    println!("\n(dry run: nothing was changed)");
    Ok(Severity::Ok)
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
