//! Every JSON document lnraid writes validates against its checked-in schema
//! (`schemas/*.schema.json`): `status --json` for captured array states and for a run that
//! could not judge (unreadable fstab: verdict unknown, exit 3), the alert event, the recover
//! MANIFEST, `devices --json` of this machine, and the README's status example.

mod common;
#[path = "common/schema.rs"]
mod schema;

use std::fs;

use common::lnraid;
use lnraid::alert::{Event, EVENT_VERSION};
use lnraid::probe::btrfs::df::parse_df;
use lnraid::probe::btrfs::replace::parse_replace_status;
use lnraid::probe::btrfs::scrub::parse_scrub_status;
use lnraid::probe::btrfs::show::parse_show;
use lnraid::probe::btrfs::stats::parse_stats;
use lnraid::probe::btrfs::usage::parse_usage;
use lnraid::probe::mounts::parse_mountinfo;
use lnraid::status::doc::StatusDoc;
use lnraid::status::export::to_doc;
use lnraid::status::{evaluate, ArrayFacts, Severity};

fn fx(p: &str) -> String {
    fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(p),
    )
    .unwrap_or_else(|e| panic!("{p}: {e}"))
}

/// Facts of a mounted raid1 from captured outputs; `v` is the btrfs-progs version.
fn facts(v: &str, show: &str, stats: &str, usage: &str, mountinfo: &str) -> ArrayFacts {
    let m = parse_mountinfo(&fx(mountinfo)).unwrap().pop().unwrap();
    ArrayFacts {
        uuid: lnraid::types::FsUuid::parse("5d1c0e2a-1111-2222-3333-444455556666"),
        mountpoint: m.mountpoint.clone(),
        mounted_at: Some(m.mountpoint.clone()),
        mount_options: Some(lnraid::status::gather::merge_options(
            &m.options,
            &m.super_options,
        )),
        per_mount_options: Some(m.options.clone()),
        super_options: Some(m.super_options.clone()),
        show: parse_show(&fx(&format!("btrfs-filesystem-show/{v}-{show}-raw.txt")))
            .unwrap()
            .pop(),
        stats: Some(parse_stats(&fx(&format!("btrfs-device-stats/{v}-{stats}.txt"))).unwrap()),
        usage: Some(
            parse_usage(&fx(&format!("btrfs-filesystem-usage/{v}-{usage}-raw.txt"))).unwrap(),
        ),
        df: Some(
            parse_df(&fx(&format!("btrfs-filesystem-df/{v}-{usage}-raw.txt")))
                .unwrap()
                .groups,
        ),
        scrub: Some(
            parse_scrub_status(&fx(&format!(
                "btrfs-scrub-status/{v}-finished-clean-raw.txt"
            )))
            .unwrap(),
        ),
        scrub_finished_at: Some(1_796_000_000),
        lightning_dir: Some("/home/u/.lightning/bitcoin".into()),
        lightning_dir_on_array: Some(true),
        ..ArrayFacts::default()
    }
}

fn status_docs() -> Vec<serde_json::Value> {
    let now = 1_796_145_651;
    let mut docs = Vec::new();
    for v in ["6.2", "6.14"] {
        let rw = "mountinfo/6.18.44-fc-v1045-btrfs-rw.txt";
        let mut states = vec![
            facts(v, "raid1-mounted", "healthy", "raid1", rw),
            facts(
                v,
                "raid1-degraded-mounted",
                "degraded",
                "raid1-degraded-mixed",
                rw,
            ),
            facts(v, "raid1-full", "healthy", "raid1-full", rw),
            facts(
                v,
                "raid1-remount-ro",
                "healthy",
                "raid1-nearly-full",
                "mountinfo/6.18.44-fc-v1045-btrfs-remount-ro.txt",
            ),
            facts(
                v,
                "raid1-forced-ro",
                "forced-ro",
                "raid1",
                "mountinfo/6.18.44-fc-v1045-btrfs-forced-ro.txt",
            ),
            facts(v, "raid1-replacing", "replacing", "raid1-replacing", rw),
        ];
        states[5].replace = Some(
            parse_replace_status(&fx(&format!("btrfs-replace-status/{v}-replacing.txt"))).unwrap(),
        );
        states[0]
            .unfinished
            .push(("replace".into(), "convert".into()));
        let unmounted = ArrayFacts {
            mountpoint: "/mnt/lnraid".into(),
            show: parse_show(&fx(&format!(
                "btrfs-filesystem-show/{v}-raid1-unmounted-missing-raw.txt"
            )))
            .unwrap()
            .pop(),
            errors: vec!["`btrfs device stats` failed".into()],
            ..ArrayFacts::default()
        };
        states.push(unmounted);
        let arrays: Vec<_> = states.iter().map(|f| to_doc(&evaluate(f, now))).collect();
        for a in &arrays {
            docs.push(
                serde_json::to_value(StatusDoc::new(now, "host".into(), vec![a.clone()])).unwrap(),
            );
        }
        docs.push(serde_json::to_value(StatusDoc::new(now, "host".into(), arrays)).unwrap());
    }
    docs.push(
        serde_json::to_value(StatusDoc::unknown(now, "host".into(), "cannot read".into())).unwrap(),
    );
    docs
}

