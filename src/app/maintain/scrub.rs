//! The scrub run: `btrfs scrub start -B` on a worker thread while the main thread polls
//! `scrub status` for progress; an optional bandwidth limit through sysfs `scrub_speed_max`
//! (the guide's `-c 2 -n 4` ionice flags do nothing under modern I/O schedulers), restored
//! afterwards. Devices whose error counters rose during the scrub are named in the result.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

use super::RunResult;
use crate::exec::{Cmd, Runner};
use crate::probe::btrfs::scrub::{probe_scrub_status, ScrubState};
use crate::probe::btrfs::stats::{probe_stats, DevStats};
use crate::probe::btrfs::Profile;
use crate::records::Outcome;
use crate::status::ArrayFacts;
use crate::types::Bytes;
use crate::ui::progress::Progress;

pub(super) fn run(
    runner: &dyn Runner,
    f: &ArrayFacts,
    mp: &Path,
    limit: Option<&str>,
) -> Result<RunResult> {
    let _limit = match limit {
        Some(l) => Some(SpeedLimit::apply(
            f,
            Bytes::parse_human(l).with_context(|| format!("--limit {l:?} is not a size"))?,
        )?),
        None => None,
    };
    let before = probe_stats(runner, mp)?;
    let total = estimate_bytes(f);
    let cmd = scrub_cmd(mp);
    let out = std::thread::scope(|s| {
        let worker = s.spawn(|| runner.output(&cmd));
        let mut bar = Progress::new("scrubbing", total);
        while !worker.is_finished() {
            std::thread::sleep(Duration::from_millis(500));
            if let Ok(st) = probe_scrub_status(runner, mp) {
                bar.set(st.bytes_scrubbed.map(|b| b.0).unwrap_or(0));
            }
        }
        bar.finish();
        worker
            .join()
            .map_err(|_| anyhow::anyhow!("scrub worker panicked"))
    })??;
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
    let failed =
        !matches!(out.status.code(), Some(0) | Some(3)) || st.state != ScrubState::Finished;
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
                out.status,
                crate::exec::stderr_tail(&out.stderr)
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

pub fn scrub_cmd(mp: &Path) -> Cmd {
    Cmd::mutating("btrfs", ["scrub", "start", "-B"]).arg(mp.to_string_lossy())
}

/// Bytes a scrub reads: every copy of every used block.
fn estimate_bytes(f: &ArrayFacts) -> u64 {
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

/// A scrub bandwidth limit set through sysfs, restored on drop.
struct SpeedLimit {
    saved: Vec<(PathBuf, String)>,
}

impl SpeedLimit {
    fn apply(f: &ArrayFacts, per_sec: Bytes) -> Result<SpeedLimit> {
        let uuid = f.uuid.as_ref().context("unknown filesystem UUID")?;
        let dir = Path::new("/sys/fs/btrfs")
            .join(uuid.as_str())
            .join("devinfo");
        let mut saved = Vec::new();
        for e in fs::read_dir(&dir)
            .with_context(|| format!("{} (scrub limits need kernel 5.14+)", dir.display()))?
        {
            let p = e?.path().join("scrub_speed_max");
            let old = fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
            fs::write(&p, per_sec.0.to_string())
                .with_context(|| format!("setting {}", p.display()))?;
            saved.push((p, old.trim().to_string()));
        }
        tracing::info!("  scrub limited to {}/s per device", per_sec);
        Ok(SpeedLimit { saved })
    }
}

impl Drop for SpeedLimit {
    fn drop(&mut self) {
        for (p, v) in &self.saved {
            if let Err(e) = fs::write(p, v) {
                tracing::warn!("could not restore {}: {e}", p.display());
            }
        }
    }
}
