//! `lnraid drill [--backend btrfs|mdadm] [--keep]`: rehearses the whole failure story on this
//! machine's kernel and tools, on throwaway sparse-file loop devices in a private temp dir:
//! setup of a generated node → a member dies → status critical → recover copies the node out,
//! verified → replace → every chunk mirrored, scrub clean, the data equal to what the node
//! wrote. Prints each step's result and duration as it finishes, then a verdict.
//!
//! Drives the real lnraid binary (`current_exe`) through `exec::Runner`, every host path
//! redirected into the workspace ([`steps`]). May never touch a device it did not create
//! ([`workspace`] re-proves ownership before detaching). Cleans up on every exit path: the
//! workspace's `Drop`, and for Ctrl-C / SIGTERM / SIGHUP a handler that only sets a flag, so
//! the command running at that moment finishes (a half-run `losetup` or mkfs is never
//! abandoned mid-way) and the drill then stops, cleans up and exits 130.
//! Exit codes: 0 passed, 1 a step failed, 3 cannot run here (every reason printed), 130
//! interrupted.

mod steps;
mod workspace;

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Context, Result};

use super::{exit, Refused};
use crate::cli::{DrillArgs, DrillBackend};
use crate::exec::Runner;
use crate::types::Bytes;
use steps::Drill;
use workspace::Workspace;

/// Exit code of an interrupted drill (128 + SIGINT, as shells report it).
pub const INTERRUPTED_EXIT: i32 = 130;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: nix::libc::c_int) {
    // Only an atomic store: async-signal-safe.
    INTERRUPTED.store(true, Ordering::SeqCst);
}

fn install_signal_handlers() -> Result<()> {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    let action = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for sig in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe { sigaction(sig, &action) }
            .with_context(|| format!("installing a {sig} handler"))?;
    }
    Ok(())
}

/// Why the drill cannot run on this machine (empty: it can).
fn unavailable(backend: DrillBackend) -> Vec<String> {
    let mut why = Vec::new();
    if !nix::unistd::Uid::effective().is_root() {
        why.push(
            "the drill needs root (it attaches loop devices, makes filesystems, mounts)".into(),
        );
    }
    if !Path::new("/dev/loop-control").exists() {
        why.push("no /dev/loop-control: this kernel has no loop devices (modprobe loop)".into());
    }
    let fs = std::fs::read_to_string("/proc/filesystems").unwrap_or_default();
    if !crate::backend::btrfs::mounts::kernel_has_btrfs(&fs) && backend == DrillBackend::Btrfs {
        why.push("this kernel has no btrfs (not in /proc/filesystems; modprobe btrfs)".into());
    }
    if backend == DrillBackend::Mdadm {
        if !Path::new("/proc/mdstat").exists() {
            why.push("skipped: this kernel has no md driver (no /proc/mdstat; modprobe md_mod), so an mdadm RAID-1 cannot be assembled here".into());
        }
        if !setup_has_backend_flag() {
            why.push("skipped: this lnraid build's setup has no --backend mdadm".into());
        }
    }
    let mut tools = vec![
        ("losetup", "mount"),
        ("umount", "mount"),
        ("chattr", "e2fsprogs"),
    ];
    match backend {
        DrillBackend::Btrfs => {
            tools.extend([("btrfs", "btrfs-progs"), ("mkfs.btrfs", "btrfs-progs")])
        }
        DrillBackend::Mdadm => tools.push(("mdadm", "mdadm")),
    }
    for (tool, pkg) in tools {
        if crate::host::find_program(tool).is_none() {
            why.push(format!("{tool} is not installed (Debian package {pkg})"));
        }
    }
    why
}

/// Whether `lnraid setup` takes `--backend` (the mdadm backend is built separately).
fn setup_has_backend_flag() -> bool {
    use clap::CommandFactory;
    crate::cli::Cli::command()
        .find_subcommand("setup")
        .is_some_and(|s| s.get_arguments().any(|a| a.get_id() == "backend"))
}

