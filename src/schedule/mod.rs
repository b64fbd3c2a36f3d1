//! The maintenance schedule as data: which files `lnraid schedule install` (and
//! `setup --schedule`) writes, with what content, and how they differ from what is installed.
//! Pure: no I/O; the caller reads the directories, writes the files and runs `systemctl`.
//!
//! Jobs: per array, `lnraid maintain balance <mp>` (default daily at midnight) and `lnraid
//! maintain scrub <mp>` (default Sundays at midnight) — the times of Core Lightning's backup
//! guide — and optionally `lnraid monitor` every 5 minutes. Times are cron expressions for
//! both schedulers ([`calendar`] translates them for systemd).
//!
//! Invariants: every file carries [`MARKER`], and only files that carry it and have one of
//! lnraid's names are ever rewritten or removed (an operator's own `/etc/cron.d/lnraid` is not
//! ours). The cron file's name has no dot: cron ignores such names in `/etc/cron.d`
//! (btrfsmaintenance was bitten by that), which also makes our `.bak`/temp names inert.

pub mod calendar;
mod changes;
pub mod config;
pub mod diff;
pub mod hotcopy;
pub mod render;

use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use calendar::{CronExpr, CronExprError};
pub use changes::{is_live_name, is_managed_name, plan_changes, timer_names, Change, Installed};

use crate::exec::Cmd;
use crate::plan::{Action, Step, Tag};
use crate::records::Job;
use crate::types::FsUuid;

/// The line that marks a file as written by `lnraid schedule`.
pub const MARKER: &str = "# lnraid-managed: schedule";
/// The cron.d file name (no dot: see the module doc).
pub const CRON_FILE: &str = "lnraid";
/// The guide's balance time: daily at midnight.
pub const DEFAULT_BALANCE_AT: &str = "0 0 * * *";
/// The guide's scrub time: Sundays at midnight.
pub const DEFAULT_SCRUB_AT: &str = "0 0 * * 0";
/// The monitor runs every 5 minutes.
pub const MONITOR_AT: &str = "*/5 * * * *";

/// Which scheduler runs the jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Scheduler {
    /// One file in /etc/cron.d.
    Cron,
    /// A service and timer pair per job in the systemd unit directory.
    Systemd,
}

impl Scheduler {
    pub fn name(self) -> &'static str {
        match self {
            Scheduler::Cron => "cron",
            Scheduler::Systemd => "systemd",
        }
    }
}

/// `setup --schedule`: a scheduler, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum SetupScheduler {
    #[default]
    None,
    Cron,
    Systemd,
}

impl SetupScheduler {
    pub fn scheduler(self) -> Option<Scheduler> {
        match self {
            SetupScheduler::None => None,
            SetupScheduler::Cron => Some(Scheduler::Cron),
            SetupScheduler::Systemd => Some(Scheduler::Systemd),
        }
    }
}

/// An array to maintain (from lnraid's fstab lines).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledArray {
    pub uuid: FsUuid,
    pub mountpoint: PathBuf,
}

/// The optional monitor job's own pass-through argument.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitorJob {
    pub textfile: Option<PathBuf>,
}

/// Everything the files depend on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleSpec {
    /// The lnraid executable the jobs run (absolute).
    pub exe: PathBuf,
    pub arrays: Vec<ScheduledArray>,
    pub balance_at: CronExpr,
    pub scrub_at: CronExpr,
    /// Passed to every job as `--alert-command-file` (maintain alerts on skipped runs and
    /// scrub errors, monitor on changes of health): the root-only 0600 file holding the alert
    /// command, which carries tokens and so is never written into the job files themselves.
    #[serde(default)]
    pub alert_command_file: Option<PathBuf>,
    /// `maintain scrub --limit` (bytes per second per device, e.g. `50M`): the bandwidth cap
    /// that replaces the guide's ionice flags.
    #[serde(default)]
    pub scrub_limit: Option<String>,
    /// `maintain balance --recipe cln-guide`: the guide's exact filters, metadata included.
    #[serde(default)]
    pub guide_balance: bool,
    pub monitor: Option<MonitorJob>,
    /// Snapshot and backup jobs of the node (hotcopy).
    #[serde(default)]
    pub hot: hotcopy::HotJobs,
}

