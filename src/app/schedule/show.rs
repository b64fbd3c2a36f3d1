//! `schedule show`: what is installed, per scheduler, and for each array and job when it last
//! ran and how it ended (the records `lnraid maintain` writes). Read-only.

use anyhow::Result;

use super::{probe_installed, read_arrays, say, targets, Target};
use crate::app::exit;
use crate::cli::ScheduleShowArgs;
use crate::exec::{Cmd, Runner};
use crate::records::{now_unix, read_record, Job, JobRecord, Outcome};
use crate::schedule::render::{cron_quote, escape_path};
use crate::schedule::{is_live_name, Installed, ScheduledArray, Scheduler};

pub fn show(t: &ScheduleShowArgs, runner: &dyn Runner) -> Result<i32> {
    let arrays = read_arrays(&t.host.fstab)?;
    let mut out = String::from("Installed schedule:\n");
    let mut installed_any: Vec<(Target, Vec<Installed>)> = Vec::new();
    for target in targets(t.scheduler, &t.cron, &t.host) {
        let live: Vec<Installed> = probe_installed(&target)?
            .into_iter()
            .filter(|i| {
                i.path
                    .file_name()
                    .is_some_and(|n| is_live_name(target.scheduler, &n.to_string_lossy()))
            })
            .collect();
        out.push_str(&format!(
            "  {} ({}): {}\n",
            target.scheduler.name(),
            target.dir.display(),
            if live.is_empty() {
                "not installed"
            } else {
                "installed"
            }
        ));
        for i in &live {
            out.push_str(&describe_file(&target, i, runner));
        }
        if !live.is_empty() {
            installed_any.push((target, live));
        }
    }
    out.push_str(&describe_config(&t.config.path, &installed_any));
    if arrays.is_empty() {
        out.push_str(&format!(
            "\nNo lnraid array in {}.\n",
            t.host.fstab.display()
        ));
    }
    for a in &arrays {
        out.push_str(&format!(
            "\n{} (filesystem {}):\n",
            a.mountpoint.display(),
            a.uuid
        ));
        for job in [Job::Balance, Job::Scrub] {
            let last = match read_record(&t.host.state_dir, &a.uuid, job) {
                Ok(Some(r)) => describe_record(&r, now_unix()),
                Ok(None) => "never ran".to_string(),
                Err(e) => format!("record unreadable: {e:#}"),
            };
            let scheduled = if installed_any
                .iter()
                .any(|(t, files)| covers(t.scheduler, files, a, job))
            {
                ""
            } else {
                "  (NOT SCHEDULED: run `lnraid schedule install`)"
            };
            out.push_str(&format!(
                "  {:<8} {last}{scheduled}\n",
                format!("{}:", job.name())
            ));
        }
    }
    say(out.trim_end());
    Ok(exit::OK)
}

/// The stored options (`lnraid.toml`), and where they disagree with what is installed.
fn describe_config(path: &std::path::Path, installed: &[(Target, Vec<Installed>)]) -> String {
    use std::os::unix::fs::MetadataExt;
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(_) => return format!("\nConfig {}: none (defaults)\n", path.display()),
    };
    let c = match crate::schedule::config::parse_config(&text) {
        Ok(c) => c,
        Err(e) => return format!("\nConfig {}: INVALID ({e})\n", path.display()),
    };
    // The file beside the config read (what the jobs name), not a path an older config kept.
    let alert_file = c
        .alert_command_file
        .as_ref()
        .map(|_| crate::schedule::config::alert_file(path));
    let alert = match &alert_file {
        None => "none".to_string(),
        Some(f) => match std::fs::metadata(f) {
            Ok(m) if m.mode() & 0o077 == 0 => {
                format!("in {} (mode {:04o})", f.display(), m.mode() & 0o7777)
            }
            Ok(m) => format!(
                "in {} — READABLE BY OTHERS (mode {:04o}): chmod 600 it",
                f.display(),
                m.mode() & 0o7777
            ),
            Err(_) => format!("{} is MISSING: the jobs cannot alert", f.display()),
        },
    };
    let mut out = format!(
        "\nConfig {}: scheduler {}, balance at `{}`{}, scrub at `{}`{}, monitor {}{}; alert command {alert}\n",
        path.display(),
        c.scheduler.map_or("default", |s| s.name()),
        c.balance_at,
        if c.guide_balance { " (cln-guide filters)" } else { "" },
        c.scrub_at,
        c.scrub_limit.as_ref().map(|l| format!(" limited to {l}/s")).unwrap_or_default(),
        if c.monitor { "every 5 minutes" } else { "off" },
        c.textfile.as_ref().map(|t| format!(" (textfile {})", t.display())).unwrap_or_default(),
    );
    if let Some(s) = c.scheduler {
        if !installed.is_empty() && !installed.iter().any(|(t, _)| t.scheduler == s) {
            out.push_str(&format!(
                "  NOT INSTALLED as configured ({}): run `lnraid schedule install`\n",
                s.name()
            ));
        }
    }
    out
}

