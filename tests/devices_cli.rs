//! `lnraid devices` on this machine as it is: the disk that holds `/` must be refused with
//! that reason. Read-only: it creates nothing.

mod common;

use std::path::Path;

#[test]
fn root_disk_listed_as_refused() {
    let mountinfo = std::fs::read_to_string("/proc/1/mountinfo")
        .or_else(|_| std::fs::read_to_string("/proc/self/mountinfo"))
        .unwrap();
    let root_src = mountinfo
        .lines()
        .find(|l| l.split(' ').nth(4) == Some("/"))
        .and_then(|l| l.split(" - ").nth(1))
        .and_then(|t| t.split(' ').nth(1))
        .unwrap()
        .to_string();
    if !root_src.starts_with("/dev/") {
        println!(
            "SKIPPED: root_disk_listed_as_refused: / is not on a block device here ({root_src})"
        );
        return;
    }
    let (code, doc) = common::devices_json(&[]);
    assert_eq!(code, 0);
    assert_eq!(doc["version"], 1);
    let devices = doc["devices"].as_array().unwrap();
    let holders: Vec<&serde_json::Value> = devices
        .iter()
        .filter(|d| {
            d["refusals"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["code"] == "holds_protected_path" && r["path"] == "/")
        })
        .collect();
    assert!(
        !holders.is_empty(),
        "no device is refused for holding /: {doc:#}"
    );
    for d in &holders {
        assert_eq!(d["eligible"], false);
        assert_eq!(d["eligible_with_wipe"], false);
    }
    // The device mountinfo names for / is among them (or is its parent disk).
    let canon =
        std::fs::canonicalize(&root_src).unwrap_or_else(|_| Path::new(&root_src).to_path_buf());
    assert!(
        holders
            .iter()
            .any(|d| Path::new(d["path"].as_str().unwrap()) == canon),
        "{} not refused for holding /",
        canon.display()
    );
}
