//! `replace` on the executor: the new device is re-proven (with `$LIGHTNINGDIR` protected)
//! before `wipe` and `replace`, also when resumed; a replacement the kernel already finished
//! is not started again; the final remount names a member, never `mount --fstab`.

use super::*;
use crate::app::replace::prepare::{plan_replace, ReplaceRequest};
use crate::plan::{Action, Check, Resume};

pub(super) const FINISHED: &str =
    include_str!("../../../fixtures/btrfs-replace-status/6.2-finished.txt");
const NEVER: &str = include_str!("../../../fixtures/btrfs-replace-status/6.2-never-started.txt");

pub(super) struct Rx {
    pub(super) fake: FakeRunner,
    pub(super) tmp: tempfile::TempDir,
    pub(super) req: ReplaceRequest,
}

pub(super) fn rx(new_contents: Output) -> Rx {
    let tmp = tempfile::tempdir().unwrap();
    let fake = FakeRunner::new();
    let id = crate::probe::blkid::parse_blkid_export(&new_contents.stdout).unwrap();
    let m = FakeMachine::new(&fake);
    let new = Target::new(DEVS[1].into(), &m.block(DEVS[1]), Some(&id), vec![]);
    drop(m);
    let req = ReplaceRequest {
        uuid: FsUuid::parse(U).unwrap(),
        mountpoint: tmp.path().join("array"),
        old_devid: 2,
        old_present: None,
        old_size: 4 * Bytes::GIB,
        new,
        lightning_dir: Some(tmp.path().join("node/bitcoin")),
        fstab_options: Some("defaults,nofail".into()),
        mount_degraded: false,
        profile: "raid1".into(),
    };
    fake.reply(
        &Cmd::read_only("blkid", ["-p", "-o", "export", DEVS[1]]),
        new_contents,
    );
    fake.reply(
        &Cmd::read_only("blkid", ["-p", "-o", "export", DEVS[0]]),
        btrfs(DEVS[0], U, 0),
    );
    fake.reply_prefix("btrfs replace status", Output::ok(NEVER));
    Rx { fake, tmp, req }
}

pub(super) fn plan(r: &Rx, wipe: bool) -> Plan {
    plan_replace(&r.req, &[DevPath::new(DEVS[0])], wipe, false, false, true)
}

#[test]
fn the_plan_types_its_safety_rules() {
    let r = rx(blank());
    let p = plan(&r, true);
    assert_eq!(
        p.protect, r.req.lightning_dir,
        "re-checks keep $LIGHTNINGDIR protected"
    );
    let replace = p.steps.iter().find(|s| s.id == "replace").unwrap();
    assert_eq!(replace.resume, Resume::AwaitKernel);
    for id in ["wipe", "replace"] {
        let s = p.steps.iter().find(|s| s.id == id).unwrap();
        assert!(
            s.checks.iter().any(|c| matches!(c, Check::Targets { devices, .. } if devices[0].as_path() == std::path::Path::new(DEVS[1]))),
            "{id} re-proves the new device"
        );
    }
    let remount = p.steps.iter().find(|s| s.id == "remount").unwrap();
    assert!(
        matches!(&remount.actions[1], Action::Mount { members, options, .. }
        if members[0].as_path() == std::path::Path::new(DEVS[1]) && options == "defaults,nofail")
    );
    assert!(p
        .commands()
        .iter()
        .all(|c| !c.args.iter().any(|a| a == "--fstab")));
}

pub(super) fn finish_replies(r: &Rx, p: &Plan) {
    // After the replace, the new device carries the array.
    let replace = p.steps.iter().find(|s| s.id == "replace").unwrap();
    let line = replace.commands().next().unwrap().to_string();
    r.fake
        .reply_after(&line, &blkid_line(DEVS[1]), btrfs(DEVS[1], U, 1));
    for c in p.commands() {
        r.fake.reply(&c, Output::ok(""));
    }
}

