//! Array health: [`gather`] probes the facts (read-only), [`evaluate`] turns them into
//! problems with a severity and a plain-words action (pure), [`render`] prints them.
//!
//! The verdict follows the Nagios convention: 0 healthy, 1 warning, 2 critical, 3 unknown.
//! A degraded array is critical even though the node still runs: the next failure loses the
//! funds. Non-RAID (`single`) block groups are flagged: data written while degraded is not
//! mirrored until converted.

pub mod doc;
pub mod export;
pub mod fstab_check;
pub mod gather;
pub mod hotcopy;
pub mod render;
mod rules;
mod space;

use std::path::PathBuf;

use serde::Serialize;

use crate::probe::btrfs::balance::BalanceState;
use crate::probe::btrfs::df::DfGroup;
use crate::probe::btrfs::replace::ReplaceStatus;
use crate::probe::btrfs::scrub::ScrubStatus;
use crate::probe::btrfs::show::ShowFs;
use crate::probe::btrfs::stats::DevStats;
use crate::probe::btrfs::usage::Usage;
use crate::probe::btrfs::Profile;
use crate::records::JobRecord;
use crate::types::FsUuid;

/// Version of the `status --json` document (see [`doc`]); bumped on incompatible changes.
pub const STATUS_JSON_VERSION: u32 = doc::STATUS_VERSION;

/// A scrub older than this is a warning (the schedule runs weekly; two missed runs).
pub const SCRUB_MAX_AGE_SECS: u64 = 15 * 86_400;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Ok,
    Warning,
    Critical,
    Unknown,
}

impl Severity {
    /// The Nagios exit code.
    pub fn exit_code(self) -> i32 {
        match self {
            Severity::Ok => 0,
            Severity::Warning => 1,
            Severity::Critical => 2,
            Severity::Unknown => 3,
        }
    }

    /// Combines verdicts: critical beats unknown beats warning beats ok.
    pub fn worst(a: Severity, b: Severity) -> Severity {
        let rank = |s| match s {
            Severity::Ok => 0,
            Severity::Warning => 1,
            Severity::Unknown => 2,
            Severity::Critical => 3,
        };
        if rank(a) >= rank(b) {
            a
        } else {
            b
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Severity::Ok => "healthy",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
            Severity::Unknown => "unknown",
        }
    }
}

/// One thing wrong, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub severity: Severity,
    /// Stable identifier (`missing_device`, `non_raid_profile`, ...).
    pub code: &'static str,
    pub message: String,
    pub action: String,
}

/// Everything probed about one array. `None` means "could not be probed" (see `errors`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ArrayFacts {
    pub uuid: Option<FsUuid>,
    /// Where lnraid expects it (fstab) or where the operator pointed.
    pub mountpoint: PathBuf,
    /// Where it is mounted now, with the mount options.
    pub mounted_at: Option<PathBuf>,
    /// Per-mount then filesystem options, each once (`rw,relatime,degraded,...`).
    pub mount_options: Option<String>,
    /// Per-mount options alone (mountinfo field 6): `ro` here is a read-only mount.
    pub per_mount_options: Option<String>,
    /// Filesystem (superblock) options alone: `ro` here with `rw` per mount means the kernel
    /// forced the filesystem read-only after an error.
    pub super_options: Option<String>,
    pub show: Option<ShowFs>,
    pub stats: Option<Vec<DevStats>>,
    pub df: Option<Vec<DfGroup>>,
    /// `btrfs filesystem usage`: allocation, unallocated space, free estimate.
    pub usage: Option<Usage>,
    pub scrub: Option<ScrubStatus>,
    /// Unix time the last scrub ended (lnraid's record, or btrfs's start + duration).
    pub scrub_finished_at: Option<u64>,
    pub balance: Option<BalanceState>,
    pub replace: Option<ReplaceStatus>,
    pub last_scrub_record: Option<JobRecord>,
    pub last_balance_record: Option<JobRecord>,
    /// The RAID profile the array was made with.
    pub expected_profile: Option<Profile>,
    /// Whether an fstab line mounts this filesystem UUID (any line; see `fstab` for more).
    pub fstab_line: Option<bool>,
    /// The full check of the fstab line (missing / wrong / duplicated / unreadable).
    #[serde(skip)]
    pub fstab: Option<fstab_check::FstabCheck>,
    pub fstab_path: PathBuf,
    pub lightning_dir: Option<PathBuf>,
    /// An lnraid `replace` or `setup` of this array that did not finish: (command, step).
    pub unfinished: Vec<(String, String)>,
    /// When lnraid set the array up (Unix seconds), if it did.
    pub created_at: Option<u64>,
    /// Whether `lightning_dir` resolves into the array.
    pub lightning_dir_on_array: Option<bool>,
    /// `lightning_dir` (or the link it is) leads to a path that does not exist.
    pub lightning_dir_dangling: bool,
    /// Whether the bare mountpoint is immutable; `None` when it cannot be seen (mounted over).
    pub mountpoint_immutable: Option<bool>,
    pub errors: Vec<String>,
    /// The node's snapshots, backups and their jobs (hotcopy).
    pub hot: Option<hotcopy::HotFacts>,
}

