//! md recover's plan on the executor, without root or md: the recording fake runner replays
//! the captured `mdadm --examine`/`--detail` output (fixtures/, from the VM) and answers the
//! presence queries (`dmsetup info`, `losetup -O BACK-FILE`, `mdadm --detail`) according to
//! what ran before; the node directory is generated below the mountpoint on /dev/shm. The
//! dry-run property, the re-proofs before the assembly and the overlay, and a failure at
//! every step (or a kill) leaving nothing behind once the plan's own teardown has run.

use super::*;
use crate::backend::md::recover_plan::tests::input;
use crate::backend::md::recover_plan::{plan_md_recover, MdRecover};
use crate::plan::recover::teardown_of;

const EXAMINE: &str = include_str!("../../../fixtures/mdadm-examine/4.2-raid1-member-clean.txt");
const DETAIL: &str = include_str!("../../../fixtures/mdadm-detail/4.2-raid1-read-only.txt");
const LOOP: &str = "/dev/loop7";

pub struct Mx {
    pub fake: FakeRunner,
    /// Holds the mountpoint and the node directory below it (on /dev/shm).
    pub _shm: tempfile::TempDir,
    pub tmp: tempfile::TempDir,
    pub input: MdRecover,
}

fn absent() -> Output {
    Output::exited(1, "", "not there")
}

/// A stopped array (survivor /dev/vda) or the running /dev/md127; a dm overlay or an image.
pub fn mx(stopped: bool, dm: bool) -> Mx {
    assert!(
        Path::new("/dev/shm").is_dir(),
        "md recover's walk test needs /dev/shm (a second filesystem)"
    );
    let shm = tempfile::Builder::new()
        .prefix("lnraid-test-")
        .tempdir_in("/dev/shm")
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let spec = crate::testkit::NodeSpec {
        db_bytes: 64 << 10,
        gossip_bytes: 4 << 10,
        hot_journal: false,
    };
    crate::testkit::generate_node_dir(&shm.path().join("mnt/bitcoin"), &spec).unwrap();
    let input = input(stopped, dm, tmp.path(), &shm.path().join("mnt"));
    let fake = FakeRunner::new();
    let file = tmp.path().join(if dm {
        ".lnraid-recover-cow-1"
    } else {
        ".lnraid-recover-image-1"
    });
    let origin = if stopped {
        "/dev/md/lnraid-recover"
    } else {
        "/dev/md127"
    };
    fake.reply_line("mdadm --examine /dev/vda", EXAMINE);
    fake.reply_line(&format!("blockdev --getsz {origin}"), "129024\n");
    let create = format!(
        "dmsetup create lnraid-recover-overlay --table '0 129024 snapshot {origin} {LOOP} N 8'"
    );
    let attach = format!("losetup {LOOP} {}", file.display());
    let assemble = "mdadm --assemble --readonly --run /dev/md/lnraid-recover /dev/vda";
    let info = "dmsetup info lnraid-recover-overlay";
    let back = format!("losetup --noheadings --output BACK-FILE {LOOP}");
    let detail = "mdadm --detail /dev/md/lnraid-recover";
    for l in [info, back.as_str(), detail] {
        fake.reply(&line_cmd(l), absent());
    }
    fake.reply_after(
        &create,
        info,
        Output::ok("Name: lnraid-recover-overlay\nState: ACTIVE\n"),
    );
    fake.reply_after("dmsetup remove lnraid-recover-overlay", info, absent());
    fake.reply_after(&attach, &back, Output::ok(format!("{}\n", file.display())));
    fake.reply_after(&format!("losetup -d {LOOP}"), &back, absent());
    fake.reply_after(assemble, detail, Output::ok(DETAIL));
    fake.reply_after("mdadm --stop /dev/md/lnraid-recover", detail, absent());
    for p in [
        &create as &str,
        &attach,
        assemble,
        "dmsetup mknodes ",
        "dmsetup remove ",
        "losetup -d ",
        "mdadm --stop ",
        "dd ",
        "mount ",
        "umount ",
    ] {
        fake.reply_prefix(p, Output::ok(""));
    }
    Mx {
        fake,
        _shm: shm,
        tmp,
        input,
    }
}

/// The presence queries are keyed by their line; `reply` wants a Cmd with the same line.
fn line_cmd(l: &str) -> Cmd {
    let mut w = l.split(' ');
    let p = w.next().unwrap();
    Cmd::read_only(p, w.map(String::from).collect::<Vec<_>>())
}

