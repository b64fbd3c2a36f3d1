//! Unit tests of the mdadm parsers on captures from the VM (scripts/vm, mdadm 4.2).

use super::*;

macro_rules! fixture {
    ($kind:literal, $name:literal) => {
        include_str!(concat!("../../../fixtures/", $kind, "/4.2-", $name, ".txt"))
    };
}

fn member<'a>(d: &'a Detail, dev: &str) -> &'a DetailMember {
    d.members
        .iter()
        .find(|m| m.device.as_ref().map(|p| p.to_string()).as_deref() == Some(dev))
        .unwrap_or_else(|| panic!("{dev} not in {d:?}"))
}

#[test]
fn commands_are_read_only() {
    let dev = DevPath::new("/dev/md/lnraid");
    assert_eq!(
        detail_export_cmd(&dev).to_string(),
        "mdadm --detail --export /dev/md/lnraid"
    );
    assert_eq!(
        detail_cmd(&dev).to_string(),
        "mdadm --detail /dev/md/lnraid"
    );
    assert_eq!(
        examine_cmd(&DevPath::new("/dev/vda")).to_string(),
        "mdadm --examine /dev/vda"
    );
    assert!(!detail_cmd(&dev).is_mutating() && !detail_export_cmd(&dev).is_mutating());
}

#[test]
fn export_of_clean_array() {
    let e = parse_detail_export(fixture!("mdadm-detail-export", "raid1-clean")).unwrap();
    assert_eq!(e.level.as_deref(), Some("raid1"));
    assert_eq!(e.raid_devices, Some(2));
    assert_eq!(e.metadata.as_deref(), Some("1.2"));
    assert_eq!(
        e.uuid.as_deref(),
        Some("a170766d:d3b30691:74dacf68:537c0eef")
    );
    assert_eq!(e.name.as_deref(), Some("lnraid-vm:lnraid"));
    assert_eq!(e.devname.as_deref(), Some("lnraid"));
    let members: Vec<_> = e
        .members
        .iter()
        .map(|m| (m.dev.to_string(), m.role.clone()))
        .collect();
    assert_eq!(
        members,
        [
            ("/dev/vda".to_string(), ExportRole::Active(0)),
            ("/dev/vdb".to_string(), ExportRole::Active(1))
        ]
    );
    assert_eq!(e.missing_slots(), 0);
}

#[test]
fn export_degraded_replacing_inactive() {
    let e = parse_detail_export(fixture!("mdadm-detail-export", "raid1-degraded-faulty")).unwrap();
    // mdadm 4.2 calls the failed member "spare" here.
    assert_eq!(e.members[1].role, ExportRole::Spare);
    assert_eq!(e.missing_slots(), 1);
    let e = parse_detail_export(fixture!("mdadm-detail-export", "raid1-degraded-removed")).unwrap();
    assert_eq!(e.members.len(), 1);
    assert_eq!(e.missing_slots(), 1);
    // Replacement and replaced member share slot 0: not degraded.
    let e = parse_detail_export(fixture!("mdadm-detail-export", "raid1-replacing")).unwrap();
    let zeros = e
        .members
        .iter()
        .filter(|m| m.role == ExportRole::Active(0))
        .count();
    assert_eq!(zeros, 2);
    assert_eq!(e.missing_slots(), 0);
    // A member being rebuilt already holds its slot in the export.
    let e = parse_detail_export(fixture!("mdadm-detail-export", "raid1-recovering")).unwrap();
    assert_eq!(e.missing_slots(), 0);
    let e =
        parse_detail_export(fixture!("mdadm-detail-export", "raid1-inactive-one-member")).unwrap();
    assert_eq!(e.level, None);
    assert_eq!(e.raid_devices, Some(1));
    assert_eq!(e.members[0].role, ExportRole::Spare);
}

