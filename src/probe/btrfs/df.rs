//! `btrfs filesystem df --raw` (and its JSON form) and `btrfs filesystem usage --raw`: which
//! block-group profiles hold the data, and whether they are the expected RAID profile.
//!
//! Role: writes while mounted degraded allocate `single` chunks (DESIGN §4); after a replace
//! the convert-balance must leave one profile per type. Status and the post-balance check ask
//! [`profile_problems`] / `is_mixed` here. May not: decide what to do about a mix. Invariants:
//! `GlobalReserve` is never a chunk profile and is ignored by the checks; `System` is expected
//! to follow the metadata profile; an output lacking Data, Metadata or System block groups (or
//! usage's `Unallocated:` section) was cut short and is an error.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::stats::json_u64;
use super::{btrfs_cmd, complete_lines, lazy_regex, size, BgType, BtrfsError, Percent, Profile};
use crate::exec::{Cmd, Runner};
use crate::probe::{excerpt, ParseError};
use crate::types::{Bytes, DevPath};

const WHAT_DF: &str = "`btrfs filesystem df` output";
const WHAT_JSON: &str = "`btrfs --format json filesystem df` output";
const WHAT_USAGE: &str = "`btrfs filesystem usage` output";

pub fn df_cmd(mnt: &Path) -> Cmd {
    btrfs_cmd(&["filesystem", "df", "--raw"], mnt)
}

/// JSON form; btrfs-progs 6.2 has it (numbers as strings), 6.14 too (numbers).
pub fn df_json_cmd(mnt: &Path) -> Cmd {
    btrfs_cmd(&["--format", "json", "filesystem", "df"], mnt)
}

pub fn usage_cmd(mnt: &Path) -> Cmd {
    btrfs_cmd(&["filesystem", "usage", "--raw"], mnt)
}

/// One `Type, profile: total=..., used=...` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DfGroup {
    pub kind: BgType,
    pub profile: Profile,
    pub total: Bytes,
    pub used: Bytes,
}

/// What the RAID layout should be: `raid1`/`raid1` (or raid1c3/c4) for lnraid filesystems.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpectedProfiles {
    pub data: Profile,
    /// Also expected for `System`.
    pub metadata: Profile,
}

/// A block-group type whose chunks are not all of the expected profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProfileProblem {
    pub kind: BgType,
    pub expected: Profile,
    /// Every profile found for this type, in output order.
    pub found: Vec<Profile>,
}

/// Types (GlobalReserve excluded) with their profiles in output order, deduplicated.
pub fn profiles_by_type<'a>(pairs: impl Iterator<Item = (&'a BgType, &'a Profile)>) -> Vec<(BgType, Vec<Profile>)> {
    let mut out: Vec<(BgType, Vec<Profile>)> = Vec::new();
    for (k, p) in pairs.filter(|(k, _)| **k != BgType::GlobalReserve) {
        match out.iter_mut().find(|(kk, _)| kk == k) {
            Some((_, ps)) if !ps.contains(p) => ps.push(p.clone()),
            Some(_) => {}
            None => out.push((k.clone(), vec![p.clone()])),
        }
    }
    out
}

/// Types whose profiles differ from `expected` (a mix, or one wrong profile).
pub fn profile_problems<'a>(
    pairs: impl Iterator<Item = (&'a BgType, &'a Profile)>,
    expected: &ExpectedProfiles,
) -> Vec<ProfileProblem> {
    profiles_by_type(pairs)
        .into_iter()
        .filter_map(|(kind, found)| {
            let want = match kind {
                BgType::Data | BgType::Mixed => &expected.data,
                _ => &expected.metadata,
            };
            (found.as_slice() != std::slice::from_ref(want)).then(|| ProfileProblem {
                kind,
                expected: want.clone(),
                found,
            })
        })
        .collect()
}

/// Parsed `filesystem df`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpaceInfo {
    pub groups: Vec<DfGroup>,
    pub sizes_exact: bool,
}

