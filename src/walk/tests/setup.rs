//! Setup on the executor: the commands are the dry run's, every destructive step is preceded
//! by the re-proof of its targets, a failure at any step leaves a stated state from which a
//! resume finishes, a resumed mkfs is re-planned (never forced), and stale sources are never
//! published.

use std::fs;

use super::*;
use crate::walk::resume_plan;

#[test]
fn executed_commands_equal_the_dry_run() {
    for wipe in [false, true] {
        let confirmed = if wipe {
            [ext4(DEVS[0], "old"), blank()]
        } else {
            [blank(), blank()]
        };
        let fx = Fx::new(wipe, confirmed);
        let m = FakeMachine::new(&fx.fake);
        let w = walker(&fx.fake, &m);
        let plan = fx.plan();
        let mut j = fx.journal();
        walk(&w, &mut j, &plan, &report).unwrap();
        let planned: Vec<String> = plan.commands().iter().map(ToString::to_string).collect();
        assert_eq!(fx.mutations_since(0), planned, "wipe={wipe}");
        assert_eq!(
            fs::read_link(fx.dir()).unwrap(),
            fx.req.new_home(),
            "wipe={wipe}"
        );
    }
}

#[test]
fn every_destructive_command_comes_right_after_the_reproof_of_its_devices() {
    let fx = Fx::new(true, [ext4(DEVS[0], "old"), blank()]);
    let m = FakeMachine::new(&fx.fake);
    let w = walker(&fx.fake, &m);
    let plan = fx.plan();
    walk(&w, &mut fx.journal(), &plan, &report).unwrap();
    let log = fx.fake.commands();
    let mut at = 0;
    let mut checked = 0;
    for step in plan.steps.iter().filter(|s| s.is_destructive()) {
        let first = step.commands().next().unwrap();
        let i = at + log[at..].iter().position(|c| *c == first).unwrap();
        // Everything since the previous mutating command: the re-proof's reads.
        let reads: Vec<String> = log[..i]
            .iter()
            .rev()
            .take_while(|c| c.effect == Effect::ReadOnly)
            .map(ToString::to_string)
            .collect();
        for d in DEVS {
            assert!(
                reads.contains(&blkid_line(d)),
                "step {} ran without re-proving {d} right before: {reads:?}",
                step.id
            );
        }
        at = i + 1;
        checked += 1;
    }
    assert_eq!(checked, 2);
}

/// The id of the step a failure is injected at, and how.
fn inject(fx: &Fx, w: &mut Walker, step: &Step) {
    match step.commands().next() {
        Some(c) => {
            fx.fake.fail_on(&c.to_string());
        }
        None => w.inject = Some(step.id.clone()),
    }
}

#[test]
fn a_failure_at_every_step_leaves_a_stated_state_and_resume_finishes() {
    let ids: Vec<String> = Fx::new(true, [blank(), blank()])
        .plan()
        .steps
        .iter()
        .map(|s| s.id.clone())
        .collect();
    assert_eq!(ids.len(), 13, "{ids:?}");
    for (k, id) in ids.iter().enumerate() {
        let fx = Fx::new(true, [blank(), blank()]);
        let before = tree(fx.dir());
        let m = FakeMachine::new(&fx.fake);
        let plan = fx.plan();
        let mut w = walker(&fx.fake, &m);
        inject(&fx, &mut w, &plan.steps[k]);
        let mut j = fx.journal();
        let err = walk(&w, &mut j, &plan, &report).unwrap_err();
        assert!(
            format!("{err:#}").contains(&format!("stopped at {id}")),
            "{err:#}"
        );
        drop(w);
        let saved = fx.reload();
        assert_eq!(saved.completed, ids[..k].to_vec(), "failure at {id}");
        assert_eq!(saved.failed.as_deref(), Some(id.as_str()));
        // The node's data is never lost: the original stays whole until it is moved aside,
        // then the aside copy is whole.
        let original = if k > ids.iter().position(|i| i == "move-aside").unwrap() {
            fx.req.aside()
        } else {
            fx.dir().to_path_buf()
        };
        assert_eq!(tree(&original), before, "original after a failure at {id}");
        // Resume from there (a new process: the journal as saved).
        let mut j = fx.reload();
        let rplan = resume_plan(&j);
        assert_eq!(rplan.steps.len(), ids.len() - k);
        let from = fx.fake.commands().len();
        let w = walker(&fx.fake, &m);
        walk(&w, &mut j, &rplan, &report).unwrap_or_else(|e| panic!("resume after {id}: {e:#}"));
        let ran = fx.mutations_since(from);
        assert!(
            ran.iter().all(|l| !l.contains(" -f ")),
            "a resume never adds force: {ran:?}"
        );
        // What the resume ran is its printed plan, in order (minus actions found done).
        let planned: Vec<String> = rplan.commands().iter().map(ToString::to_string).collect();
        let mut rest = planned.iter();
        for l in &ran {
            assert!(
                rest.any(|p| p == l),
                "resume after {id} ran {l:?} out of its plan {planned:?}"
            );
        }
        assert_eq!(fs::read_link(fx.dir()).unwrap(), fx.req.new_home());
        assert_eq!(
            tree(&fx.req.new_home()),
            before,
            "copy after resuming from {id}"
        );
    }
}

