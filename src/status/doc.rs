//! The `lnraid status --json` document: the ONE definition of its shape, checked against
//! `schemas/status.schema.json` in tests (`tests/schemas.rs`).
//!
//! Role: a typed, versioned contract for cron jobs, Nagios and other programs. It is built
//! from the evaluated status (see `export.rs` for btrfs; the md backend fills the same types),
//! never by serializing a parser's struct, so renaming a parser field cannot change it.
//! Backend-neutral: members with a state, redundancy, running operations with a percent, the
//! last integrity check; what only one backend has lives in `btrfs` / `md`.
//! Invariants: every time is RFC 3339 UTC ([`UtcTime`]); every percentage is a number 0–100;
//! every size is in bytes; an absent fact is `null`, never a guessed zero or an empty string.
//! Fields may be added within a version; removing or changing one bumps [`STATUS_VERSION`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Problem, Severity};
use crate::time::UtcTime;

/// The `format` field: tells this document from any other JSON.
pub const STATUS_FORMAT: &str = "lnraid-status";
/// Version 1 was a serde dump of the parsers' structs; 2 is this document.
pub const STATUS_VERSION: u32 = 2;

/// The whole `status --json` output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusDoc {
    pub format: String,
    pub version: u32,
    pub generated_at: UtcTime,
    pub host: String,
    /// Worst verdict of all arrays; `unknown` when there is none or status failed.
    pub verdict: Severity,
    /// The process exit code: 0 ok, 1 warning, 2 critical, 3 unknown (Nagios).
    pub exit_code: i32,
    /// Why status could not judge at all (unreadable fstab...), when it could not.
    pub error: Option<String>,
    pub arrays: Vec<ArrayDoc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Btrfs,
    Md,
}