impl SpaceInfo {
    /// Some type has more than one profile (e.g. `Data, single` next to `Data, RAID1`).
    pub fn is_mixed(&self) -> bool {
        profiles_by_type(self.pairs()).iter().any(|(_, ps)| ps.len() > 1)
    }

    pub fn profile_problems(&self, expected: &ExpectedProfiles) -> Vec<ProfileProblem> {
        profile_problems(self.pairs(), expected)
    }

    fn pairs(&self) -> impl Iterator<Item = (&BgType, &Profile)> {
        self.groups.iter().map(|g| (&g.kind, &g.profile))
    }
}

lazy_regex!(DF_LINE, r"^([A-Za-z+]+), ([A-Za-z0-9]+): total=(\S+), used=(\S+)$");

pub fn parse_df(text: &str) -> Result<SpaceInfo, ParseError> {
    let mut info = SpaceInfo { groups: Vec::new(), sizes_exact: true };
    for (n, line) in complete_lines(WHAT_DF, text)? {
        let c = DF_LINE
            .captures(line)
            .ok_or_else(|| ParseError::at(WHAT_DF, n, format!("unexpected {:?}", excerpt(line))))?;
        let (total, e1) = size(WHAT_DF, n, &c[3])?;
        let (used, e2) = size(WHAT_DF, n, &c[4])?;
        info.sizes_exact &= e1 && e2;
        info.groups.push(DfGroup { kind: BgType::parse(&c[1]), profile: Profile::parse(&c[2]), total, used });
    }
    require_types(WHAT_DF, info.groups.iter().map(|g| &g.kind))?;
    Ok(info)
}

#[derive(Deserialize)]
struct JsonDf {
    #[serde(rename = "filesystem-df")]
    groups: Vec<serde_json::Map<String, Value>>,
}

pub fn parse_df_json(text: &str) -> Result<SpaceInfo, ParseError> {
    let doc: JsonDf = serde_json::from_str(text).map_err(|e| ParseError::new(WHAT_JSON, e.to_string()))?;
    let mut info = SpaceInfo { groups: Vec::new(), sizes_exact: true };
    for (i, g) in doc.groups.iter().enumerate() {
        let bad = |r: &str| ParseError::new(WHAT_JSON, format!("entry {i}: {r}"));
        let s = |k: &str| g.get(k).and_then(Value::as_str).ok_or_else(|| bad(&format!("no {k}")));
        let n = |k: &str| json_u64(g.get(k)).map(Bytes).ok_or_else(|| bad(&format!("no {k}")));
        info.groups.push(DfGroup {
            kind: BgType::parse(s("bg-type")?),
            profile: Profile::parse(s("bg-profile")?),
            total: n("total")?,
            used: n("used")?,
        });
    }
    require_types(WHAT_JSON, info.groups.iter().map(|g| &g.kind))?;
    Ok(info)
}

/// Every filesystem has data, metadata and system block groups (or mixed data+metadata):
/// without them the output was cut.
fn require_types<'a>(what: &'static str, kinds: impl Iterator<Item = &'a BgType> + Clone) -> Result<(), ParseError> {
    let has = |k: BgType| kinds.clone().any(|x| *x == k);
    let mixed = has(BgType::Mixed);
    for (k, name) in [(BgType::Data, "Data"), (BgType::Metadata, "Metadata"), (BgType::System, "System")] {
        if !has(k.clone()) && !(mixed && k != BgType::System) {
            return Err(ParseError::new(what, format!("no {name} block groups (truncated?)")));
        }
    }
    Ok(())
}

/// A device's share in a usage section; `device: None` for the `missing` row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DevShare {
    pub device: Option<DevPath>,
    pub missing: bool,
    pub bytes: Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageGroup {
    pub kind: BgType,
    pub profile: Profile,
    pub size: Bytes,
    pub used: Bytes,
    pub devices: Vec<DevShare>,
}

