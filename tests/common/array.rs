//! A test array: two loop devices, a generated node directory, redirected host paths, and
//! (with [`Env::with_array`]) a real `lnraid setup` on them. Field order is drop order: the
//! array is unmounted before the devices are detached.
#![allow(dead_code)]

use std::fs;
use std::path::PathBuf;

use super::common::{lnraid, mountpoint_dir, sh_any, tempdir, ArrayCleanup, LoopDev};
use lnraid::exec::ExitStatus;
use lnraid::testkit::{generate_node_dir, NodeSpec};

/// A fresh filesystem UUID per array: two arrays with one UUID (say, from tests running one
/// after another while the kernel still remembers the first) confuse btrfs's device registry
/// ("mount: File exists").
pub fn fresh_uuid() -> String {
    lnraid::app::ids::random_fs_uuid().to_string()
}

pub struct Env {
    pub uuid: String,
    pub tmp: tempfile::TempDir,
    pub dir: PathBuf,
    pub mp: PathBuf,
    _cleanup: ArrayCleanup,
    pub a: LoopDev,
    pub b: LoopDev,
}

impl Env {
    pub fn new(name: &str, spec: NodeSpec, size: &str) -> Env {
        let tmp = tempdir();
        let a = LoopDev::new(tmp.path(), "a", size, false);
        let b = LoopDev::new(tmp.path(), "b", size, false);
        let dir = tmp.path().join("home/.lightning/bitcoin");
        generate_node_dir(&dir, &spec).unwrap();
        fs::write(tmp.path().join("fstab"), "# lnraid test fstab\n\n").unwrap();
        let mp = mountpoint_dir(name);
        Env {
            uuid: fresh_uuid(),
            dir,
            _cleanup: ArrayCleanup {
                mountpoint: mp.clone(),
            },
            mp,
            a,
            b,
            tmp,
        }
    }

    pub fn small(name: &str) -> Env {
        Env::new(
            name,
            NodeSpec {
                db_bytes: 4 << 20,
                gossip_bytes: 2 << 20,
                hot_journal: true,
            },
            "1G",
        )
    }

    pub fn fstab(&self) -> PathBuf {
        self.tmp.path().join("fstab")
    }

    pub fn host_args(&self) -> Vec<String> {
        let t = self.tmp.path();
        [
            "--fstab",
            self.fstab().to_str().unwrap(),
            "--state-dir",
            t.join("state").to_str().unwrap(),
            "--unit-dir",
            t.join("units").to_str().unwrap(),
            "--lock-dir",
            t.join("lock").to_str().unwrap(),
        ]
        .map(String::from)
        .to_vec()
    }

    pub fn setup_args(&self, extra: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = [
            "setup",
            "--lightning-dir",
            self.dir.to_str().unwrap(),
            "--device",
            &self.a.path,
            "--device",
            &self.b.path,
            "--mountpoint",
            self.mp.to_str().unwrap(),
        ]
        .map(String::from)
        .to_vec();
        v.extend(self.host_args());
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    }

    pub fn run(&self, args: &[String]) -> lnraid::exec::Output {
        lnraid(&args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    pub fn devices_blank(&self) -> bool {
        [&self.a.path, &self.b.path].iter().all(|d| {
            let o = sh_any("blkid", &["-p", "-o", "export", d]);
            o.status == ExitStatus::Code(2) && o.stdout.is_empty()
        })
    }

    pub fn mounted(&self) -> bool {
        let mp = self.mp.to_str().unwrap();
        fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .lines()
            .any(|l| l.split(' ').nth(4) == Some(mp))
    }
}

impl Env {
    /// A small node directory already moved onto a healthy array by `lnraid setup`.
    pub fn with_array(name: &str, spec: NodeSpec) -> Env {
        let env = Env::new(name, spec, "1G");
        let out = env.run(&env.setup_args(&["--yes", "--fs-uuid", &env.uuid]));
        assert!(out.status.success(), "setup: {}{}", out.stdout, out.stderr);
        env
    }

    /// A small node (4 MiB database, no hot journal) on a healthy array: the arrange step of
    /// the status and maintain suites.
    pub fn small_array(name: &str) -> Env {
        Env::with_array(name, small_spec())
    }

    /// `lnraid status --json <extra> <host args>`: (exit code, document).
    pub fn status_json(&self, extra: &[&str]) -> (i32, serde_json::Value) {
        let mut args = vec!["status", "--json"];
        args.extend_from_slice(extra);
        let out = self.lnraid_host(&args);
        let doc: serde_json::Value = serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", out.stdout, out.stderr));
        (out.status.code().unwrap_or(-1), doc)
    }

    /// The job record `state/records/<uuid>/<job>.json`, if written.
    pub fn record(&self, job: &str) -> Option<serde_json::Value> {
        let p = self
            .tmp
            .path()
            .join(format!("state/records/{}/{job}.json", self.uuid));
        let text = fs::read_to_string(p).ok()?;
        Some(serde_json::from_str(&text).unwrap())
    }

    /// `lnraid <args> <host args>`.
    pub fn lnraid_host(&self, args: &[&str]) -> lnraid::exec::Output {
        let mut v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        v.extend(self.host_args());
        self.run(&v)
    }
}

/// The small node of the status and maintain suites: 4 MiB database, 2 MiB gossip store.
pub fn small_spec() -> NodeSpec {
    NodeSpec {
        db_bytes: 4 << 20,
        gossip_bytes: 2 << 20,
        hot_journal: false,
    }
}

/// The problem codes of the first array of a status document.
pub fn problem_codes(doc: &serde_json::Value) -> Vec<String> {
    doc["arrays"][0]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap().to_string())
        .collect()
}
