//! `lnraid restore` and `lnraid snapshot migrate`.
use anyhow::Result;

use crate::cli_hotcopy::{MigrateArgs, RestoreArgs};
use crate::exec::Runner;

pub fn run(_args: &RestoreArgs, _runner: &dyn Runner) -> Result<i32> {
    anyhow::bail!("not yet")
}

pub fn migrate(_args: &MigrateArgs, _runner: &dyn Runner) -> Result<i32> {
    anyhow::bail!("not yet")
}
