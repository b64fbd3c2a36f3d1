//! Time limits: how long a command may run before the real runner kills its process group.
//!
//! A hung `btrfs` (a dying disk, a stuck kernel worker), `blkid` on a disk that stopped
//! answering, or an alert command waiting on a dead mail server used to hang `status`,
//! `monitor`, `maintain` and `devices` forever; a monitor run every 5 minutes then piles up.
//! Every read-only command therefore gets a limit by default: 10 s for the quick block-device
//! tools, 30 s for the rest (btrfs probes walk chunk trees and may wait on a busy filesystem).
//! The operator changes that default with `--timeout SECS` or `LNRAID_TIMEOUT=SECS` (`0`: no
//! limit). Mutating commands run untimed unless their caller sets a limit: a scrub, balance,
//! replace or mkfs over a large disk legitimately takes hours, and killing one half way helps
//! nobody; their progress is polled elsewhere.
//! Pure apart from reading the environment once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::{Cmd, Effect, Limit};

/// The environment variable that sets the default limit of read-only commands, in seconds.
pub const TIMEOUT_ENV: &str = "LNRAID_TIMEOUT";

/// Default for the block-device listing tools, which only read sysfs and a few sectors.
pub const QUICK_TOOL_LIMIT: Duration = Duration::from_secs(10);
/// Default for every other read-only command.
pub const READ_LIMIT: Duration = Duration::from_secs(30);

const UNSET: u64 = u64::MAX;
/// The `--timeout` override in milliseconds: `UNSET`, or 0 for "no limit".
static OVERRIDE_MS: AtomicU64 = AtomicU64::new(UNSET);

/// Sets the default limit of read-only commands for this process (`--timeout`); `secs == 0`
/// means no limit. Wins over `LNRAID_TIMEOUT`.
pub fn set_read_timeout(secs: f64) {
    let ms = if secs.is_finite() && secs > 0.0 {
        (secs * 1000.0).ceil() as u64
    } else {
        0
    };
    OVERRIDE_MS.store(ms.min(UNSET - 1), Ordering::SeqCst);
}

/// Parses a limit given in seconds (`30`, `2.5`, `0` = none).
pub fn parse_secs(s: &str) -> Result<f64, String> {
    let t = s.trim().trim_end_matches('s');
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!(
            "{s:?} is not a number of seconds (e.g. 30, 2.5, or 0 for no limit)"
        )),
    }
}

/// The operator's default for read-only commands: `Some(None)` means "no limit",
/// `None` means "not set, use each program's default".
fn operator_default() -> Option<Option<Duration>> {
    match OVERRIDE_MS.load(Ordering::SeqCst) {
        UNSET => {}
        0 => return Some(None),
        ms => return Some(Some(Duration::from_millis(ms))),
    }
    let raw = std::env::var(TIMEOUT_ENV).ok()?;
    match parse_secs(&raw) {
        Ok(0.0) => Some(None),
        Ok(v) => Some(Some(Duration::from_secs_f64(v))),
        Err(e) => {
            tracing::warn!("ignoring {TIMEOUT_ENV}: {e}");
            None
        }
    }
}

/// The built-in default for a read-only `program`.
pub fn program_default(program: &str) -> Duration {
    let base = program.rsplit('/').next().unwrap_or(program);
    match base {
        "lsblk" | "blkid" | "findmnt" | "losetup" | "lsattr" => QUICK_TOOL_LIMIT,
        _ => READ_LIMIT,
    }
}

/// How long `cmd` may run: `None` means no limit.
pub fn limit_for(cmd: &Cmd) -> Option<Duration> {
    match (cmd.limit, cmd.effect) {
        (Limit::After(d), _) => Some(d),
        (Limit::Untimed, _) | (Limit::Default, Effect::Mutating) => None,
        (Limit::Default, Effect::ReadOnly) => {
            operator_default().unwrap_or_else(|| Some(program_default(&cmd.program)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_commands_get_a_limit_mutating_ones_do_not() {
        // No test in this binary sets the override or the environment variable.
        let lsblk = Cmd::read_only("lsblk", ["--json"]);
        assert_eq!(limit_for(&lsblk), Some(QUICK_TOOL_LIMIT));
        let show = Cmd::read_only("/usr/bin/btrfs", ["filesystem", "show"]);
        assert_eq!(limit_for(&show), Some(READ_LIMIT));
        let scrub = Cmd::mutating("btrfs", ["scrub", "start", "-B", "/mnt"]);
        assert_eq!(limit_for(&scrub), None);
        let alert = Cmd::mutating("sh", ["-c", "mail root"]).timeout(Duration::from_secs(5));
        assert_eq!(limit_for(&alert), Some(Duration::from_secs(5)));
        assert_eq!(limit_for(&lsblk.untimed()), None);
    }

    #[test]
    fn parses_seconds() {
        assert_eq!(parse_secs("30"), Ok(30.0));
        assert_eq!(parse_secs("2.5s"), Ok(2.5));
        assert_eq!(parse_secs("0"), Ok(0.0));
        assert!(parse_secs("-1").is_err());
        assert!(parse_secs("soon").is_err());
        assert!(parse_secs("inf").is_err());
    }
}