#[test]
fn export_errors() {
    let ok =
        "MD_LEVEL=raid1\nMD_DEVICES=2\nMD_DEVICE_dev_vda_ROLE=0\nMD_DEVICE_dev_vda_DEV=/dev/vda\n";
    assert!(parse_detail_export(ok).is_ok());
    let cases = [
        ("", "no output"),
        (
            "MD_LEVEL=raid1\nMD_DEVICE_dev_vda_ROLE=0\n",
            "lacks its ROLE or DEV",
        ),
        (
            "MD_DEVICE_dev_vda_ROLE=0\nMD_DEVICE_dev_vda_DEV=/dev/vd\n",
            "does not match",
        ),
        (
            "MD_DEVICE_dev_vda_ROLE=spa\nMD_DEVICE_dev_vda_DEV=/dev/vda\n",
            "bad role",
        ),
        ("MD_LEVEL=rai\n", "MD_LEVEL"),
        ("MD_UUID=a170766d:d3b3\n", "MD_UUID"),
        ("MD_METADATA=1.\n", "MD_METADATA"),
        ("MD_DEVICES=x\n", "MD_DEVICES"),
        ("MD_LEVEL=raid1\nMD_DEV", "KEY=value"),
        ("LEVEL=raid1\n", "bad key"),
        ("MD_LEVEL=raid1\nMD_LEVEL=raid1\n", "twice"),
    ];
    for (text, needle) in cases {
        let err = parse_detail_export(text).expect_err(text);
        assert!(err.reason.contains(needle), "{text:?}: {err}");
    }
}

#[test]
fn detail_of_clean_and_resyncing_array() {
    let d = parse_detail(fixture!("mdadm-detail", "raid1-clean")).unwrap();
    assert_eq!(d.device, "/dev/md/lnraid");
    assert_eq!(d.version.as_deref(), Some("1.2"));
    assert_eq!(d.raid_level, "raid1");
    assert_eq!(d.array_size, Some(crate::types::Bytes(64512 * 1024)));
    assert_eq!(d.used_dev_size, Some(crate::types::Bytes(64512 * 1024)));
    assert_eq!((d.raid_devices, d.total_devices), (Some(2), Some(2)));
    assert_eq!((d.active_devices, d.working_devices), (Some(2), Some(2)));
    assert_eq!((d.failed_devices, d.spare_devices), (Some(0), Some(0)));
    assert_eq!(d.state, ["clean"]);
    assert_eq!(
        d.uuid.as_deref(),
        Some("a170766d:d3b30691:74dacf68:537c0eef")
    );
    assert_eq!(d.name.as_deref(), Some("lnraid-vm:lnraid"));
    assert_eq!(d.intent_bitmap.as_deref(), Some("Internal"));
    assert_eq!(d.consistency_policy.as_deref(), Some("bitmap"));
    assert_eq!(d.members.len(), 2);
    let vda = member(&d, "/dev/vda");
    assert_eq!(
        (vda.number, vda.major, vda.minor, vda.raid_device),
        (Some(0), 253, 0, Some(0))
    );
    assert_eq!(vda.state, ["active", "sync"]);
    assert!(!d.is_degraded() && d.operation().is_none());

    let d = parse_detail(fixture!("mdadm-detail", "raid1-resyncing")).unwrap();
    assert_eq!(d.state, ["clean", "resyncing"]);
    let p = d.progress.as_ref().unwrap();
    assert_eq!(p.kind, "resync");
    assert_eq!(d.operation(), Some(("resyncing", Some(p.percent))));
}

#[test]
fn detail_of_degraded_and_rebuilding_arrays() {
    let d = parse_detail(fixture!("mdadm-detail", "raid1-degraded-faulty")).unwrap();
    assert_eq!(d.state, ["clean", "degraded"]);
    assert!(d.is_degraded());
    assert_eq!(d.failed_devices, Some(1));
    assert!(member(&d, "/dev/vdb").has("faulty"));
    assert_eq!(member(&d, "/dev/vdb").raid_device, None);
    let removed: Vec<_> = d.members.iter().filter(|m| m.has("removed")).collect();
    assert_eq!(removed.len(), 1);
    assert_eq!(
        (
            removed[0].number,
            removed[0].raid_device,
            &removed[0].device
        ),
        (None, Some(1), &None)
    );

    let d = parse_detail(fixture!("mdadm-detail", "raid1-recovering")).unwrap();
    assert_eq!(d.state, ["clean", "degraded", "recovering"]);
    assert_eq!(
        d.progress.as_ref().map(|p| p.kind.as_str()),
        Some("rebuild")
    );
    assert_eq!(member(&d, "/dev/vdc").state, ["spare", "rebuilding"]);
    assert_eq!(d.operation().map(|o| o.0), Some("recovering"));

    let d = parse_detail(fixture!("mdadm-detail", "raid1-replacing")).unwrap();
    assert_eq!(d.state, ["clean", "recovering"]);
    assert!(!d.is_degraded());
    assert_eq!(member(&d, "/dev/vdb").raid_device, Some(0));
    assert_eq!(member(&d, "/dev/vdb").state, ["spare", "rebuilding"]);

    let d = parse_detail(fixture!("mdadm-detail", "raid1-check")).unwrap();
    assert_eq!(d.progress.as_ref().map(|p| p.kind.as_str()), Some("check"));
    assert_eq!(d.operation().map(|o| o.0), Some("checking"));
    assert_eq!(member(&d, "/dev/vdb").state, ["spare"]);
}

