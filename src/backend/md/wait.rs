//! Waiting for an md resync/recovery/reshape to end, with its progress on stderr, read from
//! /proc/mdstat (no process: `mdadm --wait` prints nothing while it waits). Read-only.

use std::time::Duration;

use anyhow::{bail, Result};

use crate::probe::mdstat::{parse_mdstat, SyncState};

/// Polls until `array` (`/dev/md127` or `/dev/md/lnraid`) runs no operation. Fails when the
/// array disappears or a member fails meanwhile is left to the caller's next step.
pub fn await_sync(array: &str) -> Result<()> {
    let node = super::probe::resolve(std::path::Path::new(array));
    let kname = node
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut last = -1.0f64;
    // A just-started recovery may not show for a moment (md starts it from a thread).
    std::thread::sleep(Duration::from_millis(500));
    loop {
        let text = std::fs::read_to_string(super::status::PROC_MDSTAT)?;
        let m = parse_mdstat(&text)?;
        let Some(a) = m.array(&kname) else {
            bail!("{array} ({kname}) vanished from /proc/mdstat")
        };
        match &a.sync {
            Some(SyncState::Running(p)) => {
                if p.percent - last >= 5.0 || last < 0.0 {
                    eprintln!(
                        "  {:?} of {array}: {:.1}% ({} KiB/s, about {:.1} min left)",
                        p.kind, p.percent, p.speed_kib_per_sec, p.finish_minutes
                    );
                    last = p.percent;
                }
            }
            Some(SyncState::Delayed | SyncState::Pending) => eprintln!("  {array}: sync pending"),
            _ => {
                eprintln!("  {array}: in sync");
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}
