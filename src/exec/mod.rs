//! The process layer: the only module that starts processes (clippy.toml bans it elsewhere).
//!
//! A [`Cmd`] is data — program, arguments, whether it mutates — and displays as the exact,
//! copy-pasteable shell line; the dry run, the debug log and every error show that same string.
//! Everything above this module talks to a [`Runner`]: [`RealRunner`] runs the command with
//! `LC_ALL=C`, captures both streams and judges the exit status itself; [`FakeRunner`] replays
//! outputs captured from real runs and records what it was asked, for tests.
//! Invariant: no command is ever retried here. A failed mutating command is reported, not
//! repeated (STYLE.md rule 10). No child outlives lnraid (`children`), and no read-only
//! command runs without a time limit (`timeout`).

#[cfg(test)]
mod advice_tests;
mod children;
mod cmd;
mod fake;
mod real;
mod record;
#[cfg(test)]
pub(crate) mod testproc;
pub mod timeout;

pub use cmd::{quote_path, shell_quote, Cmd, Effect, Limit};
pub use fake::FakeRunner;
pub use real::RealRunner;
pub use record::Recorder;

use std::fmt;
use std::time::Duration;

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Code(i32),
    Signal(i32),
}

impl ExitStatus {
    pub fn success(self) -> bool {
        self == ExitStatus::Code(0)
    }

    pub fn code(self) -> Option<i32> {
        match self {
            ExitStatus::Code(c) => Some(c),
            ExitStatus::Signal(_) => None,
        }
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitStatus::Code(c) => write!(f, "exit status {c}"),
            ExitStatus::Signal(s) => write!(f, "killed by signal {s}"),
        }
    }
}

/// What a finished process left: its status and both streams (lossily decoded as UTF-8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// A successful run that printed `stdout`.
    pub fn ok(stdout: impl Into<String>) -> Output {
        Output {
            status: ExitStatus::Code(0),
            stdout: stdout.into(),
            stderr: String::new(),
        }
    }

    /// A run that exited with `code`, printing `stdout` and `stderr`.
    pub fn exited(code: i32, stdout: impl Into<String>, stderr: impl Into<String>) -> Output {
        Output {
            status: ExitStatus::Code(code),
            stdout: stdout.into(),
            stderr: stderr.into(),
        }
    }
}

/// Why a command did not do its job. Every variant names the command line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CmdError {
    /// The executable is not installed; `package` names the Debian package that ships it.
    #[error("{program} not found: install the Debian package {package} (while running `{cmd}`)")]
    NotFound {
        program: String,
        package: &'static str,
        cmd: String,
    },
    /// The process could not be started for another reason (permissions, exec format...).
    #[error("could not start `{cmd}`: {reason}")]
    Spawn { cmd: String, reason: String },
    /// The process ran and failed; `stderr_tail` holds the last lines it printed.
    #[error("`{cmd}` failed ({status}){}", tail_suffix(.stderr_tail))]
    Failed {
        cmd: String,
        status: ExitStatus,
        stderr_tail: String,
    },
    /// The process ran longer than its limit; its whole process group was killed.
    /// `hint` says how to change the limit.
    #[error("`{cmd}` did not finish within {} and was killed, with everything it started (a hung device or tool?){}{}", secs(.after), hint_suffix(.hint), tail_suffix(.stderr_tail))]
    TimedOut {
        cmd: String,
        after: Duration,
        hint: String,
        stderr_tail: String,
    },
}

fn hint_suffix(hint: &str) -> String {
    if hint.is_empty() {
        String::new()
    } else {
        format!("; {hint}")
    }
}

fn secs(d: &Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s:.1} s")
    }
}

fn tail_suffix(tail: &str) -> String {
    if tail.is_empty() {
        String::new()
    } else {
        format!(": {tail}")
    }
}

/// The last `STDERR_TAIL_LINES` non-empty lines of a stream: enough to explain a failure
/// without flooding the terminal.
pub const STDERR_TAIL_LINES: usize = 8;

pub fn stderr_tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(STDERR_TAIL_LINES);
    lines[start..].join("\n")
}

/// The Debian package that ships `program`, for the "not found" message.
pub fn package_for(program: &str) -> &'static str {
    let base = program.rsplit('/').next().unwrap_or(program);
    match base {
        "btrfs" | "mkfs.btrfs" | "btrfstune" | "btrfs-select-super" => "btrfs-progs",
        "mdadm" => "mdadm",
        "lsblk" | "blkid" | "findmnt" | "wipefs" | "blockdev" | "fstrim" => "util-linux",
        "mount" | "umount" | "losetup" | "swapon" | "swapoff" => "mount",
        "sfdisk" | "fdisk" => "fdisk",
        "mkfs.ext4" | "e2fsck" | "chattr" | "lsattr" | "tune2fs" | "filefrag" => "e2fsprogs",
        "sqlite3" => "sqlite3",
        "systemctl" | "systemd-analyze" => "systemd",
        "update-initramfs" => "initramfs-tools",
        _ => "that provides it",
    }
}

/// Runs commands. Implementations must not retry and must not interpret output. `Sync`, so
/// independent read-only probes may run on parallel threads.
pub trait Runner: Sync {
    /// Runs `cmd` to completion and returns what it left, whatever its exit status.
    /// Errors only when the process could not be started.
    fn output(&self, cmd: &Cmd) -> Result<Output, CmdError>;

    /// Runs `cmd` and requires exit status 0.
    fn run_ok(&self, cmd: &Cmd) -> Result<Output, CmdError> {
        self.run_accepting(cmd, &[0])
    }

    /// Runs `cmd` and accepts any of `codes` (e.g. `blkid -p` exits 2 for "no signature").
    fn run_accepting(&self, cmd: &Cmd, codes: &[i32]) -> Result<Output, CmdError> {
        let out = self.output(cmd)?;
        match out.status.code() {
            Some(c) if codes.contains(&c) => Ok(out),
            _ => Err(CmdError::Failed {
                cmd: cmd.to_string(),
                status: out.status,
                stderr_tail: stderr_tail(&out.stderr),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_message_carries_command_status_and_tail() {
        let runner = FakeRunner::new();
        let cmd = Cmd::mutating("mkfs.btrfs", ["-f", "/dev/loop9"]);
        runner.reply(
            &cmd,
            Output::exited(1, "", "line1\nERROR: /dev/loop9 is mounted\n"),
        );
        let err = runner.run_ok(&cmd).unwrap_err().to_string();
        assert_eq!(err, "`mkfs.btrfs -f /dev/loop9` failed (exit status 1): line1\nERROR: /dev/loop9 is mounted");
    }

    #[test]
    fn tail_keeps_last_lines() {
        let text: String = (0..20).map(|i| format!("l{i}\n")).collect();
        let tail = stderr_tail(&text);
        assert!(tail.starts_with("l12\n") && tail.ends_with("l19"), "{tail}");
    }

    #[test]
    fn packages_named() {
        assert_eq!(package_for("/usr/sbin/mkfs.btrfs"), "btrfs-progs");
        assert_eq!(package_for("losetup"), "mount");
        assert_eq!(package_for("wipefs"), "util-linux");
        assert_eq!(package_for("mdadm"), "mdadm");
        assert_eq!(package_for("mkfs.ext4"), "e2fsprogs");
    }
}
