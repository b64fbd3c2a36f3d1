//! `lnraid maintain scrub|check` on an md array: md's integrity check under checkarray's
//! rules (src/backend/md/check.rs), recorded and alerted like a btrfs scrub (the `scrub`
//! record is each backend's integrity check). `balance` has no md counterpart: reported, ok.
//! The check is a plan (src/plan/maintain.rs) walked by the executor, which writes only sysfs
//! attributes of the array (`sync_action`, `sync_speed_max`, restored); the dry run prints it.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::{JobRun, RunResult};
use crate::backend::md::check::{distro_schedule, should_skip, speed_limit_kib, Skip};
use crate::backend::md::probe::{probe_array, read_md_sysfs, resolve};
use crate::backend::md::status::PROC_MDSTAT;
use crate::cli::{MaintainArgs, MaintainJob};
use crate::exec::Runner;
use crate::plan::maintain::plan_md_check;
use crate::plan::render_plan;
use crate::records::{now_unix, Job, Outcome};
use crate::status::Severity;
use crate::types::{DevPath, FsUuid};

fn age_secs(runner: &dyn Runner, dev: &DevPath) -> Option<u64> {
    let snap = probe_array(runner, dev, Path::new("/sys"), Path::new(PROC_MDSTAT));
    let created = snap
        .detail?
        .fields
        .into_iter()
        .find(|(k, _)| k == "Creation Time")?
        .1;
    let t = jiff::fmt::strtime::parse("%a %b %e %H:%M:%S %Y", created.trim()).ok()?;
    let dt = t.to_datetime().ok()?;
    let ts = jiff::tz::TimeZone::system()
        .to_ambiguous_zoned_datetime(dt)
        .compatible()
        .ok()?
        .timestamp();
    Some(now_unix().saturating_sub(ts.as_second().max(0) as u64))
}

/// Runs the check on `dev`; returns the severity, as the btrfs jobs do.
pub fn run(
    args: &MaintainArgs,
    runner: &dyn Runner,
    dev: &DevPath,
    uuid: FsUuid,
    mountpoint: PathBuf,
) -> Result<Severity> {
    if args.job == MaintainJob::Balance {
        println!(
            "balance of {}: md has no balance (nothing to compact); nothing to do",
            mountpoint.display()
        );
        return Ok(Severity::Ok);
    }
    if let Some(s) = distro_schedule(Path::new("/")) {
        println!("note: the distribution already schedules md checks ({s}); lnraid schedule adds none for md");
    }
    let node = resolve(dev.as_path());
    let kname = node
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let md = PathBuf::from("/sys/block").join(&kname).join("md");
    let r = JobRun {
        args,
        runner,
        uuid,
        job: Job::Scrub,
        mountpoint: mountpoint.clone(),
    };
    let started = now_unix();
    let sys = read_md_sysfs(Path::new("/sys"), &kname);
    if let Some(skip) = should_skip(&sys, age_secs(runner, dev), args.force) {
        let sev = match skip {
            Skip::Degraded => Severity::Critical,
            Skip::TooYoung { .. } => Severity::Ok,
            _ => Severity::Warning,
        };
        if sev == Severity::Ok {
            println!(
                "check of {}: skipped: {}",
                mountpoint.display(),
                skip.describe()
            );
            return Ok(sev);
        }
        return r.skip(started, sev, skip.describe());
    }
    let limit = args.limit.as_deref().and_then(speed_limit_kib);
    let plan = plan_md_check(&node.to_string_lossy(), &md, limit, &mountpoint);
    if args.dry_run {
        print!("{}", crate::ui::sanitize_multiline(&render_plan(&plan)));
        println!("\n(dry run: nothing was changed)");
        return Ok(Severity::Ok);
    }
    let result = match super::walk_plan(runner, &plan) {
        (_, Some(e)) => Err(anyhow::anyhow!(e)),
        (_, None) => judge(&md, &node.to_string_lossy()),
    };
    let result = result.unwrap_or_else(|e| RunResult {
        outcome: Outcome::Failed,
        detail: format!("{e:#}"),
        counts: Default::default(),
        devices: vec![],
    });
    r.finish(started, result, mountpoint)
}

/// The check's outcome, read after the walk: `mismatch_cnt`.
fn judge(md: &Path, node: &str) -> Result<RunResult> {
    let mismatch: u64 = fs::read_to_string(md.join("mismatch_cnt"))?
        .trim()
        .parse()
        .context("unreadable mismatch_cnt")?;
    let mut counts = std::collections::BTreeMap::new();
    counts.insert("mismatch_sectors".to_string(), mismatch);
    Ok(if mismatch == 0 {
        RunResult {
            outcome: Outcome::Ok,
            detail: "md check: the mirrors are identical (mismatch_cnt 0)".into(),
            counts,
            devices: vec![],
        }
    } else {
        RunResult {
            outcome: Outcome::Uncorrectable,
            detail: format!("md check: the mirrors differ in {mismatch} sectors; md does not checksum and cannot tell which copy is right, so lnraid repairs nothing (never `repair` blindly): copy the node out with `lnraid recover` and check its database"),
            counts,
            devices: vec![node.to_string()],
        }
    })
}
