//! /proc/mdstat and mdadm parsers over our VM captures (fixtures/, scripts/vm) and over
//! `../shared/corpus` (real outputs from other machines, described in its MANIFEST.tsv):
//! every file parses (or is refused for a stated reason), the states the manifest names are
//! recognized. Cut and garbled variants: tests/mdadm_cuts.rs.

#[path = "common/corpus.rs"]
mod fx;

use fx::{corpus, files, root};
use std::fs;

use lnraid::probe::mdadm::{parse_detail, parse_detail_export, parse_examine, Detail, ExamineRole};
use lnraid::probe::mdstat::{parse_mdstat, Access, MdArray, Mdstat, RunState, SyncKind, SyncState};

#[test]
fn every_vm_fixture_parses() {
    for (name, text) in files(&root().join("fixtures/mdstat")) {
        parse_mdstat(&text).unwrap_or_else(|e| panic!("mdstat/{name}: {e}"));
    }
    for (name, text) in files(&root().join("fixtures/mdadm-detail")) {
        let d = parse_detail(&text).unwrap_or_else(|e| panic!("mdadm-detail/{name}: {e}"));
        // The level is in the scenario name (`4.2-raid10-clean.txt`).
        let level = name.split('-').nth(1).unwrap_or_default();
        assert_eq!(d.raid_level, level, "{name}");
    }
    for (name, text) in files(&root().join("fixtures/mdadm-detail-export")) {
        let e = parse_detail_export(&text).unwrap_or_else(|e| panic!("export/{name}: {e}"));
        assert!(!e.members.is_empty(), "{name}");
    }
    for (name, text) in files(&root().join("fixtures/mdadm-examine")) {
        parse_examine(&text).unwrap_or_else(|e| panic!("mdadm-examine/{name}: {e}"));
    }
}

/// The export and the text report of the same moment agree on the array's identity.
#[test]
fn detail_and_export_agree() {
    for (name, text) in files(&root().join("fixtures/mdadm-detail")) {
        let export = fs::read_to_string(root().join("fixtures/mdadm-detail-export").join(&name))
            .unwrap_or_else(|e| panic!("export twin of {name}: {e}"));
        let d = parse_detail(&text).unwrap();
        let e = parse_detail_export(&export).unwrap();
        assert_eq!(d.uuid, e.uuid, "{name}");
        assert_eq!(d.name, e.name, "{name}");
        if !d.is_inactive() {
            assert_eq!(d.raid_devices, e.raid_devices, "{name}");
            // The export cannot tell a rebuilding member from an in-sync one.
            if d.operation().map(|o| o.0) != Some("recovering") {
                assert_eq!(d.is_degraded(), e.missing_slots() > 0, "{name}");
            }
        }
    }
}

fn arr<'a>(stat: &'a Mdstat, name: &str) -> &'a MdArray {
    stat.array(name)
        .unwrap_or_else(|| panic!("{name} missing: {stat:?}"))
}

fn op(a: &MdArray) -> (SyncKind, f64) {
    let p = a
        .operation()
        .unwrap_or_else(|| panic!("{} has no operation", a.name));
    (p.kind, p.percent)
}

fn spares(a: &MdArray) -> Vec<&str> {
    a.members
        .iter()
        .filter(|m| m.spare)
        .map(|m| m.device.as_str())
        .collect()
}

fn faulty(a: &MdArray) -> Vec<&str> {
    a.faulty_members().map(|m| m.device.as_str()).collect()
}

