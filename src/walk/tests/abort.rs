//! `setup --abort` as a plan on the executor: after a failure at any step the undo ends with
//! the node's directory back and lnraid's own filesystem erased (and only that), its commands
//! are its dry run's, and it refuses to erase an array copy the node has written to.

use std::fs;

use super::*;
use crate::plan::abort::plan_abort;

pub(super) fn undo(fx: &Fx, j: &Journal<SetupRequest>) -> (Plan, Journal<()>) {
    let plan = plan_abort(&fx.req, &|id| j.touched(id));
    let mut u: Journal<()> = Journal::new(None, (), plan.clone());
    u.manifest = j.manifest.clone();
    u.source = j.source.clone();
    u.copy = j.copy.clone();
    (plan, u)
}

#[test]
fn abort_after_a_failure_at_every_step_restores_the_directory_and_erases_only_ours() {
    let ids: Vec<String> = Fx::new(true, [blank(), blank()])
        .plan()
        .steps
        .iter()
        .map(|s| s.id.clone())
        .collect();
    for (k, id) in ids.iter().enumerate() {
        let fx = Fx::new(true, [blank(), blank()]);
        let before = tree(fx.dir());
        let m = FakeMachine::new(&fx.fake);
        let plan = fx.plan();
        let mut w = walker(&fx.fake, &m);
        match plan.steps[k].commands().next() {
            Some(c) => {
                fx.fake.fail_on(&c.to_string());
            }
            None => w.inject = Some(id.clone()),
        }
        let mut j = fx.journal();
        walk(&w, &mut j, &plan, &report).unwrap_err();
        drop(w);
        let j = fx.reload();
        let (uplan, mut u) = undo(&fx, &j);
        let from = fx.fake.commands().len();
        walk(&walker(&fx.fake, &m), &mut u, &uplan, &report)
            .unwrap_or_else(|e| panic!("abort after a failure at {id}: {e:#}"));
        let planned: Vec<String> = uplan.commands().iter().map(ToString::to_string).collect();
        let ran = fx.mutations_since(from);
        assert!(
            fs::symlink_metadata(fx.dir()).unwrap().is_dir(),
            "DIR is a directory again after {id}"
        );
        assert_eq!(tree(fx.dir()), before, "DIR back byte for byte after {id}");
        assert!(!fx.req.aside().exists());
        let mkfs_ran = k >= ids.iter().position(|i| i == "mkfs").unwrap();
        for d in DEVS {
            let wiped = ran.contains(&format!("wipefs --all {d}"));
            // mkfs failing (injected) leaves blank devices: nothing of ours to erase.
            assert_eq!(wiped, mkfs_ran && *id != "mkfs", "{d} after {id}: {ran:?}");
        }
        // Every command run is the dry run's (a wipe of a blank device is skipped).
        assert!(
            ran.iter().all(|l| planned.contains(l)),
            "after {id}: ran {ran:?}, planned {planned:?}"
        );
        assert_eq!(
            fs::read_to_string(&fx.req.fstab).unwrap(),
            "# test fstab\n",
            "fstab after {id}"
        );
        assert!(!fx.req.dropin.as_ref().unwrap().exists());
    }
}

#[test]
fn abort_refuses_to_erase_an_array_copy_the_node_wrote_to() {
    let fx = Fx::new(false, [blank(), blank()]);
    let m = FakeMachine::new(&fx.fake);
    let plan = fx.plan();
    let mut j = fx.journal();
    walk_until(&walker(&fx.fake, &m), &mut j, &plan, "symlink");
    // The node ran on the array (through the symlink) and committed.
    let c = rusqlite::Connection::open(fx.dir().join("lightningd.sqlite3")).unwrap();
    c.execute("INSERT INTO vars VALUES ('newer', 'state')", [])
        .unwrap();
    drop(c);
    let j = fx.reload();
    let (uplan, mut u) = undo(&fx, &j);
    let from = fx.fake.commands().len();
    let err = walk(&walker(&fx.fake, &m), &mut u, &uplan, &report).unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("array copy") && msg.contains("lightningd.sqlite3"),
        "{msg}"
    );
    let ran = fx.mutations_since(from);
    assert!(ran.iter().all(|l| !l.starts_with("wipefs")), "{ran:?}");
    assert_eq!(
        fs::read_link(fx.dir()).unwrap(),
        fx.req.new_home(),
        "the node keeps its array"
    );
}

#[test]
fn abort_erases_a_foreign_device_never_and_says_so() {
    let fx = Fx::new(false, [blank(), blank()]);
    let m = FakeMachine::new(&fx.fake);
    let plan = fx.plan();
    let mut j = fx.journal();
    walk_until(&walker(&fx.fake, &m), &mut j, &plan, "mkfs");
    fx.fake.reply(
        &Cmd::read_only("blkid", ["-p", "-o", "export", DEVS[1]]),
        ext4(DEVS[1], "IMPORTANT"),
    );
    let j = fx.reload();
    let (uplan, mut u) = undo(&fx, &j);
    let from = fx.fake.commands().len();
    let err = walk(&walker(&fx.fake, &m), &mut u, &uplan, &report).unwrap_err();
    assert!(
        format!("{err:#}").contains("not lnraid's filesystem"),
        "{err:#}"
    );
    let ran = fx.mutations_since(from);
    assert!(
        ran.contains(&format!("wipefs --all {}", DEVS[0])),
        "{ran:?}"
    );
    assert!(
        !ran.contains(&format!("wipefs --all {}", DEVS[1])),
        "{ran:?}"
    );
}

#[test]
fn abort_waits_for_and_names_a_tool_still_holding_a_device() {
    let fx = Fx::new(false, [blank(), blank()]);
    let m = FakeMachine::new(&fx.fake);
    let plan = fx.plan();
    let mut j = fx.journal();
    walk_until(&walker(&fx.fake, &m), &mut j, &plan, "mkfs");
    m.busy.borrow_mut().insert(DevPath::new(DEVS[0]));
    let j = fx.reload();
    let (uplan, mut u) = undo(&fx, &j);
    let from = fx.fake.commands().len();
    let err = walk(&walker(&fx.fake, &m), &mut u, &uplan, &report).unwrap_err();
    assert!(
        format!("{err:#}").contains("mkfs.btrfs (pid 77)"),
        "{err:#}"
    );
    assert!(fx
        .mutations_since(from)
        .iter()
        .all(|l| !l.starts_with("wipefs")));
}
