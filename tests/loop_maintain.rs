//! `lnraid status` and `lnraid maintain` on real arrays (root + loop devices; visible SKIPPED
//! otherwise): healthy, real corruption repaired by scrub, degraded (skip, write nothing),
//! single chunks flagged, and two maintenance jobs that never overlap.

#[path = "common/array.rs"]
mod array;
mod common;

use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};

use array::{problem_codes, Env};
use common::sh;
use lnraid::exec::{Cmd, ExitStatus, RealRunner, Runner};
use lnraid::testkit::NodeSpec;

fn status_json(env: &Env) -> (i32, serde_json::Value) {
    env.status_json(&[])
}

fn generation(dev: &str) -> String {
    let out = sh("btrfs", &["inspect-internal", "dump-super", dev]).stdout;
    out.lines()
        .find(|l| l.starts_with("generation"))
        .unwrap()
        .to_string()
}

fn drop_caches() {
    sh("sync", &[]);
    fs::write("/proc/sys/vm/drop_caches", "3").unwrap();
}

#[test]
fn healthy_then_real_corruption_repaired_by_scrub() {
    let _lock = device_test!("healthy_then_real_corruption_repaired_by_scrub");
    let env = Env::small_array("corrupt");
    let (code, doc) = status_json(&env);
    assert_eq!(code, 0, "{doc:#}");
    // status --json version 2: the verdict is the severity word (`ok`, as in `problems`).
    assert_eq!(doc["verdict"], "ok");
    assert_eq!(doc["version"], 2);

    // A file with a pattern we can find on the member's backing file.
    let marker: Vec<u8> = (0..4u32 << 20)
        .map(|i| b"LNRAID-CORRUPT-ME-"[(i % 18) as usize])
        .collect();
    let file = env.mp.join("bitcoin/victim");
    fs::write(&file, &marker).unwrap();
    drop_caches();
    let mut img = fs::File::options()
        .read(true)
        .write(true)
        .open(&env.a.backing)
        .unwrap();
    let mut all = Vec::new();
    img.read_to_end(&mut all).unwrap();
    let at = all
        .windows(64)
        .position(|w| w == &marker[..64])
        .expect("pattern on member a");
    drop(all);
    img.seek(SeekFrom::Start(at as u64 + 8192)).unwrap();
    img.write_all(&[0u8; 65536]).unwrap();
    img.sync_all().unwrap();
    drop(img);
    drop_caches();

    let dry = env.lnraid_host(&["maintain", "scrub", env.mp.to_str().unwrap(), "--dry-run"]);
    assert!(
        dry.status.success() && dry.stdout.contains("$ btrfs scrub start -B"),
        "{}{}",
        dry.stdout,
        dry.stderr
    );
    assert!(env.record("scrub").is_none(), "a dry run records nothing");
    let ev = env.tmp.path().join("event.json");
    let alert = format!("cat > '{}'", ev.display());
    let out = env.lnraid_host(&[
        "maintain",
        "scrub",
        env.mp.to_str().unwrap(),
        "--alert-command",
        &alert,
    ]);
    assert_eq!(
        out.status,
        ExitStatus::Code(1),
        "corrected errors are a warning: {}{}",
        out.stdout,
        out.stderr
    );
    assert!(out.stdout.contains("corrected"), "{}", out.stdout);
    let event: serde_json::Value = serde_json::from_str(&fs::read_to_string(&ev).unwrap()).unwrap();
    assert_eq!(event["kind"], "scrub_errors");
    assert_eq!(
        event["devices"][0],
        env.a.path.as_str(),
        "the event names the corrupted member: {event:#}"
    );
    drop_caches();
    assert_eq!(
        fs::read(&file).unwrap(),
        marker,
        "the file reads back intact"
    );
    let (code, doc) = status_json(&env);
    assert_eq!(code, 1);
    let codes = problem_codes(&doc);
    assert!(
        codes.contains(&"device_errors".to_string())
            && codes.contains(&"scrub_corrected".to_string()),
        "{codes:?}"
    );
    assert_eq!(env.record("scrub").unwrap()["outcome"], "corrected");
}

