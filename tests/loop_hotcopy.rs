//! `lnraid snapshot` on a real btrfs RAID-1 on loop devices (root; visible SKIPPED
//! otherwise), with a real SQLite writer committing every 5 ms in another process.

mod common;
#[path = "common/node.rs"]
mod node;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::time::Duration;

use common::{lnraid, sh, KillOnDrop};
use lnraid::exec::ExitStatus;
use lnraid::testkit::NodeSpec;
use node::{counter_of_copy, BtrfsNode};

fn spec(hot_journal: bool) -> NodeSpec {
    NodeSpec {
        db_bytes: 8 << 20,
        gossip_bytes: 1 << 20,
        hot_journal,
    }
}

fn snapshot_json(home: &Path, extra: &[&str]) -> (ExitStatus, serde_json::Value, String) {
    let mut args = vec![
        "snapshot",
        "create",
        "--json",
        "--lightning-dir",
        home.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = lnraid(&args);
    let doc = serde_json::from_str(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status, doc, out.stderr)
}

/// Starts the writer in the background; returns its pid guard.
fn start_writer(db: &Path, report: &Path, out: &Path, seconds: f64) -> (i32, KillOnDrop) {
    let script = format!(
        "'{}' dev-sqlite-writer '{}' --seconds {seconds} --report '{}' >'{}' 2>&1 & echo $!",
        env!("CARGO_BIN_EXE_lnraid"),
        db.display(),
        report.display(),
        out.display()
    );
    let pid: i32 = sh("sh", &["-c", &script]).stdout.trim().parse().unwrap();
    (pid, KillOnDrop(pid))
}

fn wait_gone(pid: i32) {
    for _ in 0..300 {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if stat.is_empty() || stat.contains(") Z ") {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("writer {pid} did not finish");
}

#[test]
fn snapshot_under_a_committing_writer_holds_a_committed_state() {
    let _lock = device_test!("snapshot_under_a_committing_writer_holds_a_committed_state");
    let n = BtrfsNode::new("snapw", &spec(false), "1G", true);
    let (report, wout) = (n.tmp.path().join("report"), n.tmp.path().join("writer.out"));
    let (pid, _kill) = start_writer(&n.db(), &report, &wout, 4.0);
    std::thread::sleep(Duration::from_millis(500));
    let mut names = Vec::new();
    for _ in 0..2 {
        let (st, doc, err) = snapshot_json(&n.home, &[]);
        assert_eq!(st, ExitStatus::Code(0), "{err}");
        assert_eq!(doc["verified"], true, "{doc}");
        let lock_ms = doc["lock_ms"].as_f64().unwrap();
        assert!(lock_ms > 0.0 && lock_ms < 100.0, "{doc}");
        names.push(doc["name"].as_str().unwrap().to_string());
        std::thread::sleep(Duration::from_millis(1100));
    }
    wait_gone(pid);
    let w: serde_json::Value = serde_json::from_str(fs::read_to_string(&wout).unwrap().trim())
        .unwrap_or_else(|e| {
            panic!(
                "writer failed ({e}): {}",
                fs::read_to_string(&wout).unwrap()
            )
        });
    assert!(w["commits"].as_u64().unwrap() > 100, "{w}");
    let committed: BTreeSet<i64> = fs::read_to_string(&report)
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    for (i, name) in names.iter().enumerate() {
        let c = counter_of_copy(&n.snapdir().join(name), &n.tmp.path().join(format!("s{i}")));
        assert!(
            committed.contains(&c),
            "snapshot {name} holds counter {c}, never reported committed"
        );
        assert!(c > 0, "the writer had committed before the snapshot");
    }
    let listed = lnraid(&[
        "snapshot",
        "list",
        "--lightning-dir",
        n.home.to_str().unwrap(),
    ]);
    for name in &names {
        assert!(
            listed.stdout.contains(name) && listed.stdout.contains("verified"),
            "{}",
            listed.stdout
        );
    }
}

#[test]
fn snapshot_with_a_hot_journal_verifies_on_scratch_and_stays_unchanged() {
    let _lock = device_test!("snapshot_with_a_hot_journal_verifies_on_scratch_and_stays_unchanged");
    let n = BtrfsNode::new("snapj", &spec(true), "1G", true);
    let journal = n.home.join("lightningd.sqlite3-journal");
    assert!(journal.exists());
    let (db0, j0) = (fs::read(n.db()).unwrap(), fs::read(&journal).unwrap());
    let (st, doc, err) = snapshot_json(&n.home, &[]);
    assert_eq!(st, ExitStatus::Code(0), "{err}");
    assert_eq!(doc["verified"], true, "{doc}");
    assert_eq!(doc["hot_journal"], true, "{doc}");
    let snap = n.snapdir().join(doc["name"].as_str().unwrap());
    assert_eq!(
        fs::read(snap.join("lightningd.sqlite3")).unwrap(),
        db0,
        "snapshot db unchanged"
    );
    assert_eq!(
        fs::read(snap.join("lightningd.sqlite3-journal")).unwrap(),
        j0,
        "journal kept"
    );
    // No scratch copy left behind.
    let left: Vec<_> = fs::read_dir(n.snapdir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".scratch"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_snapshot_that_outlasts_the_cap_is_deleted_and_fails() {
    let _lock = device_test!("a_snapshot_that_outlasts_the_cap_is_deleted_and_fails");
    let n = BtrfsNode::new("snapc", &spec(false), "1G", true);
    let (st, _doc, err) = snapshot_json(&n.home, &["--lock-cap-ms", "0"]);
    assert_eq!(st, ExitStatus::Code(1), "{err}");
    assert!(err.contains("longer than the lock cap"), "{err}");
    let left = fs::read_dir(n.snapdir()).unwrap().count();
    assert_eq!(left, 0, "no snapshot and no record left");
}

#[test]
fn a_plain_directory_is_explained_with_the_migration() {
    let _lock = device_test!("a_plain_directory_is_explained_with_the_migration");
    let n = BtrfsNode::new("snapp", &spec(false), "1G", false);
    let (st, _doc, err) = snapshot_json(&n.home, &[]);
    assert_eq!(st, ExitStatus::Code(1), "{err}");
    assert!(
        err.contains("not a btrfs subvolume") && err.contains("snapshot migrate"),
        "{err}"
    );
}

#[test]
fn prune_keeps_what_the_policy_says_and_never_the_last_verified() {
    let _lock = device_test!("prune_keeps_what_the_policy_says_and_never_the_last_verified");
    let n = BtrfsNode::new("snapr", &spec(false), "1G", true);
    let mut names = Vec::new();
    for _ in 0..3 {
        // Retention is under test, not the lock: a generous cap, so a slow transaction
        // commit on the shared test machine does not fail the set-up.
        let (st, doc, err) = snapshot_json(&n.home, &["--lock-cap-ms", "5000"]);
        assert_eq!(st, ExitStatus::Code(0), "{err}");
        names.push(doc["name"].as_str().unwrap().to_string());
    }
    // The newest one "failed" verification (its record says so).
    let rec = n.snapdir().join(format!("{}.json", names[2]));
    let text = fs::read_to_string(&rec)
        .unwrap()
        .replace("\"verified\": true", "\"verified\": false");
    fs::write(&rec, text).unwrap();
    let home = n.home.to_str().unwrap();
    let zero = [
        "--keep-last",
        "0",
        "--keep-hourly",
        "0",
        "--keep-daily",
        "0",
        "--keep-weekly",
        "0",
    ];
    let mut args = vec!["snapshot", "prune", "--lightning-dir", home];
    args.extend_from_slice(&zero);
    let dry = lnraid(&[args.clone(), vec!["--dry-run"]].concat());
    // The dry run prints the plan the executor walks: the exact delete command.
    let planned = format!(
        "$ btrfs subvolume delete {}",
        n.snapdir().join(&names[0]).display()
    );
    assert!(dry.stdout.contains(&planned), "{}", dry.stdout);
    assert!(
        n.snapdir().join(&names[0]).exists(),
        "dry run deletes nothing"
    );
    let out = lnraid(&args);
    assert_eq!(out.status, ExitStatus::Code(0), "{}", out.stderr);
    let present: Vec<bool> = names.iter().map(|x| n.snapdir().join(x).exists()).collect();
    assert_eq!(present, [false, true, true], "{}", out.stdout);
    assert!(!n.snapdir().join(format!("{}.json", names[0])).exists());
    // keep-hourly 1 on verified snapshots in one hour keeps the newest verified only.
    let out = lnraid(&[
        "snapshot",
        "prune",
        "--lightning-dir",
        home,
        "--keep-last",
        "0",
        "--keep-hourly",
        "1",
        "--keep-daily",
        "0",
        "--keep-weekly",
        "0",
    ]);
    assert_eq!(out.status, ExitStatus::Code(0), "{}", out.stderr);
    assert!(n.snapdir().join(&names[1]).exists());
}
