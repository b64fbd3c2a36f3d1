//! `evaluate` (and the document) on the operator states captured by
//! `LNRAID_FIXCAP_ONLY=states scripts/capture-btrfs-fixtures`: read-only (by hand and forced by
//! the kernel), nearly full, full, replace in progress, and fstab / node-directory mistakes.

use super::doc::{FstabState, MemberState, OperationKind, ReadOnlyCause};
use super::export::to_doc;
use super::fstab_check::check_fstab;
use super::*;
use crate::probe::btrfs::df::parse_df;
use crate::probe::btrfs::replace::parse_replace_status;
use crate::probe::btrfs::show::parse_show;
use crate::probe::btrfs::stats::parse_stats;
use crate::probe::btrfs::usage::parse_usage;
use crate::probe::mounts::parse_mountinfo;

const NOW: u64 = 2_000_000_000;

macro_rules! fx {
    ($p:literal) => {
        include_str!(concat!("../../fixtures/", $p))
    };
}

/// A healthy mounted raid1 whose mount comes from a captured mountinfo line.
fn mounted(mountinfo: &str) -> ArrayFacts {
    let m = parse_mountinfo(mountinfo).unwrap().pop().unwrap();
    let mut f = super::tests::healthy();
    f.mountpoint = m.mountpoint.clone();
    f.mounted_at = Some(m.mountpoint.clone());
    f.mount_options = Some(super::gather::merge_options(&m.options, &m.super_options));
    f.per_mount_options = Some(m.options);
    f.super_options = Some(m.super_options);
    f
}

fn codes(s: &ArrayStatus) -> Vec<&'static str> {
    s.problems.iter().map(|p| p.code).collect()
}

fn problem<'a>(s: &'a ArrayStatus, code: &str) -> &'a Problem {
    s.problems
        .iter()
        .find(|p| p.code == code)
        .unwrap_or_else(|| panic!("no {code} in {:?}", codes(s)))
}

