//! `btrfs filesystem df --raw` (and its JSON form): which block-group profiles hold the data,
//! and whether they are the expected RAID profile (`usage` parses `filesystem usage`, which
//! shares the profile checks defined here).
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
use super::{btrfs_cmd, complete_lines, lazy_regex, size, BgType, BtrfsError, Profile};
use crate::exec::{Cmd, Runner};
use crate::probe::{excerpt, ParseError};
use crate::types::Bytes;

const WHAT_DF: &str = "`btrfs filesystem df` output";
const WHAT_JSON: &str = "`btrfs --format json filesystem df` output";

pub fn df_cmd(mnt: &Path) -> Cmd {
    btrfs_cmd(&["filesystem", "df", "--raw"], mnt)
}

/// JSON form; btrfs-progs 6.2 has it (numbers as strings), 6.14 too (numbers).
pub fn df_json_cmd(mnt: &Path) -> Cmd {
    btrfs_cmd(&["--format", "json", "filesystem", "df"], mnt)
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
pub fn profiles_by_type<'a>(
    pairs: impl Iterator<Item = (&'a BgType, &'a Profile)>,
) -> Vec<(BgType, Vec<Profile>)> {
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
        profiles_by_type(self.pairs())
            .iter()
            .any(|(_, ps)| ps.len() > 1)
    }

    pub fn profile_problems(&self, expected: &ExpectedProfiles) -> Vec<ProfileProblem> {
        profile_problems(self.pairs(), expected)
    }

    fn pairs(&self) -> impl Iterator<Item = (&BgType, &Profile)> {
        self.groups.iter().map(|g| (&g.kind, &g.profile))
    }
}

lazy_regex!(
    DF_LINE,
    r"^([A-Za-z+]+), ([A-Za-z0-9]+): total=(\S+), used=(\S+)$"
);

pub fn parse_df(text: &str) -> Result<SpaceInfo, ParseError> {
    let mut info = SpaceInfo {
        groups: Vec::new(),
        sizes_exact: true,
    };
    for (n, line) in complete_lines(WHAT_DF, text)? {
        let c = DF_LINE
            .captures(line)
            .ok_or_else(|| ParseError::at(WHAT_DF, n, format!("unexpected {:?}", excerpt(line))))?;
        let (total, e1) = size(WHAT_DF, n, &c[3])?;
        let (used, e2) = size(WHAT_DF, n, &c[4])?;
        info.sizes_exact &= e1 && e2;
        info.groups.push(DfGroup {
            kind: BgType::parse(&c[1]),
            profile: Profile::parse(&c[2]),
            total,
            used,
        });
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
    let doc: JsonDf =
        serde_json::from_str(text).map_err(|e| ParseError::new(WHAT_JSON, e.to_string()))?;
    let mut info = SpaceInfo {
        groups: Vec::new(),
        sizes_exact: true,
    };
    for (i, g) in doc.groups.iter().enumerate() {
        let bad = |r: &str| ParseError::new(WHAT_JSON, format!("entry {i}: {r}"));
        let s = |k: &str| {
            g.get(k)
                .and_then(Value::as_str)
                .ok_or_else(|| bad(&format!("no {k}")))
        };
        let n = |k: &str| {
            json_u64(g.get(k))
                .map(Bytes)
                .ok_or_else(|| bad(&format!("no {k}")))
        };
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
pub(crate) fn require_types<'a>(
    what: &'static str,
    kinds: impl Iterator<Item = &'a BgType> + Clone,
) -> Result<(), ParseError> {
    let has = |k: BgType| kinds.clone().any(|x| *x == k);
    let mixed = has(BgType::Mixed);
    for (k, name) in [
        (BgType::Data, "Data"),
        (BgType::Metadata, "Metadata"),
        (BgType::System, "System"),
    ] {
        let covered_by_mixed = mixed && k != BgType::System;
        if !(has(k.clone()) || covered_by_mixed) {
            return Err(ParseError::new(
                what,
                format!("no {name} block groups (truncated?)"),
            ));
        }
    }
    Ok(())
}

/// Runs [`df_cmd`] and parses it.
pub fn probe_df(runner: &dyn Runner, mnt: &Path) -> Result<SpaceInfo, BtrfsError> {
    let out = runner.run_ok(&df_cmd(mnt))?;
    Ok(parse_df(&out.stdout)?)
}

#[cfg(test)]
#[path = "df_tests.rs"]
mod tests;
