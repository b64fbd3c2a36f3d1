//! Pure planner tests: the step order, and that every step carries the safety fields the
//! executor acts on (a re-proof before each destructive step, freshness before a copy becomes
//! the node's or is erased). The executor's behaviour is tested in `walk::tests`.

use super::abort::plan_abort;
use super::setup::{plan_setup, Profile, SetupRequest};
use super::{Action, Allow, Check, Resume};
use crate::types::{DevPath, FsUuid};

pub(crate) fn req(wipe: bool) -> SetupRequest {
    SetupRequest {
        lightning_dir: "/home/n/.lightning/bitcoin".into(),
        devices: vec![DevPath::new("/dev/sdb"), DevPath::new("/dev/sdc")],
        targets: vec![],
        profile: Profile::Raid1,
        mountpoint: "/mnt/lnraid".into(),
        mountpoint_existed: false,
        label: "lnraid".into(),
        fs_uuid: FsUuid::parse("5d1c0e2a-1111-2222-3333-444455556666").unwrap(),
        owner: None,
        wipe,
        autodefrag: true,
        fstab: "/etc/fstab".into(),
        dropin: Some("/etc/systemd/system/lightningd.service.d/lnraid.conf".into()),
        daemon_reload: true,
        timestamp: "20260101T000000Z".into(),
        has_database: true,
        schedule: None,
        backend: Default::default(),
        md: None,
    }
}

fn ids(p: &super::Plan) -> Vec<&str> {
    p.steps.iter().map(|s| s.id.as_str()).collect()
}

#[test]
fn setup_steps_in_order_with_their_safety_fields() {
    let r = req(true);
    let p = plan_setup(&r, "");
    assert_eq!(
        ids(&p),
        [
            "wipe",
            "mkfs",
            "scan",
            "mountpoint",
            "mount",
            "subvolume",
            "copy",
            "verify",
            "publish",
            "move-aside",
            "symlink",
            "fstab",
            "boot-safety"
        ]
    );
    assert_eq!(ids(&plan_setup(&req(false), ""))[0], "mkfs");
    assert_eq!(p.protect.as_deref(), Some(r.lightning_dir.as_path()));
    assert_eq!(p.own_fs.as_deref(), Some(r.fs_uuid.as_str()));
    for s in &p.steps {
        let reproves_all = s.checks.iter().any(|c| {
            matches!(c,
            Check::Targets { devices, allow: Allow::Confirmed } if *devices == r.devices)
        });
        assert_eq!(s.is_destructive(), reproves_all, "step {}", s.id);
        let fresh = s
            .checks
            .iter()
            .any(|c| matches!(c, Check::SourceUnchanged { .. }));
        assert_eq!(
            fresh,
            ["publish", "move-aside", "symlink"].contains(&s.id.as_str()),
            "step {}",
            s.id
        );
    }
    let step = |id: &str| p.steps.iter().find(|s| s.id == id).unwrap();
    assert_eq!(step("mkfs").resume, Resume::Replan);
    assert!(step("copy").checks.contains(&Check::NodeStopped {
        dir: r.lightning_dir.clone()
    }));
    assert!(step("symlink")
        .checks
        .contains(&Check::SourceUnchanged { dir: r.aside() }));
    // The mount names members, never `UUID=`, and never adds force.
    assert!(
        matches!(&step("mount").actions[0], Action::Mount { members, .. } if *members == r.devices)
    );
    assert!(p
        .commands()
        .iter()
        .all(|c| !c.args.iter().any(|a| a == "-f" || a.starts_with("UUID="))));
}

#[test]
fn abort_undoes_exactly_what_was_touched_and_erases_last() {
    let r = req(false);
    let all = ids(&plan_setup(&r, ""))
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    let cases: [(&str, &[&str]); 4] = [
        (
            "copy",
            &[
                "restore-dir",
                "remove-partial",
                "umount",
                "release-mountpoint",
                "forget",
                "erase-1",
                "erase-2",
            ],
        ),
        ("scan", &["restore-dir", "forget", "erase-1", "erase-2"]),
        (
            "symlink",
            &[
                "restore-dir",
                "remove-partial",
                "umount",
                "release-mountpoint",
                "forget",
                "erase-1",
                "erase-2",
            ],
        ),
        (
            "boot-safety",
            &[
                "remove-dropin",
                "remove-fstab-line",
                "restore-dir",
                "remove-partial",
                "umount",
                "release-mountpoint",
                "forget",
                "erase-1",
                "erase-2",
            ],
        ),
    ];
    for (upto, want) in cases {
        let n = all.iter().position(|i| i == upto).unwrap();
        let touched: Vec<String> = all[..=n].to_vec();
        let p = plan_abort(&r, &|id| touched.iter().any(|t| t == id));
        assert_eq!(ids(&p), want.to_vec(), "abort after {upto}");
        let restore = p.steps.iter().find(|s| s.id == "restore-dir").unwrap();
        let guards_copy = restore
            .checks
            .iter()
            .any(|c| matches!(c, Check::CopyUnchanged { .. }));
        assert_eq!(
            guards_copy,
            n >= all.iter().position(|i| i == "symlink").unwrap(),
            "after {upto}"
        );
        for s in p.steps.iter().filter(|s| s.is_destructive()) {
            assert!(s.checks.iter().any(|c| matches!(
                c,
                Check::Targets {
                    allow: Allow::OwnOrBlank,
                    ..
                }
            )));
            assert!(matches!(s.actions[0], Action::WipeOwn { strict: true, .. }));
        }
    }
    let nothing = plan_abort(&r, &|_| false);
    assert_eq!(ids(&nothing), ["restore-dir"]);
}
