//! Alerts: an operator-chosen shell command run with a JSON [`Event`] on stdin and a one-line
//! summary in `LNRAID_SUMMARY` (also `LNRAID_SEVERITY`, `LNRAID_EVENT`), so `mail`, a webhook
//! script or a chat bot is one line: `--alert-command 'mail -s "$LNRAID_SUMMARY" root'`.
//!
//! A failing alert command is reported on stderr and never fails the job that raised it:
//! the job's own result (and exit code) still tells. A hanging one (a mail server that never
//! answers) is killed, with everything it started, after [`ALERT_TIMEOUT`]
//! (`LNRAID_ALERT_TIMEOUT=SECS` changes it): a monitor run every 5 minutes must not pile up
//! behind it.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::exec::{Cmd, Runner};
use crate::status::{Problem, Severity};

pub const EVENT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub version: u32,
    /// RFC 3339 UTC in the JSON (`schemas/event.schema.json`); Unix seconds here.
    #[serde(with = "crate::time::unix_rfc3339")]
    pub time: u64,
    pub host: String,
    /// `maintain` or `monitor`.
    pub source: &'static str,
    /// `scrub_errors`, `maintenance_skipped`, `maintenance_failed`, `verdict_changed`,
    /// `device_errors`, `still_critical`, `scrub_result`.
    pub kind: &'static str,
    pub severity: Severity,
    pub fs_uuid: Option<String>,
    pub mountpoint: PathBuf,
    pub summary: String,
    /// Devices concerned (paths or `devid N`).
    pub devices: Vec<String>,
    pub problems: Vec<Problem>,
    pub details: serde_json::Value,
}

/// How long an alert command may run by default.
pub const ALERT_TIMEOUT: Duration = Duration::from_secs(60);
/// The environment variable that changes [`ALERT_TIMEOUT`] (seconds; `0`: no limit).
pub const ALERT_TIMEOUT_ENV: &str = "LNRAID_ALERT_TIMEOUT";

/// The alert command's limit: `LNRAID_ALERT_TIMEOUT` when set and valid, else [`ALERT_TIMEOUT`].
pub fn alert_timeout() -> Option<Duration> {
    match std::env::var(ALERT_TIMEOUT_ENV)
        .ok()
        .map(|v| crate::exec::timeout::parse_secs(&v))
    {
        Some(Ok(0.0)) => None,
        Some(Ok(s)) => Some(Duration::from_secs_f64(s)),
        Some(Err(e)) => {
            tracing::warn!("ignoring {ALERT_TIMEOUT_ENV}: {e}");
            Some(ALERT_TIMEOUT)
        }
        None => Some(ALERT_TIMEOUT),
    }
}

pub fn hostname() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.nodename().to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The command that delivers `event` (built separately so the dry run and tests can show it).
pub fn alert_cmd(command: &str, event: &Event) -> Cmd {
    // One line, newline-terminated: friendly to `read`, `jq` and line-based consumers.
    let json = serde_json::to_string(event).unwrap_or_default() + "\n";
    // The command runs in a subshell and whatever it leaves unread of the event is drained
    // afterwards: a command that never reads stdin (`exit 1`, `logger x`) must not close the
    // pipe under lnraid's write, which with SIGPIPE at its default kills lnraid (seen in
    // tests/loop_monitor.rs). Its exit status is kept.
    let script = format!("( {command}\n); rc=$?; cat >/dev/null; exit $rc");
    Cmd::mutating("sh", ["-c", script.as_str()])
        .env("LNRAID_SUMMARY", event.summary.replace('\n', " "))
        .env("LNRAID_SEVERITY", event.severity.word())
        .env("LNRAID_EVENT", event.kind)
        .stdin(json.into_bytes())
}

/// Runs the alert command; reports and swallows its failure.
/// Returns whether the alert was delivered (true when no command is configured: stderr was
/// the channel), so `monitor` can retry an undelivered one on its next run.
pub fn send(runner: &dyn Runner, command: Option<&str>, event: &Event) -> bool {
    send_within(runner, command, event, alert_timeout())
}

