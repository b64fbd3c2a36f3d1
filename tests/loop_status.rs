//! `lnraid status` on real arrays (root + loop devices; visible SKIPPED otherwise): a running
//! (throttled) replace is parsed, no member is called missing and progress is a percent; a
//! read-only remount is critical (exit 2); a full array is not healthy. Every `--json`
//! document validates against schemas/status.schema.json.

#[path = "common/array.rs"]
mod array;
mod common;
#[path = "common/schema.rs"]
mod schema;

use std::fs;
use std::time::{Duration, Instant};

use array::{problem_codes as codes, Env};
use common::{sh, sh_any, LoopDev};

/// `lnraid status --json` of the test array: (exit code, document).
fn status_json(env: &Env) -> (i32, serde_json::Value) {
    env.status_json(&[env.mp.to_str().unwrap()])
}

/// Sets the scrub (and so replace) speed limit of every member, bytes/s; 0 lifts it.
fn throttle(uuid: &str, bytes_per_sec: u64) {
    for e in fs::read_dir(format!("/sys/fs/btrfs/{uuid}/devinfo"))
        .unwrap()
        .flatten()
    {
        let knob = e.path().join("scrub_speed_max");
        if knob.exists() {
            fs::write(&knob, bytes_per_sec.to_string()).unwrap();
        }
    }
}

/// Lifts the throttle and cancels a replace on drop, also when the test panics.
struct ReplaceGuard<'a> {
    env: &'a Env,
}

impl Drop for ReplaceGuard<'_> {
    fn drop(&mut self) {
        throttle(&self.env.uuid, 0);
        let _ = sh_any(
            "btrfs",
            &["replace", "cancel", self.env.mp.to_str().unwrap()],
        );
    }
}

fn write_mib(path: &std::path::Path, mib: usize) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = fs::File::create(path)?;
    let mut block = vec![0u8; 1 << 20];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..mib {
        // Incompressible, so the bytes land on the disks.
        for b in block.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        f.write_all(&block)?;
    }
    f.sync_all()
}

#[test]
fn status_tells_replace_read_only_and_full() {
    let _lock = device_test!("status_tells_replace_read_only_and_full");
    let env = Env::small_array("status");
    let mut docs = Vec::new();
    let (code, doc) = status_json(&env);
    // Healthy but never scrubbed is at worst a warning; never critical.
    assert!(code <= 1, "{doc:#}");
    docs.push(doc);

    // A replace of devid 2 in progress, throttled so it stays in progress.
    write_mib(&env.mp.join("ballast"), 300).unwrap();
    let c = LoopDev::new(env.tmp.path(), "c", "1G", false);
    let guard = ReplaceGuard { env: &env };
    throttle(&env.uuid, 1 << 20);
    sh(
        "btrfs",
        &["replace", "start", "2", &c.path, env.mp.to_str().unwrap()],
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let doc = loop {
        let (_, doc) = status_json(&env);
        let ops = doc["arrays"][0]["operations"].as_array().unwrap().clone();
        if ops
            .iter()
            .any(|o| o["kind"] == "replace" && o["percent"].as_f64() > Some(0.0))
        {
            break doc;
        }
        assert!(
            Instant::now() < deadline,
            "no replace progress seen: {doc:#}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let a = &doc["arrays"][0];
    let op = a["operations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["kind"] == "replace")
        .unwrap();
    let pct = op["percent"].as_f64().unwrap();
    assert!(pct > 0.0 && pct < 100.0, "{op}");
    assert_eq!(op["state"], "running");
    assert_eq!(a["redundancy"]["members_missing"], 0, "{a:#}");
    assert_eq!(a["redundancy"]["degraded"], false);
    assert!(
        !codes(&doc).contains(&"missing_device".to_string()),
        "{doc:#}"
    );
    let target = a["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["state"] == "replace_target")
        .unwrap_or_else(|| panic!("no replace target member: {a:#}"));
    assert_eq!(target["path"], c.path.as_str());
    let text = env
        .lnraid_host(&["status", env.mp.to_str().unwrap()])
        .stdout;
    assert!(
        text.contains("replace: running, ") && text.contains("% done"),
        "{text}"
    );
    assert!(
        !text.contains("devid 0 - MISSING") && !text.contains("Percent("),
        "{text}"
    );
    docs.push(doc);
    drop(guard);
    let deadline = Instant::now() + Duration::from_secs(30);
    while sh_any(
        "btrfs",
        &["replace", "status", "-1", env.mp.to_str().unwrap()],
    )
    .stdout
    .contains("% done")
    {
        assert!(Instant::now() < deadline, "replace did not cancel");
        std::thread::sleep(Duration::from_millis(200));
    }
    fs::remove_file(env.mp.join("ballast")).unwrap();

    // Read-only by hand: critical, exit 2.
    sh("mount", &["-o", "remount,ro", env.mp.to_str().unwrap()]);
    let (code, doc) = status_json(&env);
    assert_eq!(code, 2, "{doc:#}");
    assert!(codes(&doc).contains(&"read_only".to_string()), "{doc:#}");
    assert_eq!(doc["arrays"][0]["mount"]["read_only_cause"], "mount_option");
    let text = env.lnraid_host(&["status", env.mp.to_str().unwrap()]);
    assert_eq!(text.status.code(), Some(2));
    assert!(!text.stdout.contains("rw,relatime,rw"), "{}", text.stdout);
    docs.push(doc);
    sh("mount", &["-o", "remount,rw", env.mp.to_str().unwrap()]);

    // Full: fill until ENOSPC.
    let _ = write_mib(&env.mp.join("fill"), 2048);
    sh("sync", &[]);
    let (code, doc) = status_json(&env);
    assert_eq!(code, 2, "{doc:#}");
    assert!(codes(&doc).contains(&"space_full".to_string()), "{doc:#}");
    assert_eq!(doc["arrays"][0]["space"]["free_bytes"], 0, "{doc:#}");
    docs.push(doc);
    fs::remove_file(env.mp.join("fill")).unwrap();

    // LNRAID_TEST_DUMP=DIR keeps the documents (the README example comes from such a run).
    if let Ok(dir) = std::env::var("LNRAID_TEST_DUMP") {
        for (i, d) in docs.iter().enumerate() {
            fs::write(
                format!("{dir}/status-{i}.json"),
                serde_json::to_string_pretty(d).unwrap(),
            )
            .unwrap();
        }
    }
    if schema::validate("status", &docs) {
        println!("validated {} status documents", docs.len());
    }
}
