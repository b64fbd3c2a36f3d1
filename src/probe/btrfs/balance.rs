//! `btrfs balance status <mountpoint>`: is a balance running or paused, and how far it is.
//!
//! Role: the convert-balance after a replace and scheduled maintenance check it before starting
//! (a balance on a degraded mount creates more `single` chunks, DESIGN §4). The command exits
//! 1 while a balance is running or paused and 0 when none is: run it with
//! [`BALANCE_STATUS_EXIT_CODES`]. May not: treat exit 1 as failure. Invariants: a running or
//! paused balance always has its `N out of about M chunks balanced` line (else the output was
//! cut); `-v` filter dumps after it are accepted and ignored.

use std::path::Path;

use serde::Serialize;

use super::{btrfs_cmd, complete_lines, lazy_regex, num, BtrfsError};
use crate::exec::{Cmd, Runner};
use crate::probe::{excerpt, ParseError};

const WHAT: &str = "`btrfs balance status` output";

/// Exit codes of `btrfs balance status` that carry a status: 0 none, 1 running or paused.
pub const BALANCE_STATUS_EXIT_CODES: &[i32] = &[0, 1];

pub fn balance_status_cmd(mnt: &Path) -> Cmd {
    btrfs_cmd(&["balance", "status"], mnt)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BalanceProgress {
    pub completed_chunks: u64,
    /// "about": the kernel's estimate at start.
    pub expected_chunks: u64,
    pub considered_chunks: u64,
    /// Whole percent, as printed (`75% left`).
    pub percent_left: u64,
    pub cancel_requested: bool,
    pub pause_requested: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum BalanceState {
    None,
    Running(BalanceProgress),
    Paused(BalanceProgress),
}

impl BalanceState {
    /// A balance exists (running or paused): no other balance, replace or scrub should start.
    pub fn is_active(&self) -> bool {
        !matches!(self, BalanceState::None)
    }
}

lazy_regex!(NONE, r"^No balance found on '(.*)'$");
lazy_regex!(
    HEAD,
    r"^Balance on '(.*)' is (running|paused)(?:, (cancel|pause) requested)?$"
);
lazy_regex!(
    PROGRESS,
    r"^(\d+) out of about (\d+) chunks balanced \((\d+) considered\), +(\d+)% left$"
);

pub fn parse_balance_status(text: &str) -> Result<BalanceState, ParseError> {
    let mut lines = complete_lines(WHAT, text)?;
    let (n, first) = lines
        .next()
        .ok_or_else(|| ParseError::new(WHAT, "empty output"))?;
    if NONE.is_match(first) {
        return match lines.next() {
            None => Ok(BalanceState::None),
            Some((m, l)) => Err(ParseError::at(
                WHAT,
                m,
                format!("unexpected {:?}", excerpt(l)),
            )),
        };
    }
    let h = HEAD
        .captures(first)
        .ok_or_else(|| ParseError::at(WHAT, n, format!("unexpected {:?}", excerpt(first))))?;
    let (m, second) = lines
        .next()
        .ok_or_else(|| ParseError::new(WHAT, "no progress line (truncated?)"))?;
    let p = PROGRESS
        .captures(second)
        .ok_or_else(|| ParseError::at(WHAT, m, format!("unexpected {:?}", excerpt(second))))?;
    let percent_left = num(WHAT, m, &p[4])?;
    if percent_left > 100 {
        return Err(ParseError::at(WHAT, m, "more than 100% left"));
    }
    let progress = BalanceProgress {
        completed_chunks: num(WHAT, m, &p[1])?,
        expected_chunks: num(WHAT, m, &p[2])?,
        considered_chunks: num(WHAT, m, &p[3])?,
        percent_left,
        cancel_requested: h.get(3).is_some_and(|r| r.as_str() == "cancel"),
        pause_requested: h.get(3).is_some_and(|r| r.as_str() == "pause"),
    };
    // `-v` adds "Dumping filters: ..." and indented filter lines.
    let mut dumping = false;
    for (k, l) in lines {
        let ok =
            (!dumping && l.starts_with("Dumping filters: ")) || (dumping && l.starts_with("  "));
        if !ok {
            return Err(ParseError::at(
                WHAT,
                k,
                format!("unexpected {:?}", excerpt(l)),
            ));
        }
        dumping = true;
    }
    Ok(match &h[2] {
        "running" => BalanceState::Running(progress),
        _ => BalanceState::Paused(progress),
    })
}

/// Runs [`balance_status_cmd`] (accepting exit 1) and parses it.
pub fn probe_balance_status(runner: &dyn Runner, mnt: &Path) -> Result<BalanceState, BtrfsError> {
    let out = runner.run_accepting(&balance_status_cmd(mnt), BALANCE_STATUS_EXIT_CODES)?;
    Ok(parse_balance_status(&out.stdout)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::{FakeRunner, Output};

    macro_rules! fx {
        ($name:literal) => {
            include_str!(concat!("../../../fixtures/btrfs-balance-status/", $name))
        };
    }

    #[test]
    fn captured_states() {
        for v in [fx!("6.2-none.txt"), fx!("6.14-after-cancel.txt")] {
            assert_eq!(parse_balance_status(v).unwrap(), BalanceState::None);
        }
        let BalanceState::Running(r) = parse_balance_status(fx!("6.2-running.txt")).unwrap() else {
            panic!("not running")
        };
        assert!(r.completed_chunks < r.expected_chunks && r.percent_left < 100);
        // -v adds a filter dump after the progress line.
        let v = parse_balance_status(fx!("6.14-running-verbose.txt")).unwrap();
        assert!(matches!(v, BalanceState::Running(_)));
        let BalanceState::Paused(p) = parse_balance_status(fx!("6.14-paused.txt")).unwrap() else {
            panic!("not paused")
        };
        assert!(p.completed_chunks > 0 && !p.cancel_requested);
        assert!(BalanceState::Paused(p).is_active());
    }

    #[test]
    fn requests_and_quoted_paths() {
        let t = "Balance on '/mnt/it's here' is running, cancel requested\n0 out of about 3 chunks balanced (1 considered), 100% left\n";
        let BalanceState::Running(r) = parse_balance_status(t).unwrap() else {
            panic!()
        };
        assert!(r.cancel_requested && !r.pause_requested);
        assert_eq!(r.percent_left, 100);
    }

    #[test]
    fn cut_or_garbled_refused() {
        let full = fx!("6.2-paused.txt");
        let first_line = &full[..=full.find('\n').unwrap()];
        for bad in [
            first_line,
            "",
            "Balance on 'x' is dancing\n",
            &full.replace(" left", ""),
        ] {
            assert!(parse_balance_status(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn exit_one_is_a_status_not_a_failure() {
        let runner = FakeRunner::new();
        let mnt = Path::new("/mnt/ln");
        runner.reply(
            &balance_status_cmd(mnt),
            Output::exited(1, fx!("6.2-running.txt"), ""),
        );
        assert!(probe_balance_status(&runner, mnt).unwrap().is_active());
    }
}
