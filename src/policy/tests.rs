//! Pure policy tests on hand-built snapshots. The same cases run for real on loop devices in
//! `tests/loop_policy.rs`.

use std::path::PathBuf;

use super::*;
use crate::probe::blkid::Identity;
use crate::probe::mounts::Mount;
use crate::probe::snapshot::Resolved;
use crate::probe::swaps::Swap;
use crate::probe::sysfs::{BtrfsMounted, SysBlock};
use crate::types::{DevNum, FsUuid};

const U: &str = "5d1c0e2a-1111-2222-3333-444455556666";

fn dev(path: &str, kind: &str, minor: u32, parents: &[&str]) -> BlockDev {
    BlockDev {
        path: DevPath::new(path),
        kind: kind.into(),
        size: Bytes(4 * Bytes::GIB),
        read_only: false,
        removable: false,
        rotational: false,
        transport: None,
        model: None,
        serial: None,
        mountpoint: None,
        fstype_hint: None,
        devnum: Some(DevNum { major: 7, minor }),
        parents: parents.iter().map(DevPath::new).collect(),
    }
}

fn mount(id: u64, devnum: (u32, u32), at: &str, fstype: &str, source: &str) -> Mount {
    Mount {
        id,
        parent_id: 1,
        devnum: DevNum {
            major: devnum.0,
            minor: devnum.1,
        },
        root: "/".into(),
        mountpoint: PathBuf::from(at),
        options: "rw".into(),
        fstype: fstype.into(),
        source: source.into(),
        super_options: "rw".into(),
    }
}

/// A machine: vda (root), loop0+loop1 a mounted btrfs RAID-1 (mountinfo names loop0 only),
/// loop2 ext4, loop3 blank, loop4 GPT with p1 mounted and p2 blank, loop5 swap.
fn machine() -> Snapshot {
    let mut s = Snapshot {
        devices: vec![
            dev("/dev/vda", "disk", 100, &[]),
            dev("/dev/loop0", "loop", 0, &[]),
            dev("/dev/loop1", "loop", 1, &[]),
            dev("/dev/loop2", "loop", 2, &[]),
            dev("/dev/loop3", "loop", 3, &[]),
            dev("/dev/loop4", "loop", 4, &[]),
            dev("/dev/loop4p1", "part", 41, &["/dev/loop4"]),
            dev("/dev/loop4p2", "part", 42, &["/dev/loop4"]),
            dev("/dev/loop5", "loop", 5, &[]),
        ],
        mounts: vec![
            mount(1, (7, 100), "/", "ext4", "/dev/vda"),
            mount(2, (0, 45), "/mnt/raid", "btrfs", "/dev/loop0"),
            mount(3, (7, 41), "/mnt/p1", "ext4", "/dev/loop4p1"),
        ],
        swaps: vec![Swap {
            path: PathBuf::from("/dev/loop5"),
            kind: "partition".into(),
        }],
        btrfs_mounted: vec![BtrfsMounted {
            uuid: FsUuid::parse(U).unwrap(),
            members: vec!["loop0".into(), "loop1".into()],
        }],
        ..Snapshot::default()
    };
    let btrfs = Identity {
        fstype: Some("btrfs".into()),
        usage: Some("filesystem".into()),
        uuid: Some(U.into()),
        ..Default::default()
    };
    let ext4 = Identity {
        fstype: Some("ext4".into()),
        usage: Some("filesystem".into()),
        uuid: Some("0b9f7c1e-0000-4000-8000-000000000002".into()),
        ..Default::default()
    };
    let gpt = Identity {
        pttype: Some("gpt".into()),
        ..Default::default()
    };
    let swap = Identity {
        fstype: Some("swap".into()),
        usage: Some("other".into()),
        ..Default::default()
    };
    for (p, id) in [
        ("/dev/vda", ext4.clone()),
        ("/dev/loop0", btrfs.clone()),
        ("/dev/loop1", btrfs),
        ("/dev/loop2", ext4.clone()),
        ("/dev/loop3", Identity::default()),
        ("/dev/loop4", gpt),
        ("/dev/loop4p1", ext4),
        ("/dev/loop4p2", Identity::default()),
        ("/dev/loop5", swap),
    ] {
        s.identities
            .insert(DevPath::new(p), IdentityProbe::Known(id));
        s.exclusive.insert(DevPath::new(p), Exclusive::Free);
    }
    s
}

