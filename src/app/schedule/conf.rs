//! `schedule install`'s config part: read `lnraid.toml` (and whether the alert file exists),
//! merge this command line's options into it ([`crate::schedule::config::merge`]), show the
//! change as a diff (the alert command itself never shown), and write the alert file (0600)
//! and the config (0644).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::secret::{read_secret, write_secret};
use crate::app::Refused;
use crate::config::atomic::{remove_file_synced, write_atomic_no_backup};
use crate::schedule::config::{
    alert_file, merge, parse_config, render_config, AlertChange, Requested, ScheduleConfig,
};
use crate::schedule::diff::{compact, line_diff};
use crate::schedule::{CronExpr, MonitorJob, ScheduleSpec, ScheduledArray};

/// The config before and after, and what happens to the alert file.
#[derive(Debug, Clone)]
pub struct Planned {
    pub path: PathBuf,
    pub old_text: Option<String>,
    pub new: ScheduleConfig,
    pub alert_path: PathBuf,
    pub alert: AlertChange,
    /// The alert file holds exactly what `alert` would write (then writing is no change).
    pub alert_same: bool,
}

pub fn plan(path: &Path, req: &Requested) -> Result<Planned> {
    let old_text = match fs::read_to_string(path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let old = old_text
        .as_deref()
        .map(parse_config)
        .transpose()
        .map_err(|e| {
            Refused(vec![format!(
                "{} is not a valid lnraid config ({e}); fix or remove it, nothing was changed",
                path.display()
            )])
        })?;
    let alert_path = old
        .as_ref()
        .and_then(|c| c.alert_command_file.clone())
        .unwrap_or_else(|| alert_file(path));
    if let Some(Some(c)) = &req.alert_command {
        if c.trim().is_empty() || c.chars().any(char::is_control) {
            return Err(Refused(vec![
                "--alert-command must be one non-empty line without control characters".into(),
            ])
            .into());
        }
    }
    let (new, alert) =
        merge(old.as_ref(), req, &alert_path).map_err(|e| Refused(vec![e.to_string()]))?;
    let alert_same = match &alert {
        AlertChange::Write(c) => read_secret(&alert_path).is_ok_and(|old| &old == c),
        _ => false,
    };
    Ok(Planned {
        path: path.to_path_buf(),
        old_text,
        new,
        alert_path,
        alert,
        alert_same,
    })
}

impl Planned {
    fn new_text(&self) -> String {
        render_config(&self.new)
    }

    pub fn is_change(&self) -> bool {
        self.old_text.as_deref() != Some(self.new_text().as_str())
            || matches!(self.alert, AlertChange::Write(_) if !self.alert_same)
            || (self.alert == AlertChange::Remove && self.alert_path.exists())
    }

    /// The config's diff and the alert file's fate, for people.
    pub fn render(&self) -> String {
        let new = self.new_text();
        let mut out = match &self.old_text {
            None => format!("new       {}:\n", self.path.display()),
            Some(o) if *o == new => format!("unchanged {}\n", self.path.display()),
            Some(_) => format!("changed   {}:\n", self.path.display()),
        };
        if self.old_text.as_deref() != Some(new.as_str()) {
            let d = line_diff(self.old_text.as_deref().unwrap_or(""), &new);
            let d = if self.old_text.is_some() {
                compact(&d, 2)
            } else {
                d
            };
            out.extend(d.lines().map(|l| format!("    {l}\n")));
        }
        let a = self.alert_path.display();
        out.push_str(&match &self.alert {
            AlertChange::Write(_) if self.alert_same => {
                format!("unchanged {a} (the alert command; 0600, not shown)\n")
            }
            AlertChange::Write(_) if self.alert_path.exists() => {
                format!("changed   {a}: a new alert command (0600, not shown)\n")
            }
            AlertChange::Write(_) => {
                format!("new       {a}: the alert command (0600, root only, not shown)\n")
            }
            AlertChange::Remove if self.alert_path.exists() => {
                format!("remove    {a} (the alert command)\n")
            }
            AlertChange::Keep if self.new.alert_command_file.is_some() => {
                format!("kept      {a} (the alert command; 0600, not shown)\n")
            }
            _ => String::new(),
        });
        out
    }

    /// Before the job files change: the alert file (a new job must find it) and the config.
    pub fn apply_before(&self) -> Result<()> {
        if let AlertChange::Write(c) = &self.alert {
            if !self.alert_same {
                write_secret(&self.alert_path, c)?;
            }
        }
        let new = self.new_text();
        if self.old_text.as_deref() != Some(new.as_str()) {
            if let Some(d) = self.path.parent() {
                fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
            }
            write_atomic_no_backup(&self.path, new.as_bytes(), 0o644)?;
        }
        Ok(())
    }

    /// After the job files stopped naming it: the removed alert file goes.
    pub fn apply_after(&self) -> Result<()> {
        if self.alert == AlertChange::Remove {
            remove_file_synced(&self.alert_path)?;
        }
        Ok(())
    }
}

/// The schedule the config describes, for `arrays`.
pub fn spec(c: &ScheduleConfig, exe: PathBuf, arrays: Vec<ScheduledArray>) -> Result<ScheduleSpec> {
    let cron =
        |s: &str| CronExpr::parse(s).map_err(|e| Refused(vec![format!("cron time {s:?}: {e}")]));
    Ok(ScheduleSpec {
        exe,
        arrays,
        balance_at: cron(&c.balance_at)?,
        scrub_at: cron(&c.scrub_at)?,
        alert_command_file: c.alert_command_file.clone(),
        scrub_limit: c.scrub_limit.clone(),
        guide_balance: c.guide_balance,
        monitor: c.monitor.then(|| MonitorJob {
            textfile: c.textfile.clone(),
        }),
        // hotcopy: the snapshot and backup jobs.
        hot: crate::schedule::hotcopy::HotJobs::from_config(c.snapshot.as_ref(), c.backup.as_ref())
            .map_err(|e| Refused(vec![e]))?,
    })
}
