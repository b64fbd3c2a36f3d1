//! `btrfs replace status -1 <mountpoint>`: the state of the (last) device replace.
//!
//! Role: `lnraid replace` and status report progress and refuse to start a second replace.
//! One line: `Never started`, `8.6% done, 0 write errs, 0 uncorr. read errs`, or `Started on
//! <date>, finished|canceled|suspended on <date>[ at N%], ...`. Progress moves per chunk, and a
//! canceled replace reports `at 0.0%` whatever it had reached (6.2 and 6.14). May not: loop
//! (`-1` prints once; without it progs redraws with `\r` until the end). Invariants: exactly
//! one status line; the error counters are always present.

use std::path::Path;

use serde::Serialize;

use super::{btrfs_cmd, complete_lines, lazy_regex, num, BtrfsError, Percent};
use crate::exec::{Cmd, Runner};
use crate::probe::{excerpt, ParseError};

const WHAT: &str = "`btrfs replace status` output";

/// `btrfs replace status -1 <mnt>`.
pub fn replace_status_cmd(mnt: &Path) -> Cmd {
    btrfs_cmd(&["replace", "status", "-1"], mnt)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum ReplaceState {
    NeverStarted,
    Running {
        percent: Percent,
    },
    Finished,
    Canceled,
    /// The filesystem was unmounted mid-replace; the kernel resumes it at the next mount.
    Suspended {
        percent: Percent,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplaceStatus {
    pub state: ReplaceState,
    /// As printed (`21.Nov 13:00:20`): no year, local time.
    pub started: Option<String>,
    pub ended: Option<String>,
    pub write_errs: u64,
    pub uncorrectable_read_errs: u64,
}

impl ReplaceStatus {
    pub fn is_running(&self) -> bool {
        matches!(
            self.state,
            ReplaceState::Running { .. } | ReplaceState::Suspended { .. }
        )
    }
}

const ERRS: &str = r", (\d+) write errs, (\d+) uncorr\. read errs$";
lazy_regex!(RUNNING, &format!(r"^([0-9.]+)% done{ERRS}"));
lazy_regex!(
    ENDED,
    &format!(r"^Started on (.+?), (finished|canceled|suspended) on (.+?)(?: at ([0-9.]+)%)?{ERRS}")
);

pub fn parse_replace_status(text: &str) -> Result<ReplaceStatus, ParseError> {
    let mut lines = complete_lines(WHAT, text)?.filter(|(_, l)| !l.trim().is_empty());
    let (n, line) = lines
        .next()
        .ok_or_else(|| ParseError::new(WHAT, "empty output"))?;
    if let Some((m, _)) = lines.next() {
        return Err(ParseError::at(WHAT, m, "more than one status line"));
    }
    let pct = |s: &str| {
        Percent::parse(s).ok_or_else(|| ParseError::at(WHAT, n, format!("bad percent {s:?}")))
    };
    if line == "Never started" {
        return Ok(ReplaceStatus {
            state: ReplaceState::NeverStarted,
            started: None,
            ended: None,
            write_errs: 0,
            uncorrectable_read_errs: 0,
        });
    }
    if let Some(c) = RUNNING.captures(line) {
        return Ok(ReplaceStatus {
            state: ReplaceState::Running {
                percent: pct(&c[1])?,
            },
            started: None,
            ended: None,
            write_errs: num(WHAT, n, &c[2])?,
            uncorrectable_read_errs: num(WHAT, n, &c[3])?,
        });
    }
    let c = ENDED
        .captures(line)
        .ok_or_else(|| ParseError::at(WHAT, n, format!("unexpected {:?}", excerpt(line))))?;
    let at = c.get(4).map(|m| m.as_str());
    let state = match (&c[2], at) {
        ("finished", None) => ReplaceState::Finished,
        ("canceled", Some(_)) => ReplaceState::Canceled,
        ("suspended", Some(p)) => ReplaceState::Suspended { percent: pct(p)? },
        _ => return Err(ParseError::at(WHAT, n, "state and percent do not fit")),
    };
    Ok(ReplaceStatus {
        state,
        started: Some(c[1].to_string()),
        ended: Some(c[3].to_string()),
        write_errs: num(WHAT, n, &c[5])?,
        uncorrectable_read_errs: num(WHAT, n, &c[6])?,
    })
}

/// Runs [`replace_status_cmd`] and parses it.
pub fn probe_replace_status(runner: &dyn Runner, mnt: &Path) -> Result<ReplaceStatus, BtrfsError> {
    let out = runner.run_ok(&replace_status_cmd(mnt))?;
    Ok(parse_replace_status(&out.stdout)?)
}

/// Why a replacement ended without finishing, from what the kernel and progs said: the
/// `replace start` error (`ioctl(DEV_REPLACE_START) failed on …: <strerror>`), the kernel's
/// lines since the replace started (`dmesg`), and the status, which says `canceled` for every
/// failure (an ENOSPC included: fixtures/btrfs-replace-status/6.2-after-enospc.txt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplaceFailure {
    /// ENOSPC: btrfs could not mark a block group read-only to copy it.
    ArrayFull { kernel: Vec<String> },
    /// `btrfs replace cancel`, or the filesystem unmounted.
    Canceled,
    /// Another kernel error (errno when known), with the kernel's lines.
    Kernel {
        errno: Option<i32>,
        kernel: Vec<String>,
        progs: Option<String>,
    },
}

lazy_regex!(
    IOCTL_ERR,
    r"ioctl\(DEV_REPLACE_START\) failed on .*: ([A-Za-z][A-Za-z ]+)$"
);
lazy_regex!(KERNEL_ERRNO, r"(?:failed|: )\s*-(\d+)\s*$");

/// The kernel's BTRFS lines of the last replacement in `dmesg` text: from the last
/// `dev_replace from … started` line on, timestamps dropped.
pub fn replace_kernel_lines(dmesg: &str) -> Vec<String> {
    let lines: Vec<&str> = dmesg.lines().collect();
    let start = lines
        .iter()
        .rposition(|l| l.contains("dev_replace from") && l.contains(" started"))
        .unwrap_or(lines.len());
    lines[start..]
        .iter()
        .filter(|l| l.contains("BTRFS"))
        .map(|l| match l.find("] ") {
            Some(i) if l.starts_with('[') => l[i + 2..].to_string(),
            _ => l.to_string(),
        })
        .collect()
}

/// Pure: the cause of a replacement that did not finish.
pub fn explain_failure(progs_stderr: &str, kernel: &[String]) -> ReplaceFailure {
    let progs = progs_stderr.lines().find_map(|l| {
        IOCTL_ERR
            .captures(l.trim())
            .map(|c| c[1].trim().to_string())
    });
    let errno = kernel.iter().rev().find_map(|l| {
        KERNEL_ERRNO
            .captures(l)
            .and_then(|c| c[1].parse::<i32>().ok())
    });
    let enospc = errno == Some(28) || progs.as_deref() == Some("No space left on device");
    if enospc {
        return ReplaceFailure::ArrayFull {
            kernel: kernel.to_vec(),
        };
    }
    let canceled_by_kernel = kernel
        .iter()
        .any(|l| l.contains("dev_replace") && l.ends_with(" canceled"));
    if errno.is_none() && (canceled_by_kernel || progs.as_deref() == Some("Operation canceled")) {
        return ReplaceFailure::Canceled;
    }
    ReplaceFailure::Kernel {
        errno,
        kernel: kernel.to_vec(),
        progs,
    }
}

impl ReplaceFailure {
    /// One message for the operator, with what to do.
    pub fn message(&self) -> String {
        let k = |kernel: &[String]| {
            if kernel.is_empty() {
                String::new()
            } else {
                format!("\n  the kernel said:\n    {}", kernel.join("\n    "))
            }
        };
        match self {
            ReplaceFailure::ArrayFull { kernel } => format!(
                "the array is full: btrfs needs unallocated space to copy the member (it marks each block group read-only while copying it) and there is none (ENOSPC). Free space on the array (delete or move files, or `btrfs balance start -dusage=10 <mountpoint>`), then run `lnraid replace` again{}",
                k(kernel)
            ),
            ReplaceFailure::Canceled => "the replacement was canceled (`btrfs replace cancel`, or the filesystem was unmounted); run `lnraid replace` again to start it over".into(),
            ReplaceFailure::Kernel { errno, kernel, progs } => format!(
                "the kernel stopped the replacement{}{}{}",
                errno.map(|e| format!(" with error {e} ({})", nix::errno::Errno::from_raw(e).desc())).unwrap_or_default(),
                progs.as_ref().map(|p| format!("; btrfs replace start: {p}")).unwrap_or_default(),
                k(kernel)
            ),
        }
    }
}

/// `dmesg` (read-only; root may read the kernel log) — the kernel's account of a replacement.
pub fn dmesg_cmd() -> Cmd {
    Cmd::read_only("dmesg", std::iter::empty::<&str>())
}

/// The cause of a replacement that stopped: progs' error and the kernel's lines read through
/// the runner (without them, progs' error alone). Never a guess from the status, which says
/// "canceled" for every failure.
pub fn probe_failure_cause(runner: &dyn Runner, progs_stderr: &str) -> ReplaceFailure {
    let kernel = runner
        .run_ok(&dmesg_cmd())
        .map(|o| replace_kernel_lines(&o.stdout))
        .unwrap_or_default();
    explain_failure(progs_stderr, &kernel)
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! fx {
        ($name:literal) => {
            include_str!(concat!("../../../fixtures/btrfs-replace-status/", $name))
        };
    }

    fn st(t: &str) -> ReplaceStatus {
        parse_replace_status(t).unwrap()
    }

    #[test]
    fn every_captured_state() {
        for v in [fx!("6.2-never-started.txt"), fx!("6.14-never-started.txt")] {
            assert_eq!(st(v).state, ReplaceState::NeverStarted);
        }
        let a = st(fx!("6.2-running.txt"));
        let b = st(fx!("6.14-running-later.txt"));
        assert!(a.is_running());
        match (a.state, b.state) {
            (ReplaceState::Running { percent: pa }, ReplaceState::Running { percent: pb }) => {
                assert!(Percent(0) < pa && pa < pb, "{pa} {pb}")
            }
            other => panic!("{other:?}"),
        }
        let f = st(fx!("6.2-finished.txt"));
        assert_eq!(f.state, ReplaceState::Finished);
        assert_eq!((f.write_errs, f.uncorrectable_read_errs), (0, 0));
        assert!(f.started.is_some() && f.ended.is_some());
        assert_eq!(st(fx!("6.14-canceled.txt")).state, ReplaceState::Canceled);
    }

    #[test]
    fn failure_causes_from_captured_runs() {
        let fxs = |p: &str| {
            std::fs::read_to_string(format!("{}/fixtures/{p}", env!("CARGO_MANIFEST_DIR"))).unwrap()
        };
        // ENOSPC: the status says "canceled", the kernel and progs say why.
        assert_eq!(
            st(&fxs("btrfs-replace-status/6.2-after-enospc.txt")).state,
            ReplaceState::Canceled
        );
        let kernel = replace_kernel_lines(&fxs("dmesg/6.18.44-fc-v1045-replace-enospc.txt"));
        assert_eq!(kernel.len(), 3, "{kernel:?}");
        assert!(kernel[0].starts_with("BTRFS info"), "{kernel:?}");
        let f = explain_failure(&fxs("btrfs-replace-start/6.2-enospc.stderr.txt"), &kernel);
        assert!(matches!(f, ReplaceFailure::ArrayFull { .. }), "{f:?}");
        assert!(
            f.message().starts_with("the array is full"),
            "{}",
            f.message()
        );
        assert!(!f.message().contains("btrfs replace cancel"));
        // The kernel lines alone suffice (progs output lost).
        assert!(matches!(
            explain_failure("", &kernel),
            ReplaceFailure::ArrayFull { .. }
        ));
        // A real cancel.
        let kernel = replace_kernel_lines(&fxs("dmesg/6.18.44-fc-v1045-replace-canceled.txt"));
        let f = explain_failure(&fxs("btrfs-replace-start/6.2-canceled.stderr.txt"), &kernel);
        assert_eq!(f, ReplaceFailure::Canceled);
        // Another error is named by its errno.
        let f = explain_failure(
            "",
            &[
                "BTRFS error (device loop0): btrfs_scrub_dev(/dev/loop1, 2, /dev/loop2) failed -5"
                    .into(),
            ],
        );
        assert!(
            f.message().contains("error 5 (I/O error)"),
            "{}",
            f.message()
        );
        // Only the last replacement's lines count.
        let two = "[1.0] BTRFS info (device sda): dev_replace from /dev/sdb (devid 2) to /dev/sdc started\n[1.1] BTRFS error (device sda): btrfs_scrub_dev(/dev/sdb, 2, /dev/sdc) failed -28\n[9.0] BTRFS info (device sda): dev_replace from /dev/sdb (devid 2) to /dev/sdd started\n[9.5] BTRFS info (device sda): dev_replace from /dev/sdb (devid 2) to /dev/sdd canceled\n";
        assert_eq!(
            explain_failure("", &replace_kernel_lines(two)),
            ReplaceFailure::Canceled
        );
    }

    #[test]
    fn suspended_and_errors() {
        let s = st("Started on 21.Nov 13:00:12, suspended on 21.Nov 13:00:20 at 42.5%, 3 write errs, 1 uncorr. read errs\n");
        assert_eq!(
            s.state,
            ReplaceState::Suspended {
                percent: Percent(4250)
            }
        );
        assert_eq!((s.write_errs, s.uncorrectable_read_errs), (3, 1));
    }

    #[test]
    fn garbled_refused() {
        for bad in [
            "",
            "8.6% done, 0 write errs\n",
            "8.6% done, 0 write errs, 0 uncorr. read errs",
            "Never started\nNever started\n",
            "Started on x, finished on y at 5%, 0 write errs, 0 uncorr. read errs\n",
            "Started on x, exploded on y, 0 write errs, 0 uncorr. read errs\n",
            "180.0% done, 0 write errs, 0 uncorr. read errs\n",
        ] {
            assert!(parse_replace_status(bad).is_err(), "{bad:?}");
        }
    }
}
