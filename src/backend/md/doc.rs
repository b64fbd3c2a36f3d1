//! md health → the same `status --json` document (`status::doc::ArrayDoc`) btrfs arrays get,
//! checked against the same schema. Pure. What the document shares with btrfs (mount, fstab,
//! lightning dir, problems) comes from the common conversion; members, redundancy,
//! operations and the `md` block from the md health.

use crate::backend::health::{BackendFacts, Health, MemberState, OperationKind as HK};
use crate::status::doc::{
    ArrayDoc, Backend, MdDoc, MemberDoc, MemberState as DS, OperationDoc, OperationKind as DK,
    OperationState, RedundancyDoc,
};
use crate::status::export::to_doc as common;
use crate::status::ArrayStatus;

fn member(m: &crate::backend::health::MemberHealth) -> MemberDoc {
    MemberDoc {
        id: m.id.clone(),
        path: m.path.as_ref().map(|p| p.to_string()),
        state: match m.state {
            MemberState::Active => DS::Present,
            MemberState::Missing => DS::Missing,
            MemberState::Faulty => DS::Faulty,
            MemberState::Rebuilding { .. } => DS::Rebuilding,
            MemberState::Spare => DS::Spare,
            MemberState::ReplaceTarget { .. } => DS::ReplaceTarget,
        },
        size_bytes: None,
        used_bytes: None,
        errors: None,
    }
}

fn kind(k: HK) -> DK {
    match k {
        HK::Resync => DK::Resync,
        HK::Recovery => DK::Recovery,
        HK::Check => DK::Check,
        HK::Repair => DK::Repair,
        HK::Reshape => DK::Reshape,
        HK::Replace => DK::Replace,
        HK::Balance => DK::Balance,
        HK::Scrub => DK::Scrub,
    }
}

/// The document of an md array whose status carries its health.
pub fn to_doc(a: &ArrayStatus, h: &Health) -> ArrayDoc {
    let mut d = common(a);
    d.backend = Backend::Md;
    d.btrfs = None;
    d.space = None;
    d.last_check = None;
    d.members = h.members.iter().map(member).collect();
    let missing = h
        .members
        .iter()
        .filter(|m| matches!(m.state, MemberState::Missing | MemberState::Faulty))
        .count() as u64;
    let present = h
        .members
        .iter()
        .filter(|m| {
            matches!(
                m.state,
                MemberState::Active | MemberState::Rebuilding { .. }
            )
        })
        .count() as u64;
    d.redundancy = RedundancyDoc {
        level: h.redundancy.level.clone(),
        members_expected: Some(u64::from(h.redundancy.expected)),
        members_present: present,
        members_missing: missing,
        degraded: h.redundancy.degraded(),
    };
    d.operations = h
        .operations
        .iter()
        .map(|o| OperationDoc {
            kind: kind(o.kind),
            state: if o.pending {
                OperationState::Pending
            } else {
                OperationState::Running
            },
            percent: o.percent,
            detail: None,
        })
        .collect();
    if let BackendFacts::Md(f) = &h.facts {
        d.md = Some(MdDoc {
            device: f.device.clone().unwrap_or_default(),
            state: (!f.state.is_empty()).then(|| f.state.join(", ")),
            chunk_bytes: None,
            bitmap: f.bitmap,
            mismatch_sectors: f.mismatch_sectors,
            events: f.events,
        });
    }
    d
}
