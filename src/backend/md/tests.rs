//! md backend tests: health and rules on the VM captures (fixtures/, mdadm 4.2, kernel 6.1),
//! probing through the FakeRunner replaying those captures, and the setup plan.

use std::path::PathBuf;

use super::health::health;
use super::probe::{probe_array, MdSnapshot, MdSysfs};
use super::rules::{evaluate, RulesCtx};
use crate::backend::health::{MemberState, OperationKind};
use crate::exec::FakeRunner;
use crate::probe::mdadm::{parse_detail, parse_detail_export};
use crate::probe::mdstat::parse_mdstat;
use crate::status::Severity;
use crate::types::DevPath;

macro_rules! fx {
    (detail, $name:literal) => {
        include_str!(concat!(
            "../../../fixtures/mdadm-detail/4.2-raid1-",
            $name,
            ".txt"
        ))
    };
    (export, $name:literal) => {
        include_str!(concat!(
            "../../../fixtures/mdadm-detail-export/4.2-raid1-",
            $name,
            ".txt"
        ))
    };
    (mdstat, $name:literal) => {
        include_str!(concat!(
            "../../../fixtures/mdstat/6.1.0-56-cloud-amd64-raid1-",
            $name,
            ".txt"
        ))
    };
}

macro_rules! snap {
    ($name:literal) => {
        MdSnapshot {
            device: Some(DevPath::new("/dev/md127")),
            export: Some(parse_detail_export(fx!(export, $name)).unwrap()),
            detail: Some(parse_detail(fx!(detail, $name)).unwrap()),
            mdstat: parse_mdstat(fx!(mdstat, $name))
                .unwrap()
                .array("md127")
                .cloned(),
            sysfs: MdSysfs::default(),
            errors: Vec::new(),
        }
    };
}

fn codes(s: &MdSnapshot) -> Vec<(&'static str, Severity)> {
    evaluate(&health(s), &RulesCtx::default())
        .into_iter()
        .filter(|p| p.severity != Severity::Ok)
        .map(|p| (p.code, p.severity))
        .collect()
}

#[test]
fn clean_array_is_healthy_and_says_md_does_not_checksum() {
    let s = snap!("clean");
    let h = health(&s);
    assert_eq!(h.redundancy.expected, 2);
    assert_eq!(h.redundancy.in_sync, 2);
    assert!(h.members.iter().all(|m| m.state == MemberState::Active));
    assert_eq!(codes(&s), vec![]);
    let all = evaluate(&h, &RulesCtx::default());
    assert!(all
        .iter()
        .any(|p| p.code == "md_no_checksums" && p.message.contains("does not checksum")));
}

#[test]
fn initial_resync_is_a_warning_not_yet_redundant() {
    let s = snap!("resyncing");
    let h = health(&s);
    assert_eq!(h.operations[0].kind, OperationKind::Resync);
    assert!(
        h.redundancy.degraded(),
        "a resyncing mirror is not a copy yet"
    );
    let p = evaluate(&h, &RulesCtx::default());
    let r = p.iter().find(|p| p.code == "md_resyncing").unwrap();
    assert_eq!(r.severity, Severity::Warning);
    assert!(r.message.contains("not yet redundant"), "{}", r.message);
}

#[test]
fn faulty_member_is_critical_and_names_the_member() {
    let s = snap!("degraded-faulty");
    let h = health(&s);
    let vdb = h
        .members
        .iter()
        .find(|m| m.path.as_ref().is_some_and(|p| p.to_string() == "/dev/vdb"))
        .unwrap();
    assert_eq!(vdb.state, MemberState::Faulty);
    let c = codes(&s);
    assert!(
        c.contains(&("md_faulty_member", Severity::Critical)),
        "{c:?}"
    );
    assert!(
        c.contains(&("md_missing_member", Severity::Critical)),
        "{c:?}"
    );
}