/// One array.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArrayDoc {
    pub backend: Backend,
    /// Filesystem UUID (btrfs) or array UUID (md).
    pub uuid: Option<String>,
    pub label: Option<String>,
    /// Where lnraid expects it mounted.
    pub mountpoint: String,
    pub verdict: Severity,
    /// `null`: not mounted.
    pub mount: Option<MountDoc>,
    pub redundancy: RedundancyDoc,
    pub members: Vec<MemberDoc>,
    pub space: Option<SpaceDoc>,
    /// Replace, balance, scrub, resync, recovery... in progress.
    pub operations: Vec<OperationDoc>,
    /// The last scrub (btrfs) or md check.
    pub last_check: Option<CheckDoc>,
    /// lnraid's own records of its maintenance jobs.
    pub jobs: Vec<JobDoc>,
    /// lnraid runs (setup, replace) that did not finish.
    pub unfinished: Vec<UnfinishedDoc>,
    pub lightning_dir: Option<LightningDirDoc>,
    pub fstab: Option<FstabDoc>,
    pub problems: Vec<ProblemDoc>,
    /// Probes that failed (each also a problem with severity `unknown`).
    pub probe_errors: Vec<String>,
    pub btrfs: Option<BtrfsDoc>,
    pub md: Option<MdDoc>,
    /// The node's newest snapshot and backup, their ages and jobs (`null`: no node known).
    #[serde(default)]
    pub hot_copies: Option<super::hotcopy::HotCopiesDoc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountDoc {
    /// Where it is mounted now (may differ from `mountpoint`).
    pub at: String,
    /// Per-mount then filesystem options, each once (`rw,relatime,space_cache=v2`).
    pub options: Vec<String>,
    pub read_only: bool,
    /// Why it is read-only, when it is.
    pub read_only_cause: Option<ReadOnlyCause>,
    /// Mounted with the `degraded` option.
    pub degraded: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadOnlyCause {
    /// The filesystem is read-only although the mount is read-write: the kernel forced it
    /// after an error (btrfs aborts a transaction on a write error).
    Kernel,
    /// The fstab line asks for `ro`.
    Fstab,
    /// Mounted or remounted `ro` by hand.
    MountOption,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedundancyDoc {
    /// The layout as the backend names it, lower case: `raid1`, `raid1c3`, `raid10`...
    pub level: Option<String>,
    /// Members the array should have.
    pub members_expected: Option<u64>,
    pub members_present: u64,
    pub members_missing: u64,
    /// Fewer working members than expected (a running replace of a present member is not).
    pub degraded: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberState {
    /// In the array and working.
    Present,
    Missing,
    /// Failed, still listed (md `(F)`).
    Faulty,
    Spare,
    /// Being rebuilt (md recovery).
    Rebuilding,
    /// The new device a replace is copying to (btrfs devid 0, md `(R)`).
    ReplaceTarget,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberDoc {
    /// The backend's member id as text: btrfs devid (`"1"`, `"0"` for a replace target), md
    /// descriptor number.
    pub id: String,
    pub path: Option<String>,
    pub state: MemberState,
    pub size_bytes: Option<u64>,
    pub used_bytes: Option<u64>,
    /// Error counters by name (btrfs: `write_io_errs`, `read_io_errs`, `flush_io_errs`,
    /// `corruption_errs`, `generation_errs`; md: `errors`); `null` when not known.
    pub errors: Option<BTreeMap<String, u64>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpaceDoc {
    /// Raw size of all members.
    pub size_bytes: u64,
    /// Raw space btrfs has not yet allocated to chunks (`null` for md).
    pub unallocated_bytes: Option<u64>,
    /// Data the filesystem holds (one copy).
    pub used_bytes: u64,
    /// How much more data fits (one copy), as the backend estimates it.
    pub free_bytes: u64,
    /// `used / (used + free)`, 0–100.
    pub used_percent: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperationKind {
    Replace,
    Balance,
    Scrub,
    Resync,
    Recovery,
    Check,
    Repair,
    Reshape,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperationState {
    Running,
    Paused,
    /// Stopped by an unmount; resumes at the next mount (btrfs replace).
    Suspended,
    /// Waiting to start (md `resync=PENDING` / `DELAYED`).
    Pending,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperationDoc {
    pub kind: OperationKind,
    pub state: OperationState,
    /// 0–100, `null` when the tool gives none.
    pub percent: Option<f64>,
    /// The tool's own units, in words (`3 of about 10 chunks`), when it has them.
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckState {
    NeverRun,
    Running,
    Finished,
    Aborted,
    Interrupted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckDoc {
    /// `scrub` (btrfs) or `check` (md).
    pub kind: String,
    pub state: CheckState,
    pub started_at: Option<UtcTime>,
    pub finished_at: Option<UtcTime>,
    pub corrected_errors: Option<u64>,
    pub uncorrectable_errors: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobDoc {
    /// `scrub` or `balance`.
    pub job: String,
    /// `ok`, `corrected`, `uncorrectable`, `skipped`, `failed`.
    pub outcome: String,
    pub started_at: UtcTime,
    pub finished_at: UtcTime,
    pub detail: String,
    pub counts: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnfinishedDoc {
    /// `setup` or `replace`.
    pub command: String,
    pub step: String,
    /// The command that continues it.
    pub resume: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LightningDirDoc {
    pub path: String,
    /// Whether it resolves into the array; `null` when it could not be told.
    pub on_array: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FstabState {
    Ok,
    Missing,
    /// A line for this array with the wrong mountpoint, type or options.
    Wrong,
    /// More than one line for this array or for its mountpoint.
    Duplicated,
    Unreadable,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FstabDoc {
    pub path: String,
    pub state: FstabState,
    /// 1-based numbers of the lines that concern this array.
    pub lines: Vec<u64>,
    /// What is wrong, in words; `null` when ok.
    pub detail: Option<String>,
}

/// One thing wrong, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProblemDoc {
    pub severity: Severity,
    /// Stable identifier (`missing_device`, `read_only`, `space_full`...), listed in README.md.
    pub code: String,
    pub message: String,
    pub action: String,
}

impl From<&Problem> for ProblemDoc {
    fn from(p: &Problem) -> ProblemDoc {
        ProblemDoc {
            severity: p.severity,
            code: p.code.to_string(),
            message: p.message.clone(),
            action: p.action.clone(),
        }
    }
}

/// btrfs-only facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BtrfsDoc {
    /// The profile every block group should have (lower case), when known.
    pub expected_profile: Option<String>,
    pub block_groups: Vec<BlockGroupDoc>,
    /// More than one profile for one kind of block group.
    pub mixed_profiles: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockGroupDoc {
    /// `data`, `metadata`, `system`, `mixed`, `global_reserve`.
    pub kind: String,
    /// Lower case: `raid1`, `single`, `dup`...
    pub profile: String,
    pub total_bytes: u64,
    pub used_bytes: u64,
}

/// md-only facts (filled by the md backend).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MdDoc {
    /// `/dev/md127`.
    pub device: String,
    /// `md` state words as mdadm prints them (`clean`, `degraded`, `recovering`).
    pub state: Option<String>,
    pub chunk_bytes: Option<u64>,
    pub bitmap: Option<bool>,
    /// `mismatch_cnt` after the last check (sectors).
    pub mismatch_sectors: Option<u64>,
    /// Superblock event count.
    pub events: Option<u64>,
    /// `mismatch_cnt` when lnraid's last `maintain check` finished (its record survives the
    /// reboot that resets sysfs).
    pub last_check_mismatch_sectors: Option<u64>,
    /// The distribution's own md check schedule, when enabled (lnraid schedules none then).
    pub check_scheduled_by: Option<String>,
    /// Members whose md superblock names another array.
    pub foreign_members: Vec<ForeignMemberDoc>,
}

/// A member whose superblock (`mdadm --examine`) names another array.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignMemberDoc {
    pub path: String,
    pub array_uuid: String,
}

impl StatusDoc {
    /// The document for a run that could not judge anything: verdict unknown, exit 3.
    pub fn unknown(now: u64, host: String, error: String) -> StatusDoc {
        StatusDoc {
            format: STATUS_FORMAT.to_string(),
            version: STATUS_VERSION,
            generated_at: UtcTime(now),
            host,
            verdict: Severity::Unknown,
            exit_code: Severity::Unknown.exit_code(),
            error: Some(error),
            arrays: Vec::new(),
        }
    }

    /// The document for evaluated arrays; no array at all is `unknown`.
    pub fn new(now: u64, host: String, arrays: Vec<ArrayDoc>) -> StatusDoc {
        let verdict = if arrays.is_empty() {
            Severity::Unknown
        } else {
            arrays
                .iter()
                .map(|a| a.verdict)
                .fold(Severity::Ok, Severity::worst)
        };
        StatusDoc {
            format: STATUS_FORMAT.to_string(),
            version: STATUS_VERSION,
            generated_at: UtcTime(now),
            host,
            verdict,
            exit_code: verdict.exit_code(),
            error: arrays
                .is_empty()
                .then(|| "no lnraid array found (no `# lnraid-managed` line in the fstab)".into()),
            arrays,
        }
    }
}