#[test]
fn status_documents_of_captured_states_match_the_schema() {
    let docs = status_docs();
    // The documents really differ where the states do (the schema is not checked on blanks).
    let verdicts: Vec<&str> = docs
        .iter()
        .map(|d| d["verdict"].as_str().unwrap())
        .collect();
    for v in ["ok", "warning", "critical", "unknown"] {
        assert!(verdicts.contains(&v), "{v} not among {verdicts:?}");
    }
    let replacing = &docs[5]["arrays"][0];
    assert_eq!(replacing["operations"][0]["percent"], 20.8);
    assert_eq!(replacing["members"][0]["state"], "replace_target");
    assert_eq!(replacing["redundancy"]["members_missing"], 0);
    assert_eq!(docs[4]["arrays"][0]["mount"]["read_only_cause"], "kernel");
    assert_eq!(docs[0]["generated_at"], "2026-12-01T17:20:51Z");
    schema::validate("status", &docs);
}

#[test]
fn the_schema_refuses_what_the_old_document_printed() {
    let mut bad = status_docs().swap_remove(5);
    // Hundredths of a percent, a Unix time, a Debug name: each is refused.
    bad["arrays"][0]["operations"][0]["percent"] = 2080.into();
    let mut t = status_docs().swap_remove(0);
    t["generated_at"] = 1_796_145_651u64.into();
    let mut n = status_docs().swap_remove(0);
    n["arrays"][0]["last_check"]["state"] = "NeverRun".into();
    for d in [bad, t, n] {
        match std::panic::catch_unwind(|| schema::validate("status", std::slice::from_ref(&d))) {
            Ok(false) => return, // no validator: SKIPPED printed
            Ok(true) => panic!("the schema accepted: {d:#}"),
            Err(_) => {}
        }
    }
}

#[test]
fn unreadable_fstab_prints_an_unknown_document_and_exits_3() {
    let t = tempfile::tempdir().unwrap();
    let missing = t.path().join("no-such-fstab");
    let state = t.path().join("state");
    let out = lnraid(&[
        "status",
        "--json",
        "--fstab",
        missing.to_str().unwrap(),
        "--state-dir",
        state.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(3), "{}{}", out.stdout, out.stderr);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["verdict"], "unknown");
    assert_eq!(doc["exit_code"], 3);
    assert!(
        doc["error"].as_str().unwrap().contains("no-such-fstab"),
        "{doc:#}"
    );
    let text = lnraid(&["status", "--fstab", missing.to_str().unwrap()]);
    assert_eq!(text.status.code(), Some(3));
    assert!(
        text.stdout.contains("UNKNOWN") && text.stdout.contains("no-such-fstab"),
        "{}",
        text.stdout
    );
    // An fstab without lnraid lines: unknown too, with a document.
    let empty = t.path().join("fstab");
    fs::write(&empty, "# nothing\n").unwrap();
    let none = lnraid(&["status", "--json", "--fstab", empty.to_str().unwrap()]);
    assert_eq!(none.status.code(), Some(3));
    let doc2: serde_json::Value = serde_json::from_str(&none.stdout).unwrap();
    assert_eq!(doc2["arrays"].as_array().unwrap().len(), 0);
    schema::validate("status", &[doc, doc2]);
}

