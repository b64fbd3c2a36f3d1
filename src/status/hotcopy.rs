//! The hot-copy part of `status`: how old the node's newest snapshot and backup are, whether
//! the scheduled snapshot/backup jobs last succeeded, and the warnings when a copy is stale
//! (issue 11, item 5). Gathering is read-only (directory listings, lnraid's own records and
//! lnraid.toml — never the live database); the rules and the document part are pure.
//!
//! Staleness: twice the scheduled interval (`schedule install --snapshot-every/--backup-every`,
//! in lnraid.toml, `LNRAID_CONFIG`), otherwise 2 days for snapshots and 8 days for backups
//! ([`crate::schedule::hotcopy`]). "never": no copy at all although a job is scheduled.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{p, ArrayFacts, Problem, Severity};
use crate::hotcopy::jobs::{self, HotJob, HotJobRecord};
use crate::schedule::config::{parse_config, CONFIG_PATH};
use crate::schedule::hotcopy::HotJobs;
use crate::time::UtcTime;

/// What status found about the node's hot copies.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HotFacts {
    /// The node's home whose snapshots were listed.
    pub home: Option<PathBuf>,
    pub snapshots: u64,
    /// Newest snapshot: (name, Unix time, verified).
    pub newest_snapshot: Option<(String, i64, bool)>,
    pub snapshot_job: bool,
    pub snapshot_stale_after: u64,
    pub backup_dest: Option<PathBuf>,
    pub backups: u64,
    /// Newest verified backup at DEST: (name, Unix time).
    pub newest_backup: Option<(String, i64)>,
    pub backup_job: bool,
    pub backup_stale_after: u64,
    pub jobs: Vec<HotJobRecord>,
    pub errors: Vec<String>,
}

fn config_path() -> PathBuf {
    std::env::var_os("LNRAID_CONFIG")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(CONFIG_PATH))
}

