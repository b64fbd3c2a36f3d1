//! Filesystem redundancy through lnraid itself: the data directory on an lnraid array and the
//! array healthy (the verdict `lnraid status` computes: doctor calls its gather/evaluate, it
//! does not re-derive health), the directory a btrfs subvolume (so snapshots can be taken),
//! no `chattr +C` on the database (nodatacow disables the checksums RAID-1 repairs with),
//! maintenance scheduled with a recorded last result, an alert command configured and seen
//! delivered. Pure over the facts the app gathers.

use std::path::Path;

use super::sources::{
    GUIDE_FILE_BACKUPS, GUIDE_FS_REDUNDANCY, LNRAID_NOCOW, LNRAID_SCHEDULE, LNRAID_STATUS,
};
use super::{Finding, Severity, Strategy};
use crate::records::JobRecord;
use crate::status::{ArrayStatus, Severity as StatusSeverity};

/// What the app found about lnraid's own layer.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// The array holding `$LIGHTNINGDIR`, if any.
    pub array: Option<ArrayStatus>,
    /// Could the arrays be listed at all.
    pub error: Option<String>,
    /// `$LIGHTNINGDIR` is the root of a btrfs subvolume.
    pub subvolume: Option<bool>,
    /// `chattr +C` on the database.
    pub nocow: Option<bool>,
    /// lnraid's scrub job is installed (cron or systemd) for the array.
    pub scheduled: bool,
    /// An `--alert-command` appears in the installed jobs.
    pub alert_configured: bool,
    /// Unix time monitor last delivered an alert for the array (0: never).
    pub last_alert: u64,
    /// `lnraid snapshot`s of the directory: (count, age of the newest in seconds).
    pub snapshots: Option<(usize, u64)>,
}

/// A snapshot older than this is stale (the hotcopy schedule takes them at least daily).
pub const SNAPSHOT_MAX_AGE_SECS: u64 = 2 * 86_400;

/// `lnraid snapshot`'s snapshots of `dir`: `<parent>/.lnraid-snapshots/<name>/<RFC 3339 UTC>`
/// directories (the hotcopy layout); (count, age of the newest). `None` when there are none.
pub fn read_snapshots(dir: &Path, now: jiff::Timestamp) -> Option<(usize, u64)> {
    let home = std::fs::canonicalize(dir).ok()?;
    let sdir = home
        .parent()?
        .join(".lnraid-snapshots")
        .join(home.file_name()?);
    let times: Vec<jiff::Timestamp> = std::fs::read_dir(sdir)
        .ok()?
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| {
            e.file_name()
                .to_string_lossy()
                .parse::<jiff::Timestamp>()
                .ok()
        })
        .collect();
    let newest = times.iter().max()?;
    let age = now.as_second().saturating_sub(newest.as_second()).max(0) as u64;
    Some((times.len(), age))
}

fn f(check: &'static str, sev: Severity, ev: String, fix: &str, src: &'static str) -> Finding {
    Finding::new(Strategy::Lnraid, check, sev, ev, fix, src)
}

fn record_words(r: &Option<JobRecord>) -> Option<String> {
    r.as_ref()
        .map(|r| format!("{:?} at {}", r.outcome, r.finished))
}

