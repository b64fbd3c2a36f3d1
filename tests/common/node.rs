//! A btrfs RAID-1 on two loop devices with the node's home as a subvolume, for the hot-copy
//! tests. Field order is drop order: unmounted before the devices are detached.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use super::common::{mountpoint_dir, sh, tempdir, LoopDev, Mounted};
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
