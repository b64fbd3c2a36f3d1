//! The `lnraid` binary: parse arguments, set up logging, run, print the error once, exit with
//! a documented code. Nothing else lives here.
//!
//! Output discipline: results go to stdout, diagnostics to stderr through `tracing` (level by
//! -v/-q, overridden by `LNRAID_LOG`), in colour only when stderr is a terminal and `NO_COLOR`
//! is unset or empty (no-color.org), so redirected logs never carry escape codes.

use std::io::IsTerminal;

use clap::Parser;
use lnraid::app::{self, exit};
use lnraid::cli::Cli;
use lnraid::exec::RealRunner;
use tracing_subscriber::EnvFilter;

fn main() {
    // Rust ignores SIGPIPE, so `lnraid status | head` would panic in println! when head
    // exits. Restore the default: end quietly like any other Unix tool.
    // SAFETY: called once at start, before any thread exists; SIG_DFL is always valid.
    unsafe {
        nix::libc::signal(nix::libc::SIGPIPE, nix::libc::SIG_DFL);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // `--version` probes the tools only when asked (four short commands).
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayVersion => {
            print!("{}", version_text());
            std::process::exit(exit::OK);
        }
        Err(e) => usage_error(e),
    };
    init_logging(&cli);
    let code = match app::run(cli, &RealRunner) {
        Ok(code) => code,
        Err(e) => {
            // Not through tracing: the final error shows whatever LNRAID_LOG says.
            eprintln!(
                "lnraid: error: {}",
                lnraid::ui::sanitize_multiline(&format!("{e:#}"))
            );
            // A safety refusal has its own code, so scripts can tell it from a failure.
            if e.downcast_ref::<app::Refused>().is_some() {
                exit::REFUSED
            } else {
                exit::FAILURE
            }
        }
    };
    std::process::exit(code);
}

fn init_logging(cli: &Cli) {
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => "error",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("LNRAID_LOG").unwrap_or_else(|_| EnvFilter::new(level)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && !no_color)
        .without_time()
        .with_target(false)
        .event_format(lnraid::ui::log::Format)
        .init();
}

/// `lnraid 0.1.0 (git 1a2b3c4d5e6f)` and the versions of what it drives on this machine.
fn version_text() -> String {
    let head = format!("lnraid {}\n", lnraid::cli::VERSION);
    let v = match lnraid::probe::versions::probe_versions(&RealRunner) {
        Ok(v) => v,
        // A tool hung even on --version: say so rather than guess.
        Err(e) => return format!("{head}tool versions unknown: {e}\n"),
    };
    let or_missing = |v: Option<String>, pkg: &str| {
        v.unwrap_or_else(|| format!("not found (Debian package {pkg})"))
    };
    format!(
        "{head}kernel {}\nbtrfs-progs {}\nmdadm {}\nutil-linux {}\n",
        if v.kernel.is_empty() {
            "unknown".into()
        } else {
            v.kernel
        },
        or_missing(v.btrfs_progs, "btrfs-progs"),
        or_missing(v.mdadm, "mdadm"),
        or_missing(v.util_linux, "util-linux"),
    )
}

/// clap's usage errors exit 2; for `status` and `monitor` that would read as CRITICAL to
/// Nagios and cron, so there they exit 3 (UNKNOWN). `--help`/`--version` exit 0 as usual.
fn usage_error(e: clap::Error) -> ! {
    let nagios = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .is_some_and(|c| c == "status" || c == "monitor");
    if nagios && e.use_stderr() {
        let _ = e.print();
        std::process::exit(app::exit::NAGIOS_UNKNOWN);
    }
    e.exit()
}
