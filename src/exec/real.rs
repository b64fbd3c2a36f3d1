//! The real runner: starts processes with duct. The only place in lnraid that may.

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::time::Instant;

use super::{package_for, Cmd, CmdError, ExitStatus, Output, Runner};

/// Runs commands for real: `LC_ALL=C` (text parsers expect untranslated output), both streams
/// captured, stdin from `/dev/null` unless the command carries bytes, status judged by the caller.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealRunner;

impl Runner for RealRunner {
    #[allow(clippy::disallowed_methods)] // this is the one sanctioned place (clippy.toml)
    fn output(&self, cmd: &Cmd) -> Result<Output, CmdError> {
        tracing::debug!(command = %cmd, effect = ?cmd.effect, "running");
        let mut expr = duct::cmd(&cmd.program, &cmd.args)
            .env("LC_ALL", "C")
            .stdout_capture()
            .stderr_capture()
            .unchecked();
        for (k, v) in &cmd.env {
            expr = expr.env(k, v);
        }
        expr = match &cmd.stdin {
            Some(bytes) => expr.stdin_bytes(bytes.clone()),
            None => expr.stdin_null(),
        };
        let started = Instant::now();
        let out = expr.run().map_err(|e| spawn_error(cmd, e))?;
        let status = match (out.status.code(), out.status.signal()) {
            (Some(c), _) => ExitStatus::Code(c),
            (None, Some(s)) => ExitStatus::Signal(s),
            (None, None) => ExitStatus::Signal(0),
        };
        tracing::debug!(command = %cmd, %status, elapsed_ms = started.elapsed().as_millis() as u64, "finished");
        Ok(Output {
            status,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }
}

fn spawn_error(cmd: &Cmd, e: io::Error) -> CmdError {
    if e.kind() == io::ErrorKind::NotFound {
        CmdError::NotFound {
            program: cmd.program.clone(),
            package: package_for(&cmd.program),
            cmd: cmd.to_string(),
        }
    } else {
        CmdError::Spawn {
            cmd: cmd.to_string(),
            reason: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_both_streams_and_status() {
        let cmd = Cmd::read_only("sh", ["-c", "echo out; echo err >&2; exit 3"]);
        let out = RealRunner.output(&cmd).unwrap();
        assert_eq!(out.status, ExitStatus::Code(3));
        assert_eq!(out.stdout, "out\n");
        assert_eq!(out.stderr, "err\n");
        let err = RealRunner.run_ok(&cmd).unwrap_err().to_string();
        assert!(
            err.contains("`sh -c 'echo out; echo err >&2; exit 3'` failed (exit status 3): err"),
            "{err}"
        );
    }

    #[test]
    fn sets_c_locale_and_feeds_stdin() {
        let cmd = Cmd::read_only("sh", ["-c", "echo $LC_ALL; cat"]).stdin("piped");
        let out = RealRunner.run_ok(&cmd).unwrap();
        assert_eq!(out.stdout, "C\npiped");
    }

    #[test]
    fn reports_signal() {
        let cmd = Cmd::read_only("sh", ["-c", "kill -9 $$"]);
        assert_eq!(
            RealRunner.output(&cmd).unwrap().status,
            ExitStatus::Signal(9)
        );
    }

    #[test]
    fn missing_binary_names_package() {
        let cmd = Cmd::mutating("/nonexistent/mkfs.btrfs", ["-f"]);
        let err = RealRunner.output(&cmd).unwrap_err().to_string();
        assert!(
            err.starts_with(
                "/nonexistent/mkfs.btrfs not found: install the Debian package btrfs-progs"
            ),
            "{err}"
        );
    }
}
