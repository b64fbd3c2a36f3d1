//! `btrfs scrub status [-R] <mountpoint>`: is a scrub running, how far is it, how did the last
//! one end, and what did it find and repair.
//!
//! Two formats exist. btrfs-progs 5.2 and later print `UUID:`, `Scrub started:`, `Status:`
//! (running/finished/aborted/interrupted), `Duration:`... and an `Error summary:` with
//! `Corrected:`/`Uncorrectable:` lines; older ones print `scrub status for <uuid>` and one
//! `scrub started at ..., running for / and finished after / and was aborted after /
//! interrupted after ...` line. `-R` replaces the summary by raw `\tkey: value` counters in
//! both. `no stats available` means the status file has no start time: never run, or (seen on
//! 6.2/6.14) the first seconds of a running scrub, told apart by the `Time left`/`Bytes
//! scrubbed` lines progs prints only while one runs. The header of `scrub start -B`'s report
//! (`scrub done for`, `scrub canceled for`) is accepted too. May not: judge (callers decide
//! that uncorrectable errors alert). Invariants: a status carries its error summary or raw
//! counters to the end (else it was cut: error); no key appears twice.

use std::path::Path;

use serde::Serialize;

use super::{btrfs_cmd, complete_lines, lazy_regex, num, size, BtrfsError, Percent};
use crate::exec::{Cmd, Runner};
use crate::probe::{excerpt, ParseError};
use crate::types::{Bytes, FsUuid};

const WHAT: &str = "`btrfs scrub status` output";