/// Reads the hot-copy facts for the node at `lightning_dir` (or the one the schedule names).
/// `None` when there is no node to look at and no hot-copy job scheduled.
pub fn gather(state_dir: &Path, lightning_dir: Option<&Path>) -> Option<HotFacts> {
    let mut f = HotFacts::default();
    let (mut sched, mut snap_dir, mut dest) = (HotJobs::default(), None, None);
    match std::fs::read_to_string(config_path()) {
        Ok(t) => match parse_config(&t).map(|c| {
            HotJobs::from_config(c.snapshot.as_ref(), c.backup.as_ref()).unwrap_or_default()
        }) {
            Ok(h) => sched = h,
            Err(e) => f.errors.push(format!("{}: {e}", config_path().display())),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => f.errors.push(format!("{}: {e}", config_path().display())),
    }
    if let Some(s) = &sched.snapshot {
        snap_dir = Some(s.lightning_dir.clone());
    }
    if let Some(b) = &sched.backup {
        dest = Some(b.to.clone());
        snap_dir = snap_dir.or(Some(b.lightning_dir.clone()));
    }
    let dir = lightning_dir.map(Path::to_path_buf).or(snap_dir);
    if dir.is_none() && dest.is_none() {
        return None;
    }
    f.snapshot_job = sched.snapshot.is_some();
    f.backup_job = sched.backup.is_some();
    f.snapshot_stale_after = sched.snapshot_stale_after();
    f.backup_stale_after = sched.backup_stale_after();
    if let Some(d) = &dir {
        snapshots(d, &mut f);
    }
    if let Some(d) = dest {
        backups(&d, &mut f);
        f.backup_dest = Some(d);
    }
    for job in [HotJob::Snapshot, HotJob::Backup] {
        match jobs::read(state_dir, job) {
            Ok(Some(r)) => f.jobs.push(r),
            Ok(None) => {}
            Err(e) => f.errors.push(format!("{e:#}")),
        }
    }
    Some(f)
}

fn snapshots(dir: &Path, f: &mut HotFacts) {
    use crate::hotcopy::snapshot::{list, Layout};
    let Ok(layout) = Layout::for_dir(dir) else {
        return; // the node directory is not there: status says so elsewhere
    };
    match list(&layout) {
        Ok(all) => {
            f.snapshots = all.len() as u64;
            f.newest_snapshot = all
                .last()
                .map(|s| (s.name.clone(), s.time.as_second(), s.verified()));
        }
        Err(e) => f.errors.push(format!("{e:#}")),
    }
    f.home = Some(layout.home);
}

fn backups(dest: &Path, f: &mut HotFacts) {
    match crate::hotcopy::dest::list(dest) {
        Ok(all) => {
            let verified: Vec<_> = all.iter().filter(|b| b.manifest.is_some()).collect();
            f.backups = verified.len() as u64;
            f.newest_backup = verified
                .last()
                .map(|b| (b.name.clone(), b.time.as_second()));
        }
        Err(e) => f.errors.push(format!(
            "the backup DEST {} cannot be read (is it mounted?): {e:#}",
            dest.display()
        )),
    }
}

fn age_words(secs: u64) -> String {
    match secs {
        s if s >= 2 * 86_400 => format!("{} days", s / 86_400),
        s if s >= 7200 => format!("{} hours", s / 3600),
        s => format!("{} minutes", s / 60),
    }
}

/// The problems: stale or missing copies, failed jobs, unreadable facts. All warnings: the
/// RAID still protects the node; a stale copy only weakens the fallback.
pub fn rules(f: &ArrayFacts, now: u64, out: &mut Vec<Problem>) {
    let Some(h) = &f.hot else { return };
    let dir = h
        .home
        .as_ref()
        .map(|d| d.display().to_string())
        .unwrap_or_else(|| "the node".into());
    for e in &h.errors {
        out.push(p(
            Severity::Warning,
            "hot_copy_unreadable",
            e.clone(),
            "check the path and lnraid.toml; `lnraid snapshot list`",
        ));
    }
    match &h.newest_snapshot {
        None if h.snapshot_job => out.push(p(Severity::Warning, "snapshot_never", format!("no snapshot of {dir} exists although a snapshot job is scheduled"), "run `lnraid snapshot create --lightning-dir DIR` and check the job's record (`lnraid status`, jobs)")),
        Some((name, t, _)) if now.saturating_sub(*t as u64) > h.snapshot_stale_after => out.push(p(Severity::Warning, "snapshot_stale", format!("the newest snapshot of {dir} ({name}) is {} old (stale after {})", age_words(now.saturating_sub(*t as u64)), age_words(h.snapshot_stale_after)), "`lnraid snapshot create`, and `lnraid schedule install --snapshot-every 1h --lightning-dir DIR`")),
        Some((name, _, false)) => out.push(p(Severity::Warning, "snapshot_unverified", format!("the newest snapshot of {dir} ({name}) failed its verification"), "take a new one with `lnraid snapshot create`; see `lnraid snapshot list`")),
        _ => {}
    }
    let dest = h
        .backup_dest
        .as_ref()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    match &h.newest_backup {
        None if h.backup_job => out.push(p(
            Severity::Warning,
            "backup_never",
            format!("no verified backup in {dest} although a backup job is scheduled"),
            "run `lnraid backup --to DEST --lightning-dir DIR` and check the job's record",
        )),
        Some((name, t)) if now.saturating_sub(*t as u64) > h.backup_stale_after => out.push(p(
            Severity::Warning,
            "backup_stale",
            format!(
                "the newest backup in {dest} ({name}) is {} old (stale after {})",
                age_words(now.saturating_sub(*t as u64)),
                age_words(h.backup_stale_after)
            ),
            "`lnraid backup --to DEST`; is DEST mounted when the job runs?",
        )),
        _ => {}
    }
    for j in h.jobs.iter().filter(|j| !j.ok) {
        out.push(p(
            Severity::Warning,
            "hot_job_failed",
            format!(
                "the last {} job ({}) failed: {}",
                j.job.name(),
                crate::time::rfc3339(j.finished),
                j.message
            ),
            format!(
                "run it by hand to see why: `lnraid {} --lightning-dir {}`",
                if j.job == HotJob::Snapshot {
                    "snapshot create"
                } else {
                    "backup --to DEST"
                },
                crate::exec::quote_path(&j.lightning_dir)
            ),
        ));
    }
}

/// The document part (`hot_copies` in `status --json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HotCopiesDoc {
    pub lightning_dir: Option<String>,
    pub snapshot: CopyDoc,
    pub backup: CopyDoc,
    pub jobs: Vec<HotJobDoc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Freshness {
    Fresh,
    Stale,
    /// None exists although a job is scheduled.
    Never,
    /// None exists and none is expected.
    None,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyDoc {
    pub count: u64,
    pub newest: Option<String>,
    pub newest_at: Option<UtcTime>,
    pub age_seconds: Option<u64>,
    pub stale_after_seconds: u64,
    pub state: Freshness,
    /// A job is scheduled for it.
    pub scheduled: bool,
    /// The backup DEST (backups only).
    pub dest: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HotJobDoc {
    pub job: String,
    pub ok: bool,
    pub finished_at: UtcTime,
    pub message: String,
}

fn copy_doc(newest: Option<(&str, i64)>, count: u64, stale: u64, job: bool, now: u64) -> CopyDoc {
    let age = newest.map(|(_, t)| now.saturating_sub(t.max(0) as u64));
    CopyDoc {
        count,
        newest: newest.map(|(n, _)| n.to_string()),
        newest_at: newest.map(|(_, t)| UtcTime(t.max(0) as u64)),
        age_seconds: age,
        stale_after_seconds: stale,
        state: match age {
            Some(a) if a > stale => Freshness::Stale,
            Some(_) => Freshness::Fresh,
            None if job => Freshness::Never,
            None => Freshness::None,
        },
        scheduled: job,
        dest: None,
    }
}

pub fn to_doc(h: &HotFacts, now: u64) -> HotCopiesDoc {
    let mut backup = copy_doc(
        h.newest_backup.as_ref().map(|(n, t)| (n.as_str(), *t)),
        h.backups,
        h.backup_stale_after,
        h.backup_job,
        now,
    );
    backup.dest = h.backup_dest.as_ref().map(|d| d.display().to_string());
    HotCopiesDoc {
        lightning_dir: h.home.as_ref().map(|d| d.display().to_string()),
        snapshot: copy_doc(
            h.newest_snapshot.as_ref().map(|(n, t, _)| (n.as_str(), *t)),
            h.snapshots,
            h.snapshot_stale_after,
            h.snapshot_job,
            now,
        ),
        backup,
        jobs: h
            .jobs
            .iter()
            .map(|j| HotJobDoc {
                job: j.job.name().into(),
                ok: j.ok,
                finished_at: UtcTime(j.finished),
                message: j.message.clone(),
            })
            .collect(),
    }
}

/// The human status lines: `snapshots: 3, newest 2026-12-01T20:00:00Z (2 hours old), fresh`.
pub fn render_lines(h: &HotCopiesDoc) -> Vec<String> {
    let one = |what: &str, c: &CopyDoc| {
        let state = match c.state {
            Freshness::Fresh => "fresh",
            Freshness::Stale => "STALE",
            Freshness::Never => "NONE although scheduled",
            Freshness::None => "none",
        };
        let at = c
            .dest
            .as_ref()
            .map(|d| format!(" at {d}"))
            .unwrap_or_default();
        match (&c.newest_at, c.age_seconds) {
            (Some(t), Some(a)) => format!(
                "{what}{at}: {}, newest {t} ({} old), {state}",
                c.count,
                age_words(a)
            ),
            _ => format!("{what}{at}: {state}"),
        }
    };
    let mut out = vec![one("snapshots", &h.snapshot)];
    if h.backup.scheduled || h.backup.count > 0 {
        out.push(one("backups", &h.backup));
    }
    for j in h.jobs.iter().filter(|j| !j.ok) {
        out.push(format!(
            "last {} job FAILED at {}: {}",
            j.job, j.finished_at, j.message
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(h: HotFacts) -> ArrayFacts {
        ArrayFacts {
            hot: Some(h),
            ..ArrayFacts::default()
        }
    }

    fn codes(f: &ArrayFacts, now: u64) -> Vec<&'static str> {
        let mut out = Vec::new();
        rules(f, now, &mut out);
        out.iter().map(|p| p.code).collect()
    }

    #[test]
    fn stale_never_and_failed_jobs_warn_fresh_ones_do_not() {
        let now = 1_000_000;
        let base = HotFacts {
            snapshot_stale_after: 7200,
            backup_stale_after: 8 * 86_400,
            ..HotFacts::default()
        };
        assert!(
            codes(&facts(base.clone()), now).is_empty(),
            "nothing expected, nothing there"
        );
        let never = HotFacts {
            snapshot_job: true,
            backup_job: true,
            ..base.clone()
        };
        assert_eq!(
            codes(&facts(never), now),
            ["snapshot_never", "backup_never"]
        );
        let fresh = HotFacts {
            snapshot_job: true,
            newest_snapshot: Some(("a".into(), (now - 3600) as i64, true)),
            ..base.clone()
        };
        assert!(codes(&facts(fresh.clone()), now).is_empty());
        let stale = HotFacts {
            newest_snapshot: Some(("a".into(), (now - 7201) as i64, true)),
            ..fresh.clone()
        };
        assert_eq!(codes(&facts(stale.clone()), now), ["snapshot_stale"]);
        let d = to_doc(&stale, now);
        assert_eq!(
            (d.snapshot.state, d.snapshot.age_seconds),
            (Freshness::Stale, Some(7201))
        );
        assert_eq!(d.backup.state, Freshness::None);
        let failed = HotFacts {
            jobs: vec![HotJobRecord {
                format: jobs::FORMAT.into(),
                version: 1,
                job: HotJob::Backup,
                lightning_dir: "/n".into(),
                dest: None,
                started: now - 10,
                finished: now - 5,
                ok: false,
                message: "DEST is full".into(),
            }],
            ..fresh
        };
        assert_eq!(codes(&facts(failed), now), ["hot_job_failed"]);
    }
}
