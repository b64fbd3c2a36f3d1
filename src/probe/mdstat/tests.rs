//! Unit tests of the `/proc/mdstat` parser on captures from the VM (scripts/vm) and on
//! hand-made broken inputs.

use super::*;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            "../../../fixtures/mdstat/6.1.0-56-cloud-amd64-",
            $name,
            ".txt"
        ))
    };
}

fn only_array(text: &str) -> MdArray {
    let stat = parse_mdstat(text).expect("fixture parses");
    assert_eq!(stat.arrays.len(), 1, "{stat:?}");
    stat.arrays.into_iter().next().expect("one array")
}

fn member<'a>(a: &'a MdArray, dev: &str) -> &'a Member {
    a.members
        .iter()
        .find(|m| m.device == dev)
        .unwrap_or_else(|| panic!("{dev} not in {a:?}"))
}

#[test]
fn resyncing_array_shows_progress_and_bitmap() {
    let stat = parse_mdstat(fixture!("raid1-resyncing")).unwrap();
    assert_eq!(stat.personalities, ["raid1"]);
    assert_eq!(stat.unused_devices, Some(vec![]));
    let a = stat.array("md127").unwrap();
    assert_eq!(a.state, RunState::Active);
    assert_eq!(a.access, Access::ReadWrite);
    assert_eq!(a.level.as_deref(), Some("raid1"));
    assert_eq!(a.members.len(), 2);
    assert_eq!(member(a, "vdb").number, 1);
    assert_eq!(member(a, "vda").number, 0);
    assert_eq!(a.blocks, Some(64512));
    assert_eq!(a.size(), Some(Bytes(64512 * 1024)));
    assert_eq!(a.superblock.as_deref(), Some("1.2"));
    assert_eq!((a.raid_disks, a.working_disks), (Some(2), Some(2)));
    assert_eq!(a.in_sync, Some(vec![true, true]));
    assert!(!a.is_degraded());
    let p = a.operation().unwrap();
    assert_eq!(p.kind, SyncKind::Resync);
    assert_eq!(p.percent, 5.5);
    assert_eq!((p.done_blocks, p.total_blocks), (3840, 64512));
    assert_eq!(p.finish_minutes, 0.7);
    assert_eq!(p.speed_kib_per_sec, 1280);
    let b = a.bitmap.as_ref().unwrap();
    assert_eq!((b.pages_used, b.pages_total, b.memory_kib), (1, 1, 4));
    assert_eq!((b.chunk_kib, b.file.as_deref()), (65536, None));
}

#[test]
fn clean_array_has_no_operation() {
    let a = only_array(fixture!("raid1-clean"));
    assert_eq!(a.sync, None);
    assert!(!a.is_degraded());
    assert!(a.members.iter().all(|m| !m.faulty && !m.spare));
}

#[test]
fn failed_member_is_flagged_and_array_degraded() {
    let a = only_array(fixture!("raid1-degraded-faulty"));
    assert!(member(&a, "vdb").faulty);
    assert!(!member(&a, "vda").faulty);
    assert_eq!((a.raid_disks, a.working_disks), (Some(2), Some(1)));
    assert_eq!(a.in_sync, Some(vec![true, false]));
    assert!(a.is_degraded());
    assert_eq!(a.faulty_members().count(), 1);

    let a = only_array(fixture!("raid1-degraded-removed"));
    assert_eq!(a.members.len(), 1);
    assert!(a.is_degraded());
}

#[test]
fn recovery_after_add() {
    let a = only_array(fixture!("raid1-recovering"));
    assert!(a.is_degraded());
    let p = a.operation().unwrap();
    assert_eq!(p.kind, SyncKind::Recovery);
    assert_eq!(p.percent, 5.5);
    assert_eq!(p.speed_kib_per_sec, 1237);
}

#[test]
fn spare_check_and_replacement() {
    let a = only_array(fixture!("raid1-clean-with-spare"));
    assert!(member(&a, "vdb").spare);
    assert_eq!(member(&a, "vdb").number, 3);

    let a = only_array(fixture!("raid1-check"));
    assert_eq!(a.operation().unwrap().kind, SyncKind::Check);
    assert_eq!(a.operation().unwrap().percent, 6.2);

    let a = only_array(fixture!("raid1-replacing"));
    let vdb = member(&a, "vdb");
    assert!(vdb.replacement && !vdb.spare && !vdb.faulty);
    assert_eq!(a.operation().unwrap().kind, SyncKind::Recovery);
    assert!(!a.is_degraded());

    let a = only_array(fixture!("raid1-replaced"));
    assert!(member(&a, "vda").faulty);
    assert!(!a.is_degraded());
}