#[test]
fn removed_member_is_critical() {
    let c = codes(&snap!("degraded-removed"));
    assert_eq!(c, vec![("md_missing_member", Severity::Critical)]);
}

#[test]
fn rebuild_shows_percent_and_is_a_warning() {
    let s = snap!("recovering");
    let h = health(&s);
    let r = h
        .members
        .iter()
        .find(|m| matches!(m.state, MemberState::Rebuilding { .. }))
        .unwrap();
    assert_eq!(r.state, MemberState::Rebuilding { percent: Some(5.5) });
    assert_eq!(codes(&s), vec![("md_rebuilding", Severity::Warning)]);
}

#[test]
fn spare_is_not_a_problem_and_write_mostly_is_seen() {
    let s = snap!("clean-with-spare");
    assert!(health(&s)
        .members
        .iter()
        .any(|m| m.state == MemberState::Spare));
    assert_eq!(codes(&s), vec![]);
    let w = health(&snap!("write-mostly"));
    assert!(w.members.iter().any(|m| m.write_mostly), "{:?}", w.members);
}

#[test]
fn no_bitmap_warns_with_the_grow_command() {
    let mut s = snap!("clean");
    s.sysfs.bitmap_location = Some("none".into());
    let p = evaluate(&health(&s), &RulesCtx::default());
    let b = p.iter().find(|p| p.code == "md_no_bitmap").unwrap();
    assert_eq!(b.action, "mdadm --grow --bitmap=internal /dev/md127");
}

#[test]
fn check_mismatch_warns_and_never_suggests_repair() {
    let mut s = snap!("clean");
    s.sysfs.last_sync_action = Some("check".into());
    s.sysfs.mismatch_cnt = Some(128);
    let p = evaluate(&health(&s), &RulesCtx::default());
    let m = p.iter().find(|p| p.code == "md_mismatch").unwrap();
    assert!(m.message.contains("128 sectors"));
    assert!(m.action.contains("do NOT run `repair`"));
    // Zero mismatches after a check: nothing.
    s.sysfs.mismatch_cnt = Some(0);
    assert!(evaluate(&health(&s), &RulesCtx::default())
        .iter()
        .all(|p| p.code != "md_mismatch"));
}

#[test]
fn conf_without_the_array_and_stale_check_warn() {
    let s = snap!("clean");
    let ctx = RulesCtx {
        now: 100 * 86_400,
        last_check_at: Some(10 * 86_400),
        conf_has_array: Some(false),
        conf_path: Some("/etc/mdadm/mdadm.conf".into()),
        ..RulesCtx::default()
    };
    let got: Vec<_> = evaluate(&health(&s), &ctx)
        .into_iter()
        .map(|p| p.code)
        .collect();
    assert!(
        got.contains(&"md_check_stale") && got.contains(&"md_conf_missing"),
        "{got:?}"
    );
}

#[test]
fn probe_runs_only_read_only_commands_and_reads_proc_and_sysfs() {
    let dir = tempfile::tempdir().unwrap();
    let md = dir.path().join("block/md127/md");
    std::fs::create_dir_all(md.join("bitmap")).unwrap();
    std::fs::create_dir_all(md.join("dev-vda")).unwrap();
    std::fs::write(md.join("array_state"), "clean\n").unwrap();
    std::fs::write(md.join("mismatch_cnt"), "0\n").unwrap();
    std::fs::write(md.join("bitmap/location"), "+8\n").unwrap();
    std::fs::write(md.join("dev-vda/state"), "in_sync\n").unwrap();
    let mdstat = dir.path().join("mdstat");
    std::fs::write(&mdstat, fx!(mdstat, "clean")).unwrap();
    let fake = FakeRunner::new();
    fake.reply_line("mdadm --detail --export /dev/md127", fx!(export, "clean"));
    fake.reply_line("mdadm --detail /dev/md127", fx!(detail, "clean"));
    let s = probe_array(&fake, &DevPath::new("/dev/md127"), dir.path(), &mdstat);
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    assert!(fake
        .commands()
        .iter()
        .all(|c| c.effect == crate::exec::Effect::ReadOnly));
    assert_eq!(s.sysfs.array_state.as_deref(), Some("clean"));
    assert_eq!(
        s.sysfs.dev_states,
        vec![("dev-vda".to_string(), "in_sync".to_string())]
    );
    assert_eq!(health(&s).redundancy.in_sync, 2);
}

