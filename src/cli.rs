//! The command line, declared with clap derive. Only shapes and documents arguments; checking
//! them against each other and the machine happens in `app` (ripgrep's LowArgs → HiArgs).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Keep a Core Lightning node's data directory on redundant storage.
#[derive(Debug, Parser)]
#[command(name = "lnraid", version, about, long_about = None)]
pub struct Cli {
    /// More diagnostics on stderr (-v: info, -vv: every command run).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List block devices, each with a verdict: may lnraid use it, and if not, why.
    Devices(DevicesArgs),
}

#[derive(Debug, clap::Args)]
pub struct DevicesArgs {
    /// Print a JSON document (shape documented in README.md) instead of the table.
    #[arg(long)]
    pub json: bool,
    /// The node's data directory; devices that hold it are refused.
    #[arg(long, value_name = "DIR")]
    pub lightning_dir: Option<PathBuf>,
    /// Refuse devices smaller than this (e.g. 512M, 2G).
    #[arg(long, value_name = "SIZE", default_value = "1G")]
    pub min_size: String,
    /// Only show these devices (and check them together: a device named twice is refused).
    #[arg(value_name = "DEVICE")]
    pub devices: Vec<PathBuf>,
}
