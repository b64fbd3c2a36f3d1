use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use super::*;
use crate::testkit::{generate_node_dir, NodeSpec};

fn small() -> NodeSpec {
    NodeSpec {
        db_bytes: 1 << 20,
        gossip_bytes: 3 << 20,
        hot_journal: true,
    }
}

#[test]
fn copies_and_verifies_a_node_dir() {
    let t = tempfile::tempdir().unwrap();
    let (src, dst) = (t.path().join("bitcoin"), t.path().join("copy"));
    generate_node_dir(&src, &small()).unwrap();
    let mut last = 0;
    let m = copy_tree(&src, &dst, &CopyOptions::default(), &mut |n| last = n).unwrap();
    assert_eq!(last, m.bytes());
    assert_eq!(
        m.skipped,
        vec![Skipped {
            rel: "lightning-rpc".into(),
            kind: "socket".into()
        }]
    );
    assert!(m.count(EntryKind::Symlink) == 2 && m.count(EntryKind::Dir) == 2);
    for name in [
        "lightningd.sqlite3",
        "lightningd.sqlite3-journal",
        "gossip_store",
        "hsm_secret",
        "config",
    ] {
        assert_eq!(
            fs::read(src.join(name)).unwrap(),
            fs::read(dst.join(name)).unwrap(),
            "{name}"
        );
        let (a, b) = (
            fs::metadata(src.join(name)).unwrap(),
            fs::metadata(dst.join(name)).unwrap(),
        );
        assert_eq!(
            (a.mode(), a.uid(), a.gid(), a.mtime(), a.mtime_nsec()),
            (b.mode(), b.uid(), b.gid(), b.mtime(), b.mtime_nsec())
        );
    }
    assert_eq!(
        fs::metadata(dst.join("hsm_secret")).unwrap().mode() & 0o777,
        0o400
    );
    assert_eq!(fs::metadata(&dst).unwrap().mode() & 0o777, 0o700);
    assert_eq!(
        fs::read_link(dst.join("plugins/clboss")).unwrap(),
        fs::read_link(src.join("plugins/clboss")).unwrap()
    );
    assert!(!dst.join("lightning-rpc").exists());
    let r = verify(&m, &dst, &mut |_| {}).unwrap();
    assert!(r.is_ok(), "{:?}", r.mismatches);
    assert_eq!(r.files, m.count(EntryKind::File));
}

#[test]
fn verify_catches_corruption_extra_files_and_mode_changes() {
    let t = tempfile::tempdir().unwrap();
    let (src, dst) = (t.path().join("bitcoin"), t.path().join("copy"));
    generate_node_dir(&src, &small()).unwrap();
    let m = copy_tree(&src, &dst, &CopyOptions::default(), &mut |_| {}).unwrap();
    // Flip one byte in the middle of the gossip store, keeping size and mtime.
    let g = dst.join("gossip_store");
    let meta = fs::metadata(&g).unwrap();
    let mut bytes = fs::read(&g).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    fs::write(&g, &bytes).unwrap();
    fs::File::options()
        .write(true)
        .open(&g)
        .unwrap()
        .set_modified(meta.modified().unwrap())
        .unwrap();
    fs::write(dst.join("stray"), b"x").unwrap();
    fs::set_permissions(dst.join("config"), fs::Permissions::from_mode(0o666)).unwrap();
    let r = verify(&m, &dst, &mut |_| {}).unwrap();
    let what: Vec<String> = r
        .mismatches
        .iter()
        .map(|x| format!("{}: {}", x.rel.display(), x.what))
        .collect();
    // The stray file also changed the root directory's mtime: four differences in all.
    assert_eq!(what.len(), 4, "{what:?}");
    assert!(
        what.iter().any(|w| w == ": modification time differs"),
        "{what:?}"
    );
    assert!(
        what.iter()
            .any(|w| w.starts_with("gossip_store: content differs")),
        "{what:?}"
    );
    assert!(
        what.iter()
            .any(|w| w.starts_with("stray: present in the copy")),
        "{what:?}"
    );
    assert!(
        what.iter().any(|w| w.starts_with("config: mode 0666")),
        "{what:?}"
    );
}

#[test]
fn loose_secret_is_tightened_and_noted() {
    let t = tempfile::tempdir().unwrap();
    let (src, dst) = (t.path().join("bitcoin"), t.path().join("copy"));
    fs::create_dir(&src).unwrap();
    fs::write(src.join("hsm_secret"), [7u8; 32]).unwrap();
    fs::set_permissions(src.join("hsm_secret"), fs::Permissions::from_mode(0o644)).unwrap();
    let m = copy_tree(&src, &dst, &CopyOptions::default(), &mut |_| {}).unwrap();
    assert_eq!(
        fs::metadata(dst.join("hsm_secret")).unwrap().mode() & 0o777,
        0o600
    );
    assert_eq!(m.notes.len(), 1, "{:?}", m.notes);
    assert!(verify(&m, &dst, &mut |_| {}).unwrap().is_ok());
}

