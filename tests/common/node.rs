//! A btrfs RAID-1 on two loop devices with the node's home as a subvolume, a DEST filesystem
//! on its own loop device, and the backup helpers the hot-copy tests share. Field order is drop order: unmounted before the devices are detached.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use super::common::{assert_ok, lnraid, mountpoint_dir, sh, tempdir, LoopDev, Mounted};
use lnraid::testkit::{generate_node_dir, NodeSpec};

pub struct BtrfsNode {
    pub tmp: tempfile::TempDir,
    pub home: PathBuf,
    pub mnt: Mounted,
    pub a: LoopDev,
    pub b: LoopDev,
}

impl BtrfsNode {
    /// `subvolume`: make the home a subvolume (what setup does now) or a plain directory (an
    /// array set up before).
    pub fn new(name: &str, spec: &NodeSpec, size: &str, subvolume: bool) -> BtrfsNode {
        let tmp = tempdir();
        let a = LoopDev::new(tmp.path(), "a", size, false);
        let b = LoopDev::new(tmp.path(), "b", size, false);
        let uuid = lnraid::app::ids::random_fs_uuid().to_string();
        sh(
            "mkfs.btrfs",
            &[
                "-q", "-U", &uuid, "-m", "raid1", "-d", "raid1", &a.path, &b.path,
            ],
        );
        sh("btrfs", &["device", "scan", &a.path, &b.path]);
        let mnt = Mounted::new(&a.path, &mountpoint_dir(name), &[]);
        let home = mnt.dir.join("bitcoin");
        let gen = tmp.path().join("gen");
        generate_node_dir(&gen, spec).unwrap();
        if subvolume {
            sh("btrfs", &["subvolume", "create", home.to_str().unwrap()]);
        } else {
            std::fs::create_dir(&home).unwrap();
        }
        sh(
            "cp",
            &[
                "-a",
                &format!("{}/.", gen.display()),
                home.to_str().unwrap(),
            ],
        );
        sh("rm", &["-rf", gen.to_str().unwrap()]);
        BtrfsNode {
            tmp,
            home,
            mnt,
            a,
            b,
        }
    }

    pub fn db(&self) -> PathBuf {
        self.home.join("lightningd.sqlite3")
    }

    pub fn snapdir(&self) -> PathBuf {
        self.mnt.dir.join(".lnraid-snapshots/bitcoin")
    }
}

/// Opens a COPY of the database in `dir` (with its journal, rolled back as lightningd would)
/// and returns the writer's counter.
pub fn counter_of_copy(dir: &Path, scratch: &Path) -> i64 {
    std::fs::create_dir_all(scratch).unwrap();
    for s in ["", "-journal", "-wal"] {
        let src = dir.join(format!("lightningd.sqlite3{s}"));
        if src.exists() {
            std::fs::copy(&src, scratch.join(format!("lightningd.sqlite3{s}"))).unwrap();
        }
    }
    let c = rusqlite::Connection::open(scratch.join("lightningd.sqlite3")).unwrap();
    c.query_row(
        "SELECT intval FROM vars WHERE name='lnraid_counter'",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

/// A DEST filesystem on its own loop device (unmounted before it is detached).
pub struct Dest {
    pub mnt: Mounted,
    _dev: LoopDev,
}

/// `mkfs`: the command and its options (the device is appended), e.g. `["mkfs.ext4", "-q", "-F"]`.
pub fn dest(n: &BtrfsNode, name: &str, mkfs: &[&str]) -> Dest {
    let dev = LoopDev::new(n.tmp.path(), name, "1G", false);
    let mut args = mkfs[1..].to_vec();
    args.push(&dev.path);
    sh(mkfs[0], &args);
    let mnt = Mounted::new(&dev.path, &mountpoint_dir(name), &[]);
    Dest { mnt, _dev: dev }
}

/// `lnraid backup --lightning-dir HOME --to DEST EXTRA...`, which must succeed; the newest
/// backup at DEST.
pub fn backup_with(home: &Path, dest: &Path, extra: &[&str]) -> lnraid::hotcopy::dest::Found {
    let mut args = vec![
        "backup",
        "--lightning-dir",
        home.to_str().unwrap(),
        "--to",
        dest.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = lnraid(&args);
    assert_ok(&out);
    lnraid::hotcopy::dest::list(dest).unwrap().pop().unwrap()
}

pub fn same_bytes(a: &Path, b: &Path) {
    let read = |p: &Path| std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    assert!(
        read(a) == read(b),
        "{} differs from {}",
        a.display(),
        b.display()
    );
}

/// Every table's row count, by name: the committed state of a database (opened on a scratch
/// copy so the original's bytes stay as they are).
pub fn db_state(db: &Path, scratch: &Path) -> Vec<(String, i64)> {
    std::fs::create_dir_all(scratch).unwrap();
    let copy = scratch.join("db.sqlite3");
    std::fs::copy(db, &copy).unwrap();
    let c = rusqlite::Connection::open(&copy).unwrap();
    let mut s = c
        .prepare("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
        .unwrap();
    let names: Vec<String> = s
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    names
        .into_iter()
        .map(|n| {
            let k: i64 = c
                .query_row(&format!("SELECT count(*) FROM \"{n}\""), [], |r| r.get(0))
                .unwrap();
            (n, k)
        })
        .collect()
}
