//! md snapshot → the neutral [`Health`]. Pure. Member states come from `mdadm --detail`'s
//! table (it names `removed` slots and `spare rebuilding`, which `--export` does not:
//! mdadm 4.2 prints a FAILED member's role as `spare`), progress from /proc/mdstat.

use serde::Serialize;

use super::probe::MdSnapshot;
use crate::backend::health::{
    BackendFacts, Health, MemberHealth, MemberState, Operation, OperationKind, Redundancy,
};
use crate::backend::Backend;
use crate::probe::mdstat::{SyncKind, SyncState};

/// Facts only md has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MdFacts {
    pub device: Option<String>,
    /// mdadm's State words (`clean`, `degraded`, `recovering`).
    pub state: Vec<String>,
    /// An internal (or file) write-intent bitmap exists: a member that blinks re-syncs only
    /// the dirty regions.
    pub bitmap: Option<bool>,
    pub mismatch_sectors: Option<u64>,
    pub last_sync_action: Option<String>,
    pub sync_action: Option<String>,
    pub events: Option<u64>,
    /// `auto-read-only`, `read-only`, `clean`, `active`...
    pub array_state: Option<String>,
    pub name: Option<String>,
    /// lnraid's last `maintain check` (filled by status from the record; `None` here).
    pub last_check: Option<super::history::LastCheck>,
    /// The distribution's own check schedule (filled by status).
    pub distro_check: Option<String>,
    /// Members whose superblock names another array (filled by status).
    pub foreign: Vec<super::history::ForeignMember>,
}

fn op_kind(k: SyncKind) -> OperationKind {
    match k {
        SyncKind::Resync => OperationKind::Resync,
        SyncKind::Recovery => OperationKind::Recovery,
        SyncKind::Check => OperationKind::Check,
        SyncKind::Repair => OperationKind::Repair,
        SyncKind::Reshape => OperationKind::Reshape,
    }
}

/// The running or waiting operation, from /proc/mdstat (else sysfs `sync_action`).
fn operations(s: &MdSnapshot) -> Vec<Operation> {
    match s.mdstat.as_ref().and_then(|a| a.sync.as_ref()) {
        Some(SyncState::Running(p)) => vec![Operation {
            kind: op_kind(p.kind),
            percent: Some(p.percent),
            pending: false,
        }],
        Some(SyncState::Delayed | SyncState::Pending) => vec![Operation {
            kind: OperationKind::Resync,
            percent: None,
            pending: true,
        }],
        _ => match s.sysfs.sync_action.as_deref() {
            Some("frozen") => vec![Operation {
                kind: OperationKind::Resync,
                percent: None,
                pending: true,
            }],
            _ => Vec::new(),
        },
    }
}

fn rebuild_percent(ops: &[Operation]) -> Option<f64> {
    ops.iter()
        .find(|o| o.kind == OperationKind::Recovery)
        .and_then(|o| o.percent)
}

fn members(s: &MdSnapshot, ops: &[Operation]) -> Vec<MemberHealth> {
    let Some(d) = &s.detail else {
        return Vec::new();
    };
    let wm = |name: &str| {
        s.mdstat.as_ref().is_some_and(|a| {
            a.members
                .iter()
                .any(|m| m.write_mostly && name.ends_with(&format!("/{}", m.device)))
        })
    };
    d.members
        .iter()
        .map(|m| {
            let state = if m.has("removed") || m.device.is_none() {
                MemberState::Missing
            } else if m.has("faulty") {
                MemberState::Faulty
            } else if m.has("replacement") {
                MemberState::ReplaceTarget {
                    percent: rebuild_percent(ops),
                }
            } else if m.has("rebuilding") {
                MemberState::Rebuilding {
                    percent: rebuild_percent(ops),
                }
            } else if m.has("spare") {
                MemberState::Spare
            } else {
                MemberState::Active
            };
            let path = m.device.clone();
            MemberHealth {
                id: m
                    .number
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "-".into()),
                write_mostly: path.as_ref().is_some_and(|p| wm(&p.to_string())),
                path,
                state,
            }
        })
        .collect()
}

/// The health of one probed md array.
pub fn health(s: &MdSnapshot) -> Health {
    let ops = operations(s);
    let members = members(s, &ops);
    let expected = s
        .detail
        .as_ref()
        .and_then(|d| d.raid_devices)
        .or_else(|| s.export.as_ref().and_then(|e| e.raid_devices))
        .unwrap_or(0);
    // In sync: active members, minus those a resync has not made identical yet (a fresh
    // array's second copy is not a copy until the initial resync is done).
    let active = members
        .iter()
        .filter(|m| m.state == MemberState::Active)
        .count() as u32;
    let resyncing = ops.iter().any(|o| o.kind == OperationKind::Resync);
    let in_sync = if resyncing { active.min(1) } else { active };
    let detail = s.detail.as_ref();
    Health {
        backend: Backend::Md,
        array_uuid: s.export.as_ref().and_then(|e| e.uuid.clone()),
        redundancy: Redundancy {
            level: detail
                .map(|d| d.raid_level.clone())
                .or_else(|| s.export.as_ref().and_then(|e| e.level.clone())),
            expected,
            in_sync,
        },
        members,
        operations: ops,
        facts: BackendFacts::Md(MdFacts {
            device: s.device.as_ref().map(|d| d.to_string()),
            state: detail.map(|d| d.state.clone()).unwrap_or_default(),
            bitmap: bitmap(s),
            mismatch_sectors: s.sysfs.mismatch_cnt,
            last_sync_action: s.sysfs.last_sync_action.clone(),
            sync_action: s.sysfs.sync_action.clone(),
            events: detail.and_then(|d| d.events.as_deref()?.parse().ok()),
            array_state: s.sysfs.array_state.clone(),
            name: s.export.as_ref().and_then(|e| e.name.clone()),
            last_check: None,
            distro_check: None,
            foreign: Vec::new(),
        }),
    }
}

/// Whether a write-intent bitmap exists: sysfs, else /proc/mdstat, else `--detail`.
fn bitmap(s: &MdSnapshot) -> Option<bool> {
    if let Some(loc) = &s.sysfs.bitmap_location {
        return Some(loc != "none");
    }
    if let Some(a) = &s.mdstat {
        return Some(a.bitmap.is_some());
    }
    s.detail.as_ref().map(|d| d.intent_bitmap.is_some())
}
