//! `evaluate` on facts built from outputs captured on real arrays (fixtures/).

use super::*;
use crate::probe::btrfs::df::parse_df;
use crate::probe::btrfs::scrub::parse_scrub_status;
use crate::probe::btrfs::show::parse_show;
use crate::probe::btrfs::stats::parse_stats;

const NOW: u64 = 2_000_000_000;

macro_rules! fx {
    ($p:literal) => {
        include_str!(concat!("../../fixtures/", $p))
    };
}

pub(super) fn healthy() -> ArrayFacts {
    ArrayFacts {
        uuid: None,
        mountpoint: "/mnt/lnraid".into(),
        mounted_at: Some("/mnt/lnraid".into()),
        mount_options: Some("rw,relatime,space_cache=v2".into()),
        show: parse_show(fx!("btrfs-filesystem-show/6.2-raid1-mounted-raw.txt"))
            .unwrap()
            .pop(),
        stats: Some(parse_stats(fx!("btrfs-device-stats/6.2-healthy.txt")).unwrap()),
        df: Some(
            parse_df(fx!("btrfs-filesystem-df/6.2-raid1-raw.txt"))
                .unwrap()
                .groups,
        ),
        scrub: Some(
            parse_scrub_status(fx!("btrfs-scrub-status/6.2-finished-clean-raw.txt")).unwrap(),
        ),
        scrub_finished_at: Some(NOW - 3600),
        fstab_line: Some(true),
        ..ArrayFacts::default()
    }
}

fn codes(s: &ArrayStatus) -> Vec<&'static str> {
    s.problems.iter().map(|p| p.code).collect()
}

#[test]
fn healthy_array_is_ok() {
    let s = evaluate(&healthy(), NOW);
    assert_eq!(s.verdict, Severity::Ok, "{:?}", s.problems);
    assert_eq!(s.verdict.exit_code(), 0);
}

#[test]
fn degraded_is_critical_naming_the_devid() {
    let mut f = healthy();
    f.show = parse_show(fx!(
        "btrfs-filesystem-show/6.2-raid1-degraded-mounted-raw.txt"
    ))
    .unwrap()
    .pop();
    f.mount_options = Some("rw,relatime,rw,degraded,space_cache=v2".into());
    f.stats = Some(parse_stats(fx!("btrfs-device-stats/6.2-degraded.txt")).unwrap());
    let s = evaluate(&f, NOW);
    assert_eq!(s.verdict, Severity::Critical);
    let missing = s
        .problems
        .iter()
        .find(|p| p.code == "missing_device")
        .unwrap();
    assert!(
        missing.message.starts_with("devid 2 is missing"),
        "{}",
        missing.message
    );
    assert!(
        missing.action.contains("lnraid recover")
            && missing.action.contains("lnraid replace --old 2")
    );
    assert!(codes(&s).contains(&"degraded_mount"));
}

#[test]
fn single_chunks_after_degraded_writes_flagged() {
    let mut f = healthy();
    f.df = Some(
        parse_df(fx!("btrfs-filesystem-df/6.2-raid1-degraded-mixed-raw.txt"))
            .unwrap()
            .groups,
    );
    let s = evaluate(&f, NOW);
    assert!(codes(&s).contains(&"non_raid_profile"), "{:?}", s.problems);
    assert_eq!(s.verdict, Severity::Warning);
    let p = s
        .problems
        .iter()
        .find(|p| p.code == "non_raid_profile")
        .unwrap();
    assert!(
        p.message.contains("single") && p.action.contains("-dconvert=raid1,soft"),
        "{p:?}"
    );
}

#[test]
fn raid1c3_expected_from_setup_record() {
    let mut f = healthy();
    f.df = Some(
        parse_df(fx!("btrfs-filesystem-df/6.2-raid1c3-raw.txt"))
            .unwrap()
            .groups,
    );
    f.expected_profile = Some(Profile::Raid1c3);
    assert_eq!(evaluate(&f, NOW).verdict, Severity::Ok);
    f.expected_profile = Some(Profile::Raid1c4);
    assert!(codes(&evaluate(&f, NOW)).contains(&"non_raid_profile"));
}

#[test]
fn scrub_results_and_age() {
    let mut f = healthy();
    f.scrub =
        Some(parse_scrub_status(fx!("btrfs-scrub-status/6.2-finished-corrected-raw.txt")).unwrap());
    f.stats = Some(parse_stats(fx!("btrfs-device-stats/6.2-corrupted.txt")).unwrap());
    let s = evaluate(&f, NOW);
    assert_eq!(
        (s.verdict, codes(&s).contains(&"scrub_corrected")),
        (Severity::Warning, true),
        "{:?}",
        s.problems
    );
    assert!(codes(&s).contains(&"device_errors"));
    f.scrub = Some(
        parse_scrub_status(fx!("btrfs-scrub-status/6.2-finished-uncorrectable-raw.txt")).unwrap(),
    );
    assert_eq!(evaluate(&f, NOW).verdict, Severity::Critical);
    let mut g = healthy();
    g.scrub_finished_at = Some(NOW - 30 * 86_400);
    assert_eq!(codes(&evaluate(&g, NOW)), vec!["scrub_old"]);
    g.scrub_finished_at = None;
    g.scrub = None;
    g.created_at = Some(NOW - 86_400);
    assert_eq!(
        evaluate(&g, NOW).verdict,
        Severity::Ok,
        "a day-old array needs no scrub yet"
    );
    g.created_at = None;
    assert_eq!(codes(&evaluate(&g, NOW)), vec!["scrub_never"]);
}

#[test]
fn unmounted_and_config_problems() {
    let mut f = healthy();
    f.mounted_at = None;
    f.fstab_line = Some(false);
    f.lightning_dir = Some("/home/u/.lightning/bitcoin".into());
    f.lightning_dir_on_array = Some(false);
    f.mountpoint_immutable = Some(false);
    let s = evaluate(&f, NOW);
    assert_eq!(s.verdict, Severity::Critical);
    for c in [
        "not_mounted",
        "fstab_missing",
        "lightning_dir_off_array",
        "mountpoint_mutable",
    ] {
        assert!(codes(&s).contains(&c), "{c}: {:?}", codes(&s));
    }
}

#[test]
fn unfinished_replace_reported() {
    let mut f = healthy();
    f.unfinished.push(("replace".into(), "convert".into()));
    let s = evaluate(&f, NOW);
    assert_eq!(
        (s.verdict, codes(&s)),
        (Severity::Warning, vec!["unfinished_operation"])
    );
    assert!(s.problems[0].action.contains("lnraid replace"));
}

#[test]
fn probe_failures_are_unknown_not_healthy() {
    let mut f = healthy();
    f.errors.push("btrfs: command failed".into());
    assert_eq!(evaluate(&f, NOW).verdict, Severity::Unknown);
    f.mounted_at = None; // critical outranks unknown
    assert_eq!(evaluate(&f, NOW).verdict, Severity::Critical);
}
