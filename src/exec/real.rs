//! The real runner: starts processes with duct. The only place in lnraid that may.
//!
//! Every child dies with lnraid and leads its own process group ([`super::children`]); a
//! command with a time limit ([`super::timeout`]) that runs over it has its whole group killed
//! and fails with [`CmdError::TimedOut`], naming the command and the limit.

use std::io;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use nix::libc;

use super::children::{in_child, install_handlers, kill_group, track};
use super::timeout::{limit_for, TIMEOUT_ENV};
use super::{package_for, stderr_tail, Cmd, CmdError, ExitStatus, Limit, Output, Runner};

/// After killing a timed-out group, how long to wait for its output pipes to close (a
/// grandchild that left the group could hold them open forever).
const REAP_GRACE: Duration = Duration::from_secs(2);

/// Runs commands for real: `LC_ALL=C` (text parsers expect untranslated output), both streams
/// captured, stdin from `/dev/null` unless the command carries bytes, status judged by the caller.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealRunner;

impl Runner for RealRunner {
    #[allow(clippy::disallowed_methods)] // this is the one sanctioned place (clippy.toml)
    fn output(&self, cmd: &Cmd) -> Result<Output, CmdError> {
        let limit = limit_for(cmd);
        tracing::debug!(command = %cmd, effect = ?cmd.effect, limit_s = limit.map(|d| d.as_secs_f64()), "running");
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
        let parent = nix::unistd::getpid().as_raw();
        expr = expr.before_spawn(move |c| {
            c.process_group(0);
            // SAFETY: `in_child` only makes async-signal-safe calls and does not allocate.
            unsafe {
                c.pre_exec(move || in_child(parent));
            }
            Ok(())
        });
        install_handlers();
        let started = Instant::now();
        let handle = Arc::new(expr.start().map_err(|e| spawn_error(cmd, e))?);
        let pgid = handle.pids()[0] as libc::pid_t;
        let _tracked = track(pgid);
        let out = match limit {
            None => handle.wait().cloned(),
            Some(limit) => {
                wait_within(&handle, pgid, limit).map_err(|tail| CmdError::TimedOut {
                    cmd: cmd.to_string(),
                    after: limit,
                    hint: limit_hint(cmd),
                    stderr_tail: tail,
                })?
            }
        }
        .map_err(|e| spawn_error(cmd, e))?;
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

fn limit_hint(cmd: &Cmd) -> String {
    match cmd.limit {
        Limit::Default => {
            format!("raise the limit with --timeout SECS or {TIMEOUT_ENV}=SECS (0: no limit)")
        }
        _ => String::new(),
    }
}

type Finished = io::Result<std::process::Output>;

/// Waits up to `limit` for the child; past it, kills its process group and returns `Err` with
/// the tail of what it printed on stderr (when its pipes closed in time).
fn wait_within(
    handle: &Arc<duct::Handle>,
    pgid: libc::pid_t,
    limit: Duration,
) -> Result<Finished, String> {
    let (tx, rx) = mpsc::channel::<Finished>();
    let waiter = Arc::clone(handle);
    // A detached waiter: when a grandchild that left the group holds the pipes, it never
    // returns, and lnraid must not hang with it.
    std::thread::spawn(move || {
        let _ = tx.send(waiter.wait().cloned());
    });
    match rx.recv_timeout(limit) {
        Ok(done) => Ok(done),
        Err(_) => {
            kill_group(pgid);
            let tail = match rx.recv_timeout(REAP_GRACE) {
                Ok(Ok(out)) => stderr_tail(&String::from_utf8_lossy(&out.stderr)),
                _ => String::new(),
            };
            Err(tail)
        }
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
    use super::super::testproc::{eventually, procs_with, unique_sleep};
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
    fn timeout_kills_the_whole_group_and_names_the_command() {
        let tag = unique_sleep();
        let script = format!("sleep {tag} & wait");
        let cmd = Cmd::read_only("sh", ["-c", script.as_str()]).timeout(Duration::from_millis(300));
        let started = Instant::now();
        let err = RealRunner.output(&cmd).unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        assert!(matches!(err, CmdError::TimedOut { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!(
                "`sh -c '{script}'` did not finish within 0.3 s and was killed"
            )),
            "{msg}"
        );
        assert!(
            eventually(|| procs_with(&tag).is_empty()),
            "the grandchild sleep survived"
        );
    }

    #[test]
    fn default_limit_applies_to_read_only_commands() {
        // A read-only command with no explicit limit gets the default one; a quick command is
        // not affected by it.
        let cmd = Cmd::read_only("sh", ["-c", "echo fine"]);
        assert_eq!(RealRunner.run_ok(&cmd).unwrap().stdout, "fine\n");
        let hint = limit_hint(&cmd);
        assert!(
            hint.contains("--timeout") && hint.contains(TIMEOUT_ENV),
            "{hint}"
        );
        assert_eq!(limit_hint(&cmd.clone().timeout(Duration::from_secs(1))), "");
    }

    const HARNESS_ENV: &str = "LNRAID_TEST_HARNESS";

    /// Not a test: the harness process of the two tests below. It starts `sh -c` or `sleep`
    /// through the real runner and blocks until killed.
    #[test]
    #[ignore = "helper process of children_die_with_* (runs only with LNRAID_TEST_HARNESS)"]
    fn harness() {
        let Ok(spec) = std::env::var(HARNESS_ENV) else {
            return;
        };
        let (pidfile, argv) = spec.split_once('|').unwrap();
        std::fs::write(pidfile, std::process::id().to_string()).unwrap();
        let argv: Vec<&str> = argv.split('|').collect();
        let _ = RealRunner.output(&Cmd::mutating(argv[0], argv[1..].iter().copied()));
    }

    /// Starts the harness (this test binary, running only `harness`) with `argv`; returns its
    /// pid and the thread that waits for it.
    fn start_harness(
        dir: &std::path::Path,
        argv: &[&str],
    ) -> (i32, std::thread::JoinHandle<ExitStatus>) {
        let pidfile = dir.join("harness.pid");
        let spec = format!("{}|{}", pidfile.display(), argv.join("|"));
        let exe = std::env::current_exe().unwrap();
        let cmd = Cmd::mutating(
            exe.to_str().unwrap(),
            [
                "--exact",
                "exec::real::tests::harness",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ],
        )
        .env(HARNESS_ENV, spec);
        let waiter = std::thread::spawn(move || RealRunner.output(&cmd).unwrap().status);
        assert!(eventually(|| pidfile.exists()
            && std::fs::read_to_string(&pidfile)
                .is_ok_and(|s| !s.is_empty())));
        let pid = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        (pid, waiter)
    }

    #[test]
    fn children_die_with_lnraid_killed_by_sigkill() {
        let t = tempfile::tempdir().unwrap();
        let tag = unique_sleep();
        let (pid, waiter) = start_harness(t.path(), &["sleep", &tag]);
        assert!(
            eventually(|| !procs_with(&tag).is_empty()),
            "the harness never started sleep"
        );
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        assert_eq!(waiter.join().unwrap(), ExitStatus::Signal(9));
        assert!(
            eventually(|| procs_with(&tag).is_empty()),
            "sleep outlived its parent's kill -9: {:?}",
            procs_with(&tag)
        );
    }

    #[test]
    fn children_and_grandchildren_die_with_lnraid_on_ctrl_c_and_sigterm() {
        for sig in [
            nix::sys::signal::Signal::SIGINT,
            nix::sys::signal::Signal::SIGTERM,
        ] {
            let t = tempfile::tempdir().unwrap();
            let tag = unique_sleep();
            let script = format!("sleep {tag} & wait");
            let (pid, waiter) = start_harness(t.path(), &["sh", "-c", &script]);
            assert!(
                eventually(|| procs_with(&tag).len() >= 2),
                "sh and sleep never started"
            );
            nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig).unwrap();
            assert_eq!(
                waiter.join().unwrap(),
                ExitStatus::Signal(sig as i32),
                "{sig}: lnraid still dies of the signal"
            );
            assert!(
                eventually(|| procs_with(&tag).is_empty()),
                "{sig}: left {:?}",
                procs_with(&tag)
            );
        }
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
