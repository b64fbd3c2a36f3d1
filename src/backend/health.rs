//! The neutral health model every backend fills: members with a state, the redundancy the
//! array has now against what it should have, running operations with a percent, and the
//! facts only one backend has. Pure data; no probing, no judging (rules live in each backend,
//! the verdict and the JSON document in `status`).
//! Invariant: a fact that could not be read is `None`, never a guessed default.

use serde::Serialize;

use super::Backend;
use crate::types::DevPath;

/// What one member is doing now.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum MemberState {
    /// In its slot and in sync.
    Active,
    /// Its slot is empty: the device is gone (md `removed`, btrfs `missing`).
    Missing,
    /// Failed, still listed (md `(F)`).
    Faulty,
    /// Being rebuilt into a slot; `percent` of the rebuild when the kernel says.
    Rebuilding { percent: Option<f64> },
    /// Standing by, holds no data yet.
    Spare,
    /// The new device a replace copies to (md `(R)` / `replacement`, btrfs devid 0).
    ReplaceTarget { percent: Option<f64> },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemberHealth {
    /// The backend's id as text (md descriptor number, btrfs devid).
    pub id: String,
    pub path: Option<DevPath>,
    #[serde(flatten)]
    pub state: MemberState,
    /// md `--write-mostly` (reads go to the other members: a slow USB stick).
    pub write_mostly: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Redundancy {
    /// `raid1`, `raid1c3`...
    pub level: Option<String>,
    /// Copies the array should keep.
    pub expected: u32,
    /// Copies it keeps right now (in-sync members).
    pub in_sync: u32,
}

impl Redundancy {
    /// Fewer in-sync copies than expected: one more failure may lose data.
    pub fn degraded(&self) -> bool {
        self.in_sync < self.expected
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OperationKind {
    Resync,
    Recovery,
    Check,
    Repair,
    Reshape,
    Replace,
    Balance,
    Scrub,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Operation {
    pub kind: OperationKind,
    /// 0–100 when the kernel reports it.
    pub percent: Option<f64>,
    /// Needed but waiting (md `resync=PENDING`/`DELAYED`, a frozen array).
    pub pending: bool,
}

/// One array's health, whatever its backend.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Health {
    pub backend: Backend,
    /// The array's own id: md UUID or btrfs filesystem UUID.
    pub array_uuid: Option<String>,
    pub members: Vec<MemberHealth>,
    pub redundancy: Redundancy,
    pub operations: Vec<Operation>,
    /// What only this backend has.
    pub facts: BackendFacts,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "backend", rename_all = "snake_case")]
// One value per array and status run: boxing the md variant would only add indirection.
#[allow(clippy::large_enum_variant)]
pub enum BackendFacts {
    Btrfs {
        /// Every block-group profile in use, lower case (`raid1`, `single`).
        profiles: Vec<String>,
    },
    Md(super::md::health::MdFacts),
}
