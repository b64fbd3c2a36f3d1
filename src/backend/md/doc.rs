//! md health → the same `status --json` document (`status::doc::ArrayDoc`) btrfs arrays get,
//! checked against the same schema. Pure. What the document shares with btrfs (mount, fstab,
//! lightning dir, problems) comes from the common conversion; members, redundancy,
//! operations and the `md` block from the md health.

use crate::backend::health::{BackendFacts, Health, MemberState, OperationKind as HK};
use crate::status::doc::{
    ArrayDoc, Backend, CheckDoc, CheckState, ForeignMemberDoc, MdDoc, MemberDoc, MemberState as DS,
    OperationDoc, OperationKind as DK, OperationState, RedundancyDoc,
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

/// md's check as the document's `last_check` (kind `check`): running now, else lnraid's
/// last finished one; `None` when neither is known (a check the distribution ran leaves no
/// record lnraid can read).
fn last_check(h: &Health) -> Option<CheckDoc> {
    let BackendFacts::Md(f) = &h.facts else {
        return None;
    };
    let running = h
        .operations
        .iter()
        .any(|o| o.kind == HK::Check && !o.pending);
    let last = f.last_check.as_ref();
    if !running && last.is_none() {
        return None;
    }
    Some(CheckDoc {
        kind: "check".into(),
        state: if running {
            CheckState::Running
        } else {
            CheckState::Finished
        },
        started_at: last
            .filter(|_| !running)
            .map(|l| crate::time::UtcTime(l.started_at)),
        finished_at: last
            .filter(|_| !running)
            .map(|l| crate::time::UtcTime(l.finished_at)),
        // md corrects nothing on a check; what it found is `md.last_check_mismatch_sectors`.
        corrected_errors: None,
        uncorrectable_errors: None,
    })
}

/// The document of an md array whose status carries its health.
pub fn to_doc(a: &ArrayStatus, h: &Health) -> ArrayDoc {
    let mut d = common(a);
    d.backend = Backend::Md;
    d.btrfs = None;
    d.space = None;
    d.last_check = last_check(h);
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
            last_check_mismatch_sectors: f.last_check.as_ref().and_then(|l| l.mismatch_sectors),
            check_scheduled_by: f.distro_check.clone(),
            foreign_members: f
                .foreign
                .iter()
                .map(|m| ForeignMemberDoc {
                    path: m.path.to_string(),
                    array_uuid: m.array_uuid.clone(),
                })
                .collect(),
        });
    }
    d
}
