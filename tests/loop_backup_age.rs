//! `lnraid backup --encrypt-to` / `restore --identity` on real loop devices (root; visible
//! SKIPPED otherwise): the node on a btrfs RAID-1 subvolume, DEST on ext4; the age key is
//! generated here with the `age` crate.

mod common;
#[path = "common/node.rs"]
mod node;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use age::secrecy::ExposeSecret;
use common::lnraid;
use lnraid::exec::ExitStatus;
use lnraid::testkit::NodeSpec;
use node::{backup_with, db_state, dest, BtrfsNode};

fn grep_dest(dest: &Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    let mut stack = vec![dest.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            } else if e.file_type().unwrap().is_file() {
                let b = fs::read(&p).unwrap();
                if b.windows(needle.len()).any(|w| w == needle) {
                    hits.push(p.display().to_string());
                }
            }
        }
    }
    hits
}

#[test]
fn encrypted_backup_round_trips_and_dest_holds_no_plaintext() {
    let _lock = device_test!("encrypted_backup_round_trips_and_dest_holds_no_plaintext");
    let spec = NodeSpec {
        db_bytes: 4 << 20,
        gossip_bytes: 1 << 20,
        hot_journal: false,
    };
    let n = BtrfsNode::new("age", &spec, "1G", true);
    let d = dest(&n, "agedest", &["mkfs.ext4", "-q", "-F"]);
    let dest = d.mnt.dir.join("backups");

    let key = age::x25519::Identity::generate();
    let recipient = key.to_public().to_string();
    let idfile = n.tmp.path().join("identity.txt");
    fs::write(&idfile, format!("{}\n", key.to_string().expose_secret())).unwrap();
    fs::set_permissions(&idfile, fs::Permissions::from_mode(0o644)).unwrap();

    let hsm = fs::read(n.home.join("hsm_secret")).unwrap();
    let db_before = fs::read(n.db()).unwrap();
    let state_before = db_state(&n.db(), &n.tmp.path().join("s1"));
    let found = backup_with(&n.home, &dest, &["--encrypt-to", &recipient]);
    let m = found.manifest.expect("a manifest");
    assert!(m.encrypted);
    let b = found.path;
    assert!(b.join("hsm_secret.lnraid-backup.age").is_file());
    assert!(!b.join("hsm_secret.lnraid-backup").exists());
    assert!(m.files.iter().all(|f| f.ciphertext_blake3.is_some()));
    let hsm_entry = m
        .files
        .iter()
        .find(|f| f.path == "hsm_secret.lnraid-backup")
        .unwrap();
    assert_eq!(hsm_entry.blake3, blake3::hash(&hsm).to_hex().to_string());
    assert_eq!(
        grep_dest(&dest, &hsm),
        Vec::<String>::new(),
        "plaintext of hsm_secret in DEST"
    );
    assert_eq!(grep_dest(&dest, &db_before[..4096]), Vec::<String>::new());

    // The node moves on after the backup.
    let c = rusqlite::Connection::open(n.db()).unwrap();
    c.execute_batch("CREATE TABLE after_backup(x); INSERT INTO after_backup VALUES (1);")
        .unwrap();
    drop(c);

    let restore = |extra: &[&str]| {
        let mut a = vec![
            "restore",
            "--from",
            b.to_str().unwrap(),
            "--lightning-dir",
            n.home.to_str().unwrap(),
            "--yes",
        ];
        a.extend_from_slice(extra);
        lnraid(&a)
    };
    let out = restore(&[]);
    assert_ne!(out.status, ExitStatus::Code(0));
    assert!(out.stderr.contains("--identity"), "{}", out.stderr);
    let out = restore(&["--identity", idfile.to_str().unwrap()]);
    assert_ne!(out.status, ExitStatus::Code(0));
    assert!(out.stderr.contains("chmod 600"), "{}", out.stderr);
    assert!(
        fs::read(n.db()).unwrap() != db_before,
        "untouched after refusals"
    );

    fs::set_permissions(&idfile, fs::Permissions::from_mode(0o600)).unwrap();
    let out = restore(&["--identity", idfile.to_str().unwrap()]);
    common::assert_ok(&out);
    assert!(
        fs::read(n.db()).unwrap() == db_before,
        "database byte-equal"
    );
    assert!(
        fs::read(n.home.join("hsm_secret")).unwrap() == hsm,
        "hsm_secret byte-equal"
    );
    assert_eq!(db_state(&n.db(), &n.tmp.path().join("s2")), state_before);
    let mode = fs::metadata(n.home.join("hsm_secret"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o400);
    let leftovers: Vec<_> = fs::read_dir(&n.mnt.dir)
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".lnraid-decrypt")
        })
        .collect();
    assert!(leftovers.is_empty(), "decrypted scratch removed");
}