#[test]
fn write_mostly_flags() {
    let a = only_array(fixture!("raid1-write-mostly"));
    assert!(member(&a, "vdc").write_mostly);
    let a = only_array(fixture!("raid1-add-write-mostly-faulty"));
    let vda = member(&a, "vda");
    assert!(vda.write_mostly && vda.faulty);
    assert_eq!(vda.number, 4);
}

#[test]
fn delayed_and_pending_resyncs() {
    let stat = parse_mdstat(fixture!("raid1-resync-delayed")).unwrap();
    assert_eq!(stat.array("md126").unwrap().sync, Some(SyncState::Delayed));
    assert_eq!(stat.array("md126").unwrap().operation(), None);
    let p = stat.array("md127").unwrap().operation().unwrap();
    assert_eq!((p.kind, p.percent), (SyncKind::Resync, 5.8));

    // The kernel indents these with six spaces and a tab.
    let stat = parse_mdstat(fixture!("raid1-resync-frozen-pending")).unwrap();
    assert_eq!(stat.array("md127").unwrap().sync, Some(SyncState::Pending));
    assert!(stat.array("md126").unwrap().operation().is_some());

    let stat = parse_mdstat(fixture!("raid1-auto-read-only-resync-pending")).unwrap();
    let a = stat.array("md126").unwrap();
    assert_eq!(a.access, Access::AutoReadOnly);
    assert_eq!(a.sync, Some(SyncState::Pending));
    assert_eq!(stat.array("md127").unwrap().access, Access::ReadWrite);
}

#[test]
fn read_only_states() {
    let a = only_array(fixture!("raid1-auto-read-only"));
    assert_eq!(a.access, Access::AutoReadOnly);
    assert_eq!(a.sync, None);
    let a = only_array(fixture!("raid1-read-only"));
    assert_eq!(a.access, Access::ReadOnly);
}

#[test]
fn inactive_and_absent_arrays() {
    let a = only_array(fixture!("raid1-inactive-one-member"));
    assert_eq!(a.state, RunState::Inactive);
    assert_eq!(a.level, None);
    assert!(member(&a, "vdc").spare);
    assert_eq!(a.blocks, Some(64512));
    assert_eq!(a.raid_disks, None);
    assert!(!a.is_degraded());

    let stat = parse_mdstat(fixture!("raid1-stopped-absent")).unwrap();
    assert!(stat.arrays.is_empty());
    assert_eq!(stat.unused_devices, Some(vec![]));
}

#[test]
fn rare_lines_parse() {
    let text = "Personalities : [raid1]\n\
                md0 : active raid1 sdb1[1] sda1[0](W)(J)\n      \
                100 blocks super 1.2 [2/2] [UU]\n      \
                resync=REMOTE\n      \
                bitmap: 1/1 pages [4KB], 65536KB chunk, file: /bitmaps/md0\n\n\
                md1 : inactive\n\
                unused devices: sdc sdd\n";
    let stat = parse_mdstat(text).unwrap();
    let md0 = stat.array("md0").unwrap();
    assert_eq!(md0.sync, Some(SyncState::Remote));
    assert!(md0.members[1].journal && md0.members[1].write_mostly);
    assert_eq!(
        md0.bitmap.as_ref().unwrap().file.as_deref(),
        Some("/bitmaps/md0")
    );
    assert_eq!(stat.array("md1").unwrap().members, vec![]);
    assert_eq!(stat.unused_devices, Some(vec!["sdc".into(), "sdd".into()]));
}