/// Parsed `filesystem usage`. Ratios are in hundredths (`2.00` → 200).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub device_size: Bytes,
    pub device_allocated: Bytes,
    pub device_unallocated: Bytes,
    /// Size of missing members; non-zero means degraded. 0 when the version omits the line.
    pub device_missing: Bytes,
    pub used: Bytes,
    pub free_estimated: Bytes,
    pub free_estimated_min: Option<Bytes>,
    pub data_ratio_x100: Option<u32>,
    pub metadata_ratio_x100: Option<u32>,
    /// `Multiple profiles:` (btrfs-progs 5.x and later).
    pub multiple_profiles: Option<bool>,
    pub groups: Vec<UsageGroup>,
    pub unallocated: Vec<DevShare>,
    pub sizes_exact: bool,
}

impl Usage {
    pub fn is_mixed(&self) -> bool {
        self.multiple_profiles == Some(true)
            || profiles_by_type(self.groups.iter().map(|g| (&g.kind, &g.profile)))
                .iter()
                .any(|(_, ps)| ps.len() > 1)
    }

    pub fn profile_problems(&self, expected: &ExpectedProfiles) -> Vec<ProfileProblem> {
        profile_problems(self.groups.iter().map(|g| (&g.kind, &g.profile)), expected)
    }

    pub fn has_missing_device(&self) -> bool {
        self.device_missing > Bytes(0)
            || self.groups.iter().flat_map(|g| &g.devices).chain(&self.unallocated).any(|d| d.missing)
    }
}

lazy_regex!(KV, r"^    ([A-Z][A-Za-z (),]*):\t+ *(\S+)(?:\t\((?:min|used): (\S+)\)|\t\(([a-z, ]+)\))?$");
lazy_regex!(GROUP, r"^([A-Za-z+]+),([A-Za-z0-9]+): Size:(\S+), Used:(\S+)(?: \([0-9.]+%\))?$");
lazy_regex!(SHARE, r"^   (.+?)\t *(\S+)$");

enum Section {
    Overall,
    Group,
    Unallocated,
}

pub fn parse_usage(text: &str) -> Result<Usage, ParseError> {
    let mut u = Usage {
        device_size: Bytes(0),
        device_allocated: Bytes(0),
        device_unallocated: Bytes(0),
        device_missing: Bytes(0),
        used: Bytes(0),
        free_estimated: Bytes(0),
        free_estimated_min: None,
        data_ratio_x100: None,
        metadata_ratio_x100: None,
        multiple_profiles: None,
        groups: Vec::new(),
        unallocated: Vec::new(),
        sizes_exact: true,
    };
    let mut seen: Vec<String> = Vec::new();
    let mut section: Option<Section> = None;
    for (n, line) in complete_lines(WHAT_USAGE, text)? {
        let bad = || ParseError::at(WHAT_USAGE, n, format!("unexpected {:?}", excerpt(line)));
        if line.is_empty() {
            continue;
        } else if line == "Overall:" {
            section = Some(Section::Overall);
        } else if line == "Unallocated:" {
            section = Some(Section::Unallocated);
        } else if let Some(c) = GROUP.captures(line) {
            let (sz, e1) = size(WHAT_USAGE, n, &c[3])?;
            let (used, e2) = size(WHAT_USAGE, n, &c[4])?;
            u.sizes_exact &= e1 && e2;
            let (kind, profile) = (BgType::parse(&c[1]), Profile::parse(&c[2]));
            u.groups.push(UsageGroup { kind, profile, size: sz, used, devices: Vec::new() });
            section = Some(Section::Group);
        } else {
            match section {
                Some(Section::Overall) => overall(&mut u, &mut seen, n, line)?,
                Some(Section::Group) => {
                    let share = share(&mut u.sizes_exact, n, line)?;
                    u.groups.last_mut().ok_or_else(bad)?.devices.push(share);
                }
                Some(Section::Unallocated) => {
                    let share = share(&mut u.sizes_exact, n, line)?;
                    u.unallocated.push(share);
                }
                None => return Err(bad()),
            }
        }
    }
    for key in ["Device size", "Device allocated", "Device unallocated", "Used", "Free (estimated)"] {
        if !seen.iter().any(|s| s == key) {
            return Err(ParseError::new(WHAT_USAGE, format!("no {key:?} line (truncated?)")));
        }
    }
    require_types(WHAT_USAGE, u.groups.iter().map(|g| &g.kind))?;
    if u.unallocated.is_empty() {
        return Err(ParseError::new(WHAT_USAGE, "no Unallocated section (truncated?)"));
    }
    Ok(u)
}

