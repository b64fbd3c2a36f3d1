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
