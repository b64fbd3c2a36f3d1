//! The btrfs RAID-1 backend. Its probes (src/probe/btrfs), status rules (src/status) and
//! planners (src/plan/setup.rs, src/app/replace, src/app/maintain) predate the seam and are
//! reached through [`crate::backend::Backend`]; this folder holds what the seam needs from
//! btrfs: its fstab type and the neutral health built from the facts status gathers.
//! May not: run mutating commands.

pub mod abort;
pub mod gather;
pub mod members;
pub mod mounts;
pub mod recover;

use crate::backend::health::{BackendFacts, Health, MemberHealth, MemberState, Redundancy};
use crate::backend::Backend;
use crate::exec::Cmd;
use crate::probe::btrfs::Profile;
use crate::status::ArrayFacts;
use crate::types::DevPath;

/// The fstab type of a btrfs array.
pub const FSTYPE: &str = "btrfs";

/// `mount -t btrfs -o OPTIONS MEMBER MOUNTPOINT`: the command of the executor's `Mount` of a
/// member `blkid -p` has just shown carrying the array's UUID (never a bare `UUID=`).
pub fn mount_cmd(member: &DevPath, mountpoint: &std::path::Path, options: &str) -> Cmd {
    Cmd::mutating(
        "mount",
        [
            "-t",
            FSTYPE,
            "-o",
            options,
            &member.to_string(),
            &mountpoint.to_string_lossy(),
        ],
    )
}

/// The neutral health of a btrfs array from the facts status gathered. Pure.
pub fn health(f: &ArrayFacts) -> Health {
    let members: Vec<MemberHealth> = f
        .show
        .as_ref()
        .map(|s| {
            s.devices
                .iter()
                .map(|d| MemberHealth {
                    id: d.devid.to_string(),
                    path: d.path.clone(),
                    state: if d.missing {
                        MemberState::Missing
                    } else {
                        MemberState::Active
                    },
                    write_mostly: false,
                })
                .collect()
        })
        .unwrap_or_default();
    let profile = crate::status::expected_profile(f);
    let expected = match profile {
        Some(Profile::Raid1) => 2,
        Some(Profile::Raid1c3) => 3,
        Some(Profile::Raid1c4) => 4,
        _ => members.len() as u32,
    };
    let in_sync = members
        .iter()
        .filter(|m| m.state == MemberState::Active)
        .count() as u32;
    let mut profiles: Vec<String> =
        f.df.as_ref()
            .map(|g| {
                g.iter()
                    .map(|x| x.profile.to_string().to_lowercase())
                    .collect()
            })
            .unwrap_or_default();
    profiles.sort();
    profiles.dedup();
    Health {
        backend: Backend::Btrfs,
        array_uuid: f.uuid.as_ref().map(|u| u.to_string()),
        members,
        redundancy: Redundancy {
            level: profile.map(|p| p.to_string().to_lowercase()),
            expected,
            in_sync: in_sync.min(expected),
        },
        operations: Vec::new(),
        facts: BackendFacts::Btrfs { profiles },
    }
}