#[test]
fn degraded_array_critical_and_maintenance_skips() {
    let _lock = device_test!("degraded_array_critical_and_maintenance_skips");
    let mut env = Env::small_array("degraded");
    let mp = env.mp.to_str().unwrap().to_string();
    sh("umount", &[&mp]);
    env.b.detach();
    sh("mount", &["-o", "degraded", &env.a.path, &mp]);
    let (code, doc) = status_json(&env);
    assert_eq!(code, 2, "{doc:#}");
    assert!(
        doc["arrays"][0]["problems"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("devid 2 is missing"),
        "{doc:#}"
    );

    let gen = generation(&env.a.path);
    let ev = env.tmp.path().join("event.json");
    for job in ["scrub", "balance"] {
        let _ = fs::remove_file(&ev);
        let alert = format!("cat > '{}'", ev.display());
        let out = env.lnraid_host(&["maintain", job, &mp, "--alert-command", &alert]);
        assert_eq!(
            out.status,
            ExitStatus::Code(2),
            "{job}: {}{}",
            out.stdout,
            out.stderr
        );
        assert!(out.stderr.contains("skipped"), "{}", out.stderr);
        let event: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&ev).unwrap()).unwrap();
        assert_eq!(event["kind"], "maintenance_skipped");
    }
    assert_eq!(
        generation(&env.a.path),
        gen,
        "nothing was written to the degraded filesystem"
    );

    // Writing while degraded allocates single chunks: status flags them.
    let mut f = fs::File::create(env.mp.join("bitcoin/written-degraded")).unwrap();
    for _ in 0..300 {
        f.write_all(&[7u8; 1 << 20]).unwrap();
    }
    f.sync_all().unwrap();
    drop(f);
    let (_, doc) = status_json(&env);
    assert!(
        problem_codes(&doc).contains(&"non_raid_profile".to_string()),
        "{doc:#}"
    );
}

#[test]
fn maintenance_jobs_never_overlap() {
    let _lock = device_test!("maintenance_jobs_never_overlap");
    let env = Env::with_array(
        "overlap",
        NodeSpec {
            db_bytes: 8 << 20,
            gossip_bytes: 24 << 20,
            hot_journal: false,
        },
    );
    let mp = env.mp.to_str().unwrap().to_string();
    let bin = env!("CARGO_BIN_EXE_lnraid");
    let mut host = env.host_args();
    host.extend([
        "--btrfsmaintenance-lock-dir".to_string(),
        env.tmp.path().join("bm").to_string_lossy().into_owned(),
    ]);
    fs::create_dir_all(env.tmp.path().join("bm")).unwrap();
    let job = |args: &[&str]| {
        let mut v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        v.extend(host.clone());
        Cmd::mutating(bin, v)
    };
    // A slow scrub (4 MiB/s per device) and a balance started while it runs.
    let scrub = job(&["maintain", "scrub", &mp, "--limit", "4M"]);
    let balance_wait = job(&["maintain", "balance", &mp, "--wait", "120"]);
    let balance_nowait = job(&["maintain", "balance", &mp, "--wait", "0"]);
    let (s, waited, skipped) = std::thread::scope(|sc| {
        let s = sc.spawn(|| RealRunner.output(&scrub).unwrap());
        std::thread::sleep(std::time::Duration::from_millis(1500));
        let skipped = RealRunner.output(&balance_nowait).unwrap();
        let waited = RealRunner.output(&balance_wait).unwrap();
        (s.join().unwrap(), waited, skipped)
    });
    assert_eq!(s.status, ExitStatus::Code(0), "{}{}", s.stdout, s.stderr);
    assert_eq!(
        skipped.status,
        ExitStatus::Code(1),
        "busy → skipped as a warning: {}",
        skipped.stderr
    );
    assert!(
        skipped.stderr.contains("held the lock"),
        "{}",
        skipped.stderr
    );
    common::assert_ok(&waited);
    let rec = |j: &str| env.record(j).unwrap_or_else(|| panic!("no {j} record"));
    let (sr, br) = (rec("scrub"), rec("balance"));
    assert_eq!(sr["outcome"], "ok");
    assert_eq!(br["outcome"], "ok");
    // Records carry RFC 3339 UTC times.
    let t = |v: &serde_json::Value| {
        lnraid::time::parse_rfc3339(v.as_str().unwrap_or_default())
            .unwrap_or_else(|| panic!("not an RFC 3339 time: {v}"))
    };
    assert!(
        t(&br["started"]) >= t(&sr["finished"]),
        "balance ran after the scrub: {sr} {br}"
    );

    // btrfsmaintenance's own lock is honoured too.
    let lockfile = env
        .tmp
        .path()
        .join(format!("bm/btrfs-maintenance-running.{}", env.uuid));
    let f = fs::File::create(&lockfile).unwrap();
    let held = nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusive).unwrap();
    let out = RealRunner
        .output(&job(&["maintain", "balance", &mp, "--wait", "1"]))
        .unwrap();
    assert_eq!(out.status, ExitStatus::Code(1), "{}", out.stderr);
    assert!(out.stderr.contains("btrfsmaintenance"), "{}", out.stderr);
    drop(held);
}
