//! md health → problems, each with a severity and the command that fixes it. Pure.
//! A missing or faulty member is critical (the next failure loses the node's funds); a
//! rebuild or the initial resync is a warning until done — the array is not yet redundant;
//! a check that found mismatches is a warning that says plainly md cannot tell which copy is
//! right (it does not checksum) and that `repair` would copy one side over the other blindly.

use super::health::MdFacts;
use crate::backend::health::{BackendFacts, Health, MemberState, OperationKind};
use crate::status::{Problem, Severity};

/// A check older than this is stale (Debian's checkarray runs monthly).
pub const CHECK_MAX_AGE_SECS: u64 = 35 * 86_400;

/// What the rules need beyond the health itself.
#[derive(Debug, Clone, Default)]
pub struct RulesCtx {
    pub now: u64,
    /// When the last full check finished (lnraid's record), if known.
    pub last_check_at: Option<u64>,
    /// What that check found (`mismatch_cnt`, sectors), from the record.
    pub last_check_mismatch: Option<u64>,
    /// The distribution's own check schedule, in words (`None`: none found).
    pub distro_check: Option<String>,
    /// Members whose superblock names another array.
    pub foreign: Vec<super::history::ForeignMember>,
    /// When the array was created (lnraid's setup record), if known.
    pub created_at: Option<u64>,
    /// Whether mdadm.conf carries this array's ARRAY line (`None`: not looked at).
    pub conf_has_array: Option<bool>,
    pub conf_path: Option<String>,
}

use crate::status::p;

fn md_facts(h: &Health) -> Option<&MdFacts> {
    match &h.facts {
        BackendFacts::Md(f) => Some(f),
        BackendFacts::Btrfs { .. } => None,
    }
}

/// Every problem of one md array.
pub fn evaluate(h: &Health, ctx: &RulesCtx) -> Vec<Problem> {
    let mut out = Vec::new();
    let dev = md_facts(h)
        .and_then(|f| f.device.clone())
        .unwrap_or_else(|| "the md array".into());
    members(h, &dev, &mut out);
    operations(h, &mut out);
    facts(h, &dev, ctx, &mut out);
    out.push(p(
        Severity::Ok,
        "md_no_checksums",
        "md RAID-1 does not checksum: a bit flipped on one mirror goes unnoticed until a check finds the copies differ, and then md cannot tell which one is right".into(),
        "keep the monthly check (`lnraid maintain check`) and off-machine backups; btrfs RAID-1 checksums and self-heals",
    ));
    out
}

fn members(h: &Health, dev: &str, out: &mut Vec<Problem>) {
    for m in &h.members {
        let path = m
            .path
            .as_ref()
            .map(|p| p.to_string())
            .unwrap_or_else(|| "-".into());
        match &m.state {
            MemberState::Faulty => out.push(p(
                Severity::Critical,
                "md_faulty_member",
                format!("member {path} of {dev} has failed: the array has no redundancy left"),
                format!("copy the node's data out with `lnraid recover --to <new media>`, then `lnraid replace --old {path} --new <device>`"),
            )),
            MemberState::Missing => out.push(p(
                Severity::Critical,
                "md_missing_member",
                format!("a slot of {dev} is empty (member removed or gone): the array has no redundancy left"),
                "copy the node's data out with `lnraid recover --to <new media>`, then `lnraid replace --old missing --new <device>`",
            )),
            _ => {}
        }
    }
    let listed = h
        .members
        .iter()
        .filter(|m| !matches!(m.state, MemberState::Spare))
        .count() as u32;
    if listed < h.redundancy.expected && !h.members.iter().any(|m| m.state == MemberState::Missing)
    {
        out.push(p(
            Severity::Critical,
            "md_degraded",
            format!(
                "{dev} runs with {listed} of {} members",
                h.redundancy.expected
            ),
            "`lnraid replace --old missing --new <device>`",
        ));
    }
}

fn operations(h: &Health, out: &mut Vec<Problem>) {
    for o in &h.operations {
        let pct = o.percent.map(|x| format!(" {x:.1}%")).unwrap_or_default();
        let (code, message, action) = match (o.kind, o.pending) {
            (_, true) => ("md_sync_pending", "a resync is needed but waits (array read-only, frozen or sharing a disk) — not yet redundant".to_string(), "`mdadm --readwrite <array>` if it is auto-read-only; otherwise wait"),
            (OperationKind::Resync, _) => ("md_resyncing", format!("resyncing{pct} — not yet redundant"), "wait for it to finish (`lnraid setup --wait` or `mdadm --wait <array>`)"),
            (OperationKind::Recovery, _) => ("md_rebuilding", format!("rebuilding a member{pct} — not yet redundant"), "wait for it to finish; do not remove the other member"),
            (OperationKind::Reshape, _) => ("md_reshaping", format!("reshaping{pct}"), "wait for it to finish"),
            _ => continue,
        };
        out.push(p(Severity::Warning, code, message, action));
    }
}