#[test]
fn detail_of_waiting_and_inactive_arrays() {
    let d = parse_detail(fixture!("mdadm-detail", "raid1-resync-delayed")).unwrap();
    assert_eq!(d.state, ["clean", "resyncing (DELAYED)"]);
    assert_eq!(d.operation(), Some(("resyncing", None)));
    let d = parse_detail(fixture!(
        "mdadm-detail",
        "raid1-auto-read-only-resync-pending"
    ))
    .unwrap();
    assert_eq!(d.state, ["clean", "resyncing (PENDING)"]);

    let d = parse_detail(fixture!("mdadm-detail", "raid1-inactive-one-member")).unwrap();
    assert!(d.is_inactive());
    assert_eq!(d.raid_devices, None);
    assert_eq!(d.members.len(), 1);
    assert_eq!(d.members[0].state, Vec::<String>::new());
    assert_eq!(d.members[0].number, None);

    let d = parse_detail(fixture!("mdadm-detail", "raid1-add-write-mostly-faulty")).unwrap();
    assert_eq!(member(&d, "/dev/vda").state, ["faulty", "writemostly"]);
}

#[test]
fn detail_errors() {
    let good = fixture!("mdadm-detail", "raid1-degraded-faulty");
    // Cut before the faulty row that follows the blank line: Total Devices disagrees.
    let cut = &good[..good.rfind("       1     253").unwrap()];
    assert!(parse_detail(cut)
        .unwrap_err()
        .reason
        .contains("Total Devices"));
    let cases = [
        ("", "no output"),
        ("md0\n", "expected `/dev/...:`"),
        ("/dev/md0:\n   Version : 1.2\n", "Raid Level"),
        ("/dev/md0:\n   Raid Level : raid1\n   Raid Devices : 2\n", "no member table"),
        ("/dev/md0:\n   Raid Level : raid1\n   garbage\n", "unknown line"),
        ("/dev/sda1:\n   Magic : a92b4efc\n", "--examine"),
        ("/dev/md0:\n   Raid Level : raid1\n   Array Size : 100 (1 MiB\n", "Array Size"),
        ("/dev/md0:\n   Raid Level : raid1\n   Rebuild Status : 101% complete\n", "Rebuild Status"),
        ("/dev/md0:\n   Raid Level : raid1\n   UUID : 12:34\n", "UUID"),
        ("/dev/md0:\n   Raid Level : raid1\n    Number   Major   Minor   RaidDevice State\n   0   253   0   0   active sync\n", "truncated"),
        ("/dev/md0:\n   Raid Level : raid1\n    Number   Major   Minor   RaidDevice State\n   0   253\n", "bad member row"),
    ];
    for (text, needle) in cases {
        let err = parse_detail(text).expect_err(text);
        assert!(err.reason.contains(needle), "{text:?}: {err}");
    }
}

#[test]
fn examine_of_a_member() {
    let e = parse_examine(fixture!("mdadm-examine", "raid1-member-clean")).unwrap();
    assert_eq!(e.device, "/dev/vda");
    assert_eq!(e.version, "1.2");
    assert_eq!(e.array_uuid, "a170766d:d3b30691:74dacf68:537c0eef");
    assert_eq!(e.name.as_deref(), Some("lnraid-vm:lnraid"));
    assert_eq!((e.raid_level.as_str(), e.raid_devices), ("raid1", 2));
    assert_eq!(e.role, ExamineRole::Active(0));
    assert_eq!(e.array_state, "AA");
    assert_eq!(e.events.as_deref(), Some("17"));
    // --detail output is not --examine output, and the other way round.
    assert!(parse_examine(fixture!("mdadm-detail", "raid1-clean")).is_err());
    assert!(parse_detail(fixture!("mdadm-examine", "raid1-member-clean")).is_err());
    let text = fixture!("mdadm-examine", "raid1-member-clean");
    let cut = &text[..text.find("   Array State").unwrap()];
    assert!(parse_examine(cut)
        .unwrap_err()
        .reason
        .contains("Array State"));
}
