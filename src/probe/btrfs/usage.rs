//! `btrfs filesystem usage --raw <mountpoint>`: sizes, missing-device bytes, per-device shares
//! of every block-group profile, and progs' own `Multiple profiles:` verdict.
//!
//! Role: the fuller companion of `df` (same profile checks, from `df.rs`), used where status
//! must show how much sits on each member and how much belongs to a missing one (`missing`
//! rows, `Device missing:`). Split from `df.rs` to keep files short. May not: decide. Invariants:
//! the Overall keys lnraid reads are required, Data/Metadata/System groups are required, and
//! the `Unallocated:` section ends every complete output (a cut one is refused). The output
//! has no JSON form in 6.2 or 6.14.

use std::path::Path;

use serde::Serialize;

use super::df::{
    profile_problems, profiles_by_type, require_types, ExpectedProfiles, ProfileProblem,
};
use super::{btrfs_cmd, complete_lines, lazy_regex, size, BgType, BtrfsError, Percent, Profile};
use crate::exec::{Cmd, Runner};
use crate::probe::{excerpt, ParseError};
use crate::types::{Bytes, DevPath};

const WHAT_USAGE: &str = "`btrfs filesystem usage` output";

pub fn usage_cmd(mnt: &Path) -> Cmd {
    btrfs_cmd(&["filesystem", "usage", "--raw"], mnt)
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
            || self
                .groups
                .iter()
                .flat_map(|g| &g.devices)
                .chain(&self.unallocated)
                .any(|d| d.missing)
    }
}

lazy_regex!(
    KV,
    r"^    ([A-Z][A-Za-z (),]*):\t+ *(\S+)(?:\t\((?:min|used): (\S+)\)|\t\(([a-z, ]+)\))?$"
);
lazy_regex!(
    GROUP,
    r"^([A-Za-z+]+),([A-Za-z0-9]+): Size:(\S+), Used:(\S+)(?: \([0-9.]+%\))?$"
);
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
            u.groups.push(UsageGroup {
                kind,
                profile,
                size: sz,
                used,
                devices: Vec::new(),
            });
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
    for key in [
        "Device size",
        "Device allocated",
        "Device unallocated",
        "Used",
        "Free (estimated)",
    ] {
        if !seen.iter().any(|s| s == key) {
            return Err(ParseError::new(
                WHAT_USAGE,
                format!("no {key:?} line (truncated?)"),
            ));
        }
    }
    require_types(WHAT_USAGE, u.groups.iter().map(|g| &g.kind))?;
    if u.unallocated.is_empty() {
        return Err(ParseError::new(
            WHAT_USAGE,
            "no Unallocated section (truncated?)",
        ));
    }
    Ok(u)
}

fn overall(u: &mut Usage, seen: &mut Vec<String>, n: usize, line: &str) -> Result<(), ParseError> {
    let c = KV
        .captures(line)
        .ok_or_else(|| ParseError::at(WHAT_USAGE, n, format!("unexpected {:?}", excerpt(line))))?;
    let (key, val) = (&c[1], &c[2]);
    let sz = || size(WHAT_USAGE, n, val);
    let ratio = || {
        Percent::parse(val)
            .map(|p| p.0)
            .ok_or_else(|| ParseError::at(WHAT_USAGE, n, "bad ratio"))
    };
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
                _ => {
                    return Err(ParseError::at(
                        WHAT_USAGE,
                        n,
                        "Multiple profiles is not yes/no",
                    ))
                }
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
    Ok(DevShare {
        device,
        missing,
        bytes,
    })
}

/// Runs [`usage_cmd`] and parses it.
pub fn probe_usage(runner: &dyn Runner, mnt: &Path) -> Result<Usage, BtrfsError> {
    let out = runner.run_ok(&usage_cmd(mnt))?;
    Ok(parse_usage(&out.stdout)?)
}

#[cfg(test)]
#[path = "usage_tests.rs"]
mod tests;
