//! recover's plan on the executor, without root: the fake runner plays `mount`/`umount`, the
//! scripted machine says a mount is read-only only when it was asked for `ro`, and the array's
//! "mounted" files are a generated node directory already in place below the mountpoint (on
//! /dev/shm, another filesystem than DEST's). The dry-run property (what the plan prints is
//! what runs), the copy-out verified with its MANIFEST, and a failure at each step leaving
//! nothing mounted after the caller's cleanup step.

use super::*;
use crate::backend::btrfs::recover::plan::{plan_recover, tests::array};
use crate::plan::recover::unmount_step;
use crate::plan::Action;

pub struct Rx {
    pub fake: FakeRunner,
    /// Holds the mountpoint's parent (on /dev/shm).
    pub shm: tempfile::TempDir,
    pub tmp: tempfile::TempDir,
}

/// `None` (with a visible SKIPPED) where /dev/shm is missing.
pub fn rx() -> Option<Rx> {
    if !Path::new("/dev/shm").is_dir() {
        println!("SKIPPED: recover's walk test needs /dev/shm (a second filesystem)");
        return None;
    }
    let shm = tempfile::Builder::new()
        .prefix("lnraid-test-")
        .tempdir_in("/dev/shm")
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    crate::testkit::generate_node_dir(
        &shm.path().join("mnt/bitcoin"),
        &crate::testkit::NodeSpec {
            db_bytes: 64 << 10,
            gossip_bytes: 4 << 10,
            hot_journal: false,
        },
    )
    .unwrap();
    let fake = FakeRunner::new();
    // The survivor /dev/sdb of the sample array carries the filesystem, as blkid -p reads it.
    fake.reply(
        &crate::exec::Cmd::read_only("blkid", ["-p", "-o", "export", "/dev/sdb"]),
        btrfs("/dev/sdb", U, 0),
    );
    for prefix in ["btrfs device scan /dev/sdb", "mount ", "umount "] {
        fake.reply_prefix(prefix, Output::ok(""));
    }
    Some(Rx { fake, shm, tmp })
}

impl Rx {
    pub fn plan(&self) -> Plan {
        plan_recover(
            &array(false),
            &self.tmp.path().join("rescued"),
            None,
            false,
            &self.shm.path().join("mnt"),
        )
    }

    pub fn journal(&self, plan: &Plan) -> Journal<()> {
        Journal::new(
            Some(self.tmp.path().join("state/recover-journal.json")),
            (),
            plan.clone(),
        )
    }
}

/// (printed, ran) for the dry-run property; `None` where the test cannot run.
fn walk_recover() -> Option<(Vec<String>, Vec<String>)> {
    let r = rx()?;
    let m = FakeMachine::new(&r.fake);
    let plan = r.plan();
    walk(&walker(&r.fake, &m), &mut r.journal(&plan), &plan, &report).unwrap();
    let dest = r.tmp.path().join("rescued");
    let manifest = crate::recover::copyout::read_manifest(&dest).unwrap();
    assert_eq!(manifest.source_dir, "bitcoin");
    assert_eq!(manifest.mount.options, "ro,degraded");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dest.join("hsm_secret"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o400);
    Some((
        super::ops::lines(&plan.commands()),
        super::ops::mutations(&r.fake, 0),
    ))
}

#[test]
fn a_mount_not_proven_read_only_stops_before_the_copy() {
    let Some(r) = rx() else { return };
    let m = FakeMachine::new(&r.fake);
    let mut plan = r.plan();
    // As if the kernel had ignored the options: the mount is asked without `ro`.
    for a in &mut plan.steps[1].actions {
        if let Action::Mount { options, .. } = a {
            *options = "degraded".into();
        }
    }
    let e = walk(&walker(&r.fake, &m), &mut r.journal(&plan), &plan, &report).unwrap_err();
    assert!(
        format!("{e:#}").contains("read-write although lnraid asked for read-only"),
        "{e:#}"
    );
    assert!(!r.tmp.path().join("rescued").exists(), "nothing copied");
    // The caller's cleanup: the plan's own unmount step.
    let clean = Plan::new("clean", vec![unmount_step(&r.shm.path().join("mnt"))]);
    walk(
        &walker(&r.fake, &m),
        &mut Journal::new(None, (), clean.clone()),
        &clean,
        &report,
    )
    .unwrap();
    assert!(!m.is_mounted(&r.shm.path().join("mnt")).unwrap());
}

#[test]
fn recover_fails_at_every_step_with_the_journal_naming_it() {
    let Some(probe) = rx() else { return };
    let ids: Vec<String> = probe.plan().steps.iter().map(|s| s.id.clone()).collect();
    for (k, id) in ids.iter().enumerate() {
        let r = rx().unwrap();
        let m = FakeMachine::new(&r.fake);
        let plan = r.plan();
        let mut w = walker(&r.fake, &m);
        w.inject = Some(id.clone());
        let mut j = r.journal(&plan);
        assert!(walk(&w, &mut j, &plan, &report).is_err(), "{id}");
        let saved: Journal<()> = Journal::load(&r.tmp.path().join("state/recover-journal.json"))
            .unwrap()
            .unwrap();
        assert_eq!(saved.completed, ids[..k].to_vec(), "failure at {id}");
        assert_eq!(saved.failed.as_deref(), Some(id.as_str()));
        if k <= 2 {
            assert!(
                !r.tmp.path().join("rescued/MANIFEST").exists(),
                "no MANIFEST before the copy step finished ({id})"
            );
        }
    }
}

/// (printed, ran) for dry_run.rs's EVERY_MUTATING_COMMAND (needs /dev/shm).
pub fn dry_run_case() -> (Vec<String>, Vec<String>) {
    walk_recover().expect("recover's walk test needs /dev/shm (a second filesystem)")
}
