//! `mdadm --detail --export`, `mdadm --detail` and `mdadm --examine`: what mdadm says about an
//! array and its members.
//!
//! The KEY=VALUE export is the structured source (STYLE.md rule 3) for identity and roles;
//! the human `--detail` text is parsed for what the export lacks: the state words (degraded,
//! recovering...), rebuild progress, device counts and the member table. Pure: the `*_cmd`
//! functions build read-only [`Cmd`]s, the `parse_*` functions take the captured stdout (run
//! under `LC_ALL=C`). Nothing here guesses: a line of unknown shape, a member with a role
//! but no path, counts that disagree with the member table are [`ParseError`]s, because a
//! truncated capture must not read as a healthy array.

mod detail;
mod examine;

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

pub use detail::{parse_detail, Detail, DetailMember, DetailProgress};
pub use examine::{parse_examine, Examine, ExamineRole};

use super::ParseError;
use crate::exec::Cmd;
use crate::types::DevPath;

const WHAT_EXPORT: &str = "`mdadm --detail --export` output";

/// `mdadm --detail --export DEV`: KEY=VALUE lines.
pub fn detail_export_cmd(dev: &DevPath) -> Cmd {
    Cmd::read_only("mdadm", ["--detail", "--export"]).arg(dev.to_string())
}

/// `mdadm --detail DEV`: the human-readable report.
pub fn detail_cmd(dev: &DevPath) -> Cmd {
    Cmd::read_only("mdadm", ["--detail"]).arg(dev.to_string())
}

/// `mdadm --examine DEV`: the md superblock of one member device.
pub fn examine_cmd(dev: &DevPath) -> Cmd {
    Cmd::read_only("mdadm", ["--examine"]).arg(dev.to_string())
}

/// A member's role as `--detail --export` gives it (`MD_DEVICE_<dev>_ROLE`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExportRole {
    /// In slot N. Two members share a slot while one replaces the other.
    Active(u32),
    /// Not in a slot. mdadm 4.2 also prints `spare` for a FAILED member (seen in the VM
    /// capture `raid1-degraded-faulty`): never read `spare` as "healthy standby" without
    /// `--detail` or /proc/mdstat.
    Spare,
    Faulty,
    Journal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportMember {
    /// `/dev/vdb` (`MD_DEVICE_<dev>_DEV`).
    pub dev: DevPath,
    pub role: ExportRole,
}

/// Parsed `mdadm --detail --export`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DetailExport {
    /// `MD_LEVEL` (`raid1`); absent for an inactive array.
    pub level: Option<String>,
    /// `MD_DEVICES`: raid devices (slots); for an inactive array, the members present.
    pub raid_devices: Option<u32>,
    /// `MD_METADATA` (`1.2`, `0.90`, `ddf`).
    pub metadata: Option<String>,
    /// `MD_UUID`, as mdadm prints it (`347fb606:a385bb4f:dded9b1b:8f35ce33`).
    pub uuid: Option<String>,
    /// `MD_NAME` (`host:name`); absent for 0.90 metadata.
    pub name: Option<String>,
    /// `MD_DEVNAME`: the name under /dev/md/.
    pub devname: Option<String>,
    /// In the order mdadm printed them.
    pub members: Vec<ExportMember>,
    /// Every key, including ones not modelled above (MD_CONTAINER, MD_MEMBER...).
    pub all: BTreeMap<String, String>,
}

impl DetailExport {
    /// Slots no member claims: `MD_DEVICES` minus the distinct active roles. A replacement
    /// shares its slot with the member it replaces, so slots are counted, not members.
    /// NOT a degraded test: a member still being rebuilt already has its slot here (seen in
    /// the VM capture `raid1-recovering`); ask `/proc/mdstat` or `mdadm --detail` for that.
    pub fn missing_slots(&self) -> u32 {
        let mut slots: Vec<u32> = self
            .members
            .iter()
            .filter_map(|m| match m.role {
                ExportRole::Active(n) => Some(n),
                _ => None,
            })
            .collect();
        slots.sort_unstable();
        slots.dedup();
        let taken = u32::try_from(slots.len()).unwrap_or(u32::MAX);
        self.raid_devices.unwrap_or(0).saturating_sub(taken)
    }
}

fn re(pattern: &str) -> Regex {
    // Patterns are constants of this module, covered by the unit tests.
    Regex::new(pattern).expect("constant regex")
}

static KEY: LazyLock<Regex> = LazyLock::new(|| re(r"^MD_[A-Za-z0-9_.:+-]+$"));
static MEMBER_KEY: LazyLock<Regex> =
    LazyLock::new(|| re(r"^MD_DEVICE_([A-Za-z0-9_.:+-]+)_(ROLE|DEV)$"));
