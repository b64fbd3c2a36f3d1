//! md setup on the executor, interrupted: `--abort` after a failure at every step gives the
//! node's directory back, zeroes the superblocks of lnraid's own new array only (after each
//! member's re-proof), stops it by UUID and leaves mdadm.conf byte for byte as it was;
//! `--resume` assembles a stopped array before continuing and re-plans a half-made create.
//! The md commands are the fake runner's; the node directory and mdadm.conf are real files.

use std::fs;

use super::*;
use crate::backend::md::setup::MdSetup;
use crate::plan::abort::plan_abort;

const MD_UUID: &str = "a170766d:d3b30691:74dacf68:537c0eef";
const MD: &str = "/dev/md/lnraid";
const CONF_BEFORE: &str = "# mdadm.conf\nHOMEHOST <system>\nMAILADDR root\nARRAY /dev/md/0 metadata=1.2 UUID=11111111:22222222:33333333:44444444 name=box:0\n";
const EXAMINE: &str = include_str!("../../../fixtures/mdadm-examine/4.2-raid1-member-clean.txt");
const EXPORT: &str = include_str!("../../../fixtures/mdadm-detail-export/4.2-raid1-clean.txt");

fn member(dev: &str) -> Output {
    Output::ok(format!(
        "DEVNAME={dev}\nUUID=a170766d-d3b3-0691-74da-cf68537c0eef\nUUID_SUB=83be2d6e-7db5-cd4a-6140-4699e738d4de\nLABEL=node:lnraid\nVERSION=1.2\nTYPE=linux_raid_member\nUSAGE=raid\n"
    ))
}

fn no_sb() -> Output {
    Output::exited(1, "", "mdadm: No md superblock detected on the device.\n")
}

/// The btrfs fixture turned into an md setup of the same two fake devices.
fn md_fx() -> Fx {
    let mut fx = Fx::new(false, [blank(), blank()]);
    fs::write(fx.tmp.path().join("mdadm.conf"), CONF_BEFORE).unwrap();
    fx.req.backend = crate::backend::Backend::Md;
    fx.req.md = Some(MdSetup {
        md_uuid: MD_UUID.into(),
        name: "lnraid".into(),
        homehost: "node".into(),
        size_kib: 8 * 1024 * 1024 - 1024,
        write_mostly: vec![],
        conf: fx.tmp.path().join("mdadm.conf"),
        program: "/usr/sbin/lnraid-alert".into(),
        initramfs: None,
        wait: false,
    });
    for c in fx.plan().commands() {
        fx.fake.reply(&c, Output::ok(""));
    }
    let create = fx.plan().steps[0].commands().next().unwrap().to_string();
    let detail = format!("mdadm --detail --export {MD}");
    fx.fake.reply(
        &Cmd::read_only("mdadm", ["--detail", "--export", MD]),
        no_sb(),
    );
    fx.fake.reply_after(&create, &detail, Output::ok(EXPORT));
    fx.fake
        .reply_after(&format!("mdadm --stop {MD}"), &detail, no_sb());
    fx.fake.reply_prefix("mdadm --stop ", Output::ok(""));
    fx.fake
        .reply_prefix("mdadm --zero-superblock ", Output::ok(""));
    fx.fake.reply_prefix("mdadm --assemble ", Output::ok(""));
    for d in DEVS {
        let examine = format!("mdadm --examine {d}");
        fx.fake
            .reply(&Cmd::read_only("mdadm", ["--examine", d]), no_sb());
        fx.fake.reply_after(&create, &examine, Output::ok(EXAMINE));
        fx.fake.reply_after(&create, &blkid_line(d), member(d));
        let zero = format!("mdadm --zero-superblock {d}");
        fx.fake.reply_after(&zero, &examine, no_sb());
        fx.fake.reply_after(&zero, &blkid_line(d), blank());
    }
    fx
}

fn undo(fx: &Fx, j: &Journal<SetupRequest>) -> (Plan, Journal<()>) {
    let plan = plan_abort(&fx.req, &|id| j.touched(id));
    let mut u: Journal<()> = Journal::new(None, (), plan.clone());
    u.manifest = j.manifest.clone();
    u.source = j.source.clone();
    u.copy = j.copy.clone();
    (plan, u)
}

