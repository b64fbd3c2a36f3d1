//! lnraid's own configuration file (`/etc/lnraid/lnraid.toml`, redirectable with `--config` /
//! `LNRAID_CONFIG`): the schedule's options, so that a later `schedule install` (or `setup
//! --schedule`) without them keeps them instead of silently dropping the monitor, the scrub
//! limit or the alert. Pure: parse, render, merge; the caller reads and writes the files.
//!
//! The alert command is NOT in this file (0644, like the cron and unit files): it carries
//! tokens, so it lives in a root-only 0600 file beside it ([`ALERT_FILE`]) that the jobs read
//! with `--alert-command-file`. Invariant: no rendered schedule or config file ever contains
//! the alert command.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{CronExpr, Scheduler, DEFAULT_BALANCE_AT, DEFAULT_SCRUB_AT};

/// Default location of the config file.
pub const CONFIG_PATH: &str = "/etc/lnraid/lnraid.toml";
/// The alert command's file name, in the config file's directory.
pub const ALERT_FILE: &str = "alert-command";
pub const CONFIG_VERSION: u32 = 1;

/// The schedule's options as the config file holds them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    pub version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduler: Option<Scheduler>,
    pub balance_at: String,
    pub scrub_at: String,
    /// `cln-guide`: the guide's exact balance filters, metadata included.
    #[serde(default)]
    pub guide_balance: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scrub_limit: Option<String>,
    #[serde(default)]
    pub monitor: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub textfile: Option<PathBuf>,
    /// The 0600 file holding the alert command, when one is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_command_file: Option<PathBuf>,
    /// The node's snapshot job (hotcopy), `[snapshot]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<super::hotcopy::SnapshotConfig>,
    /// The node's backup job (hotcopy), `[backup]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<super::hotcopy::BackupConfig>,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            version: CONFIG_VERSION,
            scheduler: None,
            balance_at: DEFAULT_BALANCE_AT.into(),
            scrub_at: DEFAULT_SCRUB_AT.into(),
            guide_balance: false,
            scrub_limit: None,
            monitor: false,
            textfile: None,
            alert_command_file: None,
            snapshot: None,
            backup: None,
        }
    }
}

/// What one `schedule install` asks for: `None` keeps the configured value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requested {
    pub scheduler: Option<Scheduler>,
    pub balance_at: Option<CronExpr>,
    pub scrub_at: Option<CronExpr>,
    pub guide_balance: Option<bool>,
    /// `Some(None)`: remove the limit.
    pub scrub_limit: Option<Option<String>>,
    pub monitor: Option<bool>,
    pub textfile: Option<Option<PathBuf>>,
    /// `Some(None)`: remove the alert command.
    pub alert_command: Option<Option<String>>,
    /// `Some(None)`: remove the snapshot job (hotcopy).
    pub snapshot: Option<Option<super::hotcopy::SnapshotConfig>>,
    /// `Some(None)`: remove the backup job (hotcopy).
    pub backup: Option<Option<super::hotcopy::BackupConfig>>,
}

/// What happens to the alert command's file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertChange {
    Keep,
    Write(String),
    Remove,
}

/// Why a config file was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Syntax(String),
    #[error("version {0} is newer than this lnraid understands ({CONFIG_VERSION})")]
    Version(u32),
    #[error("{what} {value:?} is not a cron time")]
    Cron { what: &'static str, value: String },
    #[error("textfile is set but the monitor is off: use --monitor, or --no-textfile")]
    TextfileWithoutMonitor,
    #[error("{0}")]
    Interval(String),
}

pub fn parse_config(text: &str) -> Result<ScheduleConfig, ConfigError> {
    let c: ScheduleConfig =
        toml::from_str(text).map_err(|e| ConfigError::Syntax(e.message().to_string()))?;
    if c.version > CONFIG_VERSION {
        return Err(ConfigError::Version(c.version));
    }
    super::hotcopy::HotJobs::from_config(c.snapshot.as_ref(), c.backup.as_ref())
        .map_err(ConfigError::Interval)?;
    for (what, value) in [("balance_at", &c.balance_at), ("scrub_at", &c.scrub_at)] {
        if CronExpr::parse(value).is_err() {
            return Err(ConfigError::Cron {
                what,
                value: value.clone(),
            });
        }
    }
    Ok(c)
}

pub fn render_config(c: &ScheduleConfig) -> String {
    let body = toml::to_string(c).unwrap_or_default();
    format!(
        "# lnraid configuration: the schedule's options. `lnraid schedule install` reads and\n\
         # rewrites this file; options not given on its command line keep the values here.\n\
         # The alert command is not here: it lives in the root-only file alert_command_file.\n\
         {body}"
    )
}