/// What MANIFEST.tsv says about each corpus file, as assertions.
fn check_corpus_mdstat(file: &str, s: &Mdstat) {
    use SyncKind::*;
    match file {
        "checkraid-white-raid1-recovery.txt" => {
            let a = arr(s, "md126");
            assert!(a.is_degraded() && a.in_sync == Some(vec![false, true]));
            let p = a.operation().unwrap();
            assert_eq!(
                (p.kind, p.percent, p.finish_minutes),
                (Recovery, 29.2, 212.1)
            );
            assert_eq!(p.speed_kib_per_sec, 40742);
            assert_eq!(s.arrays.len(), 3);
        }
        "checkraid-issue164-raid1-5dev-faulty-bitmap.txt" => {
            let a = arr(s, "md1");
            assert_eq!(faulty(a), ["sdh1"]);
            assert!(!a.is_degraded(), "[5/5] [UUUUU] despite the (F) member");
            assert!(a.bitmap.is_some() && arr(s, "md0").bitmap.is_some());
        }
        "checkraid-issue34-imsm-container.txt" => {
            assert_eq!(
                arr(s, "md127").superblock.as_deref(),
                Some("external:/md0/0")
            );
            let c = arr(s, "md0");
            assert_eq!(c.state, RunState::Inactive);
            assert_eq!(spares(c), ["sda", "sdb"]);
            assert_eq!(c.superblock.as_deref(), Some("external:imsm"));
        }
        "checkraid-issue43-raid6-reshape.txt" => {
            let a = arr(s, "md0");
            assert_eq!(op(a), (Reshape, 48.4));
            assert_eq!(spares(a), ["sde1", "sdf1"]);
            assert_eq!(a.superblock.as_deref(), Some("0.91"));
            assert!(a.is_degraded());
        }
        "checkraid-issue43-raid6-recovery.txt" => {
            let a = arr(s, "md0");
            assert_eq!(op(a), (Recovery, 19.6));
            assert_eq!(
                (a.superblock.as_deref(), a.raid_disks, a.working_disks),
                (None, Some(6), Some(4))
            );
        }
        "checkraid-issue43-raid6-readd-recovery.txt" => {
            let a = arr(s, "md0");
            assert_eq!(op(a), (Recovery, 0.2));
            assert_eq!(a.working_disks, Some(5));
        }
        "checkraid-issue64-auto-read-only.txt" => {
            assert_eq!(arr(s, "md2").access, Access::AutoReadOnly);
            assert_eq!(arr(s, "md0").access, Access::AutoReadOnly);
            assert_eq!(arr(s, "md1").access, Access::ReadWrite);
        }
        "checkraid-centos62-raid1-bitmap-raid0.txt" => {
            assert_eq!(
                arr(s, "md4").bitmap.as_ref().map(|b| b.pages_total),
                Some(2)
            );
            assert_eq!(arr(s, "md1").layout.as_deref(), Some("512k chunks"));
            assert_eq!(arr(s, "md0").superblock.as_deref(), Some("1.0"));
        }
        "checkraid-raid5-failed.txt" => {
            let a = arr(s, "md0");
            assert_eq!(faulty(a), ["sdc1"]);
            assert!(a.is_degraded());
            assert_eq!(s.unused_devices, Some(vec![]));
        }
        "checkraid-linear-and-raid1.txt" => {
            assert_eq!(arr(s, "md0").layout.as_deref(), Some("64k rounding"));
            assert_eq!(arr(s, "md0").level.as_deref(), Some("linear"));
        }
        "checkraid-no-arrays.txt" => {
            assert!(s.arrays.is_empty() && s.personalities.is_empty());
        }
        "checkraid-raid0-dm-members.txt" => {
            assert_eq!(s.unused_devices, None);
            assert_eq!(arr(s, "md2").members[0].device, "dm-15");
        }
        "checkraid-raid1-resync-two-arrays.txt" => {
            assert_eq!(op(arr(s, "md2")), (Resync, 11.2));
            assert_eq!(op(arr(s, "md1")), (Resync, 9.9));
        }
        "checkraid-pr185-raid5-spares-bitmap.txt" => {
            assert_eq!(spares(arr(s, "md1")), ["sdk"]);
            assert_eq!(spares(arr(s, "md2")), ["sdi", "sdl"]);
            assert_eq!(arr(s, "md1").bitmap.as_ref().map(|b| b.pages_used), Some(4));
        }
        "checkraid-pr24-raid1-check.txt" => assert_eq!(op(arr(s, "md2")), (Check, 98.3)),
        "checkraid-pr28-raid1-recovery-prompt-stripped.txt" => {
            let a = arr(s, "md0");
            assert_eq!(op(a), (Recovery, 0.4));
            assert_eq!(a.operation().unwrap().speed_kib_per_sec, 12);
            assert!(a.is_degraded());
        }
        "checkraid-pr28-resync-delayed-recovery.txt" => {
            assert_eq!(arr(s, "md1").sync, Some(SyncState::Delayed));
            assert_eq!(op(arr(s, "md0")), (Recovery, 3.9));
        }
        "checkraid-pr77-delayed-check-bitmap.txt" => {
            let md1 = arr(s, "md1");
            assert_eq!(md1.sync, Some(SyncState::Delayed));
            assert!(md1.bitmap.is_some());
            assert_eq!(op(arr(s, "md0")), (Check, 6.4));
        }
        "procfs-composite-fixture.txt" => {
            let md4 = arr(s, "md4");
            assert_eq!(
                (md4.state, md4.level.as_deref()),
                (RunState::Inactive, Some("raid1"))
            );
            assert_eq!(op(arr(s, "md6")), (Recovery, 8.5));
            assert_eq!(faulty(arr(s, "md6")), ["sdb2"]);
            assert_eq!(op(arr(s, "md8")), (Resync, 8.5));
            assert_eq!(op(arr(s, "md201")), (Check, 5.7));
            assert_eq!(arr(s, "md9").sync, Some(SyncState::Delayed));
            let md11 = arr(s, "md11");
            assert_eq!(
                (md11.access, md11.sync.clone()),
                (Access::AutoReadOnly, Some(SyncState::Pending))
            );
            assert_eq!(arr(s, "md101").access, Access::ReadOnly);
            assert_eq!(op(arr(s, "md42")), (Reshape, 56.1));
            assert_eq!(arr(s, "md219").state, RunState::Inactive);
            assert_eq!(arr(s, "md120").layout.as_deref(), Some("0k rounding"));
            assert!(arr(s, "md7").is_degraded());
            assert_eq!(s.arrays.len(), 18);
        }
        other => println!("NOTE: corpus mdstat/{other} has no per-file expectations yet"),
    }
}