impl Mx {
    pub fn plan(&self) -> Plan {
        plan_md_recover(&self.input)
    }

    pub fn journal(&self, plan: &Plan) -> Journal<()> {
        Journal::new(
            Some(self.tmp.path().join("state/recover-journal.json")),
            (),
            plan.clone(),
        )
    }

    pub fn reload(&self) -> Journal<()> {
        Journal::load(&self.tmp.path().join("state/recover-journal.json"))
            .unwrap()
            .unwrap()
    }

    pub fn file(&self) -> std::path::PathBuf {
        let p = self.plan();
        p.steps
            .iter()
            .flat_map(|s| &s.actions)
            .find_map(|a| match a {
                crate::plan::Action::MdRecover(
                    crate::backend::md::recover_action::MdRecoverAction::NewFile { path, .. },
                ) => Some(path.clone()),
                _ => None,
            })
            .unwrap()
    }

    /// Walks the whole plan: (printed commands, mutating commands run).
    pub fn run(&self) -> (Vec<String>, Vec<String>) {
        let m = FakeMachine::new(&self.fake);
        let plan = self.plan();
        walk(
            &walker(&self.fake, &m),
            &mut self.journal(&plan),
            &plan,
            &report,
        )
        .unwrap();
        (
            super::ops::lines(&plan.commands()),
            super::ops::mutations(&self.fake, 0),
        )
    }
}

/// (printed, ran) for EVERY_MUTATING_COMMAND: md recover, stopped array, dm overlay.
pub fn stopped_dm_case() -> (Vec<String>, Vec<String>) {
    let x = mx(true, true);
    let r = x.run();
    finished(&x);
    r
}

/// (printed, ran): md recover, running array, no device-mapper (the confirmed image copy).
pub fn running_image_case() -> (Vec<String>, Vec<String>) {
    let x = mx(false, false);
    let r = x.run();
    finished(&x);
    r
}

/// After a whole walk: verified copy with its MANIFEST, the file gone, the stale member and
/// `--force` never in a command.
fn finished(x: &Mx) {
    let dest = x.tmp.path().join("rescued");
    let manifest = crate::recover::copyout::read_manifest(&dest).unwrap();
    assert_eq!(manifest.source_dir, "bitcoin");
    assert!(
        manifest.mount.options.starts_with("ro ("),
        "{}",
        manifest.mount.options
    );
    assert!(
        !x.file().exists(),
        "the overlay's file / the image is deleted"
    );
    for l in x.fake.lines() {
        assert!(
            !l.contains("/dev/vdb") && !l.contains("--force") && !l.contains("noload"),
            "{l}"
        );
    }
}

/// Lines of commands that ran and succeeded (the injected failure taken out).
fn succeeded(fake: &FakeRunner, failed: Option<&str>) -> Vec<String> {
    let mut lines = fake.lines();
    if let Some(f) = failed {
        if let Some(i) = lines.iter().position(|l| l.contains(f)) {
            lines.remove(i);
        }
    }
    lines
}

/// Each thing set up was taken down (counted over successful commands), the mount is gone,
/// the file deleted.
fn nothing_left(x: &Mx, m: &FakeMachine, failed: Option<&str>, what: &str) {
    let ok = succeeded(&x.fake, failed);
    let n = |p: &str| ok.iter().filter(|l| l.starts_with(p)).count();
    assert_eq!(
        n("dmsetup create"),
        n("dmsetup remove"),
        "{what}: overlay left\n{ok:#?}"
    );
    assert_eq!(
        n(&format!("losetup {LOOP}")),
        n("losetup -d"),
        "{what}: loop left\n{ok:#?}"
    );
    assert_eq!(
        n("mdadm --assemble"),
        n("mdadm --stop"),
        "{what}: assembly left\n{ok:#?}"
    );
    assert!(
        !m.is_mounted(&x.input.mountpoint).unwrap(),
        "{what}: still mounted"
    );
    assert!(!x.file().exists(), "{what}: file left");
}

fn cleanup(x: &Mx, m: &FakeMachine, plan: &Plan) {
    let clean = teardown_of(plan);
    walk(
        &walker(&x.fake, m),
        &mut Journal::new(None, (), clean.clone()),
        &clean,
        &report,
    )
    .unwrap();
}

