//! `lnraid snapshot create|list|prune|migrate`: orchestration and output; the mechanics are
//! in `hotcopy::snapshot` and `hotcopy::retention`.

use std::path::Path;

use anyhow::{Context, Result};

use crate::cli_hotcopy::{KeepArgs, NodeLock, SnapshotCommand, SnapshotListArgs};
use crate::exec::Runner;
use crate::hotcopy::jobs::{recorded, HotJob};
use crate::hotcopy::retention::{plan_retention, Candidate, Policy};
use crate::hotcopy::snapshot::{self, age, Layout};
use crate::plan::hotcopy_plans::{plan_prune, plan_snapshot};

pub fn run(cmd: &SnapshotCommand, runner: &dyn Runner) -> Result<i32> {
    match cmd {
        SnapshotCommand::Create(a) if a.dry_run => {
            let layout = Layout::for_dir(&a.node.lightning_dir)?;
            let n = &a.node;
            let plan = plan_snapshot(&layout.home, &layout.dir, n.lock_wait_ms, n.lock_cap_ms);
            super::hot_walk::print_plan(&plan);
            Ok(super::exit::OK)
        }
        SnapshotCommand::Create(a) => {
            let rec = a.record.record_job.then_some({
                (
                    a.record.state_dir.as_path(),
                    HotJob::Snapshot,
                    a.node.lightning_dir.as_path(),
                    None,
                )
            });
            recorded(rec, || {
                let (code, name) = create(&a.node, a.json, runner)?;
                if code != super::exit::OK {
                    anyhow::bail!("snapshot {name} failed its verification");
                }
                if a.prune {
                    prune_now(&a.node.lightning_dir, &a.keep, false, runner)?;
                }
                Ok((code, format!("snapshot {name}, verified")))
            })
        }
        SnapshotCommand::List(a) => list(a),
        SnapshotCommand::Prune(a) => prune_now(&a.lightning_dir, &a.keep, a.dry_run, runner),
        SnapshotCommand::Migrate(a) => super::restore::migrate(a, runner),
    }
}

pub fn policy(k: &KeepArgs) -> Policy {
    Policy {
        last: k.keep_last,
        hourly: k.keep_hourly,
        daily: k.keep_daily,
        weekly: k.keep_weekly,
    }
}

fn create(node: &NodeLock, json: bool, runner: &dyn Runner) -> Result<(i32, String)> {
    let layout = Layout::for_dir(&node.lightning_dir)?;
    if !snapshot::is_subvolume(&layout.home)? {
        anyhow::bail!(snapshot::not_subvolume_help(&layout.home));
    }
    let plan = plan_snapshot(
        &layout.home,
        &layout.dir,
        node.lock_wait_ms,
        node.lock_cap_ms,
    );
    let before: Vec<String> = snapshot::list(&layout)?
        .into_iter()
        .map(|s| s.name)
        .collect();
    super::hot_walk::run_plan(runner, &plan, "snapshot create")?;
    let new = snapshot::list(&layout)?
        .into_iter()
        .rev()
        .find(|s| !before.contains(&s.name))
        .context("the snapshot step finished but no new snapshot is listed")?;
    let rec = new.record.context("the new snapshot has no record")?;
    if json {
        println!("{}", serde_json::to_string_pretty(&rec)?);
    } else {
        println!(
            "snapshot {}\n  SQLite lock held {:.1} ms (waited {:.1} ms for the node's commit; cap {} ms)\n  verified: {}{}",
            layout.snapshot(&rec.name).display(),
            rec.lock_ms,
            rec.lock_wait_ms,
            node.lock_cap_ms,
            rec.integrity,
            if rec.hot_journal { " (a hot journal was rolled back on the scratch copy)" } else { "" }
        );
    }
    Ok((super::exit::OK, rec.name))
}

fn list(a: &SnapshotListArgs) -> Result<i32> {
    let layout = Layout::for_dir(&a.lightning_dir)?;
    let all = snapshot::list(&layout)?;
    if a.json {
        let doc: Vec<_> = all
            .iter()
            .map(|s| {
                serde_json::json!({
                    "name": s.name, "path": s.path, "age_seconds": jiff::Timestamp::now().as_second() - s.time.as_second(),
                    "verified": s.verified(), "lock_ms": s.record.as_ref().map(|r| r.lock_ms),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "snapshots": doc }))?
        );
        return Ok(super::exit::OK);
    }
    if all.is_empty() {
        println!("no snapshots in {}", layout.dir.display());
    }
    for s in &all {
        let (lock, ver) = match &s.record {
            Some(r) => (
                format!("{:.1} ms", r.lock_ms),
                if r.verified {
                    "verified".to_string()
                } else {
                    format!("FAILED: {}", r.integrity)
                },
            ),
            None => ("-".into(), "no record".into()),
        };
        println!(
            "{}  {:>8} old  lock {:>8}  {}",
            s.name,
            age(s.time),
            lock,
            ver
        );
    }
    Ok(super::exit::OK)
}

fn prune_now(dir: &Path, keep: &KeepArgs, dry_run: bool, runner: &dyn Runner) -> Result<i32> {
    let layout = Layout::for_dir(dir)?;
    let all = snapshot::list(&layout)?;
    let cands: Vec<Candidate> = all
        .iter()
        .map(|s| Candidate {
            name: s.name.clone(),
            time: s.time,
            verified: s.verified(),
        })
        .collect();
    let decisions = plan_retention(&cands, policy(keep));
    let mut delete = Vec::new();
    for (s, d) in all.iter().zip(&decisions) {
        match d {
            Some(k) => println!("keep    {}  ({})", s.name, k.describe()),
            None => delete.push(s.name.clone()),
        }
    }
    let plan = plan_prune(&layout.dir, &delete);
    if dry_run {
        super::hot_walk::print_plan(&plan);
        return Ok(super::exit::OK);
    }
    super::hot_walk::run_plan(runner, &plan, "snapshot prune")?;
    for n in &delete {
        println!("deleted {n}");
    }
    Ok(super::exit::OK)
}
