//! Alerts: an operator-chosen shell command run with a JSON [`Event`] on stdin and a one-line
//! summary in `LNRAID_SUMMARY` (also `LNRAID_SEVERITY`, `LNRAID_EVENT`), so `mail`, a webhook
//! script or a chat bot is one line: `--alert-command 'mail -s "$LNRAID_SUMMARY" root'`.
//!
//! A failing alert command is reported on stderr and never fails the job that raised it:
//! the job's own result (and exit code) still tells.

use std::path::PathBuf;

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
    eprintln!("lnraid: alert: {}", crate::ui::sanitize(&event.summary));
    let Some(command) = command else { return true };
    match runner.run_ok(&alert_cmd(command, event)) {
        Ok(_) => true,
        Err(e) => {
            eprintln!(
                "lnraid: warning: the alert command failed: {}",
                crate::ui::sanitize_multiline(&e.to_string())
            );
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::RealRunner;

    #[test]
    fn delivers_json_on_stdin_and_summary_in_env() {
        let t = tempfile::tempdir().unwrap();
        let out = t.path().join("got");
        let ev = Event {
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
        };
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
}
