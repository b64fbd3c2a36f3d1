//! The `lnraid` binary: parse arguments, set up logging, run, print the error once, exit with
//! a documented code. Nothing else lives here.

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
        Err(e) => usage_error(e),
    };
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("LNRAID_LOG").unwrap_or_else(|_| EnvFilter::new(level)),
        )
        .with_writer(std::io::stderr)
        .without_time()
        .with_target(false)
        .init();
    let code = match app::run(cli, &RealRunner) {
        Ok(code) => code,
        Err(e) => {
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