/// A whole replace walked on the fake: (the plan's commands, the mutating commands run, the
/// full log).
pub(super) fn walk_replace() -> (Vec<String>, Vec<String>, Vec<String>) {
    let r = rx(blank());
    let p = plan(&r, true);
    finish_replies(&r, &p);
    // The replace reports finished once it ran.
    let replace_line = p
        .commands()
        .iter()
        .find(|c| c.args.contains(&"replace".to_string()) && c.args.contains(&"start".to_string()))
        .unwrap()
        .to_string();
    let status = crate::probe::btrfs::replace::replace_status_cmd(&r.req.mountpoint).to_string();
    r.fake
        .reply_after(&replace_line, &status, Output::ok(FINISHED));
    let m = FakeMachine::new(&r.fake);
    m.mounted_before
        .borrow_mut()
        .insert(r.req.mountpoint.clone());
    let mut j: Journal<ReplaceRequest> = Journal::new(
        Some(r.tmp.path().join("state/replace-journal.json")),
        r.req.clone(),
        p.clone(),
    );
    walk(&walker(&r.fake, &m), &mut j, &p, &report).unwrap();
    let ran: Vec<String> = r
        .fake
        .commands()
        .iter()
        .filter(|c| c.effect == Effect::Mutating)
        .map(ToString::to_string)
        .collect();
    let planned: Vec<String> = p.commands().iter().map(ToString::to_string).collect();
    (planned, ran, r.fake.lines())
}

#[test]
fn executed_commands_equal_the_dry_run_and_the_remount_names_a_reproven_member() {
    let (planned, ran, log) = walk_replace();
    assert_eq!(ran, planned);
    let mount = log.iter().position(|l| l.starts_with("mount ")).unwrap();
    assert_eq!(
        log[mount - 1],
        blkid_line(DEVS[1]),
        "the member mounted was just read with blkid -p"
    );
}

#[test]
fn a_resumed_replace_rechecks_the_new_device() {
    let r = rx(blank());
    let p = plan(&r, false);
    finish_replies(&r, &p);
    // Killed before the kernel started it; the disk at the new path is now someone's ext4.
    r.fake.reply(
        &Cmd::read_only("blkid", ["-p", "-o", "export", DEVS[1]]),
        ext4(DEVS[1], "IMPORTANT"),
    );
    let m = FakeMachine::new(&r.fake);
    let mut j: Journal<ReplaceRequest> = Journal::new(None, r.req.clone(), p.clone());
    j.started = Some("replace".into());
    let rp = crate::walk::resume_plan(&j);
    let err = walk(&walker(&r.fake, &m), &mut j, &rp, &report).unwrap_err();
    assert!(format!("{err:#}").contains("IMPORTANT"), "{err:#}");
    assert!(r
        .fake
        .commands()
        .iter()
        .all(|c| c.effect == Effect::ReadOnly));
}

#[test]
fn a_resumed_replace_the_kernel_finished_is_not_started_again() {
    let r = rx(blank());
    let p = plan(&r, false);
    finish_replies(&r, &p);
    let status = crate::probe::btrfs::replace::replace_status_cmd(&r.req.mountpoint);
    r.fake.reply(&status, Output::ok(FINISHED));
    r.fake.reply(
        &Cmd::read_only("blkid", ["-p", "-o", "export", DEVS[1]]),
        btrfs(DEVS[1], U, 1),
    );
    let m = FakeMachine::new(&r.fake);
    m.mounted_before
        .borrow_mut()
        .insert(r.req.mountpoint.clone());
    let mut j: Journal<ReplaceRequest> = Journal::new(None, r.req.clone(), p.clone());
    j.started = Some("replace".into());
    let rp = crate::walk::resume_plan(&j);
    walk(&walker(&r.fake, &m), &mut j, &rp, &report).unwrap();
    assert!(
        r.fake.lines().iter().all(|l| !l.contains("replace start")),
        "{:?}",
        r.fake.lines()
    );
}

#[test]
fn the_new_device_backing_the_node_directory_is_refused() {
    let r = rx(blank());
    let p = plan(&r, false);
    let m = FakeMachine::new(&r.fake);
    let node = r.req.lightning_dir.clone().unwrap();
    // The node's directory lives on a filesystem on the new device.
    m.mounts.borrow_mut().push(crate::probe::mounts::Mount {
        id: 1,
        parent_id: 0,
        devnum: DevNum {
            major: 250,
            minor: 1,
        },
        root: "/".into(),
        mountpoint: node.clone(),
        options: "rw".into(),
        fstype: "ext4".into(),
        source: DEVS[1].into(),
        super_options: "rw".into(),
    });
    let mut j: Journal<ReplaceRequest> = Journal::new(None, r.req.clone(), p.clone());
    let err = walk(&walker(&r.fake, &m), &mut j, &p, &report).unwrap_err();
    assert!(
        format!("{err:#}").contains("holds the node's data directory"),
        "{err:#}"
    );
}
