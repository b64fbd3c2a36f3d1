//! The balance run. Default: data only, with usage filters (`-dusage=50 -dlimit=2`): it frees
//! half-empty data chunks so btrfs never runs out of unallocated space, without the routine
//! metadata balance btrfs developers advise against. `--recipe cln-guide` runs the guide's
//! exact `-dusage=50 -dlimit=2 -musage=50 -mlimit=4`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::Result;

use super::RunResult;
use crate::cli::BalanceRecipe;
use crate::exec::{Cmd, Runner};
use crate::probe::btrfs::balance::{probe_balance_status, BalanceState};
use crate::records::Outcome;
use crate::ui::progress::{Progress, Unit};

pub fn balance_cmd(mp: &Path, recipe: BalanceRecipe) -> Cmd {
    let filters: &[&str] = match recipe {
        BalanceRecipe::Default => &["-dusage=50", "-dlimit=2"],
        BalanceRecipe::ClnGuide => &["-dusage=50", "-dlimit=2", "-musage=50", "-mlimit=4"],
    };
    Cmd::mutating("btrfs", ["balance", "start"])
        .args_from(filters.iter().copied())
        .arg(mp.to_string_lossy())
}

pub(super) fn run(runner: &dyn Runner, mp: &Path, recipe: BalanceRecipe) -> Result<RunResult> {
    let cmd = balance_cmd(mp, recipe);
    let out = std::thread::scope(|s| {
        let worker = s.spawn(|| runner.output(&cmd));
        let mut bar: Option<Progress> = None;
        while !worker.is_finished() {
            std::thread::sleep(Duration::from_millis(500));
            if let Ok(BalanceState::Running(p)) = probe_balance_status(runner, mp) {
                let b = bar.get_or_insert_with(|| {
                    Progress::with_unit("balancing", p.expected_chunks.max(1), Unit::Chunks)
                });
                b.set(p.completed_chunks);
            }
        }
        if let Some(b) = bar {
            b.finish();
        }
        worker
            .join()
            .map_err(|_| anyhow::anyhow!("balance worker panicked"))
    })??;
    let mut counts = BTreeMap::new();
    if !out.status.success() {
        return Ok(RunResult {
            outcome: Outcome::Failed,
            detail: format!(
                "`{cmd}` failed ({}): {}",
                out.status,
                crate::exec::stderr_tail(&out.stderr)
            ),
            counts,
            devices: vec![],
        });
    }
    let (relocated, total) = parse_done(&out.stdout).unwrap_or((0, 0));
    counts.insert("relocated".into(), relocated);
    counts.insert("considered".into(), total);
    Ok(RunResult {
        outcome: Outcome::Ok,
        detail: format!("relocated {relocated} of {total} chunks"),
        counts,
        devices: vec![],
    })
}

/// `Done, had to relocate 1 out of 7 chunks`.
pub fn parse_done(out: &str) -> Option<(u64, u64)> {
    let line = out
        .lines()
        .find(|l| l.starts_with("Done, had to relocate "))?;
    let rest = line.strip_prefix("Done, had to relocate ")?;
    let (a, rest) = rest.split_once(" out of ")?;
    let b = rest.strip_suffix(" chunks")?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipes_and_output() {
        assert_eq!(
            balance_cmd(Path::new("/mnt/l"), BalanceRecipe::Default).to_string(),
            "btrfs balance start -dusage=50 -dlimit=2 /mnt/l"
        );
        assert_eq!(
            balance_cmd(Path::new("/mnt/l"), BalanceRecipe::ClnGuide).to_string(),
            "btrfs balance start -dusage=50 -dlimit=2 -musage=50 -mlimit=4 /mnt/l"
        );
        assert_eq!(
            parse_done("Done, had to relocate 1 out of 7 chunks\n"),
            Some((1, 7))
        );
        assert_eq!(parse_done("garbage"), None);
    }
}