impl ArrayFacts {
    /// Why the mounted filesystem is read-only, if it is. A read-only superblock under a
    /// read-write mount is the kernel's doing (btrfs forces it after a failed write).
    pub fn read_only_cause(&self) -> Option<doc::ReadOnlyCause> {
        let has_ro = |o: &Option<String>| {
            o.as_deref()
                .is_some_and(|o| o.split(',').any(|x| x == "ro"))
        };
        self.mounted_at.as_ref()?;
        let (mount_ro, super_ro) = (has_ro(&self.per_mount_options), has_ro(&self.super_options));
        if super_ro && !mount_ro {
            Some(doc::ReadOnlyCause::Kernel)
        } else if mount_ro || super_ro {
            let fstab_ro = self
                .fstab
                .as_ref()
                .and_then(|c| c.options.as_deref())
                .is_some_and(|o| o.split(',').any(|x| x == "ro"));
            Some(if fstab_ro {
                doc::ReadOnlyCause::Fstab
            } else {
                doc::ReadOnlyCause::MountOption
            })
        } else {
            None
        }
    }
}

/// The evaluated state of one array.
#[derive(Debug, Clone, Serialize)]
pub struct ArrayStatus {
    pub verdict: Severity,
    pub problems: Vec<Problem>,
    #[serde(flatten)]
    pub facts: ArrayFacts,
    /// The backend-neutral health (the md backend fills it; hook of the backend seam).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<crate::backend::Health>,
}

/// A problem with its plain action; the one constructor every backend's rules use.
pub(crate) fn p(
    severity: Severity,
    code: &'static str,
    message: String,
    action: impl Into<String>,
) -> Problem {
    Problem {
        severity,
        code,
        message,
        action: action.into(),
    }
}

/// The profile an array should have everywhere: what it was made with, else the most
/// redundant RAID1-family profile present.
pub fn expected_profile(f: &ArrayFacts) -> Option<Profile> {
    f.expected_profile.clone().or_else(|| {
        let groups = f.df.as_ref()?;
        [Profile::Raid1c4, Profile::Raid1c3, Profile::Raid1]
            .into_iter()
            .find(|want| groups.iter().any(|g| &g.profile == want))
    })
}

/// Judges the facts. Pure; `now` is Unix seconds.
pub fn evaluate(f: &ArrayFacts, now: u64) -> ArrayStatus {
    let mut out = Vec::new();
    let mp = f.mountpoint.display();
    let mp_q = crate::exec::quote_path(&f.mountpoint);
    for e in &f.errors {
        out.push(p(
            Severity::Unknown,
            "probe_failed",
            e.clone(),
            "run the command by hand to see why; lnraid could not tell this part",
        ));
    }
    match &f.mounted_at {
        None => out.push(p(
            Severity::Critical,
            "not_mounted",
            format!("the array is not mounted at {mp}: the node cannot run from it"),
            format!("check `dmesg` and `lnraid status`; if a member is missing, run `lnraid recover --to <new media>` first, then `mount {mp_q}`"),
        )),
        Some(at) if *at != f.mountpoint => out.push(p(
            Severity::Warning,
            "mounted_elsewhere",
            format!("the array is mounted at {} instead of {mp}", at.display()),
            format!("unmount it and `mount {mp_q}`"),
        )),
        Some(_) => {}
    }
    let degraded_opt = f
        .mount_options
        .as_deref()
        .is_some_and(|o| o.split(',').any(|x| x == "degraded"));
    let missing: Vec<u64> = f
        .show
        .as_ref()
        .map(ShowFs::missing_devids)
        .unwrap_or_default();
    for devid in &missing {
        out.push(p(
            Severity::Critical,
            "missing_device",
            format!("devid {devid} is missing: the array has no redundancy left"),
            format!("run `lnraid recover --to <new media>` to copy your node's data out, then `lnraid replace --old {devid} --new <device>`"),
        ));
    }
    if f.show.as_ref().is_some_and(|s| s.some_missing) && missing.is_empty() {
        out.push(p(
            Severity::Critical,
            "missing_device",
            "some devices are missing".into(),
            "run `lnraid recover`, then `lnraid replace`",
        ));
    }
    let whole = missing.is_empty() && !f.show.as_ref().is_some_and(|s| s.some_missing);
    if degraded_opt && !whole {
        out.push(p(
            Severity::Critical,
            "degraded_mount",
            format!("{mp} is mounted with the `degraded` option: writes land on one device only"),
            "replace the failed device with `lnraid replace`, which also converts what was written meanwhile",
        ));
    } else if degraded_opt {
        out.push(p(
            Severity::Warning,
            "degraded_option",
            format!("{mp} is whole but still mounted with `degraded`: if a member fails again, it keeps running silently without redundancy"),
            format!("stop the node, then `umount {mp_q}` and `mount {mp_q}` (the fstab line has no `degraded`)"),
        ));
    }
    rules::read_only(f, &mut out);
    space::space(f, &mut out);
    rules::profiles(f, &mut out);
    rules::device_errors(f, &mut out);
    rules::scrub(f, now, &mut out);
    rules::operations(f, &mut out);
    rules::config(f, &mut out);
    hotcopy::rules(f, now, &mut out);
    let verdict = out
        .iter()
        .map(|x| x.severity)
        .fold(Severity::Ok, Severity::worst);
    ArrayStatus {
        verdict,
        problems: out,
        facts: f.clone(),
        health: None,
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_states;
