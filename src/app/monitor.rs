//! `lnraid monitor`, meant for a 5-minute timer: compare each array's status with the last one
//! recorded, and run the alert command once per change — a change of verdict, device error
//! counters above the recorded baseline, a new scrub that found errors or failed — and once a
//! day while critical. `--textfile` writes node_exporter textfile-collector metrics
//! atomically. Exit code: the overall verdict (so a systemd unit shows failed while critical);
//! when it can check nothing it says why on stderr (no lnraid array in the fstab, the fstab
//! unreadable, a damaged state file) and exits 3 (unknown), the same convention as `status`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::alert::{self, Event, EVENT_VERSION};
use crate::cli::MonitorArgs;
use crate::config::atomic::write_atomic_no_backup;
use crate::exec::Runner;
use crate::records::{now_unix, Outcome};
use crate::status::{ArrayStatus, Severity};

/// Re-alert period while an array stays critical.
pub const REALERT_SECS: u64 = 86_400;

/// What monitor remembers about an array between runs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Seen {
    pub verdict: Option<Severity>,
    /// Total error count per device name.
    pub device_errors: BTreeMap<String, u64>,
    /// `finished` of the last scrub record already reported.
    pub scrub_finished: Option<u64>,
    pub last_alert: u64,
    /// hotcopy: `finished` of each snapshot/backup job's newest record already seen.
    #[serde(default)]
    pub hot_jobs: BTreeMap<String, u64>,
    /// hotcopy: the overdue problem codes already alerted.
    #[serde(default)]
    pub hot_overdue: Vec<String>,
}

impl<'de> Deserialize<'de> for Severity {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Severity, D::Error> {
        Ok(match String::deserialize(d)?.as_str() {
            "ok" => Severity::Ok,
            "warning" => Severity::Warning,
            "critical" => Severity::Critical,
            _ => Severity::Unknown,
        })
    }
}

fn device_errors(a: &ArrayStatus) -> BTreeMap<String, u64> {
    a.facts
        .stats
        .iter()
        .flatten()
        .map(|d| {
            let name = d
                .devid
                .map(|i| format!("devid {i}"))
                .or(d.device.as_ref().map(ToString::to_string))
                .unwrap_or_default();
            (name, d.total_errors())
        })
        .collect()
}

/// Why to alert now, if at all. Pure.
pub fn reasons(
    a: &ArrayStatus,
    seen: Option<&Seen>,
    now: u64,
) -> (Vec<String>, Vec<String>, &'static str) {
    let mut why = Vec::new();
    let mut devices = Vec::new();
    let mut kind = "";
    let prev = seen.and_then(|s| s.verdict);
    if prev != Some(a.verdict) && !(prev.is_none() && a.verdict == Severity::Ok) {
        kind = "verdict_changed";
        why.push(format!(
            "verdict {} -> {}",
            prev.map(Severity::word).unwrap_or("none"),
            a.verdict.word()
        ));
    }
    let base = seen.map(|s| s.device_errors.clone()).unwrap_or_default();
    for (dev, n) in device_errors(a) {
        if n > base.get(&dev).copied().unwrap_or(0) {
            why.push(format!("{dev}: error counters rose to {n}"));
            devices.push(dev);
            if kind.is_empty() {
                kind = "device_errors";
            }
        }
    }
    if let Some(r) = &a.facts.last_scrub_record {
        let new = seen
            .and_then(|s| s.scrub_finished)
            .is_none_or(|f| r.finished > f);
        if new
            && matches!(
                r.outcome,
                Outcome::Corrected | Outcome::Uncorrectable | Outcome::Failed
            )
        {
            why.push(format!(
                "scrub {}: {}",
                crate::status::export::outcome_word(r.outcome),
                r.detail
            ));
            if kind.is_empty() {
                kind = "scrub_result";
            }
        }
    }
    for r in super::monitor_hot::reasons(a, seen) {
        why.push(r);
        if kind.is_empty() {
            kind = "hot_copy";
        }
    }
    if why.is_empty()
        && a.verdict == Severity::Critical
        && seen.is_some_and(|s| now.saturating_sub(s.last_alert) >= REALERT_SECS)
    {
        kind = "still_critical";
        why.push("still critical".into());
    }
    (why, devices, kind)
}