/// Every problem code the rules can emit is in README.md's status table.
#[test]
fn readme_documents_every_problem_code() {
    let readme = include_str!("../../README.md");
    let section = readme.split("## `lnraid status`").nth(1).unwrap();
    let section = section.split("\n## ").next().unwrap();
    let code = regex::Regex::new(r#"\n\s*"([a-z_]+)",\n"#).unwrap();
    let mut n = 0;
    for src in [
        include_str!("mod.rs"),
        include_str!("rules.rs"),
        include_str!("space.rs"),
    ] {
        for c in code.captures_iter(src) {
            let c = &c[1];
            if c.len() > 4 && c.contains('_') {
                assert!(section.contains(&format!("`{c}`")), "README lacks `{c}`");
                n += 1;
            }
        }
    }
    assert!(n >= 20, "only {n} codes found in the rules");
}

#[test]
fn read_write_mount_is_healthy_and_options_are_not_repeated() {
    let f = mounted(fx!("mountinfo/6.18.44-fc-v1045-btrfs-rw.txt"));
    let s = evaluate(&f, NOW);
    assert_eq!(s.verdict, Severity::Ok, "{:?}", s.problems);
    let m = to_doc(&s).mount.unwrap();
    assert_eq!(m.options.iter().filter(|o| *o == "rw").count(), 1, "{m:?}");
    assert!(!m.read_only);
}

#[test]
fn kernel_forced_read_only_is_critical_and_says_dmesg() {
    let f = mounted(fx!("mountinfo/6.18.44-fc-v1045-btrfs-forced-ro.txt"));
    assert_eq!(f.read_only_cause(), Some(ReadOnlyCause::Kernel));
    let s = evaluate(&f, NOW);
    assert_eq!(s.verdict.exit_code(), 2);
    let p = problem(&s, "read_only");
    assert!(p.message.contains("kernel forced"), "{}", p.message);
    assert!(p.action.contains("dmesg"), "{}", p.action);
    let d = to_doc(&s).mount.unwrap();
    assert_eq!(
        (d.read_only, d.read_only_cause),
        (true, Some(ReadOnlyCause::Kernel))
    );
}

#[test]
fn remount_ro_is_critical_and_tells_deliberate_from_fstab() {
    let mut f = mounted(fx!("mountinfo/6.18.44-fc-v1045-btrfs-remount-ro.txt"));
    assert_eq!(f.read_only_cause(), Some(ReadOnlyCause::MountOption));
    let s = evaluate(&f, NOW);
    assert_eq!(s.verdict, Severity::Critical);
    assert!(problem(&s, "read_only").action.contains("remount,rw"));
    let uuid = FsUuid::parse("5d1c0e2a-1111-2222-3333-444455556666").unwrap();
    let tab = format!(
        "UUID={uuid} {} btrfs ro,nofail 0 0\n",
        f.mountpoint.display()
    );
    f.fstab = Some(check_fstab(&tab, &uuid, &f.mountpoint));
    assert_eq!(f.read_only_cause(), Some(ReadOnlyCause::Fstab));
    let p = evaluate(&f, NOW);
    assert!(problem(&p, "read_only")
        .message
        .contains("fstab line says `ro`"));
}

fn with_space(usage: &str, df: &str) -> ArrayFacts {
    let mut f = super::tests::healthy();
    f.usage = Some(parse_usage(usage).unwrap());
    f.df = Some(parse_df(df).unwrap().groups);
    f
}

#[test]
fn full_array_is_critical() {
    for (u, d) in [
        (
            fx!("btrfs-filesystem-usage/6.2-raid1-full-raw.txt"),
            fx!("btrfs-filesystem-df/6.2-raid1-full-raw.txt"),
        ),
        (
            fx!("btrfs-filesystem-usage/6.14-raid1-full-raw.txt"),
            fx!("btrfs-filesystem-df/6.14-raid1-full-raw.txt"),
        ),
    ] {
        let s = evaluate(&with_space(u, d), NOW);
        assert_eq!(s.verdict, Severity::Critical, "{:?}", s.problems);
        assert!(
            problem(&s, "space_full").message.contains("0 B free"),
            "{:?}",
            s.problems
        );
        let sp = to_doc(&s).space.unwrap();
        assert_eq!(sp.free_bytes, 0);
        assert_eq!(sp.used_percent, 100.0);
    }
}

#[test]
fn nearly_full_array_is_a_warning_with_unallocated_low() {
    let s = evaluate(
        &with_space(
            fx!("btrfs-filesystem-usage/6.2-raid1-nearly-full-raw.txt"),
            fx!("btrfs-filesystem-df/6.2-raid1-nearly-full-raw.txt"),
        ),
        NOW,
    );
    assert_eq!(s.verdict, Severity::Warning, "{:?}", s.problems);
    assert!(codes(&s).contains(&"space_low"), "{:?}", codes(&s));
    assert!(codes(&s).contains(&"unallocated_low"), "{:?}", codes(&s));
    let sp = to_doc(&s).space.unwrap();
    assert!(sp.used_percent > 90.0 && sp.used_percent < 100.0, "{sp:?}");
}

#[test]
fn healthy_space_has_no_space_problem() {
    let s = evaluate(
        &with_space(
            fx!("btrfs-filesystem-usage/6.2-raid1-raw.txt"),
            fx!("btrfs-filesystem-df/6.2-raid1-raw.txt"),
        ),
        NOW,
    );
    assert_eq!(s.verdict, Severity::Ok, "{:?}", s.problems);
}

#[test]
fn running_replace_is_not_degraded_and_shows_percent() {
    let mut f = super::tests::healthy();
    f.show = parse_show(fx!("btrfs-filesystem-show/6.2-raid1-replacing-raw.txt"))
        .unwrap()
        .pop();
    f.stats = Some(parse_stats(fx!("btrfs-device-stats/6.2-replacing.txt")).unwrap());
    f.replace = Some(parse_replace_status(fx!("btrfs-replace-status/6.2-replacing.txt")).unwrap());
    let s = evaluate(&f, NOW);
    assert_eq!(s.verdict, Severity::Ok, "{:?}", s.problems);
    assert!(!codes(&s).contains(&"missing_device"));
    assert!(problem(&s, "replace_running").message.contains("20.80%"));
    let d = to_doc(&s);
    assert_eq!(d.redundancy.members_missing, 0);
    assert_eq!(d.redundancy.members_present, 2);
    assert!(!d.redundancy.degraded);
    let states: Vec<MemberState> = d.members.iter().map(|m| m.state).collect();
    assert_eq!(
        states,
        vec![
            MemberState::ReplaceTarget,
            MemberState::Present,
            MemberState::Present
        ]
    );
    let op = &d.operations[0];
    assert_eq!((op.kind, op.percent), (OperationKind::Replace, Some(20.8)));
    let text = super::render::render(&[s], Severity::Ok);
    assert!(text.contains("replace: running, 20.8% done"), "{text}");
    assert!(
        !text.contains("Percent(") && !text.contains("Running {"),
        "{text}"
    );
}

#[test]
fn fstab_duplicate_wrong_and_missing_are_reported() {
    let uuid = FsUuid::parse("5d1c0e2a-1111-2222-3333-444455556666").unwrap();
    let mut f = super::tests::healthy();
    f.uuid = Some(uuid.clone());
    let dup = format!(
        "UUID={uuid} /mnt/lnraid btrfs defaults 0 0\n/dev/sdb /mnt/lnraid/ btrfs defaults 0 0\n"
    );
    for (text, code, state) in [
        (dup.as_str(), "fstab_duplicated", FstabState::Duplicated),
        ("# empty\n", "fstab_missing", FstabState::Missing),
        (
            "/dev/sdb /mnt//lnraid btrfs defaults 0 0\n",
            "fstab_wrong",
            FstabState::Wrong,
        ),
    ] {
        f.fstab = Some(check_fstab(text, &uuid, &f.mountpoint));
        let s = evaluate(&f, NOW);
        assert_eq!(s.verdict, Severity::Warning, "{code}: {:?}", s.problems);
        let p = problem(&s, code);
        assert!(
            p.action.contains(&format!("UUID={uuid} /mnt/lnraid btrfs")),
            "{}",
            p.action
        );
        assert_eq!(to_doc(&s).fstab.unwrap().state, state);
    }
}

#[test]
fn dangling_node_dir_is_critical_and_names_the_right_mountpoint() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("bitcoin");
    std::os::unix::fs::symlink("/mnt/lnraid/bitcoin", &dir).unwrap();
    let mut f = super::tests::healthy();
    f.mounted_at = Some("/mnt/elsewhere".into());
    f.lightning_dir = Some(dir.clone());
    f.lightning_dir_on_array = Some(true);
    f.lightning_dir_dangling = true;
    let s = evaluate(&f, NOW);
    assert_eq!(s.verdict, Severity::Critical, "{:?}", s.problems);
    let p = problem(&s, "lightning_dir_dangling");
    assert!(p.message.contains("/mnt/lnraid/bitcoin"), "{}", p.message);
    assert!(
        p.action.contains("umount /mnt/elsewhere") && p.action.contains("mount /mnt/lnraid"),
        "{}",
        p.action
    );
    assert_eq!(to_doc(&s).lightning_dir.unwrap().on_array, Some(false));
}

