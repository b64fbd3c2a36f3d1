//! Tests of `usage.rs` on the captured fixtures.

use super::*;

macro_rules! usage {
    ($name:literal) => {
        include_str!(concat!("../../../fixtures/btrfs-filesystem-usage/", $name))
    };
}

fn raid1() -> ExpectedProfiles {
    ExpectedProfiles {
        data: Profile::Raid1,
        metadata: Profile::Raid1,
    }
}

#[test]
fn usage_healthy_and_degraded() {
    let u = parse_usage(usage!("6.2-raid1-raw.txt")).unwrap();
    assert_eq!(u.device_size, Bytes(6 << 30));
    assert_eq!(u.device_missing, Bytes(0));
    assert_eq!(u.data_ratio_x100, Some(200));
    assert_eq!(u.multiple_profiles, Some(false));
    assert!(!u.has_missing_device() && !u.is_mixed());
    assert_eq!(u.unallocated.len(), 2);
    assert!(u.profile_problems(&raid1()).is_empty());

    for text in [
        usage!("6.2-raid1-degraded-mixed-raw.txt"),
        usage!("6.14-raid1-degraded-mixed-raw.txt"),
    ] {
        let u = parse_usage(text).unwrap();
        assert_eq!(u.device_missing, Bytes(3 << 30));
        assert_eq!(u.data_ratio_x100, Some(187));
        assert_eq!(u.multiple_profiles, Some(true));
        assert!(u.is_mixed() && u.has_missing_device());
        let data1 = u
            .groups
            .iter()
            .find(|g| g.profile == Profile::Raid1 && g.kind == BgType::Data)
            .unwrap();
        assert_eq!(data1.devices.len(), 2);
        assert!(data1.devices[1].missing);
        assert_eq!(data1.devices[1].device, None);
        assert_eq!(u.free_estimated_min, Some(Bytes(1220891838)));
    }
}

#[test]
fn usage_raid1c3_three_devices() {
    let u = parse_usage(usage!("6.2-raid1c3-raw.txt")).unwrap();
    assert_eq!(u.metadata_ratio_x100, Some(300));
    assert!(u
        .groups
        .iter()
        .all(|g| g.profile == Profile::Raid1c3 && g.devices.len() == 3));
}

#[test]
fn cut_before_unallocated_refused() {
    let u = usage!("6.2-raid1-raw.txt");
    let idx = u.find("Unallocated:").unwrap();
    assert!(parse_usage(&u[..idx]).is_err());
    let no_overall: String = u.lines().skip(1).map(|l| format!("{l}\n")).collect();
    assert!(parse_usage(&no_overall).is_err());
}