pub fn run(args: &MonitorArgs, runner: &dyn Runner) -> Result<i32> {
    if let Some(tf) = &args.textfile {
        if let Err(e) = super::metrics::check_textfile_path(tf) {
            tracing::warn!("monitor: {e:#}");
            return Ok(Severity::Unknown.exit_code());
        }
    }
    let ctx = super::status::ctx_from(&args.host, None);
    let now = now_unix();
    let (arrays, overall) = match super::status::collect(runner, &ctx, args.mountpoint.as_deref()) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!("monitor: nothing checked: {e:#}");
            write_textfile(args, &[], now)?;
            return Ok(Severity::Unknown.exit_code());
        }
    };
    // Hook (recover): see app::status::run.
    crate::members::observe_all(
        runner,
        &ctx.state_dir,
        arrays.iter().map(|a| a.facts.mountpoint.as_path()),
        "monitor",
    );
    if arrays.is_empty() {
        tracing::warn!(
            "monitor: nothing checked: no lnraid array in {} (no `# lnraid-managed` line); name a mountpoint to watch one",
            args.host.fstab.display()
        );
    }
    let code = match watch(args, runner, &arrays, now) {
        Ok(()) => overall.exit_code(),
        Err(e) => {
            tracing::warn!("monitor: {e:#}");
            Severity::Unknown.exit_code()
        }
    };
    let docs: Vec<_> = arrays.iter().map(crate::backend::to_doc).collect();
    write_textfile(args, &docs, now)?;
    Ok(code)
}

fn write_textfile(
    args: &MonitorArgs,
    docs: &[crate::status::doc::ArrayDoc],
    now: u64,
) -> Result<()> {
    if let Some(tf) = &args.textfile {
        write_atomic_no_backup(tf, super::metrics::render(docs, now).as_bytes(), 0o644)
            .with_context(|| format!("writing {}", tf.display()))?;
    }
    Ok(())
}

/// Compares each array with what was seen last and alerts on a change.
fn watch(args: &MonitorArgs, runner: &dyn Runner, arrays: &[ArrayStatus], now: u64) -> Result<()> {
    for a in arrays {
        let Some(uuid) = a.facts.uuid.clone() else {
            continue;
        };
        let path = args
            .host
            .state_dir
            .join("monitor")
            .join(format!("{uuid}.json"));
        let seen: Option<Seen> = match std::fs::read_to_string(&path) {
            Ok(t) => Some(
                serde_json::from_str(&t)
                    .with_context(|| format!("{} is damaged", path.display()))?,
            ),
            Err(_) => None,
        };
        let (why, devices, kind) = reasons(a, seen.as_ref(), now);
        let mut next = Seen {
            verdict: Some(a.verdict),
            device_errors: device_errors(a),
            scrub_finished: a
                .facts
                .last_scrub_record
                .as_ref()
                .map(|r| r.finished)
                .or(seen.as_ref().and_then(|s| s.scrub_finished)),
            last_alert: seen.as_ref().map(|s| s.last_alert).unwrap_or(0),
            hot_jobs: super::monitor_hot::jobs_seen(a),
            hot_overdue: super::monitor_hot::overdue(a),
        };
        if !why.is_empty() {
            let summary = format!(
                "lnraid: {} is {}: {}",
                a.facts.mountpoint.display(),
                a.verdict.word(),
                why.join("; ")
            );
            let ev = Event {
                version: EVENT_VERSION,
                time: now,
                host: alert::hostname(),
                source: "monitor",
                kind,
                severity: a.verdict,
                fs_uuid: Some(uuid.to_string()),
                mountpoint: a.facts.mountpoint.clone(),
                summary,
                devices,
                problems: a.problems.clone(),
                details: serde_json::json!({ "reasons": why }),
            };
            let cmd = crate::app::schedule::secret::alert_command(
                args.alert_command.as_deref(),
                args.alert_command_file.as_deref(),
            )?;
            if !alert::send(runner, cmd.as_deref(), &ev) {
                // Keep the old state: the next run sees the same change and tries again,
                // instead of the change being taken as reported.
                tracing::warn!("the change stays unreported; the next monitor run retries");
                continue;
            }
            next.last_alert = now;
        }
        std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))?;
        write_atomic_no_backup(
            &path,
            serde_json::to_string_pretty(&next)?.as_bytes(),
            0o644,
        )?;
    }
    Ok(())
}