#[test]
fn corpus_mdstat() {
    let Some(c) = corpus() else { return };
    for (name, text) in files(&c.join("mdstat")) {
        let s = parse_mdstat(&text).unwrap_or_else(|e| panic!("corpus mdstat/{name}: {e}"));
        check_corpus_mdstat(&name, &s);
    }
}

fn word(d: &Detail, dev: &str) -> Vec<String> {
    let m = d
        .members
        .iter()
        .find(|m| m.device.as_ref().is_some_and(|p| p.to_string() == dev));
    m.unwrap_or_else(|| panic!("{dev} not in {d:?}"))
        .state
        .clone()
}

fn check_corpus_detail(file: &str, d: &Detail) {
    let pct = d.progress.as_ref().map(|p| (p.kind.as_str(), p.percent));
    match file {
        "checkraid-white-md125-clean-090.txt" => {
            assert_eq!(
                (d.version.as_deref(), d.state.as_slice()),
                (Some("0.90"), &["clean".to_string()][..])
            );
            assert_eq!(
                (d.name.as_deref(), d.events.as_deref()),
                (None, Some("0.1182"))
            );
        }
        "checkraid-white-md126-rebuilding-090.txt" => {
            assert!(d.is_degraded());
            assert_eq!(d.operation(), Some(("recovering", Some(30))));
            assert_eq!(word(d, "/dev/sda2"), ["spare", "rebuilding"]);
        }
        "jc-ddf-container-member.txt" => {
            assert_eq!(
                (d.version.as_deref(), d.raid_level.as_str()),
                (None, "raid1")
            );
            assert_eq!(d.members.len(), 2);
        }
        "jc-ddf-container-root.txt" => {
            assert_eq!(
                (d.version.as_deref(), d.raid_level.as_str()),
                (Some("ddf"), "container")
            );
            assert!(d
                .members
                .iter()
                .all(|m| m.state.is_empty() && m.raid_device.is_none()));
        }
        "jc-raid0-clean.txt" => {
            assert_eq!((d.raid_level.as_str(), d.used_dev_size), ("raid0", None))
        }
        "jc-raid1-bitmap-6tb-v1.1.txt" => {
            assert_eq!(d.intent_bitmap.as_deref(), Some("Internal"));
            assert_eq!(d.name.as_deref(), Some("virttest:0"));
            assert_eq!(d.array_size.map(|b| b.0), Some(5860520828 * 1024));
        }
        "jc-raid1-clean-with-spare.txt" => {
            assert_eq!(word(d, "/dev/vda4"), ["spare"]);
            assert_eq!(word(d, "/dev/vda2"), ["active", "sync", "failfast"]);
        }
        "jc-raid1-clean.txt" => assert!(!d.is_degraded() && d.state == ["clean"]),
        "jc-raid1-degraded-faulty.txt" => {
            assert!(d.is_degraded());
            assert_eq!(word(d, "/dev/vda2"), ["faulty"]);
            assert!(d.members.iter().any(|m| m.state == ["removed"]));
        }
        "jc-raid1-degraded-removed.txt" => {
            assert!(d.is_degraded() && d.total_devices == Some(1));
            assert!(d
                .members
                .iter()
                .any(|m| m.state == ["removed"] && m.raid_device == Some(1)));
        }
        "jc-raid1-failed-and-flags.txt" => {
            assert!(!d.is_degraded());
            assert_eq!(
                word(d, "/dev/vda2"),
                ["active", "sync", "writemostly", "failfast"]
            );
            assert_eq!(word(d, "/dev/vda4"), ["faulty"]);
        }
        "jc-raid1-faulty-with-spare-rebuilding.txt" => {
            assert!(d.is_degraded());
            assert_eq!(pct, Some(("rebuild", 24)));
            assert_eq!(word(d, "/dev/vda2"), ["faulty", "failfast"]);
        }
        "jc-raid1-meta090.txt" => {
            assert_eq!(
                d.uuid.as_deref(),
                Some("3f720601:29af5283:96fc04a8:108a4af7")
            );
            assert_eq!(
                (d.name.as_deref(), d.events.as_deref()),
                (None, Some("0.18"))
            );
        }
        "jc-raid1-rebuild-failfast.txt" => {
            assert_eq!(pct, Some(("rebuild", 20)));
            assert_eq!(word(d, "/dev/vda2"), ["failfast", "spare", "rebuilding"]);
        }
        "jc-raid1-resyncing.txt" => assert_eq!(d.operation(), Some(("resyncing", Some(4)))),
        "jc-raid1-spare-writemostly-rebuild.txt" => {
            assert!(!d.is_degraded());
            assert_eq!(d.operation(), Some(("recovering", Some(30))));
            assert_eq!(
                word(d, "/dev/vda2"),
                ["writemostly", "failfast", "spare", "rebuilding"]
            );
        }
        "jc-raid5-clean.txt" => {
            assert_eq!((d.raid_level.as_str(), d.raid_devices), ("raid5", Some(3)))
        }
        other => println!("NOTE: corpus mdadm-detail/{other} has no per-file expectations yet"),
    }
}