fn send_within(
    runner: &dyn Runner,
    command: Option<&str>,
    event: &Event,
    limit: Option<Duration>,
) -> bool {
    tracing::warn!("alert: {}", crate::ui::sanitize(&event.summary));
    let Some(command) = command else { return true };
    let cmd = alert_cmd(command, event);
    let cmd = match limit {
        Some(d) => cmd.timeout(d),
        None => cmd.untimed(),
    };
    match runner.run_ok(&cmd) {
        Ok(_) => true,
        Err(e) => {
            let hint = match e {
                crate::exec::CmdError::TimedOut { .. } => {
                    format!(" (set {ALERT_TIMEOUT_ENV}=SECS to allow it longer)")
                }
                _ => String::new(),
            };
            // The command may carry tokens (it lives in a 0600 file): never echo it.
            let text = e
                .to_string()
                .replace(&crate::exec::shell_quote(command), "<alert command>")
                .replace(command, "<alert command>");
            tracing::warn!(
                "the alert command failed{hint}: {}",
                crate::ui::sanitize_multiline(&text)
            );
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::RealRunner;

    fn event() -> Event {
        Event {
            version: EVENT_VERSION,
            time: 1,
            host: "h".into(),
            source: "monitor",
            kind: "verdict_changed",
            severity: Severity::Critical,
            fs_uuid: None,
            mountpoint: "/mnt/lnraid".into(),
            summary: "lnraid: /mnt/lnraid is critical".into(),
            devices: vec!["devid 2".into()],
            problems: vec![],
            details: serde_json::Value::Null,
        }
    }

    #[test]
    fn delivers_json_on_stdin_and_summary_in_env() {
        let t = tempfile::tempdir().unwrap();
        let out = t.path().join("got");
        let ev = event();
        let cmd = format!(
            "cat > '{0}'; echo \"$LNRAID_SUMMARY|$LNRAID_SEVERITY|$LNRAID_EVENT\" >> '{0}'",
            out.display()
        );
        send(&RealRunner, Some(&cmd), &ev);
        let got = std::fs::read_to_string(&out).unwrap();
        let (json, env) = got.split_once('\n').unwrap();
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(v["devices"][0], "devid 2");
        assert_eq!(v["severity"], "critical");
        assert_eq!(
            env.trim(),
            "lnraid: /mnt/lnraid is critical|critical|verdict_changed"
        );
        assert!(
            !send(&RealRunner, Some("exit 7"), &ev),
            "reported as undelivered, not fatal"
        );
        // A command that reads nothing, with an event far larger than a pipe buffer: lnraid
        // is not killed by SIGPIPE, and the status is the command's.
        let mut big = ev.clone();
        big.details = serde_json::json!({ "pad": "x".repeat(1 << 20) });
        assert!(send(&RealRunner, Some("true"), &big));
        assert!(!send(&RealRunner, Some("exit 3"), &big));
        // A comment or an unbalanced quote in the command stays inside the subshell.
        assert!(send(&RealRunner, Some("true # a comment"), &ev));
    }

    #[test]
    fn a_hung_alert_command_is_killed_and_reported() {
        use crate::exec::testproc::{eventually, procs_with, unique_sleep};
        let tag = unique_sleep();
        // The alert command's own child must die too: `sleep` is a grandchild here.
        let cmd = format!("sleep {tag}; echo done");
        let started = std::time::Instant::now();
        let delivered = send_within(
            &RealRunner,
            Some(&cmd),
            &event(),
            Some(Duration::from_millis(300)),
        );
        assert!(!delivered, "a killed alert is not delivered");
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(alert_cmd("x", &event()).limit, crate::exec::Limit::Default);
        assert!(
            eventually(|| procs_with(&tag).is_empty()),
            "the alert's sleep survived"
        );
    }
}
