//! The md RAID-1 backend: `mdadm` arrays with ext4 on top. Its commands, planners and rules
//! live here; everything returns data (health, problems, plans).
//!
//! Why ext4 on top by default: it is what Debian's installer puts on md, its journal replays
//! in well-understood ways (recovery replays it onto a dm-snapshot overlay, never with
//! `noload`), `e2fsck` and `resize2fs` exist on every rescue system, and it grows online after
//! `mdadm --grow --size=max`. XFS is detected too (status, recover) but not created.
//! May not: run anything mutating; decide a verdict's exit code (status does).

pub mod abort;
pub mod action;
pub mod check;
pub mod conf;
pub mod doc;
pub mod health;
pub mod history;
pub mod preflight;
pub mod probe;
pub mod recover;
pub mod recover_action;
pub mod recover_plan;
pub mod replace;
pub mod resume;
pub mod rules;
pub mod schedule;
pub mod setup;
pub mod size;
pub mod status;
pub mod wait;

#[cfg(test)]
mod tests;

/// The filesystem lnraid creates on an md array.
pub const FSTYPE: &str = "ext4";
/// Filesystem types on md that lnraid recognizes in an fstab line.
pub const FSTYPES: [&str; 2] = ["ext4", "xfs"];
/// blkid's `TYPE` of an md member.
pub const MEMBER_TYPE: &str = "linux_raid_member";
/// The array's name: `/dev/md/lnraid`, `--name=lnraid`.
pub const ARRAY_NAME: &str = "lnraid";
/// Where Debian keeps mdadm's configuration (redirectable with `--mdadm-conf`).
pub const DEFAULT_CONF: &str = "/etc/mdadm/mdadm.conf";

/// `/dev/md/<name>`.
pub fn array_path(name: &str) -> String {
    format!("/dev/md/{name}")
}

/// mdadm's colon UUID (`a170766d:d3b30691:74dacf68:537c0eef`) as blkid prints it on the
/// members (`a170766d-d3b3-0691-74da-cf68537c0eef`); `None` when it is not 32 hex digits.
pub fn blkid_uuid(md_uuid: &str) -> Option<String> {
    let hex: String = md_uuid.chars().filter(|c| *c != ':').collect();
    if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let h = hex.to_ascii_lowercase();
    Some(format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    ))
}
