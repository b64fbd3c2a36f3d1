//! `lnraid doctor` on real block devices (root, loop devices on sparse files in our own temp
//! dir; a visible SKIPPED line otherwise; serialized with every device test by `device_test!`):
//! - a `--wallet` replica on another partition of the main database's disk → `same_disk`
//!   high; on another disk → `separate_disk` ok;
//! - the lnraid layer on a real btrfs RAID-1 made by `lnraid setup`: on the array (vs not),
//!   a subvolume (vs a plain directory), `chattr +C` on the database (vs not), maintenance
//!   (none, scheduled, scheduled with a recorded scrub), alert command (none vs configured), and
//!   a replica in another subvolume of the same btrfs → `same_filesystem` high.

#[path = "common/array.rs"]
mod array;
mod common;
mod doctor_kit;

use std::fs;
use std::path::Path;

use array::Env;
use common::{mountpoint_dir, sh, tempdir, LoopDev, Mounted};
use doctor_kit::{make_db, severity, summary};
use lnraid::testkit::NodeSpec;

fn doctor(env_args: &[String], dir: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "doctor".to_string(),
        "--json".into(),
        "--lightning-dir".into(),
        dir.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(env_args.iter().cloned());
    let out = common::lnraid(&args.iter().map(String::as_str).collect::<Vec<_>>());
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", out.stdout, out.stderr))
}