#[test]
fn usage_errors_of_status_exit_3() {
    let out = lnraid(&["status", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(3), "{}", out.stderr);
    let out = lnraid(&["monitor", "--textfile"]);
    assert_eq!(out.status.code(), Some(3), "{}", out.stderr);
    // Other commands keep clap's usage code.
    assert_eq!(
        lnraid(&["devices", "--no-such-flag"]).status.code(),
        Some(2)
    );
}

#[test]
fn alert_event_matches_the_schema() {
    let ev = Event {
        version: EVENT_VERSION,
        time: 1_796_145_651,
        host: "h".into(),
        source: "monitor",
        kind: "verdict_changed",
        severity: Severity::Critical,
        fs_uuid: Some("5d1c0e2a-1111-2222-3333-444455556666".into()),
        mountpoint: "/mnt/lnraid".into(),
        summary: "lnraid: /mnt/lnraid is critical".into(),
        devices: vec!["devid 2".into()],
        problems: evaluate(
            &facts(
                "6.2",
                "raid1-degraded-mounted",
                "degraded",
                "raid1-degraded-mixed",
                "mountinfo/6.18.44-fc-v1045-btrfs-rw.txt",
            ),
            1_796_145_651,
        )
        .problems,
        details: serde_json::json!({ "reasons": ["verdict ok -> critical"] }),
    };
    let v = serde_json::to_value(&ev).unwrap();
    assert_eq!(v["time"], "2026-12-01T17:20:51Z");
    schema::validate("event", &[v]);
}

#[test]
fn recover_manifest_matches_the_schema() {
    use lnraid::recover::manifest::*;
    let m = RecoverManifest {
        format: MANIFEST_FORMAT.into(),
        version: MANIFEST_VERSION,
        created_utc: lnraid::time::rfc3339(1_796_145_651),
        lnraid_version: env!("CARGO_PKG_VERSION").into(),
        array: ArrayInfo {
            fs_uuid: lnraid::types::FsUuid::parse("0c0ffee0-1234-4abc-8def-0123456789ab").unwrap(),
            label: Some("lnraid".into()),
            total_devices: Some(2),
            survivors: vec![Member {
                devid: Some(1),
                path: "/dev/sdb".into(),
                uuid_sub: None,
            }],
            missing_devids: vec![2],
        },
        source_dir: "bitcoin".into(),
        mount: MountInfo {
            kind: MountKind::Temporary,
            options: "ro,degraded".into(),
            existing_mountpoint: None,
        },
        all: false,
        database: Some(DatabaseCheck {
            path: "lightningd.sqlite3".into(),
            integrity_check: "ok".into(),
            hot_journal: true,
        }),
        files: vec![FileEntry {
            path: "hsm_secret".into(),
            kind: EntryKind::File,
            size: 32,
            mode: mode_string(0o100400),
            uid: 1000,
            gid: 1000,
            blake3: Some("ab".repeat(32)),
            target: None,
        }],
        not_copied: vec![NotCopied {
            path: "emergency.recover".into(),
            reason: "absent".into(),
        }],
    };
    let v: serde_json::Value = serde_json::from_str(&m.render()).unwrap();
    schema::validate("manifest", &[v]);
}

#[test]
fn devices_json_of_this_machine_matches_the_schema() {
    let (_, doc) = common::devices_json(&[]);
    assert!(doc["devices"].is_array());
    schema::validate("devices", &[doc]);
}

/// The README's status example is a real document and matches the schema.
#[test]
fn readme_status_example_matches_the_schema() {
    let readme =
        fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    let section = readme.split("## `lnraid status`").nth(1).unwrap();
    let section = section.split("\n## ").next().unwrap();
    let block = section
        .split("```json\n")
        .nth(1)
        .expect("a ```json block in README's status section")
        .split("\n```")
        .next()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_str(block).expect("README example is JSON");
    assert_eq!(doc["version"], lnraid::status::doc::STATUS_VERSION);
    schema::validate("status", &[doc]);
}
