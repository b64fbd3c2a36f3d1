//! lsblk, blkid, mountinfo, swaps and fstab parsers over our fixtures (captured on this machine
//! kind) and over `../shared/corpus` (real outputs from other machines): concrete values
//! recognized, and every input cut and garbled without a panic.

mod common;
#[path = "common/cuts.rs"]
mod cuts;

#[path = "common/corpus.rs"]
mod fx;

use fx::{corpus, files, root};
use std::fs;
use std::path::Path;

use lnraid::config::fstab::parse_fstab;
use lnraid::probe::blkid::{parse_blkid_export, parse_blkid_export_multi, parse_blkid_plain};
use lnraid::probe::lsblk::parse_lsblk;
use lnraid::probe::mounts::parse_mountinfo;
use lnraid::probe::swaps::parse_swaps;
use lnraid::types::{Bytes, DevPath};

#[test]
fn lsblk_fixtures() {
    for (name, text) in files(&root().join("fixtures/lsblk")) {
        let devs = parse_lsblk(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            devs.iter().all(|d| d.path.as_path().starts_with("/dev")),
            "{name}"
        );
        assert!(
            devs.iter()
                .any(|d| d.kind == "loop" && d.size >= Bytes(Bytes::GIB)),
            "{name}"
        );
        // Partitions of a partitioned loop device record their disk as parent.
        for p in devs.iter().filter(|d| d.kind == "part") {
            assert_eq!(p.parents.len(), 1, "{name}: {p:?}");
        }
        cuts::assert_never_panics(&name, &text, parse_lsblk);
        // A cut JSON document is never taken for a complete one.
        for c in cuts::cuts(&text)
            .into_iter()
            .filter(|c| c.len() + 10 < text.trim_end().len())
        {
            assert!(parse_lsblk(c).is_err(), "{name}: truncated JSON accepted");
        }
    }
}

#[test]
fn lsblk_corpus_text_tables_are_refused_clearly() {
    let Some(c) = corpus() else { return };
    // The corpus has lsblk's human tables; lnraid asks for --json only, and must say so
    // rather than guess at a table.
    for (name, text) in files(&c.join("lsblk")) {
        let e = parse_lsblk(&text).unwrap_err();
        assert!(e.to_string().contains("lsblk --json"), "{name}: {e}");
        cuts::assert_never_panics(&name, &text, parse_lsblk);
    }
}