#[test]
fn md_recover_fails_at_every_step_and_its_teardown_leaves_nothing() {
    for (stopped, dm) in [(true, true), (false, true), (true, false)] {
        let ids: Vec<String> = mx(stopped, dm)
            .plan()
            .steps
            .iter()
            .map(|s| s.id.clone())
            .collect();
        for (k, id) in ids.iter().enumerate() {
            for by_command in [false, true] {
                let x = mx(stopped, dm);
                let m = FakeMachine::new(&x.fake);
                let plan = x.plan();
                let mut w = walker(&x.fake, &m);
                let needle = plan.steps[k].commands().next().map(|c| c.to_string());
                match (&needle, by_command) {
                    (Some(c), true) => {
                        x.fake.fail_on(c);
                    }
                    (None, true) => continue,
                    _ => w.inject = Some(id.clone()),
                }
                let what =
                    format!("stopped={stopped} dm={dm} failure at {id} (command: {by_command})");
                let walked = walk(&w, &mut x.journal(&plan), &plan, &report);
                if by_command && id == "unmount" {
                    // umount is retried (a scan may hold the mount briefly): one failure passes.
                    walked.unwrap_or_else(|e| panic!("{what}: {e:#}"));
                    nothing_left(&x, &m, needle.as_deref(), &what);
                    continue;
                }
                assert!(walked.is_err(), "{what}");
                let saved = x.reload();
                assert_eq!(saved.completed, ids[..k].to_vec(), "{what}");
                assert_eq!(saved.failed.as_deref(), Some(id.as_str()), "{what}");
                if ids[..k].iter().all(|i| i != "copy") {
                    assert!(
                        !x.tmp.path().join("rescued/MANIFEST").exists(),
                        "{what}: MANIFEST before copy"
                    );
                }
                drop(w);
                cleanup(&x, &m, &plan);
                nothing_left(&x, &m, needle.as_deref().filter(|_| by_command), &what);
            }
        }
    }
}

/// Killed after the mount: the next run walks the teardown of the journal's plan.
#[test]
fn a_killed_md_recover_is_taken_down_from_its_journal() {
    let x = mx(true, true);
    let m = FakeMachine::new(&x.fake);
    let plan = x.plan();
    let n = plan
        .steps
        .iter()
        .position(|s| s.id == "recover-mounted")
        .unwrap();
    let prefix = Plan {
        steps: plan.steps[..=n].to_vec(),
        ..plan.clone()
    };
    walk(
        &walker(&x.fake, &m),
        &mut x.journal(&plan),
        &prefix,
        &report,
    )
    .unwrap();
    assert!(m.is_mounted(&x.input.mountpoint).unwrap());
    let j = x.reload();
    cleanup(&x, &m, &j.plan);
    nothing_left(&x, &m, None, "killed after recover-mounted");
}

#[test]
fn a_changed_survivor_or_origin_stops_before_assembling_or_overlaying() {
    // The survivor's superblock no longer shows the planned events: not assembled.
    let mut x = mx(true, true);
    if let crate::backend::md::recover_plan::MdSource::Stopped { survivor, .. } =
        &mut x.input.source
    {
        survivor.events = 18;
    }
    let m = FakeMachine::new(&x.fake);
    let plan = x.plan();
    let e = walk(&walker(&x.fake, &m), &mut x.journal(&plan), &plan, &report).unwrap_err();
    assert!(
        format!("{e:#}").contains("now shows events 17, not 18"),
        "{e:#}"
    );
    assert!(!x
        .fake
        .lines()
        .iter()
        .any(|l| l.starts_with("mdadm --assemble")));
    // The origin is not the size planned: no overlay.
    let x = mx(false, true);
    x.fake.reply_line("blockdev --getsz /dev/md127", "2048\n");
    let m = FakeMachine::new(&x.fake);
    let plan = x.plan();
    let e = walk(&walker(&x.fake, &m), &mut x.journal(&plan), &plan, &report).unwrap_err();
    assert!(
        format!("{e:#}").contains("has 2048 sectors, not 129024"),
        "{e:#}"
    );
    assert!(!x
        .fake
        .lines()
        .iter()
        .any(|l| l.starts_with("dmsetup create")));
    cleanup(&x, &m, &plan);
    nothing_left(&x, &m, None, "origin changed");
}