#[test]
fn malformed_mdadm_output_is_an_error_not_a_healthy_array() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeRunner::new();
    fake.reply_line("mdadm --detail --export /dev/md127", "garbage\n");
    fake.reply_line("mdadm --detail /dev/md127", "garbage\n");
    let s = probe_array(
        &fake,
        &DevPath::new("/dev/md127"),
        dir.path(),
        &PathBuf::from("/nonexistent"),
    );
    assert!(s.errors.len() >= 3, "{:?}", s.errors);
}

fn problem_codes(ctx: &RulesCtx) -> Vec<(&'static str, Severity)> {
    evaluate(&health(&snap!("clean")), ctx)
        .into_iter()
        .map(|p| (p.code, p.severity))
        .collect()
}

const DAY: u64 = 86_400;

#[test]
fn stale_check_from_the_record_or_never_checked_in_an_old_array() {
    let stale = ("md_check_stale", Severity::Warning);
    let fresh = RulesCtx {
        now: 100 * DAY,
        last_check_at: Some(90 * DAY),
        ..RulesCtx::default()
    };
    assert!(!problem_codes(&fresh).contains(&stale));
    let old = RulesCtx {
        last_check_at: Some(50 * DAY),
        ..fresh.clone()
    };
    assert!(problem_codes(&old).contains(&stale));
    // Never checked: stale only once the array is older than the interval.
    let never_young = RulesCtx {
        now: 100 * DAY,
        created_at: Some(95 * DAY),
        ..RulesCtx::default()
    };
    assert!(!problem_codes(&never_young).contains(&stale));
    let never_old = RulesCtx {
        created_at: Some(10 * DAY),
        ..never_young.clone()
    };
    assert!(problem_codes(&never_old).contains(&stale));
    // The distribution checks it: lnraid cannot see those runs, so it says so instead.
    let distro = RulesCtx {
        distro_check: Some("Debian's systemd timers mdcheck_start.timer are enabled".into()),
        ..never_old
    };
    let got = problem_codes(&distro);
    assert!(!got.contains(&stale), "{got:?}");
    assert!(got.contains(&("md_check_by_distribution", Severity::Ok)));
}

#[test]
fn mismatch_survives_the_reboot_through_the_record() {
    // After a reboot sysfs shows no check, but lnraid's record of the last one does.
    let ctx = RulesCtx {
        last_check_mismatch: Some(256),
        ..RulesCtx::default()
    };
    let p = evaluate(&health(&snap!("clean")), &ctx);
    let m = p.iter().find(|p| p.code == "md_mismatch").unwrap();
    assert!(m.message.contains("256 sectors"), "{}", m.message);
    let zero = RulesCtx {
        last_check_mismatch: Some(0),
        ..RulesCtx::default()
    };
    assert!(!problem_codes(&zero)
        .iter()
        .any(|(c, _)| *c == "md_mismatch"));
}

#[test]
fn a_member_with_another_arrays_uuid_is_critical() {
    let ctx = RulesCtx {
        foreign: vec![super::history::ForeignMember {
            path: DevPath::new("/dev/vdc"),
            array_uuid: "11111111:22222222:33333333:44444444".into(),
        }],
        ..RulesCtx::default()
    };
    let p = evaluate(&health(&snap!("clean")), &ctx);
    let f = p
        .iter()
        .find(|p| p.code == "md_member_uuid_mismatch")
        .unwrap();
    assert_eq!(f.severity, Severity::Critical);
    assert!(f.message.contains("/dev/vdc") && f.message.contains("11111111:22222222"));
}
