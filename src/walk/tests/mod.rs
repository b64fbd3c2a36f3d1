//! The executor with the recording fake runner and a scripted machine: no root, no devices.
//! Each test can fail: they assert the exact commands run, their order relative to the
//! re-proofs, and the state a failure leaves. `fixture()` builds a real node directory (a
//! real SQLite database) in a temp dir; only devices and mounts are fake.

mod abort;
mod dry_run;
mod md;
mod md_recover;
mod ops;
mod recover;
mod replace;
mod setup;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;

use super::{walk, Journal, Machine, Walker};
use crate::exec::{Cmd, Effect, FakeRunner, Output, Runner};
use crate::plan::setup::{plan_setup, Profile, SetupRequest};
use crate::plan::{Plan, Step, Target};
use crate::probe::blkid::{probe_identity, Identity};
use crate::probe::lsblk::BlockDev;
use crate::probe::procs::UsingProcess;
use crate::probe::snapshot::{Exclusive, IdentityProbe, Resolved, Snapshot};
use crate::types::{Bytes, DevNum, DevPath, FsUuid};

pub const U: &str = "5d1c0e2a-1111-2222-3333-444455556666";
pub const DEVS: [&str; 2] = ["/dev/fake0", "/dev/fake1"];

pub fn blank() -> Output {
    Output::exited(2, "", "")
}

pub fn btrfs(dev: &str, uuid: &str, sub: u8) -> Output {
    Output::ok(format!(
        "DEVNAME={dev}\nLABEL=lnraid\nUUID={uuid}\nUUID_SUB={sub:08x}-0000-4000-8000-000000000000\nBLOCK_SIZE=4096\nTYPE=btrfs\nUSAGE=filesystem\n"
    ))
}

pub fn ext4(dev: &str, label: &str) -> Output {
    Output::ok(format!(
        "DEVNAME={dev}\nLABEL={label}\nUUID=0b3c6f1e-9d1a-4f43-a0f7-0b6c9bd7a001\nBLOCK_SIZE=4096\nTYPE=ext4\nUSAGE=filesystem\n"
    ))
}

pub fn blkid_line(dev: &str) -> String {
    format!("blkid -p -o export {dev}")
}

fn block(path: &str, minor: u32) -> BlockDev {
    BlockDev {
        path: DevPath::new(path),
        kind: "disk".into(),
        size: Bytes(8 * Bytes::GIB),
        read_only: false,
        removable: false,
        rotational: false,
        transport: None,
        model: Some("FAKE DISK".into()),
        serial: None,
        mountpoint: None,
        fstype_hint: None,
        devnum: Some(DevNum { major: 250, minor }),
        parents: vec![],
    }
}

/// A scripted machine. Devices are read with `blkid -p` through the fake runner, so the
/// runner's log shows every re-proof; "mounted" follows the mount/umount commands run.
pub struct FakeMachine<'a> {
    pub runner: &'a FakeRunner,
    pub devices: RefCell<Vec<BlockDev>>,
    pub stable: RefCell<HashMap<DevPath, Vec<String>>>,
    pub busy: RefCell<HashSet<DevPath>>,
    pub nodes: RefCell<Vec<UsingProcess>>,
    pub mounts: RefCell<Vec<crate::probe::mounts::Mount>>,
    pub mounted_before: RefCell<HashSet<PathBuf>>,
}