fn verdict(s: &Snapshot, path: &str) -> Verdict {
    classify(
        s.device(&DevPath::new(path)).unwrap(),
        s,
        &PolicyContext::new(None),
    )
}

fn codes(v: &Verdict) -> Vec<&'static str> {
    v.refusals.iter().map(Refusal::code).collect()
}

#[test]
fn blank_device_is_eligible() {
    let v = verdict(&machine(), "/dev/loop3");
    assert!(v.is_eligible(), "{:?}", v.refusals);
}

#[test]
fn both_members_of_mounted_btrfs_refused() {
    let s = machine();
    assert_eq!(
        codes(&verdict(&s, "/dev/loop0")),
        vec!["mounted", "filesystem"]
    );
    // loop1 is absent from mountinfo: caught by the filesystem UUID.
    let v = verdict(&s, "/dev/loop1");
    assert_eq!(codes(&v), vec!["mounted_btrfs_member", "filesystem"]);
    assert!(v.refusals[0].message().contains(U) && v.refusals[0].message().contains("/mnt/raid"));
    assert!(
        !v.is_eligible_with_wipe(),
        "--wipe must not override a mounted member"
    );
}

#[test]
fn member_found_by_uuid_alone() {
    let mut s = machine();
    s.btrfs_mounted[0].members = vec!["loop0".into()]; // sysfs incomplete: the UUID still tells
    assert!(codes(&verdict(&s, "/dev/loop1")).contains(&"mounted_btrfs_member"));
}

#[test]
fn ext4_refused_naming_type_and_uuid_overridable() {
    let v = verdict(&machine(), "/dev/loop2");
    assert_eq!(codes(&v), vec!["filesystem"]);
    let msg = v.refusals[0].message();
    assert!(
        msg.contains("ext4") && msg.contains("0b9f7c1e-0000-4000-8000-000000000002"),
        "{msg}"
    );
    assert!(v.is_eligible_with_wipe());
}

#[test]
fn root_disk_refused() {
    let v = verdict(&machine(), "/dev/vda");
    let c = codes(&v);
    assert!(
        c.contains(&"mounted") && c.contains(&"holds_protected_path"),
        "{c:?}"
    );
}

#[test]
fn partition_of_used_disk_refused() {
    let s = machine();
    let v = verdict(&s, "/dev/loop4p2");
    assert_eq!(codes(&v), vec!["sibling_in_use"]);
    assert!(v.refusals[0]
        .message()
        .contains("/dev/loop4p1 is mounted at /mnt/p1"));
    let disk = codes(&verdict(&s, "/dev/loop4"));
    assert_eq!(disk, vec!["child_in_use", "partition_table"]);
}

#[test]
fn swap_refused() {
    assert_eq!(
        codes(&verdict(&machine(), "/dev/loop5")),
        vec!["swap", "filesystem"]
    );
}

#[test]
fn lightning_dir_disk_refused() {
    let s = machine();
    let ctx = PolicyContext::new(Some(Path::new("/mnt/raid/bitcoin")));
    let v = classify(s.device(&DevPath::new("/dev/loop1")).unwrap(), &s, &ctx);
    assert!(v.refusals.iter().any(
        |r| matches!(r, Refusal::HoldsProtectedPath { kind: Protected::LightningDir, via, .. } if via.as_path() == Path::new("/dev/loop1"))
    ));
}