#[test]
fn refuses_existing_destination_and_non_directory() {
    let t = tempfile::tempdir().unwrap();
    fs::create_dir(t.path().join("a")).unwrap();
    fs::create_dir(t.path().join("b")).unwrap();
    assert!(copy_tree(
        &t.path().join("a"),
        &t.path().join("b"),
        &CopyOptions::default(),
        &mut |_| {}
    )
    .is_err());
    fs::write(t.path().join("f"), b"").unwrap();
    assert!(copy_tree(
        &t.path().join("f"),
        &t.path().join("c"),
        &CopyOptions::default(),
        &mut |_| {}
    )
    .is_err());
}

#[test]
fn owner_override_applies_everywhere() {
    let t = tempfile::tempdir().unwrap();
    let (src, dst) = (t.path().join("bitcoin"), t.path().join("copy"));
    generate_node_dir(&src, &small()).unwrap();
    if !nix::unistd::Uid::effective().is_root() {
        println!("SKIPPED: owner_override_applies_everywhere: chown needs root");
        return;
    }
    let m = copy_tree(
        &src,
        &dst,
        &CopyOptions {
            owner: Some((4242, 4343)),
        },
        &mut |_| {},
    )
    .unwrap();
    for e in &m.entries {
        let md = fs::symlink_metadata(dst.join(&e.rel)).unwrap();
        assert_eq!((md.uid(), md.gid()), (4242, 4343), "{}", e.rel.display());
    }
    assert!(verify(&m, &dst, &mut |_| {}).unwrap().is_ok());
}

/// Sizes around the block boundaries of the copy pipeline (`BUF_SIZE`) and of the two-thread
/// read-back (`VERIFY_CHUNK`): each is copied byte for byte, its manifest hash is the BLAKE3 of
/// its content, and it verifies; a flipped byte in a block read by either read-back thread,
/// or in the last partial block, is caught.
#[test]
fn block_boundaries_copy_hash_and_verify() {
    use super::stream::VERIFY_CHUNK;
    let (b, c) = (BUF_SIZE, VERIFY_CHUNK);
    let sizes = [
        0,
        1,
        b - 1,
        b,
        b + 1,
        3 * b + 7,
        c,
        c + 1,
        2 * c,
        3 * c + 12345,
    ];
    let t = tempfile::tempdir().unwrap();
    let (src, dst) = (t.path().join("src"), t.path().join("dst"));
    fs::create_dir(&src).unwrap();
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut content = Vec::new();
    for (i, &n) in sizes.iter().enumerate() {
        let data: Vec<u8> = (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        fs::write(src.join(format!("f{i:02}")), &data).unwrap();
        content.push(data);
    }
    let mut last = 0;
    let m = copy_tree(&src, &dst, &CopyOptions::default(), &mut |n| last = n).unwrap();
    let total: usize = sizes.iter().sum();
    assert_eq!(last, total as u64);
    for (i, data) in content.iter().enumerate() {
        let name = format!("f{i:02}");
        assert!(fs::read(dst.join(&name)).unwrap() == *data, "{name}");
        let e = m
            .entries
            .iter()
            .find(|e| e.rel == Path::new(&name))
            .unwrap();
        assert_eq!(e.hash.as_deref(), Some(&*blake3::hash(data).to_hex()));
    }
    let mut seen = 0;
    let r = verify(&m, &dst, &mut |n| seen = n).unwrap();
    assert!(r.is_ok(), "{:?}", r.mismatches);
    assert_eq!((r.bytes, seen), (total as u64, total as u64));

    // f09 is 3 chunks and a bit: chunk 1 is read by the second thread, chunk 3 is partial.
    for at in [c + 5, 3 * c + 100] {
        let f = dst.join("f09");
        let mut bytes = content[9].clone();
        bytes[at] ^= 0x80;
        fs::write(&f, &bytes).unwrap();
        let r = verify(&m, &dst, &mut |_| {}).unwrap();
        assert!(
            r.mismatches
                .iter()
                .any(|x| x.rel == Path::new("f09") && x.what.starts_with("content differs")),
            "flip at {at}: {:?}",
            r.mismatches
        );
    }
}

#[test]
fn secret_is_created_0400_not_loosened_later() {
    // Look at the file's mode from the progress callback, which fires while its content is
    // being written: it must already be 0400 then (with the old 0600-then-chmod it was not).
    let t = tempfile::tempdir().unwrap();
    let (src, dst) = (t.path().join("bitcoin"), t.path().join("copy"));
    fs::create_dir(&src).unwrap();
    fs::write(src.join("hsm_secret"), vec![7u8; 3 << 20]).unwrap();
    fs::set_permissions(src.join("hsm_secret"), fs::Permissions::from_mode(0o400)).unwrap();
    let seen = std::cell::RefCell::new(Vec::new());
    let probe = dst.join("hsm_secret");
    copy_tree(&src, &dst, &CopyOptions::default(), &mut |_| {
        if let Ok(m) = fs::metadata(&probe) {
            seen.borrow_mut().push(m.mode() & 0o777);
        }
    })
    .unwrap();
    let seen = seen.into_inner();
    assert!(
        !seen.is_empty(),
        "progress fired while hsm_secret was being written"
    );
    assert!(
        seen.iter().all(|m| *m == 0o400),
        "modes seen while filling: {seen:?}"
    );
}
