//! Unit tests of the `filesystem show` parser on captured outputs (fixtures/).
use super::*;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../fixtures/btrfs-filesystem-show/", $name))
    };
}

fn one(text: &str) -> ShowFs {
    let mut v = parse_show(text).unwrap();
    assert_eq!(v.len(), 1);
    v.remove(0)
}

#[test]
fn healthy_raid1_raw() {
    let fs = one(fixture!("6.2-raid1-mounted-raw.txt"));
    assert_eq!(fs.label.as_deref(), Some("lnraid-fixcap"));
    assert_eq!(fs.total_devices, 2);
    assert_eq!(fs.bytes_used, Bytes(1263910912));
    assert!(fs.sizes_exact);
    assert_eq!(fs.devices.len(), 2);
    assert_eq!(fs.devices[1].devid, 2);
    assert_eq!(fs.devices[1].size, Bytes(3 << 30));
    assert_eq!(fs.devices[1].path, Some(DevPath::new("/dev/loop1")));
    assert!(!fs.is_degraded());
    assert!(fs.missing_devids().is_empty());
}

#[test]
fn degraded_mounted_names_the_missing_devid() {
    for text in [
        fixture!("6.2-raid1-degraded-mounted-raw.txt"),
        fixture!("6.14-raid1-degraded-mounted-raw.txt"),
        fixture!("6.2-raid1-degraded-mounted.txt"),
    ] {
        let fs = one(text);
        assert_eq!(fs.missing_devids(), vec![2]);
        assert!(fs.is_degraded());
        assert_eq!(fs.devices[1].path, None);
        assert_eq!(fs.devices[1].size, Bytes(0));
    }
    assert!(!one(fixture!("6.2-raid1-degraded-mounted.txt")).sizes_exact);
}

#[test]
fn unmounted_with_missing_member() {
    for text in [
        fixture!("6.2-raid1-unmounted-missing-raw.txt"),
        fixture!("6.14-raid1-unmounted-missing.txt"),
    ] {
        let fs = one(text);
        assert!(fs.some_missing);
        assert_eq!(fs.devices.len(), 1);
        assert_eq!(fs.missing_count(), 1);
        assert_eq!(fs.missing_devids(), vec![2]);
    }
}

#[test]
fn quoted_label_and_two_filesystems() {
    let fs = one(fixture!("6.2-label-quoted-mounted-raw.txt"));
    assert_eq!(fs.label.as_deref(), Some("lnraid \"quoted\" label's x"));
    let two = parse_show(fixture!("6.14-two-filesystems-mounted.txt")).unwrap();
    assert_eq!(two.len(), 2);
    assert_eq!(two[0].total_devices, 3);
    assert_eq!(two[0].devices.len(), 3);
    assert_eq!(two[1].label.as_deref(), Some("lnraid \"quoted\" label's x"));
}

#[test]
fn old_missing_disk_form_and_label_none() {
    let text = "Label: none  uuid: 5d1c0e2a-1111-2222-3333-444455556666\n\
                \tTotal devices 2 FS bytes used 1.00GiB\n\
                \tdevid    1 size 3.00GiB used 2.00GiB path /dev/sdb\n\
                \tdevid    2 size 0 used 0 path <missing disk> MISSING\n\nbtrfs-progs v4.4\n";
    let fs = one(text);
    assert_eq!(fs.label, None);
    assert_eq!(fs.missing_devids(), vec![2]);
}

#[test]
fn dropped_device_line_is_an_error() {
    let text = fixture!("6.2-raid1c3-mounted-raw.txt");
    let cut: String = text
        .lines()
        .filter(|l| !l.contains("devid    3"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(parse_show(&cut).is_err());
    assert!(parse_show(&text[..text.len() - 2]).is_err());
}

#[test]
fn replace_in_progress_is_not_degraded() {
    for text in [
        fixture!("6.2-raid1-replacing-raw.txt"),
        fixture!("6.14-raid1-replacing-raw.txt"),
        fixture!("6.2-raid1-replacing.txt"),
        fixture!("6.14-raid1-replacing.txt"),
    ] {
        let fs = one(text);
        // The target is listed as devid 0 and counted: a two-member array says 3.
        assert_eq!(fs.total_devices, 3);
        assert_eq!(fs.devices.len(), 3);
        assert_eq!(fs.member_count(), 2);
        assert_eq!(fs.missing_count(), 0);
        assert!(!fs.is_degraded());
        assert!(fs.missing_devids().is_empty());
        let t = fs.replace_target().unwrap();
        assert_eq!(t.path, Some(DevPath::new("/dev/loop2")));
        assert_eq!(t.size, Bytes(1 << 30));
        assert_eq!(
            fs.members().map(|d| d.devid).collect::<Vec<_>>(),
            vec![1, 2]
        );
    }
    let fs = one(fixture!("6.2-raid1-replacing-raw.txt"));
    assert_eq!(fs.devices[0].used, Bytes(659292160));
    assert_eq!(fs.bytes_used, Bytes(315064320));
    // Cutting the target's line (or a member's) still makes the block short.
    let cut: String = fixture!("6.2-raid1-replacing-raw.txt")
        .lines()
        .filter(|l| !l.contains("devid    1"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(parse_show(&cut).is_err());
}

#[test]
fn states_fixtures_parse() {
    for text in [
        fixture!("6.2-raid1-full-raw.txt"),
        fixture!("6.14-raid1-full.txt"),
        fixture!("6.2-raid1-remount-ro-raw.txt"),
        fixture!("6.14-raid1-forced-ro-raw.txt"),
    ] {
        let fs = one(text);
        assert_eq!((fs.total_devices, fs.devices.len()), (2, 2));
        assert!(!fs.is_degraded());
    }
}

#[test]
fn command_line() {
    assert_eq!(
        show_cmd(Path::new("/mnt/x y")).to_string(),
        "btrfs filesystem show --raw '/mnt/x y'"
    );
}