/// Mismatches the last check found: sysfs while it still shows that check (since boot),
/// else lnraid's record of it (sysfs resets at boot).
fn mismatch(f: &MdFacts, dev: &str, ctx: &RulesCtx, out: &mut Vec<Problem>) {
    let sysfs = (f.last_sync_action.as_deref() == Some("check"))
        .then_some(f.mismatch_sectors)
        .flatten();
    if let Some(n) = sysfs.or(ctx.last_check_mismatch).filter(|n| *n > 0) {
        out.push(p(
            Severity::Warning,
            "md_mismatch",
            format!("the last check found the mirrors of {dev} differ in {n} sectors; md does not checksum, so it cannot tell which copy is right"),
            "do NOT run `repair` blindly (md copies one side over the other); copy the node out with `lnraid recover --to <new media>` and check the database, then replace the suspect member",
        ));
    }
}

/// A check older than [`CHECK_MAX_AGE_SECS`], or none in an array older than that. When the
/// distribution runs the checks lnraid has no record of them: said, not counted as stale.
fn stale_check(dev: &str, ctx: &RulesCtx, out: &mut Vec<Problem>) {
    let old = |t: u64| ctx.now.saturating_sub(t) > CHECK_MAX_AGE_SECS;
    match (ctx.last_check_at, &ctx.distro_check) {
        (Some(t), _) if old(t) && ctx.distro_check.is_none() => out.push(p(
            Severity::Warning,
            "md_check_stale",
            format!("the last check of {dev} is {} days old", ctx.now.saturating_sub(t) / 86_400),
            "`lnraid maintain check`, and `lnraid schedule install` so it runs monthly",
        )),
        (None, None) if ctx.created_at.is_some_and(old) => out.push(p(
            Severity::Warning,
            "md_check_stale",
            format!("{dev} has never been checked by lnraid, and it is older than {} days", CHECK_MAX_AGE_SECS / 86_400),
            "`lnraid maintain check`, and `lnraid schedule install` so it runs monthly",
        )),
        (_, Some(d)) => out.push(p(
            Severity::Ok,
            "md_check_by_distribution",
            format!("the distribution schedules md checks ({d}); lnraid does not see their results, only its own `maintain check`"),
            "keep it enabled; `cat /sys/block/<md>/md/mismatch_cnt` after a check",
        )),
        _ => {}
    }
}

fn facts(h: &Health, dev: &str, ctx: &RulesCtx, out: &mut Vec<Problem>) {
    let Some(f) = md_facts(h) else { return };
    if f.bitmap == Some(false) {
        out.push(p(
            Severity::Warning,
            "md_no_bitmap",
            format!("{dev} has no write-intent bitmap: after a crash or a member that only blinked, md re-syncs the whole device"),
            format!("mdadm --grow --bitmap=internal {dev}"),
        ));
    }
    if f.array_state.as_deref() == Some("inactive") || f.state.iter().any(|s| s == "inactive") {
        out.push(p(
            Severity::Critical,
            "md_inactive",
            format!("{dev} is assembled but not running (inactive)"),
            "`lnraid recover --to <new media>` to copy the node's data out from the survivor",
        ));
    }
    mismatch(f, dev, ctx, out);
    stale_check(dev, ctx, out);
    for m in &ctx.foreign {
        out.push(p(
            Severity::Critical,
            "md_member_uuid_mismatch",
            format!(
                "member {} of {dev} carries the superblock of another array ({}): the device name may now point at a different disk, or a disk from another array was put in",
                m.path, m.array_uuid
            ),
            format!("compare `mdadm --examine {}` with `mdadm --detail {dev}`; do not write to the array until each member's serial is the one you expect (`lsblk -o NAME,SERIAL`)", m.path),
        ));
    }
    if ctx.conf_has_array == Some(false) {
        out.push(p(
            Severity::Warning,
            "md_conf_missing",
            format!("{} has no ARRAY line with this array's UUID: at boot the array may be assembled under another name, or not at all", ctx.conf_path.as_deref().unwrap_or("mdadm.conf")),
            format!("mdadm --detail --brief {dev} >> {}; then update-initramfs -u", ctx.conf_path.as_deref().unwrap_or("/etc/mdadm/mdadm.conf")),
        ));
    }
}
