//! `lnraid backup`, `restore` and `snapshot migrate` on real loop devices (root; visible
//! SKIPPED otherwise): the node on a btrfs RAID-1 subvolume, DEST on ext4 and on btrfs.

mod common;
#[path = "common/node.rs"]
mod node;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{lnraid, sh, KillOnDrop};
use lnraid::exec::ExitStatus;
use lnraid::testkit::NodeSpec;
use node::{backup_with, dest, same_bytes, BtrfsNode};

fn spec() -> NodeSpec {
    NodeSpec {
        db_bytes: 16 << 20,
        gossip_bytes: 1 << 20,
        hot_journal: false,
    }
}

fn backup(home: &Path, dest: &Path) -> serde_json::Value {
    serde_json::to_value(backup_with(home, dest, &[]).manifest.expect("a manifest")).unwrap()
}

#[test]
fn backup_to_ext4_is_a_verified_copy_lightningd_cannot_start() {
    let _lock = device_test!("backup_to_ext4_is_a_verified_copy_lightningd_cannot_start");
    let n = BtrfsNode::new("bk4", &spec(), "1G", true);
    let d = dest(&n, "ext4", &["mkfs.ext4", "-q", "-F"]);
    let m = backup(&n.home, &d.mnt.dir);
    let name = m["name"].as_str().unwrap();
    let b = d.mnt.dir.join(name);
    let snap = n.snapdir().join(name);
    assert_eq!(m["layout"], "files");
    for (in_backup, in_node) in [
        ("lightningd.sqlite3.lnraid-backup", "lightningd.sqlite3"),
        ("hsm_secret.lnraid-backup", "hsm_secret"),
        ("config", "config"),
        ("emergency.recover", "emergency.recover"),
        ("gossip_store", "gossip_store"),
    ] {
        same_bytes(&b.join(in_backup), &snap.join(in_node));
    }
    let mode = fs::metadata(b.join("hsm_secret.lnraid-backup"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o400);
    // lightningd --lightning-dir=DEST (or DEST/<name>) finds no node: nothing with its names.
    for dir in [d.mnt.dir.clone(), b.clone()] {
        assert!(
            !dir.join("lightningd.sqlite3").exists() && !dir.join("hsm_secret").exists(),
            "{}",
            dir.display()
        );
        assert!(!dir.join("bitcoin").exists());
    }
    assert!(fs::read_to_string(d.mnt.dir.join("README"))
        .unwrap()
        .contains("Do NOT point lightningd"));
    assert!(b.join("MANIFEST").is_file() && b.join("README").is_file());
    let files = m["files"].as_array().unwrap();
    assert!(files
        .iter()
        .any(|f| f["path"] == "lightningd.sqlite3.lnraid-backup"
            && f["blake3"].as_str().unwrap().len() == 64));
}

#[test]
fn backup_to_btrfs_is_incremental_and_read_only() {
    let _lock = device_test!("backup_to_btrfs_is_incremental_and_read_only");
    let n = BtrfsNode::new("bkb", &spec(), "1G", true);
    let d = dest(&n, "btrfs", &["mkfs.btrfs", "-q", "-f"]);
    let first = backup(&n.home, &d.mnt.dir);
    assert_eq!(first["layout"], "btrfs_receive");
    assert!(first["parent"].is_null());
    let full = first["transferred"].as_u64().unwrap();
    assert!(full > 16 << 20, "{first}");
    // The node commits a little; the next backup sends only that.
    let c = rusqlite::Connection::open(n.db()).unwrap();
    c.execute(
        "UPDATE vars SET val = 'changed' WHERE name = 'lnraid_marker'",
        [],
    )
    .unwrap();
    drop(c);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = backup(&n.home, &d.mnt.dir);
    assert_eq!(second["parent"], first["name"], "{second}");
    let inc = second["transferred"].as_u64().unwrap();
    assert!(inc < full / 8, "incremental {inc} bytes vs full {full}");
    for m in [&first, &second] {
        let name = m["name"].as_str().unwrap();
        let (snap, got) = (n.snapdir().join(name), d.mnt.dir.join(name));
        for f in [
            "lightningd.sqlite3",
            "hsm_secret",
            "config",
            "gossip_store",
            "emergency.recover",
        ] {
            same_bytes(&got.join(f), &snap.join(f));
        }
        // Read-only as received: lightningd could not write its database or socket there.
        let e = fs::write(got.join("probe"), b"x").unwrap_err();
        assert_eq!(e.raw_os_error(), Some(nix::libc::EROFS), "{e}");
    }
    let got = d.mnt.dir.join(second["name"].as_str().unwrap());
    let v: String = rusqlite::Connection::open_with_flags(
        got.join("lightningd.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap()
    .query_row("SELECT val FROM vars WHERE name='lnraid_marker'", [], |r| {
        r.get(0)
    })
    .unwrap();
    assert_eq!(v, "changed");
}

#[test]
fn restore_refuses_while_lightningd_runs_then_keeps_the_current_state_aside() {
    let _lock =
        device_test!("restore_refuses_while_lightningd_runs_then_keeps_the_current_state_aside");
    let n = BtrfsNode::new("rst", &spec(), "1G", true);
    let d = dest(&n, "ext4r", &["mkfs.ext4", "-q", "-F"]);
    let m = backup(&n.home, &d.mnt.dir);
    let b = d.mnt.dir.join(m["name"].as_str().unwrap());
    // The node moves on after the backup.
    fs::write(
        n.home.join("config"),
        b"network=bitcoin\nalias=after-backup\n",
    )
    .unwrap();
    let bin = n.tmp.path().join("lightningd");
    fs::copy(common::which("sleep"), &bin).unwrap();
    let script = format!(
        "cd '{}' && '{}' 300 >/dev/null 2>&1 & echo $!",
        n.home.display(),
        bin.display()
    );
    let pid: i32 = sh("sh", &["-c", &script]).stdout.trim().parse().unwrap();
    let kill = KillOnDrop(pid);
    let args = [
        "restore",
        "--from",
        b.to_str().unwrap(),
        "--lightning-dir",
        n.home.to_str().unwrap(),
        "--yes",
    ];
    let out = lnraid(&args);
    assert_eq!(out.status, ExitStatus::Code(3), "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("lightningd (pid {pid})")),
        "{}",
        out.stderr
    );
    assert!(
        fs::read_to_string(n.home.join("config"))
            .unwrap()
            .contains("after-backup"),
        "untouched"
    );
    drop(kill);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let out = lnraid(&args);
    common::assert_ok(&out);
    assert!(
        out.stderr.contains("LAST resort") && out.stderr.contains("old"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.contains("close all channels"), "{}", out.stdout);
    same_bytes(
        &n.home.join("lightningd.sqlite3"),
        &b.join("lightningd.sqlite3.lnraid-backup"),
    );
    same_bytes(
        &n.home.join("hsm_secret"),
        &b.join("hsm_secret.lnraid-backup"),
    );
    assert!(!n.home.join("MANIFEST").exists() && !n.home.join("README").exists());
    assert!(
        lnraid::hotcopy::snapshot::is_subvolume(&n.home).unwrap(),
        "restored as a subvolume"
    );
    let aside: Vec<_> = fs::read_dir(&n.mnt.dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("bitcoin.pre-restore-")
        })
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert!(
        fs::read_to_string(aside[0].join("config"))
            .unwrap()
            .contains("after-backup"),
        "kept aside"
    );
    let mode = fs::metadata(n.home.join("hsm_secret"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o400);
}

#[test]
fn migrate_turns_a_plain_home_into_a_subvolume_and_keeps_the_old() {
    let _lock = device_test!("migrate_turns_a_plain_home_into_a_subvolume_and_keeps_the_old");
    let n = BtrfsNode::new("mig", &spec(), "1G", false);
    let before = fs::read(n.db()).unwrap();
    let out = lnraid(&[
        "snapshot",
        "migrate",
        "--lightning-dir",
        n.home.to_str().unwrap(),
        "--yes",
    ]);
    common::assert_ok(&out);
    assert!(lnraid::hotcopy::snapshot::is_subvolume(&n.home).unwrap());
    assert_eq!(fs::read(n.db()).unwrap(), before);
    assert!(out.stdout.contains("pre-subvolume"), "{}", out.stdout);
    let out = lnraid(&[
        "snapshot",
        "create",
        "--lightning-dir",
        n.home.to_str().unwrap(),
    ]);
    assert_eq!(out.status, ExitStatus::Code(0), "{}", out.stderr);
}
