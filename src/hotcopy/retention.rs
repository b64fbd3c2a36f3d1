//! Which snapshots (or backups) to keep, like btrbk and snapper: the newest verified copy in
//! each of the last N hours, days and ISO weeks that have one (UTC). Pure.
//!
//! Invariants: the newest verified copy is always kept, whatever the policy says (a policy of
//! all zeros must not leave the operator with nothing); a copy that failed verification never
//! fills a bucket (it is not a copy one could restore), so prune removes it unless it is newer
//! than every verified one (then it is evidence of a current problem, and kept for a look).

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde::Serialize;

/// `--keep-hourly/--keep-daily/--keep-weekly`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Policy {
    /// The N newest verified copies, whatever their times (btrbk's `preserve_min latest`).
    pub last: usize,
    pub hourly: usize,
    pub daily: usize,
    pub weekly: usize,
}

impl Default for Policy {
    /// snapper's timeline defaults, scaled to a node: two days of hours, two weeks of days,
    /// two months of weeks.
    fn default() -> Self {
        Policy {
            last: 3,
            hourly: 48,
            daily: 14,
            weekly: 8,
        }
    }
}

/// One copy as retention sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub name: String,
    pub time: Timestamp,
    pub verified: bool,
}

/// Why a copy is kept (the first reason that applies), or `None`: delete it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Keep {
    NewestVerified,
    NewerThanVerified,
    Last,
    Hourly,
    Daily,
    Weekly,
}

impl Keep {
    pub fn describe(self) -> &'static str {
        match self {
            Keep::NewestVerified => "the newest verified copy (never deleted)",
            Keep::NewerThanVerified => "newer than every verified copy (kept for a look)",
            Keep::Last => "one of the newest (--keep-last)",
            Keep::Hourly => "hourly",
            Keep::Daily => "daily",
            Keep::Weekly => "weekly",
        }
    }
}

fn bucket(t: Timestamp, kind: Keep) -> (i16, i16, i8) {
    let z = t.to_zoned_datetime(jiff::tz::TimeZone::UTC);
    match kind {
        Keep::Hourly => (z.year(), z.day_of_year(), z.hour()),
        Keep::Daily => (z.year(), z.day_of_year(), 0),
        _ => {
            let w = z.date().iso_week_date();
            (w.year(), w.week() as i16, 0)
        }
    }
}

/// The decision for each candidate, in the order given.
pub fn plan_retention(cands: &[Candidate], policy: Policy) -> Vec<Option<Keep>> {
    let mut order: Vec<usize> = (0..cands.len()).collect();
    order.sort_by(|&a, &b| cands[b].time.cmp(&cands[a].time)); // newest first
    let mut keep: Vec<Option<Keep>> = vec![None; cands.len()];
    let newest_verified = order.iter().copied().find(|&i| cands[i].verified);
    if let Some(nv) = newest_verified {
        keep[nv] = Some(Keep::NewestVerified);
    }
    for &i in &order {
        let newer = newest_verified.is_none_or(|nv| cands[i].time > cands[nv].time);
        if !cands[i].verified && newer {
            keep[i] = Some(Keep::NewerThanVerified);
        }
    }
    for &i in order
        .iter()
        .filter(|&&i| cands[i].verified)
        .take(policy.last)
    {
        keep[i] = keep[i].or(Some(Keep::Last));
    }
    for (kind, n) in [
        (Keep::Hourly, policy.hourly),
        (Keep::Daily, policy.daily),
        (Keep::Weekly, policy.weekly),
    ] {
        let mut seen = BTreeSet::new();
        for &i in order.iter().filter(|&&i| cands[i].verified) {
            let b = bucket(cands[i].time, kind);
            if seen.contains(&b) {
                continue;
            }
            if seen.len() == n {
                break;
            }
            seen.insert(b);
            keep[i] = keep[i].or(Some(kind));
        }
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(name: &str, verified: bool) -> Candidate {
        Candidate {
            name: name.into(),
            time: name.parse().unwrap(),
            verified,
        }
    }

    fn kept(cands: &[Candidate], p: Policy) -> Vec<&str> {
        plan_retention(cands, p)
            .iter()
            .zip(cands)
            .filter(|(k, _)| k.is_some())
            .map(|(_, c)| c.name.as_str())
            .collect()
    }

    #[test]
    fn hourly_keeps_newest_in_each_of_the_last_hours() {
        let cands = [
            c("2026-12-01T10:05:00Z", true),
            c("2026-12-01T10:45:00Z", true),
            c("2026-12-01T11:15:00Z", true),
            c("2026-12-01T12:01:00Z", true),
            c("2026-12-01T12:30:00Z", true),
        ];
        let p = Policy {
            last: 0,
            hourly: 2,
            daily: 0,
            weekly: 0,
        };
        assert_eq!(
            kept(&cands, p),
            ["2026-12-01T11:15:00Z", "2026-12-01T12:30:00Z"]
        );
    }

    #[test]
    fn daily_and_weekly_buckets() {
        let cands = [
            c("2026-11-16T09:00:00Z", true), // Mon, ISO week 47
            c("2026-11-22T09:00:00Z", true), // Sun, week 47
            c("2026-11-23T09:00:00Z", true), // Mon, week 48
            c("2026-11-30T08:00:00Z", true), // Mon, week 49
            c("2026-11-30T20:00:00Z", true), // same day
        ];
        let p = Policy {
            last: 0,
            hourly: 0,
            daily: 1,
            weekly: 3,
        };
        assert_eq!(
            kept(&cands, p),
            [
                "2026-11-22T09:00:00Z",
                "2026-11-23T09:00:00Z",
                "2026-11-30T20:00:00Z"
            ]
        );
    }

    #[test]
    fn never_deletes_the_newest_verified_and_skips_failed_ones() {
        let cands = [
            c("2026-12-01T10:00:00Z", true),
            c("2026-12-01T11:00:00Z", false),
            c("2026-12-01T12:00:00Z", false),
        ];
        let zero = Policy {
            last: 0,
            hourly: 0,
            daily: 0,
            weekly: 0,
        };
        let d = plan_retention(&cands, zero);
        assert_eq!(d[0], Some(Keep::NewestVerified));
        assert_eq!(d[1], Some(Keep::NewerThanVerified));
        assert_eq!(d[2], Some(Keep::NewerThanVerified));
        // A failed one older than a verified one goes, even when its hour is free.
        let cands = [
            c("2026-12-01T09:00:00Z", false),
            c("2026-12-01T10:00:00Z", true),
        ];
        let p = Policy {
            last: 0,
            hourly: 5,
            daily: 0,
            weekly: 0,
        };
        assert_eq!(kept(&cands, p), ["2026-12-01T10:00:00Z"]);
    }

    #[test]
    fn keep_last_keeps_the_newest_verified_whatever_their_hour() {
        let cands = [
            c("2026-12-01T10:01:00Z", true),
            c("2026-12-01T10:02:00Z", true),
            c("2026-12-01T10:03:00Z", false),
            c("2026-12-01T10:04:00Z", true),
        ];
        let p = Policy {
            last: 2,
            hourly: 1,
            daily: 0,
            weekly: 0,
        };
        assert_eq!(
            kept(&cands, p),
            ["2026-12-01T10:02:00Z", "2026-12-01T10:04:00Z"]
        );
    }
}
