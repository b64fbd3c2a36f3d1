//! `btrfs device stats <mountpoint>` (text) and `btrfs --format json device stats` (6.x): the
//! kernel's persistent per-device error counters.
//!
//! Role: status shows them and alerts on any non-zero counter; a corruption_errs count is what
//! a flipped bit on one mirror leaves behind after scrub repaired it. May not: pass `--check`
//! (it turns "errors exist" into exit 64, which a checked run reports as a failed command: we
//! judge the counters ourselves). Invariants: every device has all five counters, in the
//! order progs prints them; a device printed as `devid:N` has no path (it is missing).

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{btrfs_cmd, complete_lines, lazy_regex, num, BtrfsError};
use crate::exec::{Cmd, Runner};
use crate::probe::{excerpt, ParseError};
use crate::types::DevPath;

const WHAT: &str = "`btrfs device stats` output";
const WHAT_JSON: &str = "`btrfs --format json device stats` output";

/// The counters in the order btrfs-progs prints them.
pub const COUNTERS: [&str; 5] = [
    "write_io_errs",
    "read_io_errs",
    "flush_io_errs",
    "corruption_errs",
    "generation_errs",
];

/// `btrfs device stats <mnt>`: text, every version.
pub fn stats_cmd(mnt: &Path) -> Cmd {
    btrfs_cmd(&["device", "stats"], mnt)
}

/// `btrfs --format json device stats <mnt>`: btrfs-progs 5.x and later (6.2 has it).
pub fn stats_json_cmd(mnt: &Path) -> Cmd {
    btrfs_cmd(&["--format", "json", "device", "stats"], mnt)
}

/// One device's counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DevStats {
    /// `None` when progs could only name the devid (`[devid:2]`): the member is missing.
    pub device: Option<DevPath>,
    /// Known from the JSON form and from `devid:N`; the text form gives no devid for a path.
    pub devid: Option<u64>,
    pub missing: bool,
    pub write_io_errs: u64,
    pub read_io_errs: u64,
    pub flush_io_errs: u64,
    pub corruption_errs: u64,
    pub generation_errs: u64,
}

impl DevStats {
    pub fn total_errors(&self) -> u64 {
        self.write_io_errs
            .saturating_add(self.read_io_errs)
            .saturating_add(self.flush_io_errs)
            .saturating_add(self.corruption_errs)
            .saturating_add(self.generation_errs)
    }

    pub fn has_errors(&self) -> bool {
        self.total_errors() > 0
    }

    fn set(&mut self, counter: &str, v: u64) {
        match counter {
            "write_io_errs" => self.write_io_errs = v,
            "read_io_errs" => self.read_io_errs = v,
            "flush_io_errs" => self.flush_io_errs = v,
            "corruption_errs" => self.corruption_errs = v,
            _ => self.generation_errs = v,
        }
    }

    fn named(name: &str) -> Result<DevStats, String> {
        let devid = match name.strip_prefix("devid:") {
            Some(id) => Some(
                id.parse::<u64>()
                    .map_err(|_| format!("bad devid in {name:?}"))?,
            ),
            None => None,
        };
        Ok(DevStats {
            device: devid.is_none().then(|| DevPath::new(name)),
            devid,
            missing: devid.is_some(),
            write_io_errs: 0,
            read_io_errs: 0,
            flush_io_errs: 0,
            corruption_errs: 0,
            generation_errs: 0,
        })
    }
}

lazy_regex!(LINE, r"^\[(.+)\]\.([a-z_]+) +(\d+)$");

/// Parses the text form. Empty output is an error: a mounted filesystem has a device.
pub fn parse_stats(text: &str) -> Result<Vec<DevStats>, ParseError> {
    let mut out: Vec<DevStats> = Vec::new();
    let mut next = 0usize; // index into COUNTERS expected next
    for (n, line) in complete_lines(WHAT, text)? {
        let c = LINE
            .captures(line)
            .ok_or_else(|| ParseError::at(WHAT, n, format!("unexpected {:?}", excerpt(line))))?;
        let (name, counter) = (&c[1], &c[2]);
        if COUNTERS.get(next) != Some(&counter) {
            return Err(ParseError::at(
                WHAT,
                n,
                format!("expected {:?}, got {counter:?}", COUNTERS.get(next)),
            ));
        }
        if next == 0 {
            out.push(DevStats::named(name).map_err(|e| ParseError::at(WHAT, n, e))?);
        }
        let dev = out
            .last_mut()
            .ok_or_else(|| ParseError::at(WHAT, n, "no device"))?;
        let same = match &dev.device {
            Some(p) => p.as_path() == Path::new(name),
            None => dev.devid.map(|d| format!("devid:{d}")).as_deref() == Some(name),
        };
        if !same {
            return Err(ParseError::at(
                WHAT,
                n,
                "device changed before its counters were complete",
            ));
        }
        dev.set(counter, num(WHAT, n, &c[3])?);
        next = (next + 1) % COUNTERS.len();
    }
    if next != 0 {
        return Err(ParseError::new(
            WHAT,
            "last device has fewer than five counters (truncated)",
        ));
    }
    if out.is_empty() {
        return Err(ParseError::new(WHAT, "no devices"));
    }
    Ok(out)
}