/// The job lines of a cron file, or the calendar of a timer (and its state, when live).
fn describe_file(t: &Target, i: &Installed, runner: &dyn Runner) -> String {
    let name = i
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut out = format!("    {}\n", i.path.display());
    match t.scheduler {
        Scheduler::Cron => {
            for l in i.content.lines().filter(|l| is_job_line(l)) {
                out.push_str(&format!("      {l}\n"));
            }
        }
        Scheduler::Systemd if name.ends_with(".timer") => {
            for l in i
                .content
                .lines()
                .filter_map(|l| l.strip_prefix("OnCalendar="))
            {
                out.push_str(&format!("      OnCalendar={l}\n"));
            }
            if t.live {
                let q = |what: &str| {
                    runner
                        .output(&Cmd::read_only("systemctl", [what, name.as_str()]))
                        .map(|o| o.stdout.trim().to_string())
                        .unwrap_or_else(|e| format!("unknown ({e})"))
                };
                out.push_str(&format!("      {}, {}\n", q("is-enabled"), q("is-active")));
            }
        }
        Scheduler::Systemd => {}
    }
    out
}

/// A cron line that runs something (not a comment, blank, or `NAME=value`).
fn is_job_line(l: &str) -> bool {
    let l = l.trim();
    let env = l.split_once('=').is_some_and(|(k, _)| {
        !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    });
    !l.is_empty() && !l.starts_with('#') && !env
}

/// Whether the installed files run `job` for array `a`.
fn covers(s: Scheduler, files: &[Installed], a: &ScheduledArray, job: Job) -> bool {
    match s {
        Scheduler::Cron => {
            let tail = format!(" {}", cron_quote(&a.mountpoint.to_string_lossy()));
            let verb = format!(" maintain {} ", job.name());
            files.iter().any(|f| {
                f.content
                    .lines()
                    .any(|l| is_job_line(l) && l.contains(&verb) && l.ends_with(&tail))
            })
        }
        Scheduler::Systemd => {
            let unit = format!("lnraid-{}-{}.timer", job.name(), escape_path(&a.mountpoint));
            files.iter().any(|f| {
                f.path
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy() == unit)
            })
        }
    }
}

/// `2026-11-20 00:12:03 UTC (13 hours ago), took 4s: ok: <detail>`.
pub(crate) fn describe_record(r: &JobRecord, now: u64) -> String {
    let outcome = match r.outcome {
        Outcome::Ok => "ok",
        Outcome::Corrected => "ERRORS CORRECTED",
        Outcome::Uncorrectable => "UNCORRECTABLE ERRORS",
        Outcome::Skipped => "SKIPPED",
        Outcome::Failed => "FAILED",
    };
    let detail = if r.detail.is_empty() {
        String::new()
    } else {
        format!(": {}", r.detail)
    };
    format!(
        "last ran {} ({} ago), took {}: {outcome}{detail}",
        pretty_time(r.started),
        duration(now.saturating_sub(r.started)),
        duration(r.finished.saturating_sub(r.started))
    )
}

/// Unix seconds as `YYYY-mm-dd HH:MM:SS UTC`.
pub(crate) fn pretty_time(secs: u64) -> String {
    let t = crate::app::ids::format_timestamp(secs); // YYYYmmddTHHMMSSZ
    format!(
        "{}-{}-{} {}:{}:{} UTC",
        &t[0..4],
        &t[4..6],
        &t[6..8],
        &t[9..11],
        &t[11..13],
        &t[13..15]
    )
}

/// A rough duration: `45s`, `12m`, `3h`, `2d`.
pub(crate) fn duration(s: u64) -> String {
    match s {
        0..=119 => format!("{s}s"),
        120..=7199 => format!("{}m", s / 60),
        7200..=172_799 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_lines() {
        let r = JobRecord {
            job: Job::Scrub,
            fs_uuid: crate::types::FsUuid::parse("5d1c0e2a-1111-2222-3333-444455556666").unwrap(),
            mountpoint: "/mnt/lnraid".into(),
            started: 1_795_219_200,
            finished: 1_795_219_200 + 65,
            outcome: Outcome::Corrected,
            detail: "3 errors corrected".into(),
            counts: Default::default(),
        };
        assert_eq!(
            describe_record(&r, 1_795_219_200 + 3 * 3600),
            "last ran 2026-11-21 00:00:00 UTC (3h ago), took 65s: ERRORS CORRECTED: 3 errors corrected"
        );
    }

    #[test]
    fn job_lines() {
        assert!(is_job_line("0 0 * * * root /x maintain scrub /mnt"));
        assert!(!is_job_line("PATH=/usr/bin:/bin"));
        assert!(!is_job_line("# comment"));
        assert!(!is_job_line(""));
    }
}
