//! Read-only probing of the machine: block devices, identities, mounts, swaps, btrfs and md.
//!
//! One submodule per external tool or kernel file. Each has a pure, public `parse*` function
//! (the stable entry point for captured outputs, tested on fixtures from real runs) and the
//! command or path that feeds it. Probes never mutate: every `Cmd` built here is
//! `Effect::ReadOnly`, and files are only read. Malformed output is a [`ParseError`], never a
//! panic and never a guess: a device we cannot identify is treated as in use by the policy.

pub mod blkid;
pub mod btrfs;
pub mod lsblk;
pub mod mdadm;
pub mod mdstat;
pub mod mounts;
pub mod procs;
pub mod snapshot;
pub mod swaps;
pub mod sysfs;
pub mod versions;

pub use snapshot::{probe_snapshot, Snapshot};

/// Output that does not have the shape its parser knows. Carries which output, where, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot parse {what}{}: {reason}", .line.map(|l| format!(" (line {l})")).unwrap_or_default())]
pub struct ParseError {
    /// The output being parsed, e.g. "`btrfs filesystem show` output".
    pub what: &'static str,
    /// 1-based line number, where one applies.
    pub line: Option<usize>,
    pub reason: String,
}

impl ParseError {
    pub fn new(what: &'static str, reason: impl Into<String>) -> ParseError {
        ParseError {
            what,
            line: None,
            reason: reason.into(),
        }
    }

    pub fn at(what: &'static str, line: usize, reason: impl Into<String>) -> ParseError {
        ParseError {
            what,
            line: Some(line),
            reason: reason.into(),
        }
    }
}

/// Shortens input-derived text quoted in an error, so a garbled megabyte does not end up in
/// one message. Cuts at a char boundary.
pub fn excerpt(s: &str) -> String {
    const MAX: usize = 80;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}
