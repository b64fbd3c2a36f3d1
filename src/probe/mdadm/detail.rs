//! The human-readable `mdadm --detail DEV` report: `Key : value` lines, then the member table.
//!
//! Pure. Layout differs between mdadm releases (old ones right-align keys to 15 columns, new
//! ones to 18) and between array kinds (0.90 has no Name; containers have no State column,
//! and continuation lines like `(Linux-MD 08/16/22 ...)`), so keys are matched by name, not
//! by column. Cross-checks catch truncation: the table must fill `Raid Devices` slots and
//! list `Total Devices` devices. `mdadm --examine` output is refused with a clear error.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use super::{re, MD_LEVEL, MD_UUID};
use crate::probe::{excerpt, ParseError};
use crate::types::{Bytes, DevPath};

const WHAT: &str = "`mdadm --detail` output";

/// `Rebuild Status : 24% complete` (also Resync, Reshape, Check).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DetailProgress {
    /// `rebuild`, `resync`, `reshape` or `check`, lower-cased.
    pub kind: String,
    pub percent: u8,
}

/// One row of the member table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DetailMember {
    /// md's descriptor number; `None` for `-` (a removed slot or a container member).
    pub number: Option<u32>,
    pub major: u32,
    pub minor: u32,
    /// Slot; `None` for `-` (spares, faulty members).
    pub raid_device: Option<u32>,
    /// State words: `active sync`, `spare rebuilding`, `faulty`, `removed`, `writemostly`...
    pub state: Vec<String>,
    /// `None` for a `removed` slot.
    pub device: Option<DevPath>,
}

impl DetailMember {
    pub fn has(&self, word: &str) -> bool {
        self.state.iter().any(|w| w == word)
    }
}

/// Parsed `mdadm --detail`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Detail {
    /// The first line, without its colon (`/dev/md/lnraid`).
    pub device: String,
    /// `Version` (`1.2`, `0.90`, `ddf`); absent for a container member.
    pub version: Option<String>,
    pub raid_level: String,
    pub array_size: Option<Bytes>,
    pub used_dev_size: Option<Bytes>,
    pub raid_devices: Option<u32>,
    pub total_devices: Option<u32>,
    pub active_devices: Option<u32>,
    pub working_devices: Option<u32>,
    pub failed_devices: Option<u32>,
    pub spare_devices: Option<u32>,
    /// `State : clean, degraded, recovering` → `["clean", "degraded", "recovering"]`;
    /// a suffix stays with its word: `resyncing (DELAYED)`.
    pub state: Vec<String>,
    pub progress: Option<DetailProgress>,
    pub uuid: Option<String>,
    /// `Name`, without `(local to host ...)`.
    pub name: Option<String>,
    pub events: Option<String>,
    pub intent_bitmap: Option<String>,
    pub consistency_policy: Option<String>,
    pub members: Vec<DetailMember>,
    /// Every `Key : value` line, in order, continuation lines appended to their value.
    pub fields: Vec<(String, String)>,
}

impl Detail {
    fn has_state(&self, prefix: &str) -> bool {
        self.state.iter().any(|w| w.starts_with(prefix))
    }

    /// `degraded` or `FAILED` in State.
    pub fn is_degraded(&self) -> bool {
        self.has_state("degraded") || self.has_state("FAILED")
    }

    pub fn is_inactive(&self) -> bool {
        self.has_state("inactive")
    }

    /// The running (or waiting: `resyncing (DELAYED)`) operation, with its progress when
    /// mdadm printed one.
    pub fn operation(&self) -> Option<(&str, Option<u8>)> {
        let word = self.state.iter().find_map(|w| {
            ["recovering", "resyncing", "reshaping", "checking"]
                .into_iter()
                .find(|op| w.starts_with(op))
        })?;
        Some((word, self.progress.as_ref().map(|p| p.percent)))
    }
}

static TITLE: LazyLock<Regex> = LazyLock::new(|| re(r"^(/\S+):$"));
static FIELD: LazyLock<Regex> = LazyLock::new(|| re(r"^ *([A-Z][A-Za-z ]*[A-Za-z]) : ?(.*)$"));
static CONTINUATION: LazyLock<Regex> = LazyLock::new(|| re(r"^ +(\(.*\))$"));
static TABLE_HEAD: LazyLock<Regex> =
    LazyLock::new(|| re(r"^ *Number +Major +Minor +RaidDevice( +State)?$"));
static ROW: LazyLock<Regex> =
    LazyLock::new(|| re(r"^ *([0-9]+|-) +([0-9]+) +([0-9]+) +([0-9]+|-)(?: +(.*))?$"));