pub fn judge(dir: &Path, x: &Facts) -> Vec<Finding> {
    if let Some(e) = &x.error {
        return vec![f(
            "arrays",
            Severity::Error,
            e.clone(),
            "run `lnraid status` to see why",
            LNRAID_STATUS,
        )];
    }
    let Some(a) = &x.array else {
        return vec![f(
            "on_array",
            Severity::Info,
            format!(
                "{} is not on an lnraid array: filesystem redundancy is not in use",
                dir.display()
            ),
            "`lnraid setup` moves it onto a btrfs RAID-1 of two disks",
            GUIDE_FS_REDUNDANCY,
        )];
    };
    let mp = a.facts.mountpoint.display();
    let problems: Vec<String> = a.problems.iter().map(|p| p.message.clone()).collect();
    let (sev, fix) = match a.verdict {
        StatusSeverity::Ok => (Severity::Ok, ""),
        StatusSeverity::Warning => (Severity::Warn, "see `lnraid status`"),
        StatusSeverity::Critical => (
            Severity::High,
            "see `lnraid status`: the array has lost redundancy or is unusable",
        ),
        StatusSeverity::Unknown => (Severity::Error, "see `lnraid status`"),
    };
    let ev = if problems.is_empty() {
        format!(
            "{} is on the lnraid array at {mp}: {}",
            dir.display(),
            a.verdict.word()
        )
    } else {
        format!(
            "{} is on the lnraid array at {mp}: {}: {}",
            dir.display(),
            a.verdict.word(),
            problems.join("; ")
        )
    };
    let mut out = vec![f("array_health", sev, ev, fix, LNRAID_STATUS)];
    match x.subvolume {
        Some(true) => out.push(f(
            "subvolume",
            Severity::Ok,
            format!(
                "{} is a btrfs subvolume (snapshots possible)",
                dir.display()
            ),
            "",
            GUIDE_FS_REDUNDANCY,
        )),
        Some(false) => out.push(f(
            "subvolume",
            Severity::Info,
            format!(
                "{} is not a btrfs subvolume: a snapshot of the node cannot be taken",
                dir.display()
            ),
            "make it a subvolume (with lightningd stopped: create one, move the files in)",
            GUIDE_FS_REDUNDANCY,
        )),
        None => {}
    }
    match x.nocow {
        Some(true) => out.push(f(
            "nocow",
            Severity::High,
            "lightningd.sqlite3 has `chattr +C` (nodatacow): btrfs keeps no checksums for it and cannot tell the good mirror from the bad".into(),
            "with lightningd stopped, copy the database to a new file without +C (`cp --reflink=never`), then replace it",
            LNRAID_NOCOW,
        )),
        Some(false) => out.push(f("nocow", Severity::Ok, "the database is checksummed (no chattr +C)".into(), "", LNRAID_NOCOW)),
        None => {}
    }
    let last = record_words(&a.facts.last_scrub_record);
    match (x.scheduled, last) {
        (true, Some(l)) => out.push(f(
            "maintenance",
            Severity::Ok,
            format!("scrub scheduled; last scrub {l}"),
            "",
            LNRAID_SCHEDULE,
        )),
        (true, None) => out.push(f(
            "maintenance",
            Severity::Warn,
            "scrub scheduled but no result recorded yet".into(),
            "run `lnraid maintain scrub` once to check",
            LNRAID_SCHEDULE,
        )),
        (false, _) => out.push(f(
            "maintenance",
            Severity::Warn,
            "no lnraid scrub/balance schedule is installed".into(),
            "`lnraid schedule install`",
            LNRAID_SCHEDULE,
        )),
    }
    match (x.alert_configured, x.last_alert) {
        (true, t) if t > 0 => out.push(f(
            "alert",
            Severity::Ok,
            format!("alert command configured; last delivered at {t}"),
            "",
            LNRAID_STATUS,
        )),
        (true, _) => out.push(f(
            "alert",
            Severity::Info,
            "alert command configured, never seen delivered".into(),
            "test it: run the command by hand with a sample event",
            LNRAID_STATUS,
        )),
        (false, _) => out.push(f(
            "alert",
            Severity::Warn,
            "no alert command: a failed disk goes unnoticed".into(),
            "`lnraid schedule install --alert-command 'mail -s \"$LNRAID_SUMMARY\" root'`",
            LNRAID_STATUS,
        )),
    }
    match x.snapshots {
        Some((n, age)) if age > SNAPSHOT_MAX_AGE_SECS => out.push(f(
            "snapshot_age",
            Severity::Warn,
            format!("{n} lnraid snapshot(s); the newest is {} h old", age / 3600),
            "`lnraid snapshot create` (and schedule it); snapshots live on the same array: they undo mistakes, not a lost array",
            GUIDE_FILE_BACKUPS,
        )),
        Some((n, age)) => out.push(f(
            "snapshot_age",
            Severity::Ok,
            format!("{n} lnraid snapshot(s); the newest is {age} s old (same array: not a backup against losing it)"),
            "",
            GUIDE_FILE_BACKUPS,
        )),
        None => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_ages_from_the_hotcopy_layout() {
        let t = tempfile::tempdir().unwrap();
        let home = t.path().join("bitcoin");
        std::fs::create_dir(&home).unwrap();
        let now: jiff::Timestamp = "2026-12-01T18:00:00Z".parse().unwrap();
        assert_eq!(read_snapshots(&home, now), None);
        let s = t.path().join(".lnraid-snapshots/bitcoin");
        for n in ["2026-11-25T00:00:00Z", "2026-11-28T18:00:00Z", "not-a-time"] {
            std::fs::create_dir_all(s.join(n)).unwrap();
        }
        std::fs::write(s.join("2026-11-30T00:00:00Z.json"), "{}").unwrap();
        assert_eq!(read_snapshots(&home, now), Some((2, 3 * 86_400)));
        let facts = |snap| Facts {
            snapshots: snap,
            array: None,
            ..Facts::default()
        };
        // Without an array the snapshot check is not reached (nothing of lnraid's in use).
        assert!(judge(&home, &facts(Some((2, 3 * 86_400))))
            .iter()
            .all(|f| f.check != "snapshot_age"));
    }
}
