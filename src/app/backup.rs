//! `lnraid backup --to DEST`.
use anyhow::Result;

use crate::cli_hotcopy::BackupArgs;
use crate::exec::Runner;

pub fn run(_args: &BackupArgs, _runner: &dyn Runner) -> Result<i32> {
    anyhow::bail!("not yet")
}