static STATE_WORD: LazyLock<Regex> = LazyLock::new(|| re(r"^[a-z][a-z-]*$|^set-[A-Z]$"));
static STATE_ITEM: LazyLock<Regex> =
    LazyLock::new(|| re(r"^[A-Za-z][A-Za-z -]*[A-Za-z]( \((DELAYED|PENDING|REMOTE)\))?$"));
static SIZE: LazyLock<Regex> = LazyLock::new(|| re(r"^([0-9]+)(?: \([^()]*\))?$"));
static PROGRESS: LazyLock<Regex> = LazyLock::new(|| re(r"^([0-9]{1,3})% complete$"));

/// Keys only `mdadm --examine` prints.
const EXAMINE_KEYS: [&str; 4] = ["Magic", "Device Role", "Array State", "Feature Map"];

/// Parses `mdadm --detail` of one array.
pub fn parse_detail(text: &str) -> Result<Detail, ParseError> {
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim_end()));
    let device = loop {
        match lines.next() {
            None => return Err(ParseError::new(WHAT, "no output")),
            Some((_, "")) => continue,
            Some((n, l)) => match TITLE.captures(l) {
                Some(c) => break c.get(1).map_or("", |m| m.as_str()).to_string(),
                None => {
                    let msg = format!("expected `/dev/...:`, got {:?}", excerpt(l));
                    return Err(ParseError::at(WHAT, n, msg));
                }
            },
        }
    };
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut table: Option<bool> = None; // Some(has State column) once the header is seen
    let mut members = Vec::new();
    for (n, line) in lines {
        if line.is_empty() {
            continue;
        }
        if let Some(has_state) = table {
            members.push(parse_row(n, line, has_state)?);
        } else if let Some(c) = TABLE_HEAD.captures(line) {
            table = Some(c.get(1).is_some());
        } else if let Some(c) = FIELD.captures(line) {
            let key = c.get(1).map_or("", |m| m.as_str());
            if EXAMINE_KEYS.contains(&key) {
                let msg = "this is `mdadm --examine` output (a member's superblock), not --detail";
                return Err(ParseError::at(WHAT, n, msg));
            }
            let value = c.get(2).map_or("", |m| m.as_str()).trim();
            fields.push((key.to_string(), value.to_string()));
        } else if let (Some(c), Some(last)) = (CONTINUATION.captures(line), fields.last_mut()) {
            last.1.push(' ');
            last.1.push_str(c.get(1).map_or("", |m| m.as_str()));
        } else {
            let msg = format!("unknown line {:?}", excerpt(line));
            return Err(ParseError::at(WHAT, n, msg));
        }
    }
    let detail = build(device, fields, members)?;
    cross_check(&detail, table.is_some())?;
    Ok(detail)
}

fn parse_row(n: usize, line: &str, has_state: bool) -> Result<DetailMember, ParseError> {
    let bad = |why: &str| ParseError::at(WHAT, n, format!("{why}: {:?}", excerpt(line)));
    let c = ROW.captures(line).ok_or_else(|| bad("bad member row"))?;
    let opt_num = |i: usize| -> Result<Option<u32>, ParseError> {
        match c.get(i).map_or("", |m| m.as_str()) {
            "-" => Ok(None),
            s => s.parse().map(Some).map_err(|_| bad("bad number")),
        }
    };
    let number = opt_num(1)?;
    let major = opt_num(2)?.ok_or_else(|| bad("bad major"))?;
    let minor = opt_num(3)?.ok_or_else(|| bad("bad minor"))?;
    let raid_device = opt_num(4)?;
    let mut words: Vec<&str> = c
        .get(5)
        .map_or("", |m| m.as_str())
        .split_whitespace()
        .collect();
    let device = match words.last() {
        Some(w) if w.starts_with('/') => words.pop().map(DevPath::new),
        _ => None,
    };
    if words.iter().any(|w| !STATE_WORD.is_match(w)) || (!has_state && !words.is_empty()) {
        return Err(bad("bad member state"));
    }
    let removed = words.contains(&"removed");
    // Every row names its device except a removed slot; a row cut before the path or a
    // state without words (State column present) is a truncated line.
    if device.is_none() != removed || (has_state && words.is_empty()) {
        return Err(bad("member row without device path or state (truncated?)"));
    }
    Ok(DetailMember {
        number,
        major,
        minor,
        raid_device,
        state: words.into_iter().map(str::to_string).collect(),
        device,
    })
}

