//! What is installed versus what should be: which names in a directory are lnraid's, and
//! the per-file changes of an install (new, changed, unchanged, remove). Pure.

use std::path::{Path, PathBuf};

use super::{diff, ScheduleFile, Scheduler, CRON_FILE};

/// Whether a file named `name` in the scheduler's directory may be one of ours: an installed
/// file, or the `.bak` / temp file `config::atomic` leaves beside one. Ours only if its content
/// also carries [`super::MARKER`] (checked by the caller, who reads it).
pub fn is_managed_name(scheduler: Scheduler, name: &str) -> bool {
    let base = name
        .strip_prefix('.')
        .and_then(|b| b.strip_suffix(".lnraid-tmp"))
        .unwrap_or(name);
    let base = base.strip_suffix(".bak").unwrap_or(base);
    match scheduler {
        Scheduler::Cron => base == CRON_FILE,
        Scheduler::Systemd => {
            (base.starts_with("lnraid-balance-")
                || base.starts_with("lnraid-scrub-")
                || base.starts_with("lnraid-monitor."))
                && (base.ends_with(".service") || base.ends_with(".timer"))
        }
    }
}

/// True when `name` is an installed unit or cron file (not a `.bak` or temp leftover).
pub fn is_live_name(scheduler: Scheduler, name: &str) -> bool {
    is_managed_name(scheduler, name) && !name.ends_with(".bak") && !name.starts_with('.')
}

/// A file lnraid finds installed (name checked, marker present).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    pub path: PathBuf,
    pub content: String,
    /// Its permission bits: same content under another mode is a change (cron skips a
    /// `cron.d` file writable by group or others, so "unchanged" would silently run nothing).
    pub mode: u32,
}

/// What install does to one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    New(ScheduleFile),
    Changed { file: ScheduleFile, old: String },
    Unchanged(ScheduleFile),
    Remove(Installed),
}

impl Change {
    pub fn path(&self) -> &Path {
        match self {
            Change::New(f) | Change::Changed { file: f, .. } | Change::Unchanged(f) => &f.path,
            Change::Remove(i) => &i.path,
        }
    }

    pub fn is_change(&self) -> bool {
        !matches!(self, Change::Unchanged(_))
    }

    /// The dry run's text for this path.
    pub fn render(&self) -> String {
        let indent = |d: String| d.lines().map(|l| format!("    {l}\n")).collect::<String>();
        match self {
            Change::New(f) => format!(
                "new       {} (mode {:04o}):\n{}",
                f.path.display(),
                f.mode,
                indent(diff::line_diff("", &f.content))
            ),
            Change::Changed { file, old } => format!(
                "changed   {}:\n{}",
                file.path.display(),
                indent(diff::compact(&diff::line_diff(old, &file.content), 2))
            ),
            Change::Unchanged(f) => format!("unchanged {}\n", f.path.display()),
            Change::Remove(i) => format!(
                "remove    {}:\n{}",
                i.path.display(),
                indent(diff::line_diff(&i.content, ""))
            ),
        }
    }
}

/// Install as a sync: every desired file is new, changed or unchanged; every installed file
/// of ours that is not desired (an array gone from fstab, the monitor dropped, a leftover
/// `.bak`) is removed. Sorted by path.
pub fn plan_changes(desired: &[ScheduleFile], installed: &[Installed]) -> Vec<Change> {
    let mut out: Vec<Change> = desired
        .iter()
        .map(|f| match installed.iter().find(|i| i.path == f.path) {
            None => Change::New(f.clone()),
            Some(i) if i.content == f.content && i.mode == f.mode => Change::Unchanged(f.clone()),
            Some(i) => Change::Changed {
                file: f.clone(),
                old: i.content.clone(),
            },
        })
        .collect();
    out.extend(
        installed
            .iter()
            .filter(|i| !desired.iter().any(|f| f.path == i.path))
            .map(|i| Change::Remove(i.clone())),
    );
    out.sort_by(|a, b| a.path().cmp(b.path()));
    out
}

/// The timer unit names among `paths` (what `systemctl enable --now` takes).
pub fn timer_names<'a>(paths: impl IntoIterator<Item = &'a Path>) -> Vec<String> {
    paths
        .into_iter()
        .filter_map(|p| p.file_name()?.to_str())
        .filter(|n| n.ends_with(".timer"))
        .map(String::from)
        .collect()
}