impl<'a> FakeMachine<'a> {
    pub fn new(runner: &'a FakeRunner) -> FakeMachine<'a> {
        FakeMachine {
            runner,
            devices: RefCell::new(vec![block(DEVS[0], 0), block(DEVS[1], 1)]),
            stable: RefCell::new(HashMap::new()),
            busy: RefCell::new(HashSet::new()),
            nodes: RefCell::new(vec![]),
            mounts: RefCell::new(vec![]),
            mounted_before: RefCell::new(HashSet::new()),
        }
    }

    #[allow(dead_code)]
    pub fn block(&self, dev: &str) -> BlockDev {
        self.devices
            .borrow()
            .iter()
            .find(|d| d.path.as_path() == Path::new(dev))
            .cloned()
            .unwrap()
    }

    pub fn start_node(&self, dir: &Path) {
        self.nodes.borrow_mut().push(UsingProcess {
            pid: 4242,
            name: "lightningd".into(),
            why: format!("--lightning-dir={}", dir.display()),
        });
    }
}

impl Machine for FakeMachine<'_> {
    fn resolve(&self, given: &Path) -> Result<Resolved> {
        let b = self
            .devices
            .borrow()
            .iter()
            .find(|d| d.path.as_path() == given)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("{}: no such file", given.display()))?;
        Ok(Resolved {
            given: given.to_path_buf(),
            path: b.path.clone(),
            devnum: b.devnum.unwrap(),
        })
    }

    fn snapshot(&self, runner: &dyn Runner) -> Result<Snapshot> {
        let devices = self.devices.borrow().clone();
        let mut identities = BTreeMap::new();
        let mut exclusive = BTreeMap::new();
        for d in &devices {
            let id = match probe_identity(runner, &d.path) {
                Ok(i) => IdentityProbe::Known(i),
                Err(e) => IdentityProbe::Unreadable {
                    error: e.to_string(),
                },
            };
            identities.insert(d.path.clone(), id);
            exclusive.insert(d.path.clone(), self.exclusive(&d.path));
        }
        Ok(Snapshot {
            devices,
            identities,
            exclusive,
            mounts: self.mounts.borrow().clone(),
            ..Snapshot::default()
        })
    }

    fn stable_ids(&self, dev: &DevPath, _id: Option<&Identity>) -> Vec<String> {
        self.stable.borrow().get(dev).cloned().unwrap_or_default()
    }

    fn exclusive(&self, dev: &DevPath) -> Exclusive {
        // As the kernel does: a member of a mounted filesystem cannot be opened O_EXCL.
        let member_mounted = self.runner.commands().iter().any(|c| {
            c.program == "mount"
                && c.args
                    .iter()
                    .any(|a| a.as_str() == dev.as_path().to_string_lossy())
                && c.args
                    .last()
                    .is_some_and(|mp| self.is_mounted(Path::new(mp)).unwrap_or(false))
        });
        if self.busy.borrow().contains(dev) || member_mounted {
            Exclusive::Busy
        } else {
            Exclusive::Free
        }
    }

    fn holders(&self, dev: &DevPath) -> Vec<String> {
        if self.busy.borrow().contains(dev) {
            vec!["mkfs.btrfs (pid 77)".into()]
        } else {
            vec![]
        }
    }

    /// Read-only when the last mount command onto `mp` asked for `ro` (recover's hook).
    fn is_read_only(&self, mp: &Path) -> Result<bool> {
        let m = mp.to_string_lossy();
        Ok(self
            .runner
            .commands()
            .iter()
            .rev()
            .find(|c| c.program == "mount" && c.args.last().map(String::as_str) == Some(&m))
            .is_some_and(|c| {
                c.args
                    .windows(2)
                    .any(|w| w[0] == "-o" && w[1].split(',').any(|o| o == "ro"))
            }))
    }

    fn is_mounted(&self, mp: &Path) -> Result<bool> {
        let m = mp.to_string_lossy();
        let mut mounted = self.mounted_before.borrow().contains(mp);
        for c in self.runner.commands() {
            let last = c.args.last().map(String::as_str);
            if c.program == "mount" && last == Some(&m) {
                mounted = true;
            }
            if c.program == "umount" && last == Some(&m) {
                mounted = false;
            }
        }
        Ok(mounted)
    }

    /// hotcopy: a path below a mounted mountpoint of the fixture is on the plan's filesystem.
    fn btrfs_uuid(&self, path: &Path) -> Result<Option<String>> {
        let mp = path.parent().unwrap_or(path);
        Ok(self.is_mounted(mp)?.then(|| U.to_string()))
    }

    fn node_users(&self, dir: &Path) -> Vec<UsingProcess> {
        self.nodes
            .borrow()
            .iter()
            .filter(|p| p.why.contains(&dir.display().to_string()))
            .cloned()
            .collect()
    }
}

/// A node directory, two fake devices, and a setup request for them.
pub struct Fx {
    pub tmp: tempfile::TempDir,
    pub req: SetupRequest,
    pub fake: FakeRunner,
}

