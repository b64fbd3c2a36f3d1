//! The balance's report (the plan, src/plan/maintain.rs, is walked by the executor, which
//! keeps its output). Default: data only, with usage filters (`-dusage=50 -dlimit=2`): it frees
//! half-empty data chunks so btrfs never runs out of unallocated space, without the routine
//! metadata balance btrfs developers advise against. `--recipe cln-guide` runs the guide's
//! exact `-dusage=50 -dlimit=2 -musage=50 -mlimit=4`.

use std::collections::BTreeMap;

use anyhow::{Context, Result};

use super::RunResult;
use crate::exec::Runner;
use crate::plan::Plan;
use crate::records::Outcome;

/// Walks the balance `plan` and reports how many chunks it relocated (from the output the
/// executor kept).
pub(super) fn run(runner: &dyn Runner, plan: &Plan) -> Result<RunResult> {
    let cmd = plan
        .commands()
        .into_iter()
        .next()
        .context("the balance plan runs no command")?;
    let (j, err) = super::walk_plan(runner, plan);
    let mut counts = BTreeMap::new();
    let ran = match (j.outputs.get(&cmd.to_string()), err) {
        (Some(ran), _) if ran.code != Some(0) => {
            return Ok(RunResult {
                outcome: Outcome::Failed,
                detail: format!(
                    "`{cmd}` failed ({}): {}",
                    ran.status,
                    crate::exec::stderr_tail(&ran.stderr)
                ),
                counts,
                devices: vec![],
            });
        }
        (_, Some(e)) => anyhow::bail!("{e}"),
        (Some(ran), None) => ran,
        (None, None) => anyhow::bail!("the balance did not run"),
    };
    let (relocated, total) = parse_done(&ran.stdout).unwrap_or((0, 0));
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
    fn balance_output() {
        assert_eq!(
            parse_done("Done, had to relocate 1 out of 7 chunks\n"),
            Some((1, 7))
        );
        assert_eq!(parse_done("garbage"), None);
    }
}
