//! Space rules: a full btrfs stops the node (SQLite cannot commit), and a btrfs with no
//! unallocated space cannot balance, convert or even replace (a replace on a fully allocated
//! array ends at once; captured in fixtures/btrfs-replace-start/*-full.txt). Pure.
//!
//! Thresholds (documented in README.md, "`lnraid status`"):
//! - critical `space_full`: the free estimate is below [`FULL_FREE_PERCENT`] % of the
//!   capacity or below [`FULL_FREE_BYTES`], whichever is smaller — the next writes fail;
//! - critical `metadata_full`: metadata chunks have less than [`META_FREE_BYTES`] left and
//!   no unallocated space for a new one — ENOSPC although data space is free;
//! - warning `space_low`: the free estimate is below [`LOW_FREE_PERCENT`] % of the capacity;
//! - warning `unallocated_low`: the members have less than [`UNALLOC_LOW_BYTES`] (or
//!   [`UNALLOC_LOW_PERCENT`] % of a member, whichever is smaller) unallocated where a new
//!   mirrored chunk needs it — balance and replace need that room.

use super::{expected_profile, p, ArrayFacts, Problem, Severity};
use crate::probe::btrfs::{BgType, Profile};
use crate::types::Bytes;

pub const FULL_FREE_PERCENT: u64 = 2;
pub const FULL_FREE_BYTES: u64 = 1 << 30;
pub const LOW_FREE_PERCENT: u64 = 10;
pub const META_FREE_BYTES: u64 = 32 << 20;
pub const UNALLOC_LOW_BYTES: u64 = 2 << 30;
pub const UNALLOC_LOW_PERCENT: u64 = 10;

/// How many members each chunk of `profile` needs room on.
fn copies(profile: Option<&Profile>) -> usize {
    match profile {
        Some(Profile::Raid1c4) => 4,
        Some(Profile::Raid1c3) => 3,
        Some(Profile::Raid1 | Profile::Raid10 | Profile::Raid5) => 2,
        Some(Profile::Raid6) => 3,
        _ => 1,
    }
}

/// Unallocated bytes a new chunk can use: the `copies`-th largest per-member figure.
pub fn allocatable(f: &ArrayFacts) -> Option<u64> {
    let u = f.usage.as_ref()?;
    let mut per: Vec<u64> = u
        .unallocated
        .iter()
        .filter(|d| !d.missing)
        .map(|d| d.bytes.0)
        .collect();
    per.sort_unstable_by(|a, b| b.cmp(a));
    let n = copies(expected_profile(f).as_ref());
    Some(per.get(n - 1).copied().unwrap_or(0))
}

pub(super) fn space(f: &ArrayFacts, out: &mut Vec<Problem>) {
    let Some(u) = &f.usage else { return };
    let mp = f.mountpoint.display();
    let free = u.free_estimated.0;
    let capacity = free.saturating_add(used_one_copy(f));
    let pct_free = free.saturating_mul(100).checked_div(capacity).unwrap_or(0);
    let full_at = (capacity * FULL_FREE_PERCENT / 100).min(FULL_FREE_BYTES);
    let alloc = allocatable(f).unwrap_or(0);
    let balance = format!(
        "`btrfs balance start -dusage=50 {mp}` returns half-empty chunks to unallocated space"
    );
    if free <= full_at {
        out.push(p(
            Severity::Critical,
            "space_full",
            format!("the array is full: {} free of {} ({pct_free}%): the node's next writes fail", Bytes(free), Bytes(capacity)),
            format!("delete or move files off {mp} (old logs, backups), then {balance}; or add larger members with `lnraid replace`"),
        ));
    } else if pct_free < LOW_FREE_PERCENT {
        out.push(p(
            Severity::Warning,
            "space_low",
            format!("the array is nearly full: {} free of {} ({pct_free}%)", Bytes(free), Bytes(capacity)),
            format!("free space on {mp} before it fills (warning below {LOW_FREE_PERCENT}%, critical below {FULL_FREE_PERCENT}%), or move to larger members with `lnraid replace`"),
        ));
    }
    if let Some(meta_free) = metadata_free(f) {
        if meta_free < META_FREE_BYTES && alloc < META_FREE_BYTES * 8 {
            out.push(p(
                Severity::Critical,
                "metadata_full",
                format!("metadata space is exhausted ({} left, {} unallocated): writes fail with ENOSPC although data space may be free", Bytes(meta_free), Bytes(alloc)),
                format!("delete files, then {balance}; see https://btrfs.readthedocs.io/en/latest/Balance.html"),
            ));
        }
    }
    let smallest = f
        .show
        .as_ref()
        .and_then(|s| s.members().map(|d| d.size.0).filter(|s| *s > 0).min())
        .unwrap_or(u.device_size.0);
    let low = (smallest * UNALLOC_LOW_PERCENT / 100).min(UNALLOC_LOW_BYTES);
    if alloc < low && free > full_at {
        out.push(p(
            Severity::Warning,
            "unallocated_low",
            format!("only {} unallocated where a new mirrored chunk needs it: btrfs cannot balance or replace without room", Bytes(alloc)),
            balance,
        ));
    }
}

/// Data held, one copy: `Used` of the usage report divided by the data ratio.
fn used_one_copy(f: &ArrayFacts) -> u64 {
    let Some(u) = &f.usage else { return 0 };
    let ratio = u64::from(u.data_ratio_x100.unwrap_or(100).max(100));
    u.used.0.saturating_mul(100) / ratio
}

/// Room left in metadata chunks, less the global reserve that only btrfs itself may use.
fn metadata_free(f: &ArrayFacts) -> Option<u64> {
    let u = f.usage.as_ref()?;
    let (size, used) = u
        .groups
        .iter()
        .filter(|g| g.kind == BgType::Metadata)
        .fold((0u64, 0u64), |(s, us), g| (s + g.size.0, us + g.used.0));
    if size == 0 {
        return None;
    }
    let reserve: u64 =
        f.df.iter()
            .flatten()
            .filter(|g| g.kind == BgType::GlobalReserve)
            .map(|g| g.total.0)
            .sum();
    Some(size.saturating_sub(used).saturating_sub(reserve))
}
