//! The hot-copy commands' one way to change anything: print the plan (dry run) or walk it
//! with the one executor ([`crate::walk`]), journal in memory (a snapshot, prune, backup or
//! restore is short and restartable from scratch; what it leaves is named by the step that
//! failed).

use anyhow::Result;

use crate::exec::Runner;
use crate::plan::{render_plan, Plan};
use crate::walk::{self, Journal, RealMachine, Walker};

/// The dry run's text (stdout: it is the output asked for).
pub fn print_plan(plan: &Plan) {
    print!("{}", crate::ui::sanitize_multiline(&render_plan(plan)));
    println!("\ndry run: nothing was changed");
}

/// Walks `plan`; on failure the error names the step and what is left.
pub fn run_plan(runner: &dyn Runner, plan: &Plan, what: &str) -> Result<Journal<String>> {
    let mut j = Journal::new(None, what.to_string(), plan.clone());
    let w = Walker::new(runner, &RealMachine);
    walk::walk(&w, &mut j, plan, &|j, s| {
        format!(
            "{what}: step {} did not finish; completed before it: {}",
            s.id,
            if j.completed.is_empty() {
                "none".to_string()
            } else {
                j.completed.join(", ")
            }
        )
    })?;
    Ok(j)
}