pub fn run(args: &DrillArgs, runner: &dyn Runner) -> Result<i32> {
    let why = unavailable(args.backend);
    if !why.is_empty() {
        return Err(Refused(why).into());
    }
    let device_size = Bytes::parse_size(&args.device_size)?.0;
    anyhow::ensure!(
        device_size >= 512 << 20,
        "--device-size: at least 512M (btrfs RAID-1 of a generated node)"
    );
    let exe = std::env::current_exe().context("finding the lnraid binary")?;
    install_signal_handlers()?;
    let mut ws = Workspace::create(runner, args.keep)?;
    let v = crate::probe::versions::probe_versions(runner)?;
    println!(
        "lnraid drill: {} RAID-1 on throwaway loop devices in {}\n  kernel {}, btrfs-progs {}, lnraid {}\n",
        match args.backend {
            DrillBackend::Btrfs => "btrfs",
            DrillBackend::Mdadm => "mdadm",
        },
        ws.dir.display(),
        v.kernel,
        v.btrfs_progs.as_deref().unwrap_or("?"),
        crate::cli::VERSION
    );
    let outcome = {
        let mut d = Drill::new(runner, &mut ws, exe, args.backend, device_size);
        run_steps(&mut d)
    };
    let problems = ws.cleanup();
    let kept = args.keep && problems.is_empty();
    println!();
    for p in &problems {
        println!("cleanup: {p}");
    }
    if kept {
        println!(
            "kept {} (loop devices detached, nothing mounted; drill.log has every command)",
            ws.dir.display()
        );
    }
    let code = match outcome {
        Outcome::Passed(secs) => {
            println!("verdict: PASSED in {secs:.1}s: the node survived losing a disk on this machine's kernel and tools");
            exit::OK
        }
        Outcome::Failed(step) => {
            println!(
                "verdict: FAILED at {step}: fix that before trusting this machine with the node"
            );
            exit::FAILURE
        }
        Outcome::Interrupted => {
            println!("verdict: INTERRUPTED; everything the drill made is removed");
            INTERRUPTED_EXIT
        }
    };
    if !problems.is_empty() && code == exit::OK {
        return Ok(exit::FAILURE);
    }
    Ok(code)
}

enum Outcome {
    Passed(f64),
    Failed(&'static str),
    Interrupted,
}

/// The steps in order: name and what it runs.
fn steps<'w, 'r>() -> [(&'static str, StepFn<'w, 'r>); 9] {
    [
        ("prepare", Drill::prepare),
        ("setup", Drill::setup),
        ("member fails", Drill::member_fails),
        ("status critical", Drill::status_critical),
        ("recover", Drill::recover),
        ("replace", Drill::replace),
        ("full redundancy", Drill::redundancy),
        ("scrub clean", Drill::scrub),
        ("data equal", Drill::data_equal),
    ]
}

type StepFn<'w, 'r> = fn(&mut Drill<'w, 'r>) -> Result<String>;

fn run_steps(d: &mut Drill<'_, '_>) -> Outcome {
    let started = Instant::now();
    println!("  {:<16} {:<7} {:>7}  detail", "step", "result", "time");
    for (name, step) in steps() {
        if INTERRUPTED.load(Ordering::SeqCst) {
            row(name, "stopped", 0.0, "interrupted (signal); cleaning up");
            return Outcome::Interrupted;
        }
        let t = Instant::now();
        let res = step(d);
        let secs = t.elapsed().as_secs_f64();
        match res {
            Ok(detail) => row(name, "ok", secs, &detail),
            Err(_) if INTERRUPTED.load(Ordering::SeqCst) => {
                row(name, "stopped", secs, "interrupted (signal); cleaning up");
                return Outcome::Interrupted;
            }
            Err(e) => {
                row(
                    name,
                    "FAILED",
                    secs,
                    &crate::ui::sanitize_multiline(&format!("{e:#}")),
                );
                return Outcome::Failed(name);
            }
        }
    }
    Outcome::Passed(started.elapsed().as_secs_f64())
}

fn row(name: &str, result: &str, secs: f64, detail: &str) {
    println!("  {name:<16} {result:<7} {secs:>6.1}s  {detail}");
    let _ = std::io::stdout().flush();
}