#[test]
fn blkid_fixtures() {
    let dir = root().join("fixtures/blkid");
    let get = |f: &str| parse_blkid_export(&fs::read_to_string(dir.join(f)).unwrap()).unwrap();
    assert!(get("2.38.1-blank.txt").is_blank());
    let b = get("2.38.1-btrfs-member.txt");
    assert_eq!(
        (b.fstype.as_deref(), b.uuid_sub.is_some()),
        (Some("btrfs"), true)
    );
    assert!(b.fs_uuid().is_some());
    assert_eq!(
        get("2.38.1-btrfs-quoted-label.txt").label.as_deref(),
        Some("lnraid \"quoted\" label's x")
    );
    assert_eq!(get("2.38.1-gpt-disk.txt").pttype.as_deref(), Some("gpt"));
    assert!(get("2.38.1-gpt-partition-blank.txt").is_blank());
    assert_eq!(
        get("2.38.1-gpt-partition-ext4.txt").fstype.as_deref(),
        Some("ext4")
    );
    assert_eq!(get("2.38.1-swap.txt").fstype.as_deref(), Some("swap"));
    for (name, text) in files(&dir) {
        parse_blkid_export(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        cuts::assert_never_panics(&name, &text, parse_blkid_export);
    }
}

#[test]
fn blkid_corpus() {
    let Some(c) = corpus() else { return };
    let dir = c.join("blkid");
    let text = |f: &str| fs::read_to_string(dir.join(f)).unwrap();
    let plain = parse_blkid_plain(&text("jc-centos77-plain.txt")).unwrap();
    let types: Vec<&str> = plain
        .iter()
        .filter_map(|(_, id)| id.fstype.as_deref())
        .collect();
    assert_eq!(types, vec!["xfs", "LVM2_member", "xfs", "swap"]);
    let ub = parse_blkid_plain(&text("jc-ubuntu1804-plain.txt")).unwrap();
    let sr1 = ub
        .iter()
        .find(|(d, _)| *d == DevPath::new("/dev/sr1"))
        .unwrap();
    assert_eq!(sr1.1.pttype.as_deref(), Some("dos"));
    assert_eq!(
        sr1.1.label.as_deref(),
        Some("Ubuntu-Server 18.04.3 LTS amd64")
    );
    let ip = parse_blkid_plain(&text("jc-ubuntu1804-ip-multi.txt")).unwrap();
    assert!(ip.iter().any(
        |(_, id)| id.fstype.as_deref() == Some("ext4") && id.all["PART_ENTRY_SCHEME"] == "gpt"
    ));
    let udev = parse_blkid_export_multi(&text("jc-centos77-ip-udev-multi.txt")).unwrap();
    assert!(udev
        .iter()
        .any(|id| id.fstype.as_deref() == Some("LVM2_member") && id.all["VERSION"] == "LVM2 001"));
    let btrfs = parse_blkid_export(&text("utillinux-lowprobe-btrfs.txt")).unwrap();
    assert_eq!(btrfs.fstype.as_deref(), Some("btrfs"));
    assert!(btrfs.uuid_sub.is_some() && btrfs.fs_uuid().is_some());
    for f in [
        "utillinux-lowprobe-mdraid-0.90.txt",
        "utillinux-lowprobe-mdraid-1.2.txt",
    ] {
        let id = parse_blkid_export(&text(f)).unwrap();
        assert_eq!(
            (id.fstype.as_deref(), id.usage.as_deref()),
            (Some("linux_raid_member"), Some("raid")),
            "{f}"
        );
    }
    for (name, t) in files(&dir) {
        cuts::assert_never_panics(&name, &t, parse_blkid_export_multi);
        cuts::assert_never_panics(&name, &t, parse_blkid_plain);
    }
}

#[test]
fn mountinfo_and_swaps_fixtures() {
    for (name, text) in files(&root().join("fixtures/mountinfo")) {
        let m = parse_mountinfo(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        if name.ends_with("-host.txt") {
            assert!(m.iter().any(|m| m.mountpoint == Path::new("/")), "{name}");
        } else {
            // The state captures hold the line of one test mount (`grep -F " MNT "`).
            assert_eq!(m.len(), 1, "{name}");
            assert_eq!(m[0].fstype, "btrfs", "{name}");
            let ro = |o: &str| o.split(',').any(|x| x == "ro");
            let want = match name.split_once("btrfs-").map(|x| x.1) {
                Some("forced-ro.txt") => (false, true),
                Some("remount-ro.txt") => (true, true),
                Some("rw.txt") => (false, false),
                other => panic!("{name}: no expectation for {other:?}"),
            };
            assert_eq!((ro(&m[0].options), ro(&m[0].super_options)), want, "{name}");
        }
        cuts::assert_never_panics(&name, &text, parse_mountinfo);
    }
    for (name, text) in files(&root().join("fixtures/swaps")) {
        parse_swaps(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        cuts::assert_never_panics(&name, &text, parse_swaps);
    }
}

#[test]
fn fstab_corpus_round_trips_byte_for_byte() {
    let Some(c) = corpus() else { return };
    for (name, text) in files(&c.join("fstab")) {
        let f = parse_fstab(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(f.render(), text, "{name}: not lossless");
        assert!(f.entries().count() >= 2, "{name}");
        cuts::assert_never_panics(&name, &text, parse_fstab);
    }
    let btrfs = parse_fstab(
        &fs::read_to_string(c.join("fstab/utillinux-libmount-fstab-btrfs.txt")).unwrap(),
    )
    .unwrap();
    assert!(btrfs
        .entries()
        .any(|e| e.vfstype == "btrfs" && e.options.contains("subvol=")));
}
