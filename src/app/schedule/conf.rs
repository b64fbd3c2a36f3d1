//! `schedule install`'s config part: read `lnraid.toml` (and whether the alert file exists),
//! merge this command line's options into it ([`crate::schedule::config::merge`]), and turn
//! the change into the install plan's first steps (src/plan/schedule.rs): the config's diff,
//! the alert file (0600; the command itself never shown). The executor writes them.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::app::Refused;
use crate::plan::schedule::{AlertStep, ConfigChange};
use crate::plan::Secret;
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
    // Always the file beside the config actually used (--config / LNRAID_CONFIG), never a
    // path stored by a config read elsewhere: the jobs must name the file this install keeps.
    let alert_path = alert_file(path);
    if let Some(stored) = old.as_ref().and_then(|c| c.alert_command_file.as_ref()) {
        if *stored != alert_path && req.alert_command.is_none() && !alert_path.exists() {
            tracing::warn!(
                "{} names the alert command file {}, but the one beside this config is {}, which does not exist: \
                 the jobs will not be able to alert until you run `lnraid schedule install --alert-command …` again",
                path.display(),
                stored.display(),
                alert_path.display()
            );
        }
    }
    if let Some(Some(c)) = &req.alert_command {
        if c.trim().is_empty() || c.chars().any(char::is_control) {
            return Err(Refused(vec![
                "--alert-command must be one non-empty line without control characters".into(),
            ])
            .into());
        }
    }
    let (mut new, alert) =
        merge(old.as_ref(), req, &alert_path).map_err(|e| Refused(vec![e.to_string()]))?;
    if new.alert_command_file.is_some() {
        new.alert_command_file = Some(alert_path.clone());
    }
    let alert_same = match &alert {
        AlertChange::Write(c) => super::secret::holds(&alert_path, c),
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

    /// The config file's step, when its text changes.
    pub fn config_change(&self) -> Option<ConfigChange> {
        let new = self.new_text();
        if self.old_text.as_deref() == Some(new.as_str()) {
            return None;
        }
        let d = line_diff(self.old_text.as_deref().unwrap_or(""), &new);
        let (word, diff) = match &self.old_text {
            None => ("new      ", d),
            Some(_) => ("changed  ", compact(&d, 2)),
        };
        Some(ConfigChange {
            path: self.path.clone(),
            content: new,
            header: format!("{word} {}", self.path.display()),
            diff,
        })
    }

    /// The alert file's step: written (only when its content changes) or removed.
    pub fn alert_step(&self) -> Option<AlertStep> {
        let a = self.alert_path.display();
        match &self.alert {
            AlertChange::Write(c) if !self.alert_same => Some(AlertStep::Write {
                path: self.alert_path.clone(),
                secret: Secret(c.clone()),
                header: if self.alert_path.exists() {
                    format!("changed   {a}: a new alert command (0600, not shown)")
                } else {
                    format!("new       {a}: the alert command (0600, root only, not shown)")
                },
            }),
            AlertChange::Remove if self.alert_path.exists() => Some(AlertStep::Remove {
                path: self.alert_path.clone(),
            }),
            _ => None,
        }
    }

    /// What stays as it is, for people (the steps show the rest).
    pub fn notes(&self) -> String {
        let mut out = String::new();
        if self.config_change().is_none() {
            out.push_str(&format!("unchanged {}\n", self.path.display()));
        }
        let a = self.alert_path.display();
        match &self.alert {
            AlertChange::Write(_) if self.alert_same => {
                out.push_str(&format!(
                    "unchanged {a} (the alert command; 0600, not shown)\n"
                ));
            }
            AlertChange::Keep if self.new.alert_command_file.is_some() => {
                out.push_str(&format!(
                    "kept      {a} (the alert command; 0600, not shown)\n"
                ));
            }
            _ => {}
        }
        out
    }
}

/// The schedule the config at `config` describes, for `arrays`. The jobs name the alert file
/// beside `config` (the config actually used), whatever path an older config recorded.
pub fn spec(
    c: &ScheduleConfig,
    config: &Path,
    exe: PathBuf,
    arrays: Vec<ScheduledArray>,
) -> Result<ScheduleSpec> {
    let cron =
        |s: &str| CronExpr::parse(s).map_err(|e| Refused(vec![format!("cron time {s:?}: {e}")]));
    Ok(ScheduleSpec {
        exe,
        arrays,
        balance_at: cron(&c.balance_at)?,
        scrub_at: cron(&c.scrub_at)?,
        alert_command_file: c.alert_command_file.as_ref().map(|_| alert_file(config)),
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
