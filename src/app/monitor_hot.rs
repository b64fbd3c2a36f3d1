//! `monitor`'s hot-copy reasons to alert (issue 11, item 5): a scheduled snapshot or backup
//! job whose newest record failed (once per failed run), and a copy that became stale or is
//! missing although scheduled (once, when it turns so). Pure over the evaluated status and
//! what monitor remembered ([`super::monitor::Seen`]).

use std::collections::BTreeMap;

use super::monitor::Seen;
use crate::status::ArrayStatus;

/// Problem codes that mean "overdue".
const OVERDUE: &[&str] = &[
    "snapshot_stale",
    "snapshot_never",
    "backup_stale",
    "backup_never",
];

/// `finished` of each hot job's newest record.
pub fn jobs_seen(a: &ArrayStatus) -> BTreeMap<String, u64> {
    a.facts
        .hot
        .iter()
        .flat_map(|h| &h.jobs)
        .map(|j| (j.job.name().to_string(), j.finished))
        .collect()
}

/// The overdue codes present now.
pub fn overdue(a: &ArrayStatus) -> Vec<String> {
    a.problems
        .iter()
        .filter(|p| OVERDUE.contains(&p.code))
        .map(|p| p.code.to_string())
        .collect()
}

pub fn reasons(a: &ArrayStatus, seen: Option<&Seen>) -> Vec<String> {
    let mut why = Vec::new();
    for j in a.facts.hot.iter().flat_map(|h| &h.jobs).filter(|j| !j.ok) {
        let known = seen.and_then(|s| s.hot_jobs.get(j.job.name()).copied());
        if known.is_none_or(|f| j.finished > f) {
            why.push(format!("{} job failed: {}", j.job.name(), j.message));
        }
    }
    for p in a.problems.iter().filter(|p| OVERDUE.contains(&p.code)) {
        if !seen.is_some_and(|s| s.hot_overdue.iter().any(|c| c == p.code)) {
            why.push(p.message.clone());
        }
    }
    why
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hotcopy::jobs::{HotJob, HotJobRecord, FORMAT};
    use crate::status::hotcopy::HotFacts;
    use crate::status::{evaluate, ArrayFacts};

    fn status(ok: bool, finished: u64, stale: bool) -> ArrayStatus {
        let now = 10_000_000;
        let f = ArrayFacts {
            hot: Some(HotFacts {
                snapshot_job: true,
                snapshot_stale_after: 7200,
                newest_snapshot: Some((
                    "s".into(),
                    if stale { now - 9000 } else { now - 60 } as i64,
                    true,
                )),
                jobs: vec![HotJobRecord {
                    format: FORMAT.into(),
                    version: 1,
                    job: HotJob::Snapshot,
                    lightning_dir: "/n".into(),
                    dest: None,
                    started: finished - 1,
                    finished,
                    ok,
                    message: "the lock was busy".into(),
                }],
                ..HotFacts::default()
            }),
            ..ArrayFacts::default()
        };
        evaluate(&f, now)
    }

    #[test]
    fn a_failed_run_alerts_once_and_a_new_failure_again() {
        let a = status(false, 100, false);
        let r = reasons(&a, None);
        assert_eq!(r.len(), 1, "{r:?}");
        assert!(r[0].contains("snapshot job failed: the lock was busy"));
        let seen = Seen {
            hot_jobs: jobs_seen(&a),
            ..Seen::default()
        };
        assert!(
            reasons(&a, Some(&seen)).is_empty(),
            "the same run: no second alert"
        );
        assert_eq!(reasons(&status(false, 200, false), Some(&seen)).len(), 1);
        assert!(reasons(&status(true, 300, false), Some(&seen)).is_empty());
    }

    #[test]
    fn becoming_overdue_alerts_once() {
        let a = status(true, 100, true);
        let r = reasons(&a, None);
        assert!(r.len() == 1 && r[0].contains("newest snapshot"), "{r:?}");
        let seen = Seen {
            hot_jobs: jobs_seen(&a),
            hot_overdue: overdue(&a),
            ..Seen::default()
        };
        assert!(reasons(&a, Some(&seen)).is_empty());
    }
}
