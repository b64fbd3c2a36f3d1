//! Device-policy tests on real loop devices (root; visible SKIPPED otherwise). Each test
//! creates its own sparse-file loop devices and removes them, also on failure.

mod common;

use common::{codes_of, devices_json, mountpoint_dir, sh, tempdir, LoopDev, Mounted};

#[test]
fn mounted_btrfs_raid1_both_members_refused() {
    let _lock = device_test!("mounted_btrfs_raid1_both_members_refused");
    let tmp = tempdir();
    let a = LoopDev::new(tmp.path(), "a", "1G", false);
    let b = LoopDev::new(tmp.path(), "b", "1G", false);
    sh(
        "mkfs.btrfs",
        &["-q", "-f", "-m", "raid1", "-d", "raid1", &a.path, &b.path],
    );
    let _m = Mounted::new(&a.path, &mountpoint_dir("raid"), &[]);

    // Which member mountinfo names is the kernel's choice; the other must be caught by UUID.
    let mountinfo = std::fs::read_to_string("/proc/1/mountinfo").unwrap();
    let named = if mountinfo.contains(&format!(" {} ", a.path)) {
        &a.path
    } else {
        &b.path
    };
    let hidden = if named == &a.path { &b.path } else { &a.path };

    let (code, doc) = devices_json(&[&a.path, &b.path]);
    assert_eq!(code, 3, "refusal exit code");
    assert!(
        codes_of(&doc, named).contains(&"mounted".to_string()),
        "{doc:#}"
    );
    let hidden_codes = codes_of(&doc, hidden);
    assert!(
        hidden_codes.contains(&"mounted_btrfs_member".to_string()),
        "{hidden_codes:?}"
    );
    assert!(
        hidden_codes.contains(&"exclusive_open_failed".to_string()),
        "O_EXCL backstop: {hidden_codes:?}"
    );
    for d in doc["devices"].as_array().unwrap() {
        assert_eq!(
            d["eligible_with_wipe"], false,
            "--wipe must never make a mounted member eligible"
        );
    }
}

#[test]
fn ext4_refused_naming_type_and_uuid() {
    let _lock = device_test!("ext4_refused_naming_type_and_uuid");
    let tmp = tempdir();
    let a = LoopDev::new(tmp.path(), "ext4", "1G", false);
    sh("mkfs.ext4", &["-q", "-F", &a.path]);
    let uuid = sh("blkid", &["-p", "-s", "UUID", "-o", "value", &a.path])
        .stdout
        .trim()
        .to_string();
    assert_eq!(uuid.len(), 36);

    let (code, doc) = devices_json(&[&a.path]);
    assert_eq!(code, 3);
    let d = &doc["devices"][0];
    assert_eq!(d["refusals"][0]["code"], "filesystem");
    let msg = d["refusals"][0]["message"].as_str().unwrap();
    assert!(msg.contains("ext4") && msg.contains(&uuid), "{msg}");
    assert_eq!(d["eligible_with_wipe"], true);
    assert_eq!(d["contents"]["uuid"], uuid.as_str());
}

#[test]
fn blank_devices_eligible() {
    let _lock = device_test!("blank_devices_eligible");
    let tmp = tempdir();
    let a = LoopDev::new(tmp.path(), "a", "1G", false);
    let b = LoopDev::new(tmp.path(), "b", "1G", false);
    let (code, doc) = devices_json(&[&a.path, &b.path]);
    assert_eq!(code, 0, "{doc:#}");
    for d in doc["devices"].as_array().unwrap() {
        assert_eq!(d["eligible"], true, "{d:#}");
        assert_eq!(d["contents"]["readable"], true);
    }
    // Too small for a given minimum: refused.
    let (code, doc) = devices_json(&["--min-size", "2G", &a.path]);
    assert_eq!(code, 3);
    assert_eq!(codes_of(&doc, &a.path), vec!["too_small"]);
}

#[test]
fn same_device_named_twice_via_symlink_refused() {
    let _lock = device_test!("same_device_named_twice_via_symlink_refused");
    let tmp = tempdir();
    let a = LoopDev::new(tmp.path(), "a", "1G", false);
    let link = tmp.path().join("by-id-link");
    std::os::unix::fs::symlink(&a.path, &link).unwrap();
    let (code, doc) = devices_json(&[&a.path, link.to_str().unwrap()]);
    assert_eq!(code, 3);
    let devs = doc["devices"].as_array().unwrap();
    assert_eq!(devs.len(), 2);
    for d in devs {
        let codes: Vec<&str> = d["refusals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, vec!["named_twice"], "{d:#}");
    }
}

#[test]
fn partition_of_used_disk_refused() {
    let _lock = device_test!("partition_of_used_disk_refused");
    let tmp = tempdir();
    let disk = LoopDev::new(tmp.path(), "disk", "3G", true);
    let table = "label: gpt\nsize=1200MiB\nsize=1200MiB\n";
    let cmd = lnraid::exec::Cmd::mutating("sfdisk", ["--quiet", disk.path.as_str()]).stdin(table);
    lnraid::exec::Runner::run_ok(&lnraid::exec::RealRunner, &cmd).unwrap();
    let p1 = format!("{}p1", disk.path);
    let p2 = format!("{}p2", disk.path);
    // Kernels built without partition-table parsers (this CI's) never scan the table:
    // partx registers the partitions through the BLKPG ioctl instead.
    if !std::path::Path::new(&p2).exists() {
        sh("partx", &["--add", &disk.path]);
    }
    for _ in 0..50 {
        if std::path::Path::new(&p2).exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        std::path::Path::new(&p2).exists(),
        "kernel did not create {p2}"
    );
    sh("mkfs.ext4", &["-q", "-F", &p1]);
    let _m = Mounted::new(&p1, &mountpoint_dir("p1"), &[]);

    let (code, doc) = devices_json(&[&p2]);
    assert_eq!(code, 3);
    assert_eq!(codes_of(&doc, &p2), vec!["sibling_in_use"], "{doc:#}");
    let (_, doc) = devices_json(&[&disk.path]);
    let disk_codes = codes_of(&doc, &disk.path);
    assert!(
        disk_codes.contains(&"child_in_use".to_string()),
        "{disk_codes:?}"
    );
    assert!(
        disk_codes.contains(&"partition_table".to_string()),
        "{disk_codes:?}"
    );
}