/// No state renders a Rust Debug name, a hundredths percent or a doubled option.
#[test]
fn human_output_has_no_debug_strings() {
    let rw = fx!("mountinfo/6.18.44-fc-v1045-btrfs-rw.txt");
    let mut states = vec![
        mounted(rw),
        mounted(fx!("mountinfo/6.18.44-fc-v1045-btrfs-forced-ro.txt")),
        with_space(
            fx!("btrfs-filesystem-usage/6.2-raid1-full-raw.txt"),
            fx!("btrfs-filesystem-df/6.2-raid1-full-raw.txt"),
        ),
        with_space(
            fx!("btrfs-filesystem-usage/6.2-raid1-degraded-mixed-raw.txt"),
            fx!("btrfs-filesystem-df/6.2-raid1-degraded-mixed-raw.txt"),
        ),
    ];
    let mut r = mounted(rw);
    r.show = parse_show(fx!("btrfs-filesystem-show/6.2-raid1-replacing-raw.txt"))
        .unwrap()
        .pop();
    r.replace = Some(parse_replace_status(fx!("btrfs-replace-status/6.2-replacing.txt")).unwrap());
    states.push(r);
    let mut d = mounted(rw);
    d.show = parse_show(fx!(
        "btrfs-filesystem-show/6.2-raid1-degraded-mounted-raw.txt"
    ))
    .unwrap()
    .pop();
    d.scrub = Some(
        crate::probe::btrfs::scrub::parse_scrub_status(fx!(
            "btrfs-scrub-status/6.2-never-run-raw.txt"
        ))
        .unwrap(),
    );
    d.scrub_finished_at = None;
    d.balance = Some(
        crate::probe::btrfs::balance::parse_balance_status(fx!(
            "btrfs-balance-status/6.2-paused.txt"
        ))
        .unwrap(),
    );
    states.push(d);
    let arrays: Vec<ArrayStatus> = states.iter().map(|f| evaluate(f, NOW)).collect();
    let text = super::render::render(&arrays, Severity::Critical);
    for bad in [
        "Percent(",
        "Some(",
        "None",
        "NeverRun",
        "Running {",
        "Paused(",
        "[2]",
        "Data ",
        "Metadata ",
        "rw,relatime,rw",
        "GlobalReserve",
    ] {
        assert!(!text.contains(bad), "{bad:?} in:\n{text}");
    }
    assert!(text.contains("devid 2 is missing"), "{text}");
    assert!(text.contains("balance: paused"), "{text}");
}