#[test]
fn md_abort_after_a_failure_at_every_step_zeroes_only_ours_and_restores_mdadm_conf() {
    let ids: Vec<String> = md_fx().plan().steps.iter().map(|s| s.id.clone()).collect();
    assert_eq!(ids[0], "md-create");
    for (k, id) in ids.iter().enumerate() {
        let fx = md_fx();
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
            .unwrap_or_else(|e| panic!("md abort after a failure at {id}: {e:#}"));
        let planned: Vec<String> = uplan.commands().iter().map(ToString::to_string).collect();
        let ran = fx.mutations_since(from);
        assert_eq!(tree(fx.dir()), before, "DIR back byte for byte after {id}");
        let created = k > 0; // a failure AT md-create: its create command failed
        for d in DEVS {
            let zeroed = ran.contains(&format!("mdadm --zero-superblock {d}"));
            assert_eq!(zeroed, created, "{d} after {id}: {ran:?}");
            assert!(!ran.iter().any(|l| l.starts_with("wipefs")), "{ran:?}");
        }
        assert_eq!(
            ran.contains(&format!("mdadm --stop {MD}")),
            created,
            "after {id}: {ran:?}"
        );
        if created {
            // The stop comes before any zeroing (a running member cannot be opened O_EXCL).
            let stop = ran
                .iter()
                .position(|l| l.starts_with("mdadm --stop"))
                .unwrap();
            let zero = ran
                .iter()
                .position(|l| l.starts_with("mdadm --zero"))
                .unwrap();
            assert!(stop < zero, "{ran:?}");
        }
        assert!(
            ran.iter().all(|l| planned.contains(l)),
            "after {id}: ran {ran:?}, planned {planned:?}"
        );
        assert_eq!(
            fs::read_to_string(fx.tmp.path().join("mdadm.conf")).unwrap(),
            CONF_BEFORE,
            "mdadm.conf after {id}"
        );
        assert_eq!(fs::read_to_string(&fx.req.fstab).unwrap(), "# test fstab\n");
    }
}

#[test]
fn md_abort_leaves_a_member_of_another_array_untouched() {
    let fx = md_fx();
    let m = FakeMachine::new(&fx.fake);
    let plan = fx.plan();
    let mut j = fx.journal();
    walk_until(&walker(&fx.fake, &m), &mut j, &plan, "mkfs-ext4");
    // DEVS[1] now carries another array's superblock (someone re-used it).
    let other = EXAMINE.replace(
        "a170766d:d3b30691:74dacf68:537c0eef",
        "11111111:22222222:33333333:44444444",
    );
    fx.fake.reply(
        &Cmd::read_only("mdadm", ["--examine", DEVS[1]]),
        Output::ok(other),
    );
    fx.fake.reply(
        &Cmd::read_only("blkid", ["-p", "-o", "export", DEVS[1]]),
        ext4(DEVS[1], "IMPORTANT"),
    );
    let j = fx.reload();
    let (uplan, mut u) = undo(&fx, &j);
    let from = fx.fake.commands().len();
    let err = walk(&walker(&fx.fake, &m), &mut u, &uplan, &report).unwrap_err();
    assert!(format!("{err:#}").contains("left untouched"), "{err:#}");
    let ran = fx.mutations_since(from);
    assert!(
        ran.contains(&format!("mdadm --zero-superblock {}", DEVS[0])),
        "{ran:?}"
    );
    assert!(
        !ran.contains(&format!("mdadm --zero-superblock {}", DEVS[1])),
        "{ran:?}"
    );
}

#[test]
fn md_resume_after_a_reboot_assembles_by_uuid_then_continues() {
    let fx = md_fx();
    let m = FakeMachine::new(&fx.fake);
    let plan = fx.plan();
    let mut j = fx.journal();
    walk_until(&walker(&fx.fake, &m), &mut j, &plan, "mdadm-conf");
    // The reboot: the array is not running.
    fx.fake.reply(
        &Cmd::read_only("mdadm", ["--detail", "--export", MD]),
        no_sb(),
    );
    let mut j = fx.reload();
    let rplan = crate::backend::setup_resume_plan(&mut j);
    assert_eq!(rplan.steps[0].id, "md-assemble");
    let from = fx.fake.commands().len();
    walk(&walker(&fx.fake, &m), &mut j, &rplan, &report).unwrap();
    let ran = fx.mutations_since(from);
    let assemble = format!(
        "mdadm --assemble {MD} --run --uuid={MD_UUID} {} {}",
        DEVS[0], DEVS[1]
    );
    assert_eq!(ran.first(), Some(&assemble), "{ran:?}");
    assert!(
        !ran.iter().any(|l| l.starts_with("mdadm --create")),
        "{ran:?}"
    );
    assert!(
        fs::read_link(fx.dir()).is_ok(),
        "setup finished: DIR is the link"
    );
}

