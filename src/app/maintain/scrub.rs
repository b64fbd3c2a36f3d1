//! The scrub's judgement: the plan (`btrfs scrub start -B`, with an optional sysfs bandwidth
//! limit, src/plan/maintain.rs) is walked by the executor, which shows progress and keeps the
//! exit status; this reads `scrub status` and `device stats` (read-only) and turns them into
//! the job's outcome. Devices whose error counters rose during the scrub are named in it.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};

use super::RunResult;
use crate::exec::Runner;
use crate::plan::Plan;
use crate::probe::btrfs::scrub::{probe_scrub_status, ScrubState};
use crate::probe::btrfs::stats::{probe_stats, DevStats};
use crate::probe::btrfs::Profile;
use crate::records::Outcome;
use crate::status::ArrayFacts;
use crate::types::Bytes;

/// Walks the scrub `plan` and judges it: from `scrub status` after the run, the scrub's exit
/// status (kept by the executor), and the devices whose error counters rose meanwhile.
pub(super) fn run(runner: &dyn Runner, plan: &Plan, mp: &Path) -> Result<RunResult> {
    let cmd = plan
        .commands()
        .into_iter()
        .next()
        .context("the scrub plan runs no command")?;
    let before = probe_stats(runner, mp)?;
    let (j, err) = super::walk_plan(runner, plan);
    let Some(ran) = j.outputs.get(&cmd.to_string()) else {
        anyhow::bail!("{}", err.unwrap_or_else(|| "the scrub did not run".into()));
    };
    let st = probe_scrub_status(runner, mp)?;
    let after = probe_stats(runner, mp)?;
    let devices = rose(&before, &after);
    let mut counts = BTreeMap::new();
    counts.insert("corrected".to_string(), st.errors.corrected);
    counts.insert("uncorrectable".to_string(), st.errors.uncorrectable);
    counts.insert(
        "bytes_scrubbed".to_string(),
        st.bytes_scrubbed.map(|b| b.0).unwrap_or(0),
    );
    // -B exits 3 when uncorrectable errors were found; anything else non-zero is a failure.
    let failed = !matches!(ran.code, Some(0) | Some(3)) || st.state != ScrubState::Finished;
    let (outcome, detail) = if st.errors.uncorrectable > 0 {
        (
            Outcome::Uncorrectable,
            format!(
                "{} uncorrectable and {} corrected errors",
                st.errors.uncorrectable, st.errors.corrected
            ),
        )
    } else if failed {
        (
            Outcome::Failed,
            format!(
                "the scrub ended {} ({}): {}",
                crate::status::export::scrub_state_word(st.state),
                ran.status,
                crate::exec::stderr_tail(&ran.stderr)
            ),
        )
    } else if st.errors.corrected > 0 {
        (
            Outcome::Corrected,
            format!(
                "{} errors found and corrected from the good mirror",
                st.errors.corrected
            ),
        )
    } else {
        (
            Outcome::Ok,
            format!(
                "clean ({} checked)",
                Bytes(st.bytes_scrubbed.map(|b| b.0).unwrap_or(0))
            ),
        )
    };
    let detail = if devices.is_empty() {
        detail
    } else {
        format!("{detail}; errors on {}", devices.join(", "))
    };
    Ok(RunResult {
        outcome,
        detail,
        counts,
        devices,
    })
}

/// Bytes a scrub reads: every copy of every used block.
pub(super) fn estimate_bytes(f: &ArrayFacts) -> u64 {
    let copies = |p: &Profile| match p {
        Profile::Raid1 | Profile::Dup | Profile::Raid10 => 2,
        Profile::Raid1c3 => 3,
        Profile::Raid1c4 => 4,
        _ => 1,
    };
    f.df.iter()
        .flatten()
        .filter(|g| format!("{:?}", g.kind) != "GlobalReserve")
        .map(|g| g.used.0 * copies(&g.profile))
        .sum()
}

/// Devices whose error counters grew between two `device stats` readings.
fn rose(before: &[DevStats], after: &[DevStats]) -> Vec<String> {
    after
        .iter()
        .filter(|a| {
            let b = before
                .iter()
                .find(|b| b.device == a.device && b.devid == a.devid);
            a.total_errors() > b.map(DevStats::total_errors).unwrap_or(0)
        })
        .map(|a| {
            a.device
                .as_ref()
                .map(ToString::to_string)
                .or(a.devid.map(|d| format!("devid {d}")))
                .unwrap_or_default()
        })
        .collect()
}