pub static MD_UUID: LazyLock<Regex> = LazyLock::new(|| re(r"^[0-9a-f]{8}(:[0-9a-f]{8}){3}$"));
pub(crate) static MD_LEVEL: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(raid[0-9]+|linear|multipath|faulty|container)$"));
static METADATA: LazyLock<Regex> =
    LazyLock::new(|| re(r"^([0-9]+\.[0-9]+|ddf|imsm|external:\S+)$"));

/// Parses `mdadm --detail --export` of one array.
pub fn parse_detail_export(text: &str) -> Result<DetailExport, ParseError> {
    let mut all = BTreeMap::new();
    // member key (`dev_vdb`) → (ROLE, DEV), in first-seen order.
    let mut members: Vec<(String, Option<String>, Option<String>)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let (k, v) = line.split_once('=').ok_or_else(|| {
            let msg = format!("expected KEY=value, got {:?}", super::excerpt(line));
            ParseError::at(WHAT_EXPORT, n, msg)
        })?;
        if !KEY.is_match(k) {
            let msg = format!("bad key {:?}", super::excerpt(k));
            return Err(ParseError::at(WHAT_EXPORT, n, msg));
        }
        if all.insert(k.to_string(), v.to_string()).is_some() {
            let msg = format!("key {k} given twice");
            return Err(ParseError::at(WHAT_EXPORT, n, msg));
        }
        if let Some(caps) = MEMBER_KEY.captures(k) {
            let key = caps.get(1).map_or("", |m| m.as_str());
            let idx = match members.iter().position(|(mk, _, _)| mk == key) {
                Some(idx) => idx,
                None => {
                    members.push((key.to_string(), None, None));
                    members.len() - 1
                }
            };
            if let Some(slot) = members.get_mut(idx) {
                if caps.get(2).map(|m| m.as_str()) == Some("ROLE") {
                    slot.1 = Some(v.to_string());
                } else {
                    slot.2 = Some(v.to_string());
                }
            }
        }
    }
    if all.is_empty() {
        return Err(ParseError::new(WHAT_EXPORT, "no output"));
    }
    let get = |k: &str| all.get(k).cloned();
    let level = checked(get("MD_LEVEL"), &MD_LEVEL, "MD_LEVEL")?;
    let uuid = checked(get("MD_UUID"), &MD_UUID, "MD_UUID")?;
    let metadata = checked(get("MD_METADATA"), &METADATA, "MD_METADATA")?;
    let raid_devices = match get("MD_DEVICES") {
        None => None,
        Some(v) => Some(v.parse::<u32>().map_err(|_| {
            ParseError::new(
                WHAT_EXPORT,
                format!("bad MD_DEVICES {:?}", super::excerpt(&v)),
            )
        })?),
    };
    let members = members
        .into_iter()
        .map(|(key, role, dev)| export_member(&key, role, dev))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(DetailExport {
        level,
        raid_devices,
        metadata,
        uuid,
        name: get("MD_NAME"),
        devname: get("MD_DEVNAME"),
        members,
        all,
    })
}

fn checked(v: Option<String>, re: &Regex, key: &'static str) -> Result<Option<String>, ParseError> {
    match v {
        Some(v) if !re.is_match(&v) => {
            let msg = format!("bad {key} {:?}", super::excerpt(&v));
            Err(ParseError::new(WHAT_EXPORT, msg))
        }
        v => Ok(v),
    }
}

/// One member from its ROLE and DEV values. The key is the path with `/` → `_` (mdadm's
/// own encoding), so a DEV value cut short no longer matches its key.
fn export_member(
    key: &str,
    role: Option<String>,
    dev: Option<String>,
) -> Result<ExportMember, ParseError> {
    let (Some(role), Some(dev)) = (role, dev) else {
        let msg = format!("member {key} lacks its ROLE or DEV line (truncated?)");
        return Err(ParseError::new(WHAT_EXPORT, msg));
    };
    if dev.trim_start_matches('/').replace('/', "_") != key || !dev.starts_with('/') {
        let msg = format!(
            "member key {key} does not match its path {:?}",
            super::excerpt(&dev)
        );
        return Err(ParseError::new(WHAT_EXPORT, msg));
    }
    let role = match role.as_str() {
        "spare" => ExportRole::Spare,
        "faulty" => ExportRole::Faulty,
        "journal" => ExportRole::Journal,
        r => ExportRole::Active(r.parse().map_err(|_| {
            let msg = format!("bad role {:?} for {key}", super::excerpt(r));
            ParseError::new(WHAT_EXPORT, msg)
        })?),
    };
    Ok(ExportMember {
        dev: DevPath::new(dev),
        role,
    })
}

#[cfg(test)]
mod tests;