#[test]
fn corpus_mdadm_detail() {
    let Some(c) = corpus() else { return };
    for (name, text) in files(&c.join("mdadm-detail")) {
        if name.starts_with("jc-examine-") {
            // `mdadm --examine` output: refused by parse_detail, understood by parse_examine.
            let err = parse_detail(&text).expect_err(&name);
            assert!(err.reason.contains("--examine"), "{name}: {err}");
            let e = parse_examine(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            match name.as_str() {
                "jc-examine-raid1-bitmap.txt" => {
                    assert_eq!(
                        (e.role, e.array_state.as_str()),
                        (ExamineRole::Active(0), "AA")
                    );
                }
                "jc-examine-raid1-replacing.txt" => {
                    assert_eq!(
                        (e.role, e.array_state.as_str()),
                        (ExamineRole::Replacement(1), "AR")
                    );
                    assert_eq!(e.flags, ["write-mostly", "failfast"]);
                }
                _ => {}
            }
            continue;
        }
        let d = parse_detail(&text).unwrap_or_else(|e| panic!("corpus mdadm-detail/{name}: {e}"));
        check_corpus_detail(&name, &d);
    }
}

/// raid10, raid5, raid6, raid0 and raid1 in one /proc/mdstat (scripts/vm/capture-mdadm-levels):
/// every array is read, chunk sizes in either case, and the export of each level.
#[test]
fn mixed_levels_from_the_vm() {
    let read = |p: &str| fs::read_to_string(root().join("fixtures").join(p)).unwrap();
    let s = parse_mdstat(&read("mdstat/6.1.0-57-cloud-amd64-mixed-levels-clean.txt")).unwrap();
    let levels: Vec<(&str, Option<&str>, Option<u64>)> = s
        .arrays
        .iter()
        .map(|a| (a.name.as_str(), a.level.as_deref(), a.chunk_kib))
        .collect();
    assert_eq!(
        levels,
        vec![
            ("md123", Some("raid1"), None),
            ("md124", Some("raid0"), Some(512)),
            ("md125", Some("raid6"), Some(512)),
            ("md126", Some("raid5"), Some(512)),
            ("md127", Some("raid10"), Some(512)),
        ]
    );
    assert_eq!(
        arr(&s, "md127").layout.as_deref(),
        Some("512K chunks 2 near-copies")
    );
    assert_eq!(arr(&s, "md127").in_sync, Some(vec![true; 4]));
    assert_eq!(arr(&s, "md126").raid_disks, Some(3));
    assert!(s.arrays.iter().all(|a| !a.is_degraded()));
    let r = parse_mdstat(&read(
        "mdstat/6.1.0-57-cloud-amd64-mixed-levels-raid5-recovering.txt",
    ))
    .unwrap();
    let r5 = arr(&r, "md126");
    assert!(r5.is_degraded());
    assert_eq!(op(r5), (SyncKind::Recovery, 16.2));
    let r10 = arr(&r, "md127");
    assert_eq!(faulty(r10), vec!["vdd1"]);
    assert_eq!((r10.raid_disks, r10.working_disks), (Some(4), Some(3)));
    for (f, level, devices) in [
        ("4.2-raid10-clean.txt", "raid10", 4),
        ("4.2-raid5-clean.txt", "raid5", 3),
        ("4.2-raid6-clean.txt", "raid6", 4),
        ("4.2-raid0-clean.txt", "raid0", 2),
    ] {
        let e = parse_detail_export(&read(&format!("mdadm-detail-export/{f}"))).unwrap();
        assert_eq!(
            (e.level.as_deref(), e.raid_devices),
            (Some(level), Some(devices)),
            "{f}"
        );
        assert_eq!(e.members.len() as u32, devices, "{f}");
    }
}