#[test]
fn holders_readonly_small_busy_unreadable() {
    let mut s = machine();
    let p = DevPath::new("/dev/loop3");
    s.sys.insert(
        p.clone(),
        SysBlock {
            kname: "loop3".into(),
            devnum: None,
            holders: vec!["md0".into()],
            slaves: vec![],
            read_only: true,
            removable: false,
            size: Bytes(1),
            is_partition: false,
        },
    );
    s.exclusive.insert(p.clone(), Exclusive::Busy);
    s.devices[4].size = Bytes(100 * Bytes::MIB);
    s.identities.insert(
        p.clone(),
        IdentityProbe::Unreadable {
            error: "Permission denied".into(),
        },
    );
    let c = codes(&verdict(&s, "/dev/loop3"));
    assert_eq!(
        c,
        vec![
            "holders",
            "exclusive_open_failed",
            "identity_unreadable",
            "read_only",
            "too_small"
        ]
    );
}

#[test]
fn named_twice_and_same_disk() {
    let s = machine();
    let r = |given: &str, path: &str, minor| Resolved {
        given: PathBuf::from(given),
        path: DevPath::new(path),
        devnum: DevNum { major: 7, minor },
    };
    let req = [
        r("/dev/loop3", "/dev/loop3", 3),
        r("/tmp/link-to-loop3", "/dev/loop3", 3),
    ];
    let v = classify_request(&req, &s, &PolicyContext::new(None));
    assert_eq!(codes(&v[0]), vec!["named_twice"]);
    assert!(v[1].refusals[0].message().contains("/dev/loop3"));

    let mut s2 = machine();
    s2.mounts.retain(|m| m.id != 3);
    let req = [
        r("/dev/loop4p1", "/dev/loop4p1", 41),
        r("/dev/loop4p2", "/dev/loop4p2", 42),
    ];
    let v = classify_request(&req, &s2, &PolicyContext::new(None));
    assert!(codes(&v[1]).contains(&"same_disk"), "{:?}", codes(&v[1]));
}

#[test]
fn unknown_identity_is_never_blank() {
    let mut s = machine();
    s.identities.remove(&DevPath::new("/dev/loop3"));
    s.exclusive.remove(&DevPath::new("/dev/loop3"));
    let v = verdict(&s, "/dev/loop3");
    assert!(!v.is_eligible() && !v.is_eligible_with_wipe());
}

#[test]
fn md_members_refused_from_mdstat_even_inactive_or_spare() {
    let mut s = Snapshot {
        devices: vec![
            dev("/dev/vda", "disk", 0, &[]),
            dev("/dev/vdb", "disk", 16, &[]),
            dev("/dev/vdc", "disk", 32, &[]),
            dev("/dev/vdd", "disk", 48, &[]),
        ],
        ..Snapshot::default()
    };
    for p in ["/dev/vda", "/dev/vdb", "/dev/vdc", "/dev/vdd"] {
        s.identities
            .insert(DevPath::new(p), IdentityProbe::Known(Identity::default()));
        s.exclusive.insert(DevPath::new(p), Exclusive::Free);
    }
    let clean =
        include_str!("../../fixtures/mdstat/6.1.0-56-cloud-amd64-raid1-clean-with-spare.txt");
    s.md = Some(crate::probe::mdstat::parse_mdstat(clean).unwrap());
    let v = verdict(&s, "/dev/vdb"); // the (S) spare
    assert_eq!(codes(&v), vec!["md_member"]);
    assert!(
        v.refusals[0].message().contains("md127"),
        "{}",
        v.refusals[0].message()
    );
    assert!(verdict(&s, "/dev/vdd").is_eligible());
    let inactive =
        include_str!("../../fixtures/mdstat/6.1.0-56-cloud-amd64-raid1-inactive-one-member.txt");
    s.md = Some(crate::probe::mdstat::parse_mdstat(inactive).unwrap());
    let member = s.md.as_ref().unwrap().arrays[0].members[0].device.clone();
    let v = verdict(&s, &format!("/dev/{member}"));
    assert_eq!(
        codes(&v),
        vec!["md_member"],
        "an inactive array still claims its member"
    );
}
