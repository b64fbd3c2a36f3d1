//! The hot-copy jobs of the schedule: `lnraid snapshot create --prune` every N, and `lnraid
//! backup --to DEST` every N (issue 11, item 5). Pure: the model, its config form
//! (`[snapshot]` / `[backup]` in lnraid.toml) and the interval → cron translation.
//!
//! An interval, not a cron time, is asked for (`--snapshot-every 1h`): status needs it to tell
//! a stale copy ([`HotJobs`] `stale_after`: twice the interval — one missed run is a warning,
//! not two), and every interval here maps onto an exact cron time (minutes dividing an hour,
//! hours dividing a day, one day). Backups run at :30 past (03:30 daily) so they do not start
//! at the same minute as the snapshot job or the midnight balance.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::CronExpr;

/// A job interval in seconds, from `15m`, `1h`, `6h`, `1d`...
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Every(pub u64);

impl Every {
    pub fn parse(s: &str) -> Result<Every, String> {
        let s = s.trim();
        let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
        let n: u64 = n
            .parse()
            .map_err(|_| format!("{s:?}: give a number and m, h or d (15m, 1h, 1d)"))?;
        let secs = match unit {
            "m" | "min" if n > 0 && n < 60 && 60 % n == 0 => n * 60,
            "h" if n > 0 && n < 24 && 24 % n == 0 => n * 3600,
            "m" | "min" | "h" => {
                return Err(format!("{s:?}: minutes must divide an hour and hours a day (15m, 30m, 1h, 6h, 12h), so the job runs at even times"))
            }
            "d" if n == 1 => 86_400,
            "d" => return Err(format!("{s:?}: at most daily (1d)")),
            _ => return Err(format!("{s:?}: give a number and m, h or d (15m, 1h, 1d)")),
        };
        Ok(Every(secs))
    }

    /// `15m`, `6h`, `1d`.
    pub fn word(self) -> String {
        match self.0 {
            s if s % 86_400 == 0 => format!("{}d", s / 86_400),
            s if s % 3600 == 0 => format!("{}h", s / 3600),
            s => format!("{}m", s / 60),
        }
    }

    /// The cron time; `minute` is the minute past the hour for hourly and longer intervals.
    pub fn cron(self, minute: u32, daily_hour: u32) -> CronExpr {
        let text = match self.0 {
            s if s < 3600 => format!("*/{} * * * *", s / 60),
            3600 => format!("{minute} * * * *"),
            s if s < 86_400 => format!("{minute} */{} * * *", s / 3600),
            _ => format!("{minute} {daily_hour} * * *"),
        };
        CronExpr::parse(&text).expect("intervals map onto valid cron times")
    }
}

/// `[snapshot]` in lnraid.toml.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotConfig {
    pub lightning_dir: PathBuf,
    /// `15m`, `1h`, `1d`...
    pub every: String,
}

/// `[backup]` in lnraid.toml.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupConfig {
    pub lightning_dir: PathBuf,
    pub to: PathBuf,
    pub every: String,
    /// age recipients (public keys: not secret).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub encrypt_to: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipients_file: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotJob {
    pub lightning_dir: PathBuf,
    pub every: Every,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupJob {
    pub lightning_dir: PathBuf,
    pub to: PathBuf,
    pub every: Every,
    #[serde(default)]
    pub encrypt_to: Vec<String>,
    #[serde(default)]
    pub recipients_file: Option<PathBuf>,
}

/// The hot-copy jobs of one schedule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HotJobs {
    pub snapshot: Option<SnapshotJob>,
    pub backup: Option<BackupJob>,
}

/// Default staleness when no job is scheduled (documented in README "status"): a snapshot
/// older than 2 days, a backup older than 8 days (weekly, plus a day of slack).
pub const SNAPSHOT_STALE_DEFAULT: u64 = 2 * 86_400;
pub const BACKUP_STALE_DEFAULT: u64 = 8 * 86_400;

impl HotJobs {
    pub fn from_config(
        s: Option<&SnapshotConfig>,
        b: Option<&BackupConfig>,
    ) -> Result<HotJobs, String> {
        Ok(HotJobs {
            snapshot: s
                .map(|s| {
                    Ok::<_, String>(SnapshotJob {
                        lightning_dir: s.lightning_dir.clone(),
                        every: Every::parse(&s.every)?,
                    })
                })
                .transpose()?,
            backup: b
                .map(|b| {
                    Ok::<_, String>(BackupJob {
                        lightning_dir: b.lightning_dir.clone(),
                        to: b.to.clone(),
                        every: Every::parse(&b.every)?,
                        encrypt_to: b.encrypt_to.clone(),
                        recipients_file: b.recipients_file.clone(),
                    })
                })
                .transpose()?,
        })
    }

    /// After how many seconds the newest snapshot is stale: twice the interval, or the default.
    pub fn snapshot_stale_after(&self) -> u64 {
        self.snapshot
            .as_ref()
            .map_or(SNAPSHOT_STALE_DEFAULT, |s| 2 * s.every.0)
    }

