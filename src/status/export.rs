//! btrfs facts → the status document ([`super::doc`]). Pure. This is the only place where
//! parser values cross into the document, converted to its units: hundredths of a percent
//! become numbers 0–100, btrfs's local times become RFC 3339 UTC, Debug names never appear.

use std::collections::BTreeMap;

use super::doc::*;
use super::{expected_profile, ArrayFacts, ArrayStatus};
use crate::probe::btrfs::balance::BalanceState;
use crate::probe::btrfs::replace::ReplaceState;
use crate::probe::btrfs::scrub::ScrubState;
use crate::probe::btrfs::{BgType, Percent};
use crate::records::{JobRecord, Outcome};
use crate::time::UtcTime;

/// `Percent(860)` → `8.6`.
pub fn percent(p: Percent) -> f64 {
    f64::from(p.0) / 100.0
}

/// Lower-case words for block-group kinds, as the document spells them.
pub fn bg_word(k: &BgType) -> String {
    match k {
        BgType::Data => "data".into(),
        BgType::Metadata => "metadata".into(),
        BgType::System => "system".into(),
        BgType::Mixed => "mixed".into(),
        BgType::GlobalReserve => "global_reserve".into(),
        BgType::Other(s) => s.to_lowercase(),
    }
}

/// `[2]` → `devid 2`, `[2, 3]` → `devids 2, 3`; empty → `a member` (count known, devid not).
pub fn devid_list(ids: &[u64]) -> String {
    match ids {
        [] => "a member".into(),
        [one] => format!("devid {one}"),
        many => format!(
            "devids {}",
            many.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

pub fn outcome_word(o: Outcome) -> &'static str {
    match o {
        Outcome::Ok => "ok",
        Outcome::Corrected => "corrected",
        Outcome::Uncorrectable => "uncorrectable",
        Outcome::Skipped => "skipped",
        Outcome::Failed => "failed",
    }
}

pub fn scrub_state_word(s: ScrubState) -> &'static str {
    match s {
        ScrubState::NeverRun => "never run",
        ScrubState::Running => "running",
        ScrubState::Finished => "finished",
        ScrubState::Aborted => "aborted",
        ScrubState::Interrupted => "interrupted",
    }
}

pub fn to_doc(a: &ArrayStatus) -> ArrayDoc {
    let f = &a.facts;
    ArrayDoc {
        backend: Backend::Btrfs,
        uuid: f.uuid.as_ref().map(ToString::to_string),
        label: f.show.as_ref().and_then(|s| s.label.clone()),
        mountpoint: f.mountpoint.display().to_string(),
        verdict: a.verdict,
        mount: mount(f),
        redundancy: redundancy(f),
        members: members(f),
        space: space(f),
        operations: operations(f),
        last_check: last_check(f),
        jobs: [&f.last_scrub_record, &f.last_balance_record]
            .into_iter()
            .flatten()
            .map(job)
            .collect(),
        unfinished: f
            .unfinished
            .iter()
            .map(|(cmd, step)| UnfinishedDoc {
                command: cmd.clone(),
                step: step.clone(),
                resume: match cmd.as_str() {
                    "replace" => "lnraid replace".into(),
                    _ => "lnraid setup --resume".into(),
                },
            })
            .collect(),
        lightning_dir: f.lightning_dir.as_ref().map(|d| LightningDirDoc {
            path: d.display().to_string(),
            on_array: if f.lightning_dir_dangling {
                Some(false)
            } else {
                f.lightning_dir_on_array
            },
        }),
        fstab: f.fstab.as_ref().map(|c| FstabDoc {
            path: f.fstab_path.display().to_string(),
            state: c.state,
            lines: c.lines.clone(),
            detail: c.detail.clone(),
        }),
        problems: a.problems.iter().map(ProblemDoc::from).collect(),
        probe_errors: f.errors.clone(),
        btrfs: btrfs(f),
        md: None,
        hot_copies: f
            .hot
            .as_ref()
            .map(|h| super::hotcopy::to_doc(h, crate::records::now_unix())),
    }
}

fn mount(f: &ArrayFacts) -> Option<MountDoc> {
    let at = f.mounted_at.as_ref()?;
    let options: Vec<String> = f
        .mount_options
        .as_deref()
        .unwrap_or("")
        .split(',')
        .filter(|o| !o.is_empty())
        .map(String::from)
        .collect();
    let cause = f.read_only_cause();
    Some(MountDoc {
        at: at.display().to_string(),
        degraded: options.iter().any(|o| o == "degraded"),
        options,
        read_only: cause.is_some(),
        read_only_cause: cause,
    })
}

fn redundancy(f: &ArrayFacts) -> RedundancyDoc {
    let show = f.show.as_ref();
    let present = show.map_or(0, |s| s.members().filter(|d| !d.missing).count() as u64);
    let missing = show.map_or(0, |s| s.missing_count());
    RedundancyDoc {
        level: expected_profile(f).map(|p| p.to_string().to_lowercase()),
        members_expected: show.map(|s| s.member_count()),
        members_present: present,
        members_missing: missing,
        degraded: show.is_some_and(|s| s.is_degraded()),
    }
}

fn members(f: &ArrayFacts) -> Vec<MemberDoc> {
    let Some(show) = &f.show else {
        return Vec::new();
    };
    let stats_of = |devid: u64, path: Option<&crate::types::DevPath>| {
        f.stats
            .iter()
            .flatten()
            .find(|s| s.devid == Some(devid) || (s.device.is_some() && s.device.as_ref() == path))
            .map(|s| {
                BTreeMap::from([
                    ("write_io_errs".to_string(), s.write_io_errs),
                    ("read_io_errs".to_string(), s.read_io_errs),
                    ("flush_io_errs".to_string(), s.flush_io_errs),
                    ("corruption_errs".to_string(), s.corruption_errs),
                    ("generation_errs".to_string(), s.generation_errs),
                ])
            })
    };
    let mut out: Vec<MemberDoc> = show
        .devices
        .iter()
        .map(|d| MemberDoc {
            id: d.devid.to_string(),
            path: d.path.as_ref().map(ToString::to_string),
            state: if d.devid == 0 {
                MemberState::ReplaceTarget
            } else if d.missing {
                MemberState::Missing
            } else {
                MemberState::Present
            },
            size_bytes: (!d.missing).then_some(d.size.0),
            used_bytes: (!d.missing).then_some(d.used.0),
            errors: stats_of(d.devid, d.path.as_ref()),
        })
        .collect();
    // Devids known missing only from a warning (unmounted): listed too, with no facts.
    for devid in show.missing_devids() {
        if !out.iter().any(|m| m.id == devid.to_string()) {
            out.push(MemberDoc {
                id: devid.to_string(),
                path: None,
                state: MemberState::Missing,
                size_bytes: None,
                used_bytes: None,
                errors: None,
            });
        }
    }
    out
}

fn space(f: &ArrayFacts) -> Option<SpaceDoc> {
    let u = f.usage.as_ref()?;
    let ratio = u64::from(u.data_ratio_x100.unwrap_or(100).max(100));
    let used = u.used.0.saturating_mul(100) / ratio;
    let free = u.free_estimated.0;
    let total = used.saturating_add(free);
    Some(SpaceDoc {
        size_bytes: u.device_size.0,
        unallocated_bytes: Some(u.device_unallocated.0),
        used_bytes: used,
        free_bytes: free,
        used_percent: if total == 0 {
            0.0
        } else {
            ((used as f64) * 10_000.0 / (total as f64)).round() / 100.0
        },
    })
}

fn operations(f: &ArrayFacts) -> Vec<OperationDoc> {
    let mut out = Vec::new();
    if let Some(r) = &f.replace {
        let (state, pct) = match r.state {
            ReplaceState::Running { percent } => (Some(OperationState::Running), Some(percent)),
            ReplaceState::Suspended { percent } => (Some(OperationState::Suspended), Some(percent)),
            _ => (None, None),
        };
        if let Some(state) = state {
            out.push(OperationDoc {
                kind: OperationKind::Replace,
                state,
                percent: pct.map(percent),
                detail: Some(format!(
                    "{} write errors, {} uncorrectable read errors",
                    r.write_errs, r.uncorrectable_read_errs
                )),
            });
        }
    }
    if let Some(b) = &f.balance {
        let (state, prog) = match b {
            BalanceState::Running(p) => (OperationState::Running, Some(p)),
            BalanceState::Paused(p) => (OperationState::Paused, Some(p)),
            BalanceState::None => (OperationState::Running, None),
        };
        if let Some(p) = prog {
            out.push(OperationDoc {
                kind: OperationKind::Balance,
                state,
                percent: Some(100.0 - (p.percent_left.min(100) as f64)),
                detail: Some(format!(
                    "{} of about {} chunks balanced",
                    p.completed_chunks, p.expected_chunks
                )),
            });
        }
    }
    if let Some(s) = f.scrub.as_ref().filter(|s| s.state == ScrubState::Running) {
        out.push(OperationDoc {
            kind: OperationKind::Scrub,
            state: OperationState::Running,
            percent: s.percent.map(percent),
            detail: None,
        });
    }
    out
}

fn last_check(f: &ArrayFacts) -> Option<CheckDoc> {
    let s = f.scrub.as_ref()?;
    let started = s
        .started
        .as_deref()
        .and_then(crate::time::parse_btrfs_local_time);
    Some(CheckDoc {
        kind: "scrub".into(),
        state: match s.state {
            ScrubState::NeverRun => CheckState::NeverRun,
            ScrubState::Running => CheckState::Running,
            ScrubState::Finished => CheckState::Finished,
            ScrubState::Aborted => CheckState::Aborted,
            ScrubState::Interrupted => CheckState::Interrupted,
        },
        started_at: started.map(UtcTime),
        finished_at: f.scrub_finished_at.map(UtcTime),
        corrected_errors: Some(s.errors.corrected),
        uncorrectable_errors: Some(s.errors.uncorrectable),
    })
}

fn job(r: &JobRecord) -> JobDoc {
    JobDoc {
        job: r.job.name().into(),
        outcome: outcome_word(r.outcome).into(),
        started_at: UtcTime(r.started),
        finished_at: UtcTime(r.finished),
        detail: r.detail.clone(),
        counts: r.counts.clone(),
    }
}

fn btrfs(f: &ArrayFacts) -> Option<BtrfsDoc> {
    let groups = f.df.as_ref()?;
    let want = expected_profile(f);
    let block_groups: Vec<BlockGroupDoc> = groups
        .iter()
        .map(|g| BlockGroupDoc {
            kind: bg_word(&g.kind),
            profile: g.profile.to_string().to_lowercase(),
            total_bytes: g.total.0,
            used_bytes: g.used.0,
        })
        .collect();
    let mixed = crate::probe::btrfs::df::profiles_by_type(
        groups
            .iter()
            .filter(|g| g.kind != BgType::GlobalReserve)
            .map(|g| (&g.kind, &g.profile)),
    )
    .iter()
    .any(|(_, ps)| ps.len() > 1);
    Some(BtrfsDoc {
        expected_profile: want.map(|p| p.to_string().to_lowercase()),
        block_groups,
        mixed_profiles: mixed,
    })
}