fn overall(u: &mut Usage, seen: &mut Vec<String>, n: usize, line: &str) -> Result<(), ParseError> {
    let c = KV
        .captures(line)
        .ok_or_else(|| ParseError::at(WHAT_USAGE, n, format!("unexpected {:?}", excerpt(line))))?;
    let (key, val) = (&c[1], &c[2]);
    let sz = || size(WHAT_USAGE, n, val);
    let ratio = || Percent::parse(val).map(|p| p.0).ok_or_else(|| ParseError::at(WHAT_USAGE, n, "bad ratio"));
    match key {
        "Device size" => u.device_size = exact(&mut u.sizes_exact, sz()?),
        "Device allocated" => u.device_allocated = exact(&mut u.sizes_exact, sz()?),
        "Device unallocated" => u.device_unallocated = exact(&mut u.sizes_exact, sz()?),
        "Device missing" => u.device_missing = exact(&mut u.sizes_exact, sz()?),
        "Used" => u.used = exact(&mut u.sizes_exact, sz()?),
        "Free (estimated)" => {
            u.free_estimated = exact(&mut u.sizes_exact, sz()?);
            if let Some(m) = c.get(3) {
                u.free_estimated_min = Some(size(WHAT_USAGE, n, m.as_str())?.0);
            }
        }
        "Data ratio" => u.data_ratio_x100 = Some(ratio()?),
        "Metadata ratio" => u.metadata_ratio_x100 = Some(ratio()?),
        "Multiple profiles" => {
            u.multiple_profiles = Some(match val {
                "yes" => true,
                "no" => false,
                _ => return Err(ParseError::at(WHAT_USAGE, n, "Multiple profiles is not yes/no")),
            })
        }
        _ => {} // Device slack, Free (statfs, df), Global reserve: shown, not needed.
    }
    seen.push(key.to_string());
    Ok(())
}

/// Records whether a size was exact and returns it.
fn exact(all_exact: &mut bool, (b, e): (Bytes, bool)) -> Bytes {
    *all_exact &= e;
    b
}

fn share(exact: &mut bool, n: usize, line: &str) -> Result<DevShare, ParseError> {
    let c = SHARE
        .captures(line)
        .ok_or_else(|| ParseError::at(WHAT_USAGE, n, format!("unexpected {:?}", excerpt(line))))?;
    let (bytes, e) = size(WHAT_USAGE, n, &c[2])?;
    *exact &= e;
    let missing = &c[1] == "missing";
    let device = (!missing).then(|| DevPath::new(&c[1]));
    Ok(DevShare { device, missing, bytes })
}

/// Runs [`df_cmd`] and parses it.
pub fn probe_df(runner: &dyn Runner, mnt: &Path) -> Result<SpaceInfo, BtrfsError> {
    let out = runner.run_ok(&df_cmd(mnt))?;
    Ok(parse_df(&out.stdout)?)
}

/// Runs [`usage_cmd`] and parses it.
pub fn probe_usage(runner: &dyn Runner, mnt: &Path) -> Result<Usage, BtrfsError> {
    let out = runner.run_ok(&usage_cmd(mnt))?;
    Ok(parse_usage(&out.stdout)?)
}

#[cfg(test)]
#[path = "df_tests.rs"]
mod tests;
