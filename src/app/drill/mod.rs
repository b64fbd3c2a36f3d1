//! `lnraid drill`: the rehearsal (its body lands in the next commit).
pub fn run(_a: &crate::cli::DrillArgs, _r: &dyn crate::exec::Runner) -> anyhow::Result<i32> {
    anyhow::bail!("lnraid drill is not implemented in this build")
}
