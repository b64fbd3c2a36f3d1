//! The dry-run property (issue 8 item 9): for every mutating command, the commands its dry run
//! prints ([`Plan::commands`]) are exactly the mutating commands the executor runs, in order,
//! with the recording fake runner and the scripted machine. Adding a command is one line in
//! [`EVERY_MUTATING_COMMAND`]. Then, for maintain's and schedule's plans, a failure injected at
//! every step and a resume from there.

use super::ops::{self, lines, mutations, Ops};
use super::*;
use crate::walk::resume_plan;

/// A fixture of maintain's or schedule's plans.
type MakeOps = fn() -> Ops;

/// One command's run: (what its dry run prints as commands, the mutating commands run).
type Case = fn() -> (Vec<String>, Vec<String>);

/// Every mutating command on the executor. md's `maintain check` is not here: it runs no
/// command (it writes the array's sysfs `sync_action`), and waiting for it needs a kernel md
/// driver (the VM tier, tests/vm_mdadm.rs).
const EVERY_MUTATING_COMMAND: &[(&str, Case)] = &[
    ("setup", || setup_case(false)),
    ("setup --wipe", || setup_case(true)),
    ("setup --resume", resume_case),
    ("setup --abort", abort_case),
    ("replace", || {
        let (planned, ran, _) = super::replace::walk_replace();
        (planned, ran)
    }),
    ("maintain scrub", || ops::scrub().run()),
    ("maintain balance", || ops::balance().run()),
    ("schedule install", || ops::install().run()),
    ("schedule remove", || ops::remove().run()),
    ("setup --backend mdadm", super::md::setup_case),
    ("setup --abort (md)", super::md::abort_case),
    ("setup --resume (md)", super::md::resume_case),
    ("snapshot prune", prune_case),
    ("recover", super::recover::dry_run_case),
    (
        "recover (md, stopped, dm overlay)",
        super::md_recover::stopped_dm_case,
    ),
    (
        "recover (md, running, no dm: image)",
        super::md_recover::running_image_case,
    ),
];

#[test]
fn every_mutating_commands_dry_run_is_what_the_executor_runs() {
    for (name, case) in EVERY_MUTATING_COMMAND {
        let (planned, ran) = case();
        assert!(!planned.is_empty(), "{name}: the plan runs no command");
        assert_eq!(ran, planned, "{name}: ran something other than its dry run");
    }
}

/// hotcopy: `snapshot prune` of two of three snapshots (directories standing in for them).
fn prune_case() -> (Vec<String>, Vec<String>) {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join(".lnraid-snapshots/bitcoin");
    let names = [
        "2026-12-01T00:00:00Z",
        "2026-12-01T01:00:00Z",
        "2026-12-01T02:00:00Z",
    ];
    for n in names {
        fs::create_dir_all(dir.join(n)).unwrap();
    }
    let delete: Vec<String> = names[..2].iter().map(|n| n.to_string()).collect();
    let plan = crate::plan::hotcopy_plans::plan_prune(&dir, &delete);
    let fake = FakeRunner::new();
    fake.reply_prefix("btrfs subvolume delete ", Output::ok(""));
    let m = FakeMachine::new(&fake);
    let mut j = Journal::new(None, String::new(), plan.clone());
    walk(&walker(&fake, &m), &mut j, &plan, &report).unwrap();
    (lines(&plan.commands()), mutations(&fake, 0))
}

fn setup_case(wipe: bool) -> (Vec<String>, Vec<String>) {
    let confirmed = if wipe {
        [ext4(DEVS[0], "old"), blank()]
    } else {
        [blank(), blank()]
    };
    let fx = Fx::new(wipe, confirmed);
    let m = FakeMachine::new(&fx.fake);
    let plan = fx.plan();
    walk(&walker(&fx.fake, &m), &mut fx.journal(), &plan, &report).unwrap();
    (lines(&plan.commands()), fx.mutations_since(0))
}

/// Killed right after `scan`; `setup --resume` prints and walks the rest (mount on).
fn resume_case() -> (Vec<String>, Vec<String>) {
    let fx = Fx::new(true, [blank(), blank()]);
    let m = FakeMachine::new(&fx.fake);
    let plan = fx.plan();
    walk_until(&walker(&fx.fake, &m), &mut fx.journal(), &plan, "scan");
    let mut j = fx.reload();
    let rplan = resume_plan(&j);
    let from = fx.fake.commands().len();
    walk(&walker(&fx.fake, &m), &mut j, &rplan, &report).unwrap();
    (lines(&rplan.commands()), fx.mutations_since(from))
}