#[test]
fn a_resumed_mkfs_is_replanned_from_what_the_devices_hold_and_never_forced() {
    let fx = Fx::new(false, [blank(), blank()]);
    // The killed mkfs left our filesystem on the first device only.
    fx.fake.reply(
        &Cmd::read_only("blkid", ["-p", "-o", "export", DEVS[0]]),
        btrfs(DEVS[0], U, 0),
    );
    fx.fake.reply_after(
        &format!("wipefs --all {}", DEVS[0]),
        &blkid_line(DEVS[0]),
        blank(),
    );
    let mut j = fx.journal();
    j.completed = vec![];
    j.started = Some("mkfs".into());
    let plan = resume_plan(&j);
    let mkfs = plan.steps.iter().find(|s| s.id == "mkfs").unwrap();
    let lines: Vec<String> = mkfs.commands().map(|c| c.to_string()).collect();
    assert_eq!(
        lines,
        vec![
            format!("btrfs device scan --forget {} {}", DEVS[0], DEVS[1]),
            format!("wipefs --all {}", DEVS[0]),
            format!("wipefs --all {}", DEVS[1]),
            fx.mkfs_line(),
        ]
    );
    let m = FakeMachine::new(&fx.fake);
    let w = walker(&fx.fake, &m);
    walk(&w, &mut j, &plan, &report).unwrap();
    let ran = fx.mutations_since(0);
    assert!(
        ran.contains(&format!("wipefs --all {}", DEVS[0])),
        "{ran:?}"
    );
    assert!(
        !ran.contains(&format!("wipefs --all {}", DEVS[1])),
        "a blank device is not wiped: {ran:?}"
    );
    assert!(ran.iter().all(|l| !l.contains(" -f")), "{ran:?}");
}

#[test]
fn a_different_disk_at_the_recorded_name_is_refused_and_untouched() {
    let fx = Fx::new(true, [blank(), blank()]);
    let m = FakeMachine::new(&fx.fake);
    let plan = fx.plan();
    let mut j = fx.journal();
    walk_until(&walker(&fx.fake, &m), &mut j, &plan, "wipe");
    // Killed after wipe; meanwhile another same-size disk took /dev/fake1.
    fx.fake.reply(
        &Cmd::read_only("blkid", ["-p", "-o", "export", DEVS[1]]),
        ext4(DEVS[1], "IMPORTANT"),
    );
    let mut j = fx.reload();
    let from = fx.fake.commands().len();
    let rp = resume_plan(&j);
    let err = walk(&walker(&fx.fake, &m), &mut j, &rp, &report).unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("IMPORTANT") && msg.contains("left untouched"),
        "{msg}"
    );
    assert_eq!(
        fx.mutations_since(from),
        Vec::<String>::new(),
        "nothing ran"
    );
    assert_eq!(fx.reload().failed.as_deref(), Some("mkfs"));
}

#[test]
fn a_changed_stable_id_or_device_number_is_refused() {
    let fx = Fx::new(false, [blank(), blank()]);
    let m = FakeMachine::new(&fx.fake);
    m.stable
        .borrow_mut()
        .insert(DevPath::new(DEVS[1]), vec!["loop:/other/disk.img".into()]);
    let err = walk(
        &walker(&fx.fake, &m),
        &mut fx.journal(),
        &fx.plan(),
        &report,
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("stable ids"), "{err:#}");
    assert!(fx.mutations_since(0).is_empty());
    let fx = Fx::new(false, [blank(), blank()]);
    let m = FakeMachine::new(&fx.fake);
    m.devices.borrow_mut()[0].devnum = Some(DevNum {
        major: 8,
        minor: 16,
    });
    let err = walk(
        &walker(&fx.fake, &m),
        &mut fx.journal(),
        &fx.plan(),
        &report,
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("device number"), "{err:#}");
}

