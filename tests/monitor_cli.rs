//! `lnraid monitor` when there is nothing to watch (no root needed): it says why on stderr and
//! exits 3 (unknown) — no lnraid array in the fstab, the fstab unreadable, a textfile path the
//! collector would ignore — and the textfile still tells Prometheus that nothing was checked.

mod common;

use std::fs;

use common::lnraid;

#[test]
fn monitor_says_why_it_did_nothing() {
    let t = tempfile::tempdir().unwrap();
    let state = t.path().join("state");
    let prom = t.path().join("lnraid.prom");
    let fstab = t.path().join("fstab");
    fs::write(&fstab, "# no arrays here\n/dev/sda1 / ext4 defaults 0 1\n").unwrap();
    let run = |fstab: &std::path::Path, textfile: &std::path::Path| {
        lnraid(&[
            "monitor",
            "--fstab",
            fstab.to_str().unwrap(),
            "--state-dir",
            state.to_str().unwrap(),
            "--textfile",
            textfile.to_str().unwrap(),
        ])
    };

    let out = run(&fstab, &prom);
    assert_eq!(out.status.code(), Some(3), "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("no lnraid array in"), "{}", out.stderr);
    let text = fs::read_to_string(&prom).unwrap();
    assert!(text.contains("\nlnraid_monitor_arrays 0\n"), "{text}");
    assert!(
        text.contains("lnraid_monitor_last_run_timestamp_seconds "),
        "{text}"
    );

    let missing = t.path().join("no-such-fstab");
    let out = run(&missing, &prom);
    assert_eq!(out.status.code(), Some(3), "{}", out.stderr);
    assert!(out.stderr.contains("no-such-fstab"), "{}", out.stderr);

    let bad = t.path().join("lnraid.txt");
    let out = run(&fstab, &bad);
    assert_eq!(out.status.code(), Some(3), "{}", out.stderr);
    assert!(out.stderr.contains(".prom"), "{}", out.stderr);
    assert!(
        !bad.exists(),
        "nothing written to a path the collector ignores"
    );
}
