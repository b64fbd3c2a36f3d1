//! Command orchestration: turns validated CLI arguments into probe → policy → render (and,
//! for mutating commands, plan → confirm → exec). Owns no parsing and starts no process
//! itself; it hands a `Runner` down.

mod backup;
mod devcopy;
mod devices;
mod devwriter;
mod doctor;
mod drill;
mod gen;
mod hot_walk;
pub mod ids;
mod maintain;
pub mod metrics;
mod monitor;
mod monitor_hot;
mod recover;
pub(crate) mod replace;
mod restore;
pub(crate) mod schedule;
mod schedule_hot;
pub(crate) mod setup;
mod ship_files;
mod snapshot;
mod status;

use crate::cli::{Cli, Command};
use crate::exec::Runner;

/// Exit codes, documented in README.md.
pub mod exit {
    /// Success.
    pub const OK: i32 = 0;
    /// The operation failed (a command failed, the machine could not be probed).
    pub const FAILURE: i32 = 1;
    /// Bad usage (clap also exits 2 for unknown flags).
    pub const USAGE: i32 = 2;
    /// lnraid refused for safety: a named device is not eligible.
    pub const REFUSED: i32 = 3;
    /// `status` and `monitor`: the verdict could not be told (Nagios UNKNOWN), also for a
    /// usage error.
    pub const NAGIOS_UNKNOWN: i32 = 3;
}

/// Runs one command; returns the process exit code.
pub fn run(cli: Cli, runner: &dyn Runner) -> anyhow::Result<i32> {
    if let Some(secs) = cli.timeout {
        crate::exec::timeout::set_read_timeout(secs);
    }
    // mdadm helper's hook: the minimum-size test knob is never silently active.
    match crate::policy::min_size_override() {
        Ok(Some(w)) => tracing::warn!("{w}"),
        Ok(None) => {}
        Err(e) => return Err(Refused(vec![e]).into()),
    }
    match cli.command {
        Command::Devices(args) => devices::run(&args, runner),
        Command::Schedule(cmd) => schedule::run(&cmd, runner),
        Command::Setup(args) => setup::run(&args, runner),
        Command::Status(args) => status::run(&args, runner),
        Command::Replace(args) => replace::run(&args, runner),
        Command::Maintain(args) => maintain::run(&args, runner),
        Command::Monitor(args) => monitor::run(&args, runner),
        Command::Recover(args) => recover::run(&args, runner),
        Command::Snapshot(cmd) => snapshot::run(&cmd, runner),
        Command::Backup(args) => backup::run(&args, runner),
        Command::Restore(args) => restore::run(&args, runner),
        Command::DevSqliteWriter(args) => devwriter::run(&args),
        Command::Doctor(args) => doctor::run(&args, runner),
        Command::DevGenNodeDir(args) => gen::run(&args),
        Command::DevCopyVerify(args) => devcopy::run(&args),
        Command::Drill(args) => drill::run(&args, runner),
        Command::DevShipFiles(args) => ship_files::run(&args),
    }
}

/// lnraid refused for safety before changing anything; each entry is one problem, in plain
/// words. `main` prints them and exits with [`exit::REFUSED`].
#[derive(Debug, thiserror::Error)]
#[error("refusing to continue:\n  - {}", .0.join("\n  - "))]
pub struct Refused(pub Vec<String>);