#[test]
fn broken_inputs_are_errors() {
    let head = "Personalities : [raid1]\nmd0 : active raid1 sdb[1] sda[0]\n";
    let cases = [
        ("", "empty"),
        ("garbage\n", "Personalities"),
        ("Personalities : [raid1\n", "personality"),
        (head, "no size line"),
        ("Personalities : [raid1]\nmd0 : active rai\n", "member"),
        ("Personalities : [raid1]\nmd0 : act\n", "active/inactive"),
        ("Personalities : [raid1]\nmd0 : inactive sda\n", "member"),
        (
            "Personalities : [raid1]\nmd0 : active raid1 sda[0](X)\n",
            "flag",
        ),
        (
            "Personalities : [raid1]\n      100 blocks\n",
            "before any array",
        ),
        ("Personalities : [raid1]\nsomething else\n", "unknown line"),
    ];
    for (text, needle) in cases {
        let err = parse_mdstat(text).expect_err(text);
        assert!(err.reason.contains(needle), "{text:?}: {err}");
    }
    let bodies = [
        ("      100 blocks super 1.2 [2/2] [U]\n", "does not fit"),
        ("      100 blocks super 1.2 [2/3] [UU]\n", "does not fit"),
        ("      100 blocks super 1.2 [2/2] [U\n", "bad size line"),
        ("      100 blocks super 1\n", "superblock"),
        ("      100 blocks super 1.2\n", "health map"),
        ("      100 blo\n", "unknown line"),
        (
            "      100 blocks super 1.2 [2/2] [UU]\n      [=>...]  resync =  5.5% (3840/645\n",
            "unknown line",
        ),
        (
            "      100 blocks super 1.2 [2/2] [UU]\n      [=>...]  resync = 105.5% (1/2) finish=0.1min speed=1K/sec\n",
            "out of range",
        ),
        (
            "      100 blocks super 1.2 [2/2] [UU]\n      resync=DELAYED\n      resync=PENDING\n",
            "second sync",
        ),
        ("      bitmap: 1/1 pages [4KB], 65536KB chunk\n      100 blocks super 1.2 [2/2] [UU]\n      bitmap: 1/1 pages [4KB], 65536KB chunk\n", "second bitmap"),
        ("      100 blocks super 1.2 [2/2] [UU]\nunused devices: <none>\nmd1 : active raid1 sda[0]\n", "after the `unused devices`"),
    ];
    for (body, needle) in bodies {
        let text = format!("{head}{body}");
        let err = parse_mdstat(&text).expect_err(&text);
        assert!(err.reason.contains(needle), "{text:?}: {err}");
    }
}

#[test]
fn raid10_upper_case_chunks_and_raid5_chunk_parse() {
    let text = include_str!("../../../fixtures/mdstat/6.1.0-57-cloud-amd64-mixed-levels-clean.txt");
    let stat = parse_mdstat(text).unwrap();
    let r10 = stat.array("md127").unwrap();
    assert_eq!(r10.level.as_deref(), Some("raid10"));
    assert_eq!(r10.chunk_kib, Some(512));
    assert_eq!(r10.blocks, Some(36864));
    assert_eq!(stat.array("md126").unwrap().chunk_kib, Some(512));
    assert_eq!(stat.array("md123").unwrap().chunk_kib, None);
    // The same lines with the other case of unit, and in MiB.
    let swapped = text
        .replace("512K chunks", "512k chunks")
        .replace("512k chunk,", "1M chunk,");
    let s2 = parse_mdstat(&swapped).unwrap();
    assert_eq!(s2.array("md127").unwrap().chunk_kib, Some(512));
    assert_eq!(s2.array("md126").unwrap().chunk_kib, Some(1024));
}

#[test]
fn one_unreadable_array_does_not_hide_the_others() {
    let text = include_str!("../../../fixtures/mdstat/6.1.0-57-cloud-amd64-mixed-levels-clean.txt");
    // A future kernel prints md125's layout in a way this parser does not know.
    let odd = text.replace(
        "level 6, 512k chunk, algorithm 2 [4/4] [UUUU]",
        "level 6, 512k chunk, algorithm 2 [4/4] [UUUU] {journal: ok}",
    );
    assert!(
        parse_mdstat(&odd).is_err(),
        "the strict parse still refuses it"
    );
    let r = parse_mdstat_per_array(&odd).unwrap();
    assert_eq!(r.unreadable.len(), 1);
    assert_eq!(r.unreadable[0].name, "md125");
    let names: Vec<&str> = r.mdstat.arrays.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, vec!["md123", "md124", "md126", "md127"]);
    // A bad member token in a header, and an array cut short at the end, likewise.
    let bad_header = text.replace(
        "md124 : active raid0 vdb4[1] vda4[0]",
        "md124 : active raid0 vdb4[x]",
    );
    let r = parse_mdstat_per_array(&bad_header).unwrap();
    assert_eq!(r.unreadable[0].name, "md124");
    assert_eq!(r.mdstat.arrays.len(), 4);
    let cut = text.split("md127").next().unwrap().to_string() + "md127 : active raid10 vdd1[3]\n";
    let r = parse_mdstat_per_array(&cut).unwrap();
    assert_eq!(r.unreadable[0].name, "md127");
    assert_eq!(r.mdstat.arrays.len(), 4);
    // The frame of the file is still required.
    assert!(parse_mdstat_per_array("garbage\n").is_err());
}