fn build(
    device: String,
    fields: Vec<(String, String)>,
    members: Vec<DetailMember>,
) -> Result<Detail, ParseError> {
    let get = |k: &str| {
        fields
            .iter()
            .find(|(fk, _)| fk == k)
            .map(|(_, v)| v.as_str())
    };
    let bad = |k: &str, v: &str| ParseError::new(WHAT, format!("bad {k} {:?}", excerpt(v)));
    let count = |k: &str| -> Result<Option<u32>, ParseError> {
        get(k).map(|v| v.parse().map_err(|_| bad(k, v))).transpose()
    };
    let size = |k: &str| -> Result<Option<Bytes>, ParseError> {
        let Some(v) = get(k) else { return Ok(None) };
        let kib: u64 = SIZE
            .captures(v)
            .and_then(|c| c.get(1))
            .and_then(|m| m.as_str().parse().ok())
            .ok_or_else(|| bad(k, v))?;
        kib.checked_mul(1024)
            .map(|b| Some(Bytes(b)))
            .ok_or_else(|| bad(k, v))
    };
    let raid_level = get("Raid Level")
        .filter(|l| MD_LEVEL.is_match(l))
        .ok_or_else(|| ParseError::new(WHAT, "no valid `Raid Level` line (truncated?)"))?
        .to_string();
    let state: Vec<String> = match get("State") {
        None => Vec::new(),
        Some(v) => v.split(',').map(|w| w.trim().to_string()).collect(),
    };
    if let Some(w) = state.iter().find(|w| !STATE_ITEM.is_match(w)) {
        return Err(bad("State word", w));
    }
    let mut progress = None;
    for kind in ["Rebuild", "Resync", "Reshape", "Check"] {
        let key = format!("{kind} Status");
        if let Some(v) = get(&key) {
            let percent = PROGRESS
                .captures(v)
                .and_then(|c| c.get(1))
                .and_then(|m| m.as_str().parse::<u8>().ok())
                .filter(|p| *p <= 100)
                .ok_or_else(|| bad(&key, v))?;
            let kind = kind.to_ascii_lowercase();
            progress = Some(DetailProgress { kind, percent });
        }
    }
    // `UUID : 3f720601:...:108a4af7 (local to host sysrescue)` on 0.90 arrays.
    let uuid = get("UUID").map(|v| v.split_whitespace().next().unwrap_or(""));
    if let Some(u) = uuid.filter(|u| !MD_UUID.is_match(u)) {
        return Err(bad("UUID", u));
    }
    let name = get("Name").map(|v| match v.split_once("  (local to host") {
        Some((n, _)) => n.to_string(),
        None => v.to_string(),
    });
    Ok(Detail {
        device,
        version: get("Version").map(str::to_string),
        raid_level,
        array_size: size("Array Size")?,
        used_dev_size: size("Used Dev Size")?,
        raid_devices: count("Raid Devices")?,
        total_devices: count("Total Devices")?,
        active_devices: count("Active Devices")?,
        working_devices: count("Working Devices")?,
        failed_devices: count("Failed Devices")?,
        spare_devices: count("Spare Devices")?,
        state,
        progress,
        uuid: uuid.map(str::to_string),
        name,
        events: get("Events").map(str::to_string),
        intent_bitmap: get("Intent Bitmap").map(str::to_string),
        consistency_policy: get("Consistency Policy").map(str::to_string),
        members,
        fields,
    })
}

/// The member table must agree with the counts above it; a capture cut inside or before
/// the table does not.
fn cross_check(d: &Detail, has_table: bool) -> Result<(), ParseError> {
    let err = |msg: String| Err(ParseError::new(WHAT, msg));
    // mdadm prints the table header for every array it reports on, even an empty one.
    if !has_table {
        return err("no member table (truncated?)".to_string());
    }
    let devices = d.members.iter().filter(|m| m.device.is_some()).count();
    if let Some(total) = d.total_devices {
        if devices != total as usize {
            return err(format!(
                "member table lists {devices} devices, Total Devices says {total} (truncated?)"
            ));
        }
    }
    if let (Some(slots), true) = (d.raid_devices, d.raid_level != "container") {
        let mut seen: Vec<u32> = d.members.iter().filter_map(|m| m.raid_device).collect();
        seen.sort_unstable();
        seen.dedup();
        if seen.len() != slots as usize {
            return err(format!(
                "member table fills {} slots, Raid Devices says {slots} (truncated?)",
                seen.len()
            ));
        }
    }
    Ok(())
}