#[test]
fn md_resume_with_the_array_running_assembles_nothing() {
    let fx = md_fx();
    let m = FakeMachine::new(&fx.fake);
    let plan = fx.plan();
    let mut j = fx.journal();
    walk_until(&walker(&fx.fake, &m), &mut j, &plan, "mountpoint");
    let mut j = fx.reload();
    let rplan = crate::backend::setup_resume_plan(&mut j);
    let from = fx.fake.commands().len();
    walk(&walker(&fx.fake, &m), &mut j, &rplan, &report).unwrap();
    let ran = fx.mutations_since(from);
    assert!(
        !ran.iter().any(|l| l.starts_with("mdadm --assemble")),
        "{ran:?}"
    );
}

#[test]
fn md_resume_of_a_half_made_create_stops_and_zeroes_our_array_then_creates_again() {
    let fx = md_fx();
    let m = FakeMachine::new(&fx.fake);
    let plan = fx.plan();
    // The create ran; the step died before its second action.
    fx.fake.fail_on("mdadm --detail --brief");
    let mut j = fx.journal();
    walk(&walker(&fx.fake, &m), &mut j, &plan, &report).unwrap_err();
    let mut j = fx.reload();
    assert!(j.touched("md-create") && !j.is_completed("md-create"));
    let rplan = crate::backend::setup_resume_plan(&mut j);
    assert_eq!(rplan.steps[0].id, "md-stop-own");
    let from = fx.fake.commands().len();
    walk(&walker(&fx.fake, &m), &mut j, &rplan, &report).unwrap();
    let ran = fx.mutations_since(from);
    let pos = |p: &str| {
        ran.iter()
            .position(|l| l.starts_with(p))
            .unwrap_or(usize::MAX)
    };
    assert!(
        pos("mdadm --stop") < pos("mdadm --zero-superblock"),
        "{ran:?}"
    );
    assert!(
        pos("mdadm --zero-superblock") < pos("mdadm --create"),
        "{ran:?}"
    );
    assert!(ran
        .iter()
        .all(|l| !l.contains("--force") && !l.contains("--assume-clean")));
}

/// The mutating commands among `cmds` (md plans also run read-only `mdadm --detail --brief`).
fn mutating(cmds: &[Cmd]) -> Vec<String> {
    cmds.iter()
        .filter(|c| c.effect == Effect::Mutating)
        .map(ToString::to_string)
        .collect()
}

/// For the dry-run property (walk/tests/dry_run.rs): a whole md setup.
pub(super) fn setup_case() -> (Vec<String>, Vec<String>) {
    let fx = md_fx();
    let m = FakeMachine::new(&fx.fake);
    let plan = fx.plan();
    walk(&walker(&fx.fake, &m), &mut fx.journal(), &plan, &report).unwrap();
    (mutating(&plan.commands()), fx.mutations_since(0))
}

/// Killed after the verification; the md `setup --abort` plan walked.
pub(super) fn abort_case() -> (Vec<String>, Vec<String>) {
    let fx = md_fx();
    let m = FakeMachine::new(&fx.fake);
    let plan = fx.plan();
    walk_until(&walker(&fx.fake, &m), &mut fx.journal(), &plan, "verify");
    let (uplan, mut u) = undo(&fx, &fx.reload());
    let from = fx.fake.commands().len();
    walk(&walker(&fx.fake, &m), &mut u, &uplan, &report).unwrap();
    (mutating(&uplan.commands()), fx.mutations_since(from))
}

/// Killed after `mdadm-conf`, the array stopped (a reboot); the md resume plan walked.
pub(super) fn resume_case() -> (Vec<String>, Vec<String>) {
    let fx = md_fx();
    let m = FakeMachine::new(&fx.fake);
    let plan = fx.plan();
    walk_until(
        &walker(&fx.fake, &m),
        &mut fx.journal(),
        &plan,
        "mdadm-conf",
    );
    fx.fake.reply(
        &Cmd::read_only("mdadm", ["--detail", "--export", MD]),
        no_sb(),
    );
    let mut j = fx.reload();
    let rplan = crate::backend::setup_resume_plan(&mut j);
    let from = fx.fake.commands().len();
    walk(&walker(&fx.fake, &m), &mut j, &rplan, &report).unwrap();
    (mutating(&rplan.commands()), fx.mutations_since(from))
}