/// One scheduled job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobKind {
    Maintain {
        job: Job,
        uuid: FsUuid,
        mountpoint: PathBuf,
    },
    Monitor,
    /// `lnraid snapshot create --prune` of the node (spec.hot.snapshot).
    Snapshot,
    /// `lnraid backup --to DEST` of the node (spec.hot.backup).
    Backup,
}

impl JobKind {
    /// One line for people: what the job does, to which array.
    pub fn describe(&self) -> String {
        match self {
            JobKind::Maintain {
                job,
                uuid,
                mountpoint,
            } => format!(
                "{} the btrfs array at {} (filesystem {uuid})",
                job.name(),
                mountpoint.display()
            ),
            JobKind::Monitor => "check the arrays' health and alert on changes".into(),
            JobKind::Snapshot => {
                "snapshot the node's subvolume (SQLite locked for milliseconds), then prune".into()
            }
            JobKind::Backup => {
                "back the node up to another filesystem from a fresh snapshot".into()
            }
        }
    }
}

/// A file to install.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleFile {
    pub path: PathBuf,
    pub content: String,
    pub mode: u32,
}

/// Why a spec cannot be written out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("no lnraid array to schedule")]
    NoArrays,
    #[error("{what} {path:?} must be an absolute, normalized path without control characters")]
    BadPath { what: &'static str, path: PathBuf },
    #[error("the alert command must be one non-empty line without control characters")]
    BadAlertCommand,
    #[error("scrub limit {0:?} is not a size in bytes per second (e.g. 50M)")]
    BadLimit(String),
    #[error("two arrays are mounted at {0}")]
    DuplicateMountpoint(PathBuf),
    #[error("the unit name for {0} would be longer than systemd allows (255 bytes)")]
    NameTooLong(PathBuf),
}

impl ScheduleSpec {
    /// The guide's times, no monitor.
    pub fn with_defaults(exe: PathBuf, arrays: Vec<ScheduledArray>) -> ScheduleSpec {
        ScheduleSpec {
            exe,
            arrays,
            balance_at: CronExpr::parse(DEFAULT_BALANCE_AT).expect("valid default"),
            scrub_at: CronExpr::parse(DEFAULT_SCRUB_AT).expect("valid default"),
            alert_command_file: None,
            scrub_limit: None,
            guide_balance: false,
            monitor: None,
            hot: hotcopy::HotJobs::default(),
        }
    }

    /// The jobs, in file order: per array balance then scrub, then the monitor.
    pub fn jobs(&self) -> Vec<JobKind> {
        let mut v = Vec::new();
        for a in &self.arrays {
            for job in [Job::Balance, Job::Scrub] {
                v.push(JobKind::Maintain {
                    job,
                    uuid: a.uuid.clone(),
                    mountpoint: a.mountpoint.clone(),
                });
            }
        }
        if self.monitor.is_some() {
            v.push(JobKind::Monitor);
        }
        if self.hot.snapshot.is_some() {
            v.push(JobKind::Snapshot);
        }
        if self.hot.backup.is_some() {
            v.push(JobKind::Backup);
        }
        v
    }

    pub fn time_of(&self, job: &JobKind) -> CronExpr {
        match job {
            JobKind::Maintain {
                job: Job::Balance, ..
            } => self.balance_at.clone(),
            JobKind::Maintain {
                job: Job::Scrub, ..
            } => self.scrub_at.clone(),
            JobKind::Monitor => CronExpr::parse(MONITOR_AT).expect("valid monitor time"),
            JobKind::Snapshot => self
                .hot
                .snapshot
                .as_ref()
                .map_or(hotcopy::Every(86_400), |s| s.every)
                .cron(0, 0),
            JobKind::Backup => self
                .hot
                .backup
                .as_ref()
                .map_or(hotcopy::Every(86_400), |b| b.every)
                .cron(30, 3),
        }
    }