/// Killed right after the verification; `setup --abort` prints and walks its undo plan.
fn abort_case() -> (Vec<String>, Vec<String>) {
    let fx = Fx::new(true, [blank(), blank()]);
    let m = FakeMachine::new(&fx.fake);
    let plan = fx.plan();
    walk_until(&walker(&fx.fake, &m), &mut fx.journal(), &plan, "verify");
    let (uplan, mut u) = super::abort::undo(&fx, &fx.reload());
    let from = fx.fake.commands().len();
    walk(&walker(&fx.fake, &m), &mut u, &uplan, &report).unwrap();
    (lines(&uplan.commands()), fx.mutations_since(from))
}

/// Injects a failure at `step`: its first command fails, or (no command) the walker's hook.
fn inject(o: &Ops, w: &mut Walker, step: &Step) {
    match step.commands().next() {
        Some(c) => {
            o.fake.fail_on(&c.to_string());
        }
        None => w.inject = Some(step.id.clone()),
    }
}

/// The files a clean walk of the first `k` steps leaves.
fn files_after(make: MakeOps, k: usize) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let o = make();
    let prefix = Plan {
        steps: o.plan.steps[..k].to_vec(),
        ..o.plan.clone()
    };
    let m = FakeMachine::new(&o.fake);
    walk(&walker(&o.fake, &m), &mut o.journal(), &prefix, &report).unwrap();
    o.files()
}

#[test]
fn maintain_and_schedule_plans_fail_at_every_step_and_resume_from_there() {
    let plans: &[(&str, MakeOps)] = &[
        ("scrub", ops::scrub),
        ("balance", ops::balance),
        ("install", ops::install),
        ("remove", ops::remove),
    ];
    for (name, make) in plans {
        let clean = make();
        clean.run();
        let ids: Vec<String> = clean.plan.steps.iter().map(|s| s.id.clone()).collect();
        for (k, id) in ids.iter().enumerate() {
            let o = make();
            let m = FakeMachine::new(&o.fake);
            let mut w = walker(&o.fake, &m);
            inject(&o, &mut w, &o.plan.steps[k]);
            let err = walk(&w, &mut o.journal(), &o.plan, &report).unwrap_err();
            assert!(
                format!("{err:#}").contains(&format!("stopped at {id}")),
                "{err:#}"
            );
            drop(w);
            let saved = o.reload();
            assert_eq!(
                saved.completed,
                ids[..k].to_vec(),
                "{name}: failure at {id}"
            );
            assert_eq!(saved.failed.as_deref(), Some(id.as_str()));
            // A failed step changed nothing beyond the steps before it.
            assert_eq!(
                o.files(),
                files_after(*make, k),
                "{name}: files after a failure at {id}"
            );
            // Resumed by a new process, from the journal as saved.
            let mut j = o.reload();
            let rplan = resume_plan(&j);
            assert_eq!(rplan.steps.len(), ids.len() - k);
            let from = o.fake.commands().len();
            let resumed = walk(&walker(&o.fake, &m), &mut j, &rplan, &report);
            if id == "alert-command" {
                // The secret is never stored: the journal cannot write it back.
                let e = format!("{:#}", resumed.unwrap_err());
                assert!(e.contains("--alert-command"), "{e}");
                continue;
            }
            resumed.unwrap_or_else(|e| panic!("{name}: resume after {id}: {e:#}"));
            assert_eq!(
                mutations(&o.fake, from),
                lines(&rplan.commands()),
                "{name}: the resume ran its printed plan after {id}"
            );
            assert_eq!(
                o.files(),
                clean.files(),
                "{name}: files after resuming from {id}"
            );
        }
    }
}

#[test]
fn the_alert_command_never_reaches_the_journal() {
    let o = ops::install();
    o.run();
    let journal = std::fs::read_to_string(o.tmp.path().join("state/ops-journal.json")).unwrap();
    assert!(journal.contains("alert-command"), "{journal}");
    assert!(!journal.contains("logger -t lnraid"), "{journal}");
    let secret = std::fs::read_to_string(o.tmp.path().join("etc/alert-command")).unwrap();
    assert_eq!(secret, "logger -t lnraid\n");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(o.tmp.path().join("etc/alert-command"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}