#[derive(Deserialize)]
struct JsonDoc {
    #[serde(rename = "device-stats")]
    device_stats: Vec<serde_json::Map<String, Value>>,
}

/// A JSON value that is a number or a decimal string (6.2 quotes numbers, 6.14 does not).
pub(crate) fn json_u64(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Parses the JSON form.
pub fn parse_stats_json(text: &str) -> Result<Vec<DevStats>, ParseError> {
    let doc: JsonDoc =
        serde_json::from_str(text).map_err(|e| ParseError::new(WHAT_JSON, e.to_string()))?;
    let mut out = Vec::new();
    for (i, d) in doc.device_stats.iter().enumerate() {
        let bad = |r: &str| ParseError::new(WHAT_JSON, format!("entry {i}: {r}"));
        let name = d
            .get("device")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("no device"))?;
        let mut s = DevStats::named(name).map_err(|e| bad(&e))?;
        s.devid = Some(json_u64(d.get("devid")).ok_or_else(|| bad("no devid"))?);
        for c in COUNTERS {
            s.set(
                c,
                json_u64(d.get(c)).ok_or_else(|| bad(&format!("no {c}")))?,
            );
        }
        out.push(s);
    }
    if out.is_empty() {
        return Err(ParseError::new(WHAT_JSON, "no devices"));
    }
    Ok(out)
}

/// Runs [`stats_cmd`] and parses it (the text form works on every version).
pub fn probe_stats(runner: &dyn Runner, mnt: &Path) -> Result<Vec<DevStats>, BtrfsError> {
    let out = runner.run_ok(&stats_cmd(mnt))?;
    Ok(parse_stats(&out.stdout)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!("../../../fixtures/btrfs-device-stats/", $name))
        };
    }

    #[test]
    fn healthy_all_zero() {
        for s in [
            parse_stats(fixture!("6.2-healthy.txt")).unwrap(),
            parse_stats_json(fixture!("6.2-healthy.json")).unwrap(),
            parse_stats_json(fixture!("6.14-healthy.json")).unwrap(),
        ] {
            assert_eq!(s.len(), 2);
            assert!(s.iter().all(|d| !d.has_errors() && !d.missing));
            assert_eq!(s[0].device, Some(DevPath::new("/dev/loop0")));
        }
    }

    #[test]
    fn corruption_on_one_member() {
        let text = parse_stats(fixture!("6.2-corrupted.txt")).unwrap();
        assert_eq!(text[0].corruption_errs, 16);
        assert_eq!(text[0].total_errors(), 16);
        assert!(!text[1].has_errors());
        let json = parse_stats_json(fixture!("6.14-corrupted.json")).unwrap();
        assert_eq!(json[0].devid, Some(1));
        assert_eq!(json[0].corruption_errs, 16);
        // --check changes only the exit status, not the text.
        assert_eq!(
            parse_stats(fixture!("6.2-corrupted-check.txt")).unwrap(),
            text
        );
    }

    #[test]
    fn degraded_member_named_by_devid() {
        for s in [
            parse_stats(fixture!("6.2-degraded.txt")).unwrap(),
            parse_stats_json(fixture!("6.2-degraded.json")).unwrap(),
        ] {
            assert!(s[1].missing);
            assert_eq!(s[1].device, None);
            assert_eq!(s[1].devid, Some(2));
        }
    }

    #[test]
    fn truncated_or_shuffled_refused() {
        let t = fixture!("6.2-healthy.txt");
        let cut: String = t.lines().take(7).map(|l| format!("{l}\n")).collect();
        assert!(parse_stats(&cut).is_err());
        let mut lines: Vec<&str> = t.lines().collect();
        lines.swap(0, 1);
        assert!(parse_stats(&(lines.join("\n") + "\n")).is_err());
        assert!(parse_stats("").is_err());
        assert!(parse_stats_json("{\"device-stats\": [{\"device\": \"/dev/x\"}]}").is_err());
    }
}