impl Fx {
    pub fn new(wipe: bool, confirmed: [Output; 2]) -> Fx {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("node/bitcoin");
        fs::create_dir_all(dir.join("plugins")).unwrap();
        let c = rusqlite::Connection::open(dir.join("lightningd.sqlite3")).unwrap();
        c.execute_batch("CREATE TABLE vars (name, val); INSERT INTO vars VALUES ('k', 'v');")
            .unwrap();
        drop(c);
        fs::write(dir.join("hsm_secret"), [7u8; 32]).unwrap();
        fs::write(dir.join("config"), "network=bitcoin\n").unwrap();
        fs::write(dir.join("plugins/readme"), "x").unwrap();
        fs::write(tmp.path().join("fstab"), "# test fstab\n").unwrap();
        let fake = FakeRunner::new();
        let targets = DEVS
            .iter()
            .zip(&confirmed)
            .enumerate()
            .map(|(i, (d, out))| {
                let id = crate::probe::blkid::parse_blkid_export(&out.stdout).unwrap();
                Target::new(PathBuf::from(d), &block(d, i as u32), Some(&id), vec![])
            })
            .collect();
        let req = SetupRequest {
            lightning_dir: dir,
            devices: DEVS.iter().map(DevPath::new).collect(),
            targets,
            profile: Profile::Raid1,
            mountpoint: tmp.path().join("mnt"),
            mountpoint_existed: false,
            label: "lnraid".into(),
            fs_uuid: FsUuid::parse(U).unwrap(),
            owner: None,
            wipe,
            autodefrag: false,
            fstab: tmp.path().join("fstab"),
            dropin: Some(tmp.path().join("units/lightningd.service.d/lnraid.conf")),
            daemon_reload: false,
            timestamp: "20260101T000000Z".into(),
            has_database: true,
            schedule: None,
            backend: Default::default(),
            md: None,
        };
        let fx = Fx { tmp, req, fake };
        for (i, (d, out)) in DEVS.iter().zip(confirmed).enumerate() {
            fx.fake
                .reply(&Cmd::read_only("blkid", ["-p", "-o", "export", d]), out);
            fx.fake
                .reply(&crate::plan::wipe_cmd(&DevPath::new(d)), Output::ok(""));
            fx.fake
                .reply_after(&format!("wipefs --all {d}"), &blkid_line(d), blank());
            fx.fake
                .reply_after(&fx.mkfs_line(), &blkid_line(d), btrfs(d, U, i as u8));
        }
        for c in fx.plan().commands() {
            fx.fake.reply(&c, Output::ok(""));
        }
        fx.fake.reply_prefix(
            "findmnt --verify",
            Output::ok("Success, no errors or warnings detected\n"),
        );
        fx.fake
            .reply_prefix("btrfs device scan --forget", Output::ok(""));
        fx.fake.reply_prefix("chattr -i ", Output::ok(""));
        // hotcopy: setup's subvolume step (the fake creates nothing; the copy makes a dir).
        fx.fake
            .reply_prefix("btrfs subvolume create ", Output::ok(""));
        fx.fake
            .reply_prefix("btrfs subvolume delete ", Output::ok(""));
        fx.fake.reply_prefix("umount ", Output::ok(""));
        fx
    }

    pub fn mkfs_line(&self) -> String {
        format!(
            "mkfs.btrfs -U {U} -L lnraid -m raid1 -d raid1 {} {}",
            DEVS[0], DEVS[1]
        )
    }

    pub fn plan(&self) -> Plan {
        plan_setup(&self.req, "")
    }

    pub fn journal(&self) -> Journal<SetupRequest> {
        Journal::new(
            Some(self.tmp.path().join("state/setup-journal.json")),
            self.req.clone(),
            self.plan(),
        )
    }

    /// The journal as saved on disk (what a resumed process reads).
    pub fn reload(&self) -> Journal<SetupRequest> {
        Journal::load(&self.tmp.path().join("state/setup-journal.json"))
            .unwrap()
            .unwrap()
    }

    pub fn dir(&self) -> &Path {
        &self.req.lightning_dir
    }

    /// Mutating commands the fake ran since `from`.
    pub fn mutations_since(&self, from: usize) -> Vec<String> {
        self.fake.commands()[from..]
            .iter()
            .filter(|c| c.effect == Effect::Mutating)
            .map(ToString::to_string)
            .collect()
    }
}

pub fn walker<'a>(fake: &'a FakeRunner, m: &'a FakeMachine<'a>) -> Walker<'a> {
    let mut w = Walker::new(fake, m);
    w.busy_wait = Duration::from_millis(0);
    w
}

pub fn report<R>(_: &Journal<R>, s: &Step) -> String {
    format!("stopped at {}", s.id)
}

/// Walks `plan` up to and including step `last` (a run killed right after it).
pub fn walk_until(w: &Walker, j: &mut Journal<SetupRequest>, plan: &Plan, last: &str) {
    let n = plan.steps.iter().position(|s| s.id == last).unwrap();
    let prefix = Plan {
        steps: plan.steps[..=n].to_vec(),
        ..plan.clone()
    };
    walk(w, j, &prefix, &report).unwrap();
}

/// A listing of every file below `dir` with its content (for "intact" comparisons).
pub fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    fn go(root: &Path, d: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        let mut es: Vec<_> = fs::read_dir(d).unwrap().flatten().collect();
        es.sort_by_key(|e| e.file_name());
        for e in es {
            let p = e.path();
            if p.is_dir() {
                go(root, &p, out);
            } else {
                out.push((p.strip_prefix(root).unwrap().into(), fs::read(&p).unwrap()));
            }
        }
    }
    go(dir, dir, &mut out);
    out
}