    pub fn backup_stale_after(&self) -> u64 {
        self.backup
            .as_ref()
            .map_or(BACKUP_STALE_DEFAULT, |b| 2 * b.every.0)
    }
}

/// `snapshot create --prune --record-job ...` as argv after the executable.
pub fn snapshot_argv(j: &SnapshotJob) -> Vec<String> {
    [
        "snapshot",
        "create",
        "--prune",
        "--record-job",
        "--lightning-dir",
    ]
    .map(String::from)
    .into_iter()
    .chain([j.lightning_dir.to_string_lossy().into_owned()])
    .collect()
}

pub fn backup_argv(j: &BackupJob) -> Vec<String> {
    let mut v: Vec<String> = ["backup", "--record-job", "--lightning-dir"]
        .map(String::from)
        .into_iter()
        .chain([j.lightning_dir.to_string_lossy().into_owned()])
        .collect();
    v.extend(["--to".into(), j.to.to_string_lossy().into_owned()]);
    for r in &j.encrypt_to {
        v.extend(["--encrypt-to".into(), r.clone()]);
    }
    if let Some(f) = &j.recipients_file {
        v.extend(["--recipients-file".into(), f.to_string_lossy().into_owned()]);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_parse_to_even_cron_times() {
        let c = |s: &str| Every::parse(s).unwrap().cron(0, 0).to_string();
        assert_eq!(c("15m"), "*/15 * * * *");
        assert_eq!(c("1h"), "0 * * * *");
        assert_eq!(c("6h"), "0 */6 * * *");
        assert_eq!(c("1d"), "0 0 * * *");
        assert_eq!(
            Every::parse("1d").unwrap().cron(30, 3).to_string(),
            "30 3 * * *"
        );
        for bad in ["7m", "5h", "2d", "0m", "h", "1w", "", "60m"] {
            assert!(Every::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Every::parse("30m").unwrap().word(), "30m");
        assert_eq!(Every::parse("12h").unwrap().word(), "12h");
    }

    #[test]
    fn staleness_is_twice_the_interval_or_the_default() {
        let none = HotJobs::default();
        assert_eq!(none.snapshot_stale_after(), SNAPSHOT_STALE_DEFAULT);
        assert_eq!(none.backup_stale_after(), BACKUP_STALE_DEFAULT);
        let s = SnapshotConfig {
            lightning_dir: "/n".into(),
            every: "1h".into(),
        };
        let j = HotJobs::from_config(Some(&s), None).unwrap();
        assert_eq!(j.snapshot_stale_after(), 7200);
        let bad = SnapshotConfig {
            every: "7m".into(),
            ..s
        };
        assert!(HotJobs::from_config(Some(&bad), None).is_err());
    }
}

#[cfg(test)]
mod render_tests {
    use super::*;
    use crate::schedule::{plan_schedule, ScheduleSpec, ScheduledArray, Scheduler};
    use crate::types::FsUuid;

    #[test]
    fn snapshot_and_backup_jobs_are_rendered_for_both_schedulers() {
        let mut spec = ScheduleSpec::with_defaults(
            "/usr/bin/lnraid".into(),
            vec![ScheduledArray {
                uuid: FsUuid::parse("5d1c0e2a-1111-2222-3333-444455556666").unwrap(),
                mountpoint: "/mnt/lnraid".into(),
            }],
        );
        spec.hot = HotJobs {
            snapshot: Some(SnapshotJob {
                lightning_dir: "/mnt/lnraid/bitcoin".into(),
                every: Every::parse("1h").unwrap(),
            }),
            backup: Some(BackupJob {
                lightning_dir: "/mnt/lnraid/bitcoin".into(),
                to: "/media/usb/b".into(),
                every: Every::parse("1d").unwrap(),
                encrypt_to: vec!["age1xyz".into()],
                recipients_file: None,
            }),
        };
        let cron =
            &plan_schedule(&spec, Scheduler::Cron, "/etc/cron.d".as_ref()).unwrap()[0].content;
        assert!(cron.contains("\n0 * * * * root /usr/bin/lnraid snapshot create --prune --record-job --lightning-dir /mnt/lnraid/bitcoin\n"), "{cron}");
        assert!(cron.contains("\n30 3 * * * root /usr/bin/lnraid backup --record-job --lightning-dir /mnt/lnraid/bitcoin --to /media/usb/b --encrypt-to age1xyz\n"), "{cron}");
        let units =
            plan_schedule(&spec, Scheduler::Systemd, "/etc/systemd/system".as_ref()).unwrap();
        let names: Vec<String> = units.iter().map(|f| f.path.display().to_string()).collect();
        for n in [
            "lnraid-snapshot.service",
            "lnraid-snapshot.timer",
            "lnraid-backup.service",
            "lnraid-backup.timer",
        ] {
            assert!(names.iter().any(|p| p.ends_with(n)), "{names:?}");
        }
        let bad = HotJobs {
            backup: Some(BackupJob {
                to: "relative/dest".into(),
                ..spec.hot.backup.clone().unwrap()
            }),
            ..spec.hot.clone()
        };
        spec.hot = bad;
        assert!(spec.validate().is_err(), "a relative DEST is refused");
    }
}
