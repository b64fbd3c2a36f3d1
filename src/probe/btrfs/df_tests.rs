//! Tests of `df.rs` on the captured fixtures (kept apart to keep df.rs readable).

use super::*;

macro_rules! df {
    ($name:literal) => {
        include_str!(concat!("../../../fixtures/btrfs-filesystem-df/", $name))
    };
}

fn raid1() -> ExpectedProfiles {
    ExpectedProfiles {
        data: Profile::Raid1,
        metadata: Profile::Raid1,
    }
}

#[test]
fn healthy_raid1_df_text_and_json_agree() {
    let text = parse_df(df!("6.2-raid1-raw.txt")).unwrap();
    assert!(text.sizes_exact);
    assert!(!text.is_mixed());
    assert!(text.profile_problems(&raid1()).is_empty());
    assert_eq!(text.groups[0].kind, BgType::Data);
    assert_eq!(text.groups[0].profile, Profile::Raid1);
    for json in [df!("6.2-raid1.json"), df!("6.14-raid1.json")] {
        assert_eq!(parse_df_json(json).unwrap(), text);
    }
}

#[test]
fn fresh_fs_has_global_reserve_and_no_problem() {
    let info = parse_df(df!("6.2-fresh-raid1-raw.txt")).unwrap();
    assert_eq!(info.groups.len(), 4);
    let gr = info
        .groups
        .iter()
        .find(|g| g.kind == BgType::GlobalReserve)
        .unwrap();
    assert_eq!(gr.profile, Profile::Single);
    assert_eq!(gr.total, Bytes(5767168));
    assert!(info.profile_problems(&raid1()).is_empty());
}

#[test]
fn degraded_writes_leave_single_chunks() {
    for info in [
        parse_df(df!("6.2-raid1-degraded-mixed-raw.txt")).unwrap(),
        parse_df(df!("6.14-raid1-degraded-mixed-raw.txt")).unwrap(),
        parse_df_json(df!("6.2-raid1-degraded-mixed.json")).unwrap(),
        parse_df_json(df!("6.14-raid1-degraded-mixed.json")).unwrap(),
    ] {
        assert!(info.is_mixed());
        let p = info.profile_problems(&raid1());
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].kind, BgType::Data);
        assert_eq!(p[0].found, vec![Profile::Single, Profile::Raid1]);
    }
    // Before any write the degraded fs is still all RAID1.
    assert!(!parse_df(df!("6.2-raid1-degraded-raw.txt"))
        .unwrap()
        .is_mixed());
}

#[test]
fn wrong_but_uniform_profile_is_a_problem_not_a_mix() {
    let info = parse_df(df!("6.2-single-dup-raw.txt")).unwrap();
    assert!(!info.is_mixed());
    let p = info.profile_problems(&raid1());
    assert_eq!(
        p.iter().map(|p| &p.kind).collect::<Vec<_>>(),
        [&BgType::Data, &BgType::System, &BgType::Metadata]
    );
    let c3 = parse_df(df!("6.2-raid1c3-raw.txt")).unwrap();
    let want = ExpectedProfiles {
        data: Profile::Raid1c3,
        metadata: Profile::Raid1c3,
    };
    assert!(c3.profile_problems(&want).is_empty());
    assert_eq!(c3.profile_problems(&raid1()).len(), 3);
}

#[test]
fn cut_outputs_refused() {
    let text = df!("6.2-raid1-raw.txt");
    let first: String = text.lines().take(1).map(|l| format!("{l}\n")).collect();
    assert!(parse_df(&first).is_err());
    assert!(parse_df_json("{\"filesystem-df\": []}").is_err());
}
