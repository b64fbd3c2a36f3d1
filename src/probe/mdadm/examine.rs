//! `mdadm --examine DEV` for version-1 superblocks: what one member device says about
//! itself and its array, read from the device (works while the array is not assembled).
//!
//! Pure. Only the 1.x layout (`Device Role`, `Array State`) is understood; 0.90 prints a
//! different table and is a [`ParseError`], as is `--detail` output. The `Array State` map
//! must be as long as `Raid Devices`, and the role line must be there: a capture cut short
//! loses them first.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use super::{re, MD_LEVEL, MD_UUID};
use crate::probe::{excerpt, ParseError};

const WHAT: &str = "`mdadm --examine` output";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExamineRole {
    /// `Active device N`.
    Active(u32),
    /// `Replacement device N`: being rebuilt to replace the member in slot N.
    Replacement(u32),
    Spare,
    Journal,
}

/// Parsed `mdadm --examine` of one member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Examine {
    pub device: String,
    pub version: String,
    pub array_uuid: String,
    /// `Name`, without `(local to host ...)`.
    pub name: Option<String>,
    pub raid_level: String,
    pub raid_devices: u32,
    pub device_uuid: Option<String>,
    /// Superblock state (`clean`, `active`).
    pub state: Option<String>,
    pub events: Option<String>,
    /// `Flags : write-mostly failfast`.
    pub flags: Vec<String>,
    pub role: ExamineRole,
    /// `Array State : AR (...)` → `AR`: per slot, `A` active, `.` missing, `R` replacing.
    pub array_state: String,
    pub fields: Vec<(String, String)>,
}

static TITLE: LazyLock<Regex> = LazyLock::new(|| re(r"^(/\S+):$"));
static FIELD: LazyLock<Regex> = LazyLock::new(|| re(r"^ *([A-Z][A-Za-z ]*[A-Za-z]) : ?(.*)$"));
static ROLE: LazyLock<Regex> = LazyLock::new(|| re(r"^(Active|Replacement) device ([0-9]+)$"));
static ARRAY_STATE: LazyLock<Regex> = LazyLock::new(|| re(r"^([AR.]*) \(.*\)$"));

/// Parses `mdadm --examine` of one device with a 1.x superblock.
pub fn parse_examine(text: &str) -> Result<Examine, ParseError> {
    let mut device = None;
    let mut fields: Vec<(String, String)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let (n, line) = (i + 1, line.trim_end());
        if line.is_empty() {
            continue;
        }
        if device.is_none() {
            let c = TITLE.captures(line).ok_or_else(|| {
                ParseError::at(
                    WHAT,
                    n,
                    format!("expected `/dev/...:`, got {:?}", excerpt(line)),
                )
            })?;
            device = c.get(1).map(|m| m.as_str().to_string());
            continue;
        }
        let c = FIELD
            .captures(line)
            .ok_or_else(|| ParseError::at(WHAT, n, format!("unknown line {:?}", excerpt(line))))?;
        let key = c.get(1).map_or("", |m| m.as_str()).to_string();
        fields.push((key, c.get(2).map_or("", |m| m.as_str()).trim().to_string()));
    }
    let device = device.ok_or_else(|| ParseError::new(WHAT, "no output"))?;
    let get = |k: &str| {
        fields
            .iter()
            .find(|(fk, _)| fk == k)
            .map(|(_, v)| v.as_str())
    };
    let need = |k: &str| {
        get(k).ok_or_else(|| {
            ParseError::new(
                WHAT,
                format!("no `{k}` line (truncated, or not a 1.x superblock?)"),
            )
        })
    };
    let bad = |k: &str, v: &str| ParseError::new(WHAT, format!("bad {k} {:?}", excerpt(v)));
    if get("Magic") != Some("a92b4efc") {
        return Err(ParseError::new(
            WHAT,
            "no md magic a92b4efc (is this `mdadm --detail`?)",
        ));
    }
    let version = need("Version")?.to_string();
    let array_uuid = need("Array UUID")?.to_string();
    if !MD_UUID.is_match(&array_uuid) {
        return Err(bad("Array UUID", &array_uuid));
    }
    let raid_level = need("Raid Level")?.to_string();
    if !MD_LEVEL.is_match(&raid_level) {
        return Err(bad("Raid Level", &raid_level));
    }
    let v = need("Raid Devices")?;
    let raid_devices: u32 = v.parse().map_err(|_| bad("Raid Devices", v))?;
    let v = need("Device Role")?;
    let role = match v {
        "spare" => ExamineRole::Spare,
        "Journal" | "journal" => ExamineRole::Journal,
        _ => {
            let c = ROLE.captures(v).ok_or_else(|| bad("Device Role", v))?;
            let slot = c
                .get(2)
                .and_then(|m| m.as_str().parse().ok())
                .ok_or_else(|| bad("Device Role", v))?;
            match c.get(1).map(|m| m.as_str()) {
                Some("Active") => ExamineRole::Active(slot),
                _ => ExamineRole::Replacement(slot),
            }
        }
    };
    let v = need("Array State")?;
    let array_state = ARRAY_STATE
        .captures(v)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_string())
        .filter(|s| s.len() == raid_devices as usize)
        .ok_or_else(|| bad("Array State", v))?;
    let name = get("Name").map(|v| match v.split_once("  (local to host") {
        Some((n, _)) => n.to_string(),
        None => v.to_string(),
    });
    Ok(Examine {
        device,
        version,
        array_uuid,
        name,
        raid_level,
        raid_devices,
        device_uuid: get("Device UUID").map(str::to_string),
        state: get("State").map(str::to_string),
        events: get("Events").map(str::to_string),
        flags: get("Flags").map_or_else(Vec::new, |f| {
            f.split_whitespace().map(str::to_string).collect()
        }),
        role,
        array_state,
        fields,
    })
}
