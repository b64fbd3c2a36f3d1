//! Fixtures for maintain's and schedule's plans on the executor (the fake runner, a temp dir
//! for the files), shared by the dry-run property test and the fail/resume tests.

use std::fs;
use std::path::{Path, PathBuf};

use super::*;
use crate::cli::BalanceRecipe;
use crate::plan::maintain::{plan_balance, plan_scrub, Locks};
use crate::plan::schedule::{plan_install, plan_remove, AlertStep, ConfigChange, DirChanges};
use crate::plan::Secret;
use crate::schedule::{
    plan_changes, plan_schedule, Change, Installed, ScheduleSpec, ScheduledArray, Scheduler,
};

pub const SCRUB_STATUS: &str =
    include_str!("../../../fixtures/btrfs-scrub-status/6.14-finished-clean.txt");
pub const BALANCE_NONE: &str = include_str!("../../../fixtures/btrfs-balance-status/6.2-none.txt");

/// A plan, the fake that answers its commands, and a temp dir for its files.
pub struct Ops {
    pub tmp: tempfile::TempDir,
    pub fake: FakeRunner,
    pub plan: Plan,
}

impl Ops {
    fn new(plan: impl FnOnce(&Path) -> Plan) -> Ops {
        let tmp = tempfile::tempdir().unwrap();
        let plan = plan(tmp.path());
        let fake = FakeRunner::new();
        for c in plan.commands() {
            fake.reply(&c, Output::ok("Done, had to relocate 1 out of 7 chunks\n"));
        }
        fake.reply_prefix("btrfs scrub status", Output::ok(SCRUB_STATUS));
        fake.reply_prefix("btrfs balance status", Output::exited(0, BALANCE_NONE, ""));
        Ops { tmp, fake, plan }
    }

    pub fn journal(&self) -> Journal<()> {
        Journal::new(
            Some(self.tmp.path().join("state/ops-journal.json")),
            (),
            self.plan.clone(),
        )
    }

    pub fn reload(&self) -> Journal<()> {
        Journal::load(&self.tmp.path().join("state/ops-journal.json"))
            .unwrap()
            .unwrap()
    }

    /// The files below the temp dir (the state dir left out): what a run leaves.
    pub fn files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        tree(self.tmp.path())
            .into_iter()
            .filter(|(p, _)| !p.starts_with("state"))
            .collect()
    }

    /// Walks the whole plan; (the plan's commands, the mutating commands run).
    pub fn run(&self) -> (Vec<String>, Vec<String>) {
        let m = FakeMachine::new(&self.fake);
        walk(
            &walker(&self.fake, &m),
            &mut self.journal(),
            &self.plan,
            &report,
        )
        .unwrap();
        (lines(&self.plan.commands()), mutations(&self.fake, 0))
    }
}

pub fn lines(cmds: &[Cmd]) -> Vec<String> {
    cmds.iter().map(ToString::to_string).collect()
}

/// The mutating commands `fake` ran from index `from` on.
pub fn mutations(fake: &FakeRunner, from: usize) -> Vec<String> {
    fake.commands()[from..]
        .iter()
        .filter(|c| c.effect == Effect::Mutating)
        .map(ToString::to_string)
        .collect()
}

fn locks(t: &Path) -> Locks {
    Locks {
        ours: t.join("lock/lnraid-maintain.lock"),
        btrfsmaintenance: t.join("run/btrfs-maintenance-running"),
    }
}

pub fn scrub() -> Ops {
    Ops::new(|t| {
        plan_scrub(
            &t.join("mnt"),
            &FsUuid::parse(U).unwrap(),
            None,
            1 << 20,
            &locks(t),
        )
    })
}

pub fn balance() -> Ops {
    Ops::new(|t| {
        plan_balance(
            &t.join("mnt"),
            &FsUuid::parse(U).unwrap(),
            BalanceRecipe::ClnGuide,
            &locks(t),
        )
    })
}

fn spec() -> ScheduleSpec {
    let mut s = ScheduleSpec::with_defaults(
        "/usr/bin/lnraid".into(),
        vec![ScheduledArray {
            uuid: FsUuid::parse(U).unwrap(),
            mountpoint: "/mnt/lnraid".into(),
        }],
    );
    s.monitor = Some(Default::default());
    s
}

/// A file of ours installed earlier that the new schedule no longer has.
fn stale(dir: &Path, name: &str) -> Installed {
    let path = dir.join(name);
    let content = format!("{}\nold\n", crate::schedule::MARKER);
    fs::create_dir_all(dir).unwrap();
    fs::write(&path, &content).unwrap();
    Installed {
        path,
        content,
        mode: 0o644,
    }
}

/// `schedule install` with systemd live: the alert file and config first, the old cron file
/// removed, the units written, one timer already running.
pub fn install() -> Ops {
    Ops::new(|t| {
        let units = t.join("units");
        let desired = plan_schedule(&spec(), Scheduler::Systemd, &units).unwrap();
        let mut installed: Vec<Installed> = desired[..2]
            .iter()
            .map(|f| Installed {
                path: f.path.clone(),
                content: f.content.clone(),
                mode: f.mode,
            })
            .collect();
        for i in &installed {
            fs::create_dir_all(&units).unwrap();
            fs::write(&i.path, &i.content).unwrap();
        }
        installed.push(stale(&units, "lnraid-scrub-old.timer"));
        let systemd = DirChanges {
            scheduler: Scheduler::Systemd,
            live: true,
            changes: plan_changes(&desired, &installed),
            running: vec!["lnraid-balance-mnt-lnraid.timer".into()],
        };
        let cron = DirChanges {
            scheduler: Scheduler::Cron,
            live: false,
            changes: vec![Change::Remove(stale(&t.join("cron"), "lnraid"))],
            running: vec![],
        };
        let config = ConfigChange {
            path: t.join("etc/lnraid.toml"),
            content: "version = 1\n".into(),
            header: "new".into(),
            diff: "+version = 1\n".into(),
        };
        let alert = AlertStep::Write {
            path: t.join("etc/alert-command"),
            secret: Secret("logger -t lnraid".into()),
            header: "new".into(),
        };
        plan_install(
            "install".into(),
            Some(config),
            Some(alert),
            &[systemd, cron],
        )
    })
}

/// `schedule remove` with systemd live.
pub fn remove() -> Ops {
    Ops::new(|t| {
        let units = t.join("units");
        let changes = [
            "lnraid-scrub-mnt-lnraid.service",
            "lnraid-scrub-mnt-lnraid.timer",
        ]
        .iter()
        .map(|n| Change::Remove(stale(&units, n)))
        .collect();
        plan_remove(
            "remove".into(),
            &[DirChanges {
                scheduler: Scheduler::Systemd,
                live: true,
                changes,
                running: vec![],
            }],
        )
    })
}