/// `btrfs scrub status -R <mnt>`: raw counters are exact and exist in every version.
pub fn scrub_status_cmd(mnt: &Path) -> Cmd {
    btrfs_cmd(&["scrub", "status", "-R"], mnt)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScrubState {
    NeverRun,
    Running,
    Finished,
    /// Canceled (`btrfs scrub cancel`); also what a scrub on a degraded mount ends as.
    Aborted,
    /// Stopped without finishing or being canceled: the scrubbing process died (SIGKILL of
    /// `scrub start -B`, reboot). Unmounting during a scrub is refused (EBUSY) instead.
    Interrupted,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScrubErrors {
    pub read: u64,
    pub csum: u64,
    pub verify: u64,
    pub super_errors: u64,
    pub corrected: u64,
    pub uncorrectable: u64,
    pub unverified: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScrubStatus {
    pub uuid: FsUuid,
    pub state: ScrubState,
    /// The pre-5.2 layout (`scrub status for <uuid>`).
    pub legacy_format: bool,
    /// As printed (`Sat Nov 21 12:59:51 2026`), local time of the machine.
    pub started: Option<String>,
    pub duration_secs: Option<u64>,
    /// Shown only while running (current format).
    pub percent: Option<Percent>,
    /// Raw counters: data + tree bytes (exact); else the rounded human figure if shown.
    pub bytes_scrubbed: Option<Bytes>,
    pub total_to_scrub: Option<Bytes>,
    pub errors: ScrubErrors,
    pub last_physical: Option<u64>,
}

impl ScrubStatus {
    pub fn has_uncorrectable(&self) -> bool {
        self.errors.uncorrectable > 0
    }
}

lazy_regex!(
    HEADER,
    r"^(?:UUID: +|scrub status for |scrub (?:done|canceled|cancelled) for )([0-9a-fA-F-]{36})$"
);
lazy_regex!(KEYED, r"^([A-Z][A-Za-z ]+): +(.*)$");
lazy_regex!(
    LEGACY_START,
    r"^\tscrub (?:started|resumed) at (.+?)(, running for| and finished after| and was aborted after|, interrupted after) (?:(\d+):(\d{2}):(\d{2})|(\d+) seconds)(, not running)?$"
);
lazy_regex!(HMS, r"^(\d+):(\d{2}):(\d{2})$");
lazy_regex!(BYTES_PCT, r"^(\S+) +\(([0-9.]+)%\)$");
lazy_regex!(RATE, r"^\S+/s(?: \([a-z ]+\))?$");
lazy_regex!(ERR_TOKEN, r"^(read|csum|verify|super)=(\d+)$");
lazy_regex!(
    INDENTED,
    r"^  (Corrected|Uncorrectable|Unverified): +(\d+)$"
);
lazy_regex!(RAW, r"^\t([a-z_]+): (\d+)$");
lazy_regex!(
    LEGACY_TOTAL,
    r"^\ttotal bytes scrubbed: (\S+) with (\d+) errors$"
);
lazy_regex!(
    LEGACY_FIXED,
    r"^\tcorrected errors: (\d+), uncorrectable errors: (\d+), unverified errors: (\d+)$"
);

/// What has been read so far; `finish` turns it into a status or an error.
#[derive(Default)]
struct Acc {
    uuid: Option<FsUuid>,
    legacy: bool,
    status: Option<ScrubState>,
    no_stats: bool,
    in_progress_lines: bool,
    started: Option<String>,
    duration: Option<u64>,
    percent: Option<Percent>,
    human_bytes: Option<Bytes>,
    total: Option<Bytes>,
    errors: ScrubErrors,
    summary: bool,
    details_expected: bool,
    indented: Vec<String>,
    raw: Vec<(String, u64)>,
}

/// Parses one filesystem's status, either format, with or without `-R`.
pub fn parse_scrub_status(text: &str) -> Result<ScrubStatus, ParseError> {
    let mut a = Acc::default();
    let mut seen: Vec<String> = Vec::new();
    for (n, line) in complete_lines(WHAT, text)? {
        if line.is_empty() {
            continue;
        }
        if let Some(c) = HEADER.captures(line) {
            if a.uuid.is_some() {
                return Err(ParseError::at(
                    WHAT,
                    n,
                    "second header (one filesystem expected)",
                ));
            }
            a.uuid = Some(FsUuid::parse(&c[1]).ok_or_else(|| ParseError::at(WHAT, n, "bad uuid"))?);
            a.legacy = line.starts_with("scrub status for");
            continue;
        }
        if a.uuid.is_none() {
            return Err(ParseError::at(
                WHAT,
                n,
                format!("expected the UUID header, got {:?}", excerpt(line)),
            ));
        }
        let key = line_key(line);
        if seen.contains(&key) {
            return Err(ParseError::at(WHAT, n, format!("{key:?} appears twice")));
        }
        seen.push(key);
        line_into(&mut a, n, line)?;
    }
    finish(a)
}

/// The identity of a line for duplicate detection: its key, or the whole line.
fn line_key(line: &str) -> String {
    line.split(':').next().unwrap_or(line).to_string()
}

fn line_into(a: &mut Acc, n: usize, line: &str) -> Result<(), ParseError> {
    let bad = |r: &str| ParseError::at(WHAT, n, format!("{r}: {:?}", excerpt(line)));
    if line == "\tno stats available" {
        a.no_stats = true;
    } else if let Some(c) = RAW.captures(line) {
        a.raw.push((c[1].to_string(), num(WHAT, n, &c[2])?));
    } else if let Some(c) = INDENTED.captures(line) {
        let v = num(WHAT, n, &c[2])?;
        match &c[1] {
            "Corrected" => a.errors.corrected = v,
            "Uncorrectable" => a.errors.uncorrectable = v,
            _ => a.errors.unverified = v,
        }
        a.indented.push(c[1].to_string());
    } else if let Some(c) = LEGACY_START.captures(line) {
        a.started = Some(c[1].to_string());
        a.status = Some(match (&c[2], c.get(7).is_some()) {
            (", running for", false) => ScrubState::Running,
            (" and finished after", false) => ScrubState::Finished,
            (" and was aborted after", false) => ScrubState::Aborted,
            (", interrupted after", true) => ScrubState::Interrupted,
            _ => return Err(bad("unknown legacy scrub state")),
        });
        a.duration = Some(match c.get(6) {
            Some(secs) => num(WHAT, n, secs.as_str())?,
            None => hms(n, &c[3], &c[4], &c[5])?,
        });
    } else if let Some(c) = LEGACY_TOTAL.captures(line) {
        a.human_bytes = Some(size(WHAT, n, &c[1])?.0);
        a.summary = true;
        a.details_expected = num(WHAT, n, &c[2])? > 0;
    } else if let Some(details) = line.strip_prefix("\terror details:") {
        error_tokens(a, n, details)?;
    } else if let Some(c) = LEGACY_FIXED.captures(line) {
        a.errors.corrected = num(WHAT, n, &c[1])?;
        a.errors.uncorrectable = num(WHAT, n, &c[2])?;
        a.errors.unverified = num(WHAT, n, &c[3])?;
        a.indented
            .extend(["Corrected", "Uncorrectable", "Unverified"].map(String::from));
    } else if let Some(c) = KEYED.captures(line) {
        keyed(a, n, &c[1], c[2].trim_end())?;
    } else {
        return Err(bad("unexpected line"));
    }
    Ok(())
}

fn keyed(a: &mut Acc, n: usize, key: &str, val: &str) -> Result<(), ParseError> {
    let bad = |r: &str| ParseError::at(WHAT, n, format!("{key}: {r}"));
    match key {
        "Scrub started" | "Scrub resumed" => a.started = Some(val.to_string()),
        "Status" => {
            a.status = Some(match val {
                "running" => ScrubState::Running,
                "finished" => ScrubState::Finished,
                "aborted" => ScrubState::Aborted,
                "interrupted" => ScrubState::Interrupted,
                _ => return Err(bad("unknown status")),
            })
        }
        "Duration" | "Time left" => {
            let c = HMS.captures(val).ok_or_else(|| bad("not H:MM:SS"))?;
            let secs = hms(n, &c[1], &c[2], &c[3])?;
            if key == "Duration" {
                a.duration = Some(secs);
            } else {
                a.in_progress_lines = true;
            }
        }
        "ETA" => a.in_progress_lines = true,
        "Total to scrub" => a.total = Some(size(WHAT, n, val)?.0),
        "Bytes scrubbed" => {
            let c = BYTES_PCT
                .captures(val)
                .ok_or_else(|| bad("not `size (pct%)`"))?;
            a.human_bytes = Some(size(WHAT, n, &c[1])?.0);
            a.percent = Some(Percent::parse(&c[2]).ok_or_else(|| bad("bad percent"))?);
            a.in_progress_lines = true;
        }
        "Rate" if RATE.is_match(val) => {}
        "Error summary" => {
            a.summary = true;
            if val != "no errors found" {
                a.details_expected = true;
                error_tokens(a, n, val)?;
            }
        }
        _ => return Err(bad("unexpected line")),
    }
    Ok(())
}

fn error_tokens(a: &mut Acc, n: usize, s: &str) -> Result<(), ParseError> {
    for tok in s.split_whitespace() {
        let c = ERR_TOKEN.captures(tok).ok_or_else(|| {
            ParseError::at(WHAT, n, format!("bad error token {:?}", excerpt(tok)))
        })?;
        let v = num(WHAT, n, &c[2])?;
        match &c[1] {
            "read" => a.errors.read = v,
            "csum" => a.errors.csum = v,
            "verify" => a.errors.verify = v,
            _ => a.errors.super_errors = v,
        }
    }
    Ok(())
}

fn hms(n: usize, h: &str, m: &str, s: &str) -> Result<u64, ParseError> {
    let (h, m, s) = (num(WHAT, n, h)?, num(WHAT, n, m)?, num(WHAT, n, s)?);
    h.checked_mul(3600)
        .and_then(|v| v.checked_add(m * 60 + s))
        .ok_or_else(|| ParseError::at(WHAT, n, "duration overflows"))
}

fn finish(a: Acc) -> Result<ScrubStatus, ParseError> {
    let uuid = a
        .uuid
        .ok_or_else(|| ParseError::new(WHAT, "no UUID header (empty or cut output)"))?;
    let state = match (a.status, a.no_stats) {
        (Some(s), false) => s,
        (None, true) if a.in_progress_lines => ScrubState::Running,
        (None, true) => ScrubState::NeverRun,
        (Some(_), true) => {
            return Err(ParseError::new(
                WHAT,
                "both a state and `no stats available`",
            ))
        }
        (None, false) => return Err(ParseError::new(WHAT, "no scrub state line")),
    };
    let mut errors = a.errors;
    let mut bytes_scrubbed = a.human_bytes;
    let mut last_physical = None;
    if !a.raw.is_empty() {
        let get = |k: &str| a.raw.iter().find(|(kk, _)| kk == k).map(|(_, v)| *v);
        let need = |k: &str| {
            get(k)
                .ok_or_else(|| ParseError::new(WHAT, format!("raw counters lack {k} (truncated?)")))
        };
        errors.read = need("read_errors")?;
        errors.csum = need("csum_errors")?;
        errors.verify = need("verify_errors")?;
        errors.super_errors = need("super_errors")?;
        errors.corrected = need("corrected_errors")?;
        errors.uncorrectable = need("uncorrectable_errors")?;
        errors.unverified = get("unverified_errors").unwrap_or(0);
        bytes_scrubbed = Some(Bytes(
            need("data_bytes_scrubbed")?.saturating_add(need("tree_bytes_scrubbed")?),
        ));
        last_physical = Some(need("last_physical")?);
    } else if !a.summary {
        return Err(ParseError::new(WHAT, "no error summary (truncated?)"));
    } else if a.details_expected && a.indented.len() != 3 {
        return Err(ParseError::new(
            WHAT,
            "error summary without corrected/uncorrectable counts (truncated?)",
        ));
    }
    Ok(ScrubStatus {
        uuid,
        state,
        legacy_format: a.legacy,
        started: a.started,
        duration_secs: a.duration,
        percent: a.percent,
        bytes_scrubbed,
        total_to_scrub: a.total,
        errors,
        last_physical,
    })
}

/// Runs [`scrub_status_cmd`] and parses it.
pub fn probe_scrub_status(runner: &dyn Runner, mnt: &Path) -> Result<ScrubStatus, BtrfsError> {
    let out = runner.run_ok(&scrub_status_cmd(mnt))?;
    Ok(parse_scrub_status(&out.stdout)?)
}

#[cfg(test)]
#[path = "scrub_tests.rs"]
mod tests;