    /// Checks what the renderers cannot quote: a newline would end a cron line or a unit
    /// setting early, and a relative path would depend on the scheduler's working directory.
    pub fn validate(&self) -> Result<(), ScheduleError> {
        if self.arrays.is_empty() {
            return Err(ScheduleError::NoArrays);
        }
        check_path("the lnraid executable", &self.exe)?;
        let mut seen = Vec::new();
        for a in &self.arrays {
            check_path("the mountpoint", &a.mountpoint)?;
            if seen.contains(&&a.mountpoint) {
                return Err(ScheduleError::DuplicateMountpoint(a.mountpoint.clone()));
            }
            seen.push(&a.mountpoint);
            if render::escape_path(&a.mountpoint).len() + "lnraid-balance-.service".len() > 255 {
                return Err(ScheduleError::NameTooLong(a.mountpoint.clone()));
            }
        }
        if let Some(f) = &self.alert_command_file {
            check_path("the alert command file", f)?;
        }
        if let Some(l) = &self.scrub_limit {
            if crate::types::Bytes::parse_human(l).is_none_or(|b| b.0 == 0) {
                return Err(ScheduleError::BadLimit(l.clone()));
            }
        }
        if let Some(t) = self.monitor.as_ref().and_then(|m| m.textfile.as_ref()) {
            check_path("the textfile", t)?;
        }
        if let Some(s) = &self.hot.snapshot {
            check_path("the node directory", &s.lightning_dir)?;
        }
        if let Some(b) = &self.hot.backup {
            check_path("the node directory", &b.lightning_dir)?;
            check_path("the backup DEST", &b.to)?;
            if let Some(f) = &b.recipients_file {
                check_path("the recipients file", f)?;
            }
            if b.encrypt_to
                .iter()
                .any(|r| r.chars().any(|c| c.is_control() || c.is_whitespace()))
            {
                return Err(ScheduleError::BadAlertCommand);
            }
        }
        Ok(())
    }
}

fn check_path(what: &'static str, p: &Path) -> Result<(), ScheduleError> {
    let s = p.to_string_lossy();
    let normal = p.is_absolute()
        && p.components()
            .all(|c| matches!(c, Component::RootDir | Component::Normal(_)))
        && !s.contains("//")
        && (s == "/" || !s.ends_with('/'));
    if normal && !s.chars().any(char::is_control) {
        Ok(())
    } else {
        Err(ScheduleError::BadPath {
            what,
            path: p.to_path_buf(),
        })
    }
}

/// The files for `spec` under `scheduler`, placed in `dir` (the cron dir or the unit dir).
pub fn plan_schedule(
    spec: &ScheduleSpec,
    scheduler: Scheduler,
    dir: &Path,
) -> Result<Vec<ScheduleFile>, ScheduleError> {
    spec.validate()?;
    let file = |name: String, content: String| ScheduleFile {
        path: dir.join(name),
        content,
        mode: 0o644,
    };
    Ok(match scheduler {
        Scheduler::Cron => vec![file(CRON_FILE.into(), render::render_cron(spec))],
        Scheduler::Systemd => spec
            .jobs()
            .iter()
            .flat_map(|job| {
                let base = render::unit_base(job);
                [
                    file(format!("{base}.service"), render::render_service(spec, job)),
                    file(format!("{base}.timer"), render::render_timer(spec, job)),
                ]
            })
            .collect(),
    })
}

/// The schedule part of a setup request: the files (rendered at preflight by
/// [`plan_schedule`], so the dry run shows them), where, and what they replace (so `--abort`
/// can put an operator's earlier schedule back).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupSchedule {
    pub scheduler: Scheduler,
    pub files: Vec<ScheduleFile>,
    /// systemd is live: run `daemon-reload` and `enable --now` the timers.
    pub live: bool,
    /// (path, content) of files the schedule replaces.
    pub previous: Vec<(PathBuf, String)>,
}

/// The `schedule` step of `lnraid setup`: the same files `schedule install` writes.
pub fn setup_step(s: &SetupSchedule) -> Step {
    let mut actions: Vec<Action> = s
        .files
        .iter()
        .map(|f| Action::WriteFile {
            path: f.path.clone(),
            content: f.content.clone(),
            mode: f.mode,
        })
        .collect();
    if s.live {
        actions.push(Action::Run {
            cmd: Cmd::mutating("systemctl", ["daemon-reload"]),
        });
        let timers = timer_names(s.files.iter().map(|f| f.path.as_path()));
        actions.push(Action::Run {
            cmd: Cmd::mutating("systemctl", ["enable", "--now"])
                .args_from(timers.iter().map(String::as_str)),
        });
    }
    Step::new(
        "schedule",
        Tag::Safe,
        format!(
            "schedule scrub and balance with {} (the files of `lnraid schedule install`)",
            s.scheduler.name()
        ),
        actions,
    )
}

#[cfg(test)]
mod tests;
