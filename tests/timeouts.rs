//! A hung tool cannot hang lnraid: with a `btrfs` on PATH that never answers, `devices`,
//! `status` and `monitor` end in bounded time with an error naming the command and its limit,
//! and the hung process is gone afterwards. (`status`/`monitor` need a mounted array: root,
//! loop devices; visible SKIPPED otherwise.)

#[path = "common/array.rs"]
mod array;
mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use array::Env;
use lnraid::exec::{Cmd, Output, RealRunner, Runner};
use lnraid::testkit::NodeSpec;

/// Generous: the limit is 1 s per probe; a few probes may each run into it.
const BOUND: Duration = Duration::from_secs(30);

/// A directory holding a `btrfs` that sleeps forever; returns the sleep's unique argument.
fn hung_btrfs(dir: &Path) -> String {
    let tag = format!("1000.{}{}", std::process::id(), dir.as_os_str().len());
    let script = dir.join("btrfs");
    fs::write(&script, format!("#!/bin/sh\nexec sleep {tag}\n")).unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    tag
}

/// Runs lnraid with the hung btrfs first on PATH and a 1 s limit; checks the bound.
fn run_hung(bin_dir: &Path, args: &[String]) -> Output {
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let cmd = Cmd::mutating(
        env!("CARGO_BIN_EXE_lnraid"),
        args.iter().map(String::as_str),
    )
    .env("PATH", path)
    .env("LNRAID_TIMEOUT", "1")
    .timeout(BOUND * 2);
    let started = Instant::now();
    let out = RealRunner.output(&cmd).expect("lnraid itself hung");
    assert!(started.elapsed() < BOUND, "took {:?}", started.elapsed());
    out
}

fn no_process_with(tag: &str) -> bool {
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        let alive = fs::read_dir("/proc").unwrap().flatten().any(|e| {
            fs::read(e.path().join("cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(tag))
        });
        if !alive || Instant::now() > end {
            return !alive;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn devices_with_a_hung_btrfs_fails_naming_it() {
    let t = tempfile::tempdir().unwrap();
    let tag = hung_btrfs(t.path());
    let out = run_hung(t.path(), &["devices".to_string()]);
    assert_eq!(out.status.code(), Some(1), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("`btrfs --version` did not finish within 1 s and was killed"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("--timeout"),
        "says how to raise it: {}",
        out.stderr
    );
    assert!(no_process_with(&tag), "the hung btrfs survived");
}

#[test]
fn status_and_monitor_with_a_hung_btrfs_end_with_a_clear_error() {
    let _lock = device_test!("status_and_monitor_with_a_hung_btrfs_end_with_a_clear_error");
    let env = Env::with_array(
        "timeouts",
        NodeSpec {
            db_bytes: 1 << 20,
            gossip_bytes: 1 << 20,
            hot_journal: false,
        },
    );
    let t = tempfile::tempdir().unwrap();
    let tag = hung_btrfs(t.path());
    let mut status = vec!["status".to_string()];
    status.extend(env.host_args());
    status.push(env.mp.to_string_lossy().into_owned());
    let out = run_hung(t.path(), &status);
    println!("status: {}\n{}{}", out.status, out.stdout, out.stderr);
    let said = format!("{}{}", out.stdout, out.stderr);
    assert!(
        said.contains("did not finish within 1 s and was killed"),
        "{said}"
    );
    assert!(
        !out.status.success(),
        "a status that could not probe is not healthy"
    );
    assert!(no_process_with(&tag), "the hung btrfs survived status");

    // monitor's channel is the alert: its JSON event carries the problems.
    let event = t.path().join("event.json");
    let mut monitor = vec!["monitor".to_string()];
    monitor.extend(env.host_args());
    monitor.extend([
        "--alert-command".into(),
        format!("cat > '{}'", event.display()),
    ]);
    let out = run_hung(t.path(), &monitor);
    println!("monitor: {}\n{}{}", out.status, out.stdout, out.stderr);
    assert_eq!(out.status.code(), Some(3), "unknown, not healthy");
    let ev: serde_json::Value = serde_json::from_str(&fs::read_to_string(&event).unwrap()).unwrap();
    assert_eq!(ev["severity"], "unknown", "{ev:#}");
    assert!(
        ev["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["message"]
                .as_str()
                .unwrap_or_default()
                .contains("did not finish within 1 s and was killed")),
        "{ev:#}"
    );
    assert!(no_process_with(&tag), "the hung btrfs survived monitor");
}