#[test]
fn replica_on_same_disk_is_high_on_other_disk_ok() {
    let _lock = device_test!("replica_on_same_disk_is_high_on_other_disk_ok");
    let tmp = tempdir();
    let a = LoopDev::new(tmp.path(), "a", "256M", true);
    let b = LoopDev::new(tmp.path(), "b", "128M", false);
    let table = "label: gpt\nsize=100MiB\nsize=100MiB\n";
    let cmd = lnraid::exec::Cmd::mutating("sfdisk", ["--quiet", a.path.as_str()]).stdin(table);
    lnraid::exec::Runner::run_ok(&lnraid::exec::RealRunner, &cmd).unwrap();
    let (p1, p2) = (format!("{}p1", a.path), format!("{}p2", a.path));
    // Kernels without partition-table parsers never scan the table: partx registers the
    // partitions through BLKPG instead (as tests/loop_policy.rs does).
    if !Path::new(&p2).exists() {
        sh("partx", &["--add", &a.path]);
    }
    for _ in 0..50 {
        if Path::new(&p2).exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(Path::new(&p2).exists(), "kernel did not create {p2}");
    for d in [&p1, &p2, &b.path] {
        sh("mkfs.ext4", &["-q", "-F", d]);
    }
    let m1 = Mounted::new(&p1, &mountpoint_dir("doctor-p1"), &[]);
    let m2 = Mounted::new(&p2, &mountpoint_dir("doctor-p2"), &[]);
    let mb = Mounted::new(&b.path, &mountpoint_dir("doctor-b"), &[]);
    let main = m1.dir.join("lightningd.sqlite3");
    make_db(&main, false);
    let n = doctor_kit::Node::new();
    n.net_config(&format!(
        "wallet=sqlite3://{}:{}/lightningd.sqlite3\n",
        main.display(),
        m2.dir.display()
    ));
    let (_, doc, _) = n.doctor(&[]);
    assert_eq!(
        severity(&doc, "wallet_replica", "same_disk"),
        "high",
        "{}",
        summary(&doc)
    );
    let ev = doctor_kit::findings(&doc, "wallet_replica", Some("same_disk"))[0]["evidence"]
        .as_str()
        .unwrap()
        .to_string();
    let disk = Path::new(&a.path)
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(ev.contains(&disk), "{ev}");
    n.net_config(&format!(
        "wallet=sqlite3://{}:{}/lightningd.sqlite3\n",
        main.display(),
        mb.dir.display()
    ));
    let (_, doc, _) = n.doctor(&[]);
    assert_eq!(
        severity(&doc, "wallet_replica", "separate_disk"),
        "ok",
        "{}",
        summary(&doc)
    );
    // With a replica on another disk, a disk failure is covered.
    assert_eq!(
        severity(&doc, "summary", "coverage"),
        "info",
        "{}",
        summary(&doc)
    );
    drop((m1, m2, mb));
}

#[test]
fn lnraid_layer_on_a_real_array() {
    let _lock = device_test!("lnraid_layer_on_a_real_array");
    let env = Env::with_array(
        "doctor",
        NodeSpec {
            db_bytes: 2 << 20,
            gossip_bytes: 1 << 20,
            hot_journal: false,
        },
    );
    let mut host = env.host_args();
    let cron = env.tmp.path().join("cron.d");
    fs::create_dir_all(&cron).unwrap();
    host.extend(["--cron-dir".to_string(), cron.display().to_string()]);

    // Not on the array: a directory elsewhere.
    let elsewhere = env.tmp.path().join("other/regtest");
    fs::create_dir_all(&elsewhere).unwrap();
    let doc = doctor(&host, &elsewhere, &[]);
    assert_eq!(
        severity(&doc, "lnraid", "on_array"),
        "info",
        "{}",
        summary(&doc)
    );

    // The node lnraid moved there (plain directory: not a subvolume), no schedule, no alert.
    let doc = doctor(&host, &env.dir, &[]);
    let health = severity(&doc, "lnraid", "array_health");
    assert!(health == "ok" || health == "warn", "{}", summary(&doc));
    assert_eq!(severity(&doc, "lnraid", "nocow"), "ok");
    assert_eq!(severity(&doc, "lnraid", "maintenance"), "warn");
    assert_eq!(severity(&doc, "lnraid", "alert"), "warn");

    // A subvolume vs a plain directory, and chattr +C on the database.
    let mp = env.mp.display().to_string();
    let sub = env.mp.join("node-sub");
    sh("btrfs", &["subvolume", "create", sub.to_str().unwrap()]);
    make_db(&sub.join("lightningd.sqlite3"), false);
    let doc = doctor(&host, &sub, &[]);
    assert_eq!(
        severity(&doc, "lnraid", "subvolume"),
        "ok",
        "{}",
        summary(&doc)
    );
    let plain = env.mp.join("node-plain");
    fs::create_dir(&plain).unwrap();
    let db = plain.join("lightningd.sqlite3");
    fs::write(&db, b"").unwrap();
    sh("chattr", &["+C", db.to_str().unwrap()]);
    make_db(&db, false);
    let doc = doctor(&host, &plain, &[]);
    assert_eq!(
        severity(&doc, "lnraid", "subvolume"),
        "info",
        "{}",
        summary(&doc)
    );
    assert_eq!(severity(&doc, "lnraid", "nocow"), "high");

    // A replica in another subvolume of the same btrfs (its own st_dev): same filesystem.
    fs::write(
        plain.join("config"),
        format!(
            "wallet=sqlite3://{}:{}/lightningd.sqlite3\n",
            db.display(),
            sub.display()
        ),
    )
    .unwrap();
    let doc = doctor(
        &host,
        &plain,
        &["--config", plain.join("config").to_str().unwrap()],
    );
    assert_eq!(
        severity(&doc, "wallet_replica", "same_filesystem"),
        "high",
        "{}",
        summary(&doc)
    );

    // Snapshot age, from the hotcopy layout beside the node's home: stale, then fresh.
    let home = fs::canonicalize(&env.dir).unwrap();
    let snaps = home
        .parent()
        .unwrap()
        .join(".lnraid-snapshots")
        .join(home.file_name().unwrap());
    fs::create_dir_all(snaps.join("2020-01-01T00:00:00Z")).unwrap();
    let doc = doctor(&host, &env.dir, &[]);
    assert_eq!(
        severity(&doc, "lnraid", "snapshot_age"),
        "warn",
        "{}",
        summary(&doc)
    );
    let now = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    fs::create_dir_all(snaps.join(now)).unwrap();
    let doc = doctor(&host, &env.dir, &[]);
    assert_eq!(
        severity(&doc, "lnraid", "snapshot_age"),
        "ok",
        "{}",
        summary(&doc)
    );

    // Schedule with an alert command, then a recorded scrub.
    let out = env.lnraid_host(&[
        "schedule",
        "install",
        "--scheduler",
        "cron",
        "--cron-dir",
        cron.to_str().unwrap(),
        "--alert-command",
        "true",
    ]);
    assert!(out.status.success(), "{}{}", out.stdout, out.stderr);
    let doc = doctor(&host, &env.dir, &[]);
    assert_eq!(
        severity(&doc, "lnraid", "maintenance"),
        "warn",
        "{}",
        summary(&doc)
    );
    assert_eq!(severity(&doc, "lnraid", "alert"), "info");
    let locks = env.tmp.path().join("bm-locks");
    fs::create_dir_all(&locks).unwrap();
    let out = env.lnraid_host(&[
        "maintain",
        "scrub",
        &mp,
        "--btrfsmaintenance-lock-dir",
        locks.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}{}", out.stdout, out.stderr);
    let doc = doctor(&host, &env.dir, &[]);
    assert_eq!(
        severity(&doc, "lnraid", "maintenance"),
        "ok",
        "{}",
        summary(&doc)
    );
}
