//! Test helpers for watching processes: a `sleep` no other process has, a /proc scan for it,
//! and a bounded poll. Test builds only; reads /proc, starts nothing.

use std::time::{Duration, Instant};

/// A `sleep` whose argument no other process on the machine has (tests run in parallel).
pub(crate) fn unique_sleep() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let n = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("1000.{}{:09}", std::process::id(), n)
}

/// Pids of live (non-zombie) processes whose command line contains `needle`.
pub(crate) fn procs_with(needle: &str) -> Vec<i32> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let zombie = stat
            .rsplit(')')
            .next()
            .is_some_and(|r| r.trim_start().starts_with('Z'));
        if !zombie && String::from_utf8_lossy(&cmdline).contains(needle) {
            found.push(pid);
        }
    }
    found
}

/// Polls until `cond` holds, at most 10 s.
pub(crate) fn eventually(cond: impl Fn() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}