/// The alert command's file for a config at `config`.
pub fn alert_file(config: &Path) -> PathBuf {
    config
        .parent()
        .unwrap_or(Path::new("/etc/lnraid"))
        .join(ALERT_FILE)
}

/// `old` (or the defaults) with `req` applied. Pure.
pub fn merge(
    old: Option<&ScheduleConfig>,
    req: &Requested,
    alert_path: &Path,
) -> Result<(ScheduleConfig, AlertChange), ConfigError> {
    let mut c = old.cloned().unwrap_or_default();
    c.version = CONFIG_VERSION;
    if let Some(s) = req.scheduler {
        c.scheduler = Some(s);
    }
    if let Some(t) = &req.balance_at {
        c.balance_at = t.to_string();
    }
    if let Some(t) = &req.scrub_at {
        c.scrub_at = t.to_string();
    }
    if let Some(g) = req.guide_balance {
        c.guide_balance = g;
    }
    if let Some(l) = &req.scrub_limit {
        c.scrub_limit = l.clone();
    }
    if let Some(m) = req.monitor {
        c.monitor = m;
        if !m && req.textfile.is_none() {
            c.textfile = None; // the textfile is the monitor's: it goes with it
        }
    }
    if let Some(t) = &req.textfile {
        c.textfile = t.clone();
    }
    if c.textfile.is_some() && !c.monitor {
        return Err(ConfigError::TextfileWithoutMonitor);
    }
    if let Some(s) = &req.snapshot {
        c.snapshot = s.clone();
    }
    if let Some(b) = &req.backup {
        c.backup = b.clone();
    }
    super::hotcopy::HotJobs::from_config(c.snapshot.as_ref(), c.backup.as_ref())
        .map_err(ConfigError::Interval)?;
    let alert = match &req.alert_command {
        None => AlertChange::Keep,
        Some(Some(cmd)) => {
            c.alert_command_file = Some(alert_path.to_path_buf());
            AlertChange::Write(cmd.clone())
        }
        Some(None) => {
            c.alert_command_file = None;
            AlertChange::Remove
        }
    };
    Ok((c, alert))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_install_keeps_what_the_first_set() {
        let alert = Path::new("/etc/lnraid/alert-command");
        let first = Requested {
            monitor: Some(true),
            alert_command: Some(Some("curl -d @- https://x/?token=SECRET".into())),
            scrub_limit: Some(Some("50M".into())),
            textfile: Some(Some("/var/lib/ne/lnraid.prom".into())),
            ..Requested::default()
        };
        let (c1, a1) = merge(None, &first, alert).unwrap();
        assert!(matches!(a1, AlertChange::Write(ref s) if s.contains("SECRET")));
        let text = render_config(&c1);
        assert!(!text.contains("SECRET"), "{text}");
        let back = parse_config(&text).unwrap();
        assert_eq!(back, c1);
        let (c2, a2) = merge(Some(&back), &Requested::default(), alert).unwrap();
        assert_eq!(c2, c1, "a plain install changes nothing");
        assert_eq!(a2, AlertChange::Keep);
        assert!(c2.monitor && c2.scrub_limit.as_deref() == Some("50M"));
        assert_eq!(c2.alert_command_file.as_deref(), Some(alert));
        // Explicit removals.
        let off = Requested {
            monitor: Some(false),
            alert_command: Some(None),
            scrub_limit: Some(None),
            ..Requested::default()
        };
        let (c3, a3) = merge(Some(&c2), &off, alert).unwrap();
        assert_eq!(a3, AlertChange::Remove);
        assert!(!c3.monitor && c3.textfile.is_none() && c3.scrub_limit.is_none());
        assert!(c3.alert_command_file.is_none());
    }

    #[test]
    fn bad_files_refused() {
        assert!(
            parse_config("version = 1\nbalance_at = \"0 0 * * *\"\nscrub_at = \"nope\"\n").is_err()
        );
        assert!(parse_config(
            "version = 9\nbalance_at = \"0 0 * * *\"\nscrub_at = \"0 0 * * 0\"\n"
        )
        .is_err());
        assert!(parse_config(
            "version = 1\nbalance_at = \"0 0 * * *\"\nscrub_at = \"0 0 * * 0\"\ntypo = 1\n"
        )
        .is_err());
        assert!(parse_config("[[[").is_err());
        let t = Requested {
            textfile: Some(Some("/x.prom".into())),
            ..Requested::default()
        };
        assert_eq!(
            merge(None, &t, Path::new("/a")).unwrap_err(),
            ConfigError::TextfileWithoutMonitor
        );
    }
}