#[test]
fn a_device_still_held_by_a_tool_is_named_and_refused() {
    let fx = Fx::new(false, [blank(), blank()]);
    let m = FakeMachine::new(&fx.fake);
    m.busy.borrow_mut().insert(DevPath::new(DEVS[0]));
    let err = walk(
        &walker(&fx.fake, &m),
        &mut fx.journal(),
        &fx.plan(),
        &report,
    )
    .unwrap_err();
    assert!(
        format!("{err:#}").contains("mkfs.btrfs (pid 77)"),
        "{err:#}"
    );
    assert!(fx.mutations_since(0).is_empty());
}

#[test]
fn a_source_written_after_its_copy_is_never_published() {
    for (what, change) in [("config", 0u8), ("lightningd.sqlite3", 1)] {
        let fx = Fx::new(false, [blank(), blank()]);
        let m = FakeMachine::new(&fx.fake);
        let plan = fx.plan();
        let mut j = fx.journal();
        walk_until(&walker(&fx.fake, &m), &mut j, &plan, "verify");
        if change == 0 {
            fs::write(fx.dir().join("config"), "network=bitcoin\nalias=x\n").unwrap();
        } else {
            let c = rusqlite::Connection::open(fx.dir().join("lightningd.sqlite3")).unwrap();
            c.execute("INSERT INTO vars VALUES ('new', 'state')", [])
                .unwrap();
        }
        let after = tree(fx.dir());
        let mut j = fx.reload();
        let rp = resume_plan(&j);
        let err = walk(&walker(&fx.fake, &m), &mut j, &rp, &report).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains(what) && msg.contains("stale"), "{msg}");
        assert!(
            fs::symlink_metadata(fx.dir()).unwrap().is_dir(),
            "DIR intact"
        );
        assert_eq!(tree(fx.dir()), after);
        assert!(
            !fx.req.new_home().exists(),
            "the stale copy is not published"
        );
    }
}

#[test]
fn a_node_started_after_confirmation_stops_the_publish() {
    let fx = Fx::new(false, [blank(), blank()]);
    let m = FakeMachine::new(&fx.fake);
    let plan = fx.plan();
    let w = walker(&fx.fake, &m);
    let mut j = fx.journal();
    walk_until(&w, &mut j, &plan, "verify");
    m.start_node(fx.dir());
    let err = walk(&w, &mut j, &plan, &report).unwrap_err();
    assert!(
        format!("{err:#}").contains("lightningd is running"),
        "{err:#}"
    );
    assert!(fs::symlink_metadata(fx.dir()).unwrap().is_dir());
    assert!(!fx.req.new_home().exists());
}

#[test]
fn the_source_database_is_locked_from_the_copy_until_the_walk_ends() {
    let fx = Fx::new(false, [blank(), blank()]);
    let m = FakeMachine::new(&fx.fake);
    let plan = fx.plan();
    let w = walker(&fx.fake, &m);
    let mut j = fx.journal();
    walk_until(&w, &mut j, &plan, "mount");
    assert!(!w.holds_source_lock());
    walk_until(&w, &mut j, &plan, "verify");
    assert!(w.holds_source_lock());
    let db = fx.dir().join("lightningd.sqlite3");
    let c = rusqlite::Connection::open(&db).unwrap();
    c.busy_timeout(Duration::from_millis(100)).unwrap();
    assert!(
        c.execute("INSERT INTO vars VALUES ('during', 'verify')", [])
            .is_err(),
        "a commit during verify must wait and fail"
    );
    drop(w);
    c.execute("INSERT INTO vars VALUES ('after', 'release')", [])
        .unwrap();
}

#[test]
fn wipe_consents_only_to_the_signatures_shown_at_confirmation() {
    let fx = Fx::new(true, [ext4(DEVS[0], "old"), blank()]);
    // Same kind of filesystem, another one: not what the operator agreed to erase.
    fx.fake.reply(
        &Cmd::read_only("blkid", ["-p", "-o", "export", DEVS[0]]),
        ext4(DEVS[0], "payroll"),
    );
    let m = FakeMachine::new(&fx.fake);
    let err = walk(
        &walker(&fx.fake, &m),
        &mut fx.journal(),
        &fx.plan(),
        &report,
    )
    .unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("payroll") && msg.contains("\"old\""), "{msg}");
    assert!(fx.mutations_since(0).is_empty(), "nothing wiped");
}
