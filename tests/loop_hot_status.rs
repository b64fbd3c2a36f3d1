//! `status`, the metrics and `monitor` on the node's hot copies (issue 11, item 5), on a real
//! btrfs RAID-1 on loop devices (root; visible SKIPPED otherwise): a scheduled snapshot job
//! with no snapshot is "never", a fresh snapshot taken by the job's own command line is
//! fresh (with its age), a failed backup run is recorded and makes status warn and monitor
//! alert once, with the metrics to match. The schedule comes from a real lnraid.toml
//! (LNRAID_CONFIG) written by `schedule install --dry-run`-free means: the file itself.

mod common;
#[path = "common/node.rs"]
mod node;
#[path = "common/schema.rs"]
mod schema;

use std::fs;
use std::path::Path;

use lnraid::exec::{Cmd, ExitStatus, Output, RealRunner, Runner};
use lnraid::testkit::NodeSpec;
use node::BtrfsNode;

fn run(config: &Path, state: &Path, args: &[&str]) -> Output {
    let cmd = Cmd::read_only(env!("CARGO_BIN_EXE_lnraid"), args.iter().copied())
        .untimed()
        .env("LNRAID_CONFIG", config.to_str().unwrap())
        .env("LNRAID_STATE_DIR", state.to_str().unwrap());
    RealRunner.output(&cmd).unwrap()
}

fn status(n: &BtrfsNode, config: &Path, state: &Path) -> serde_json::Value {
    let home = n.home.to_str().unwrap();
    let out = run(
        config,
        state,
        &[
            "status",
            "--json",
            "--lightning-dir",
            home,
            n.mnt.dir.to_str().unwrap(),
        ],
    );
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", out.stdout, out.stderr))
}

fn codes(doc: &serde_json::Value) -> Vec<String> {
    doc["arrays"][0]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn status_metrics_and_monitor_follow_the_hot_copies_and_their_jobs() {
    let _lock = device_test!("status_metrics_and_monitor_follow_the_hot_copies_and_their_jobs");
    let spec = NodeSpec {
        db_bytes: 2 << 20,
        gossip_bytes: 1,
        hot_journal: false,
    };
    let n = BtrfsNode::new("hotst", &spec, "1G", true);
    let (config, state) = (n.tmp.path().join("lnraid.toml"), n.tmp.path().join("state"));
    let dest = n.tmp.path().join("dest-is-a-file");
    fs::write(&dest, b"not a directory").unwrap();
    fs::write(
        &config,
        format!(
            "version = 1\nbalance_at = \"0 0 * * *\"\nscrub_at = \"0 0 * * 0\"\n\n\
             [snapshot]\nlightning_dir = \"{0}\"\nevery = \"1h\"\n\n\
             [backup]\nlightning_dir = \"{0}\"\nto = \"{1}\"\nevery = \"1d\"\n",
            n.home.display(),
            dest.display()
        ),
    )
    .unwrap();

    let doc = status(&n, &config, &state);
    let hot = &doc["arrays"][0]["hot_copies"];
    assert_eq!(hot["snapshot"]["state"], "never", "{hot}");
    assert_eq!(
        hot["snapshot"]["stale_after_seconds"], 7200,
        "twice the 1h interval"
    );
    assert!(codes(&doc).contains(&"snapshot_never".to_string()), "{doc}");

    // The job's own command line.
    let home = n.home.to_str().unwrap();
    let out = run(
        &config,
        &state,
        &[
            "snapshot",
            "create",
            "--prune",
            "--record-job",
            "--lightning-dir",
            home,
        ],
    );
    assert_eq!(out.status, ExitStatus::Code(0), "{}", out.stderr);
    let out = run(
        &config,
        &state,
        &[
            "backup",
            "--record-job",
            "--lightning-dir",
            home,
            "--to",
            dest.to_str().unwrap(),
        ],
    );
    assert_ne!(
        out.status,
        ExitStatus::Code(0),
        "a DEST that is a file fails"
    );

    let doc = status(&n, &config, &state);
    let hot = &doc["arrays"][0]["hot_copies"];
    assert_eq!(hot["snapshot"]["state"], "fresh", "{hot}");
    assert_eq!(hot["snapshot"]["count"], 1);
    assert!(
        hot["snapshot"]["age_seconds"].as_u64().unwrap() < 600,
        "{hot}"
    );
    let jobs = hot["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 2, "{hot}");
    assert!(jobs
        .iter()
        .any(|j| j["job"] == "snapshot" && j["ok"] == true));
    assert!(jobs
        .iter()
        .any(|j| j["job"] == "backup" && j["ok"] == false));
    let c = codes(&doc);
    assert!(!c.contains(&"snapshot_never".to_string()), "{c:?}");
    assert!(c.contains(&"hot_job_failed".to_string()), "{c:?}");
    assert!(
        c.contains(&"hot_copy_unreadable".to_string()),
        "DEST unreadable: {c:?}"
    );
    assert_eq!(doc["arrays"][0]["verdict"], "warning");
    schema::validate("status", std::slice::from_ref(&doc));

    let human = run(
        &config,
        &state,
        &[
            "status",
            "--lightning-dir",
            home,
            n.mnt.dir.to_str().unwrap(),
        ],
    );
    assert!(
        human.stdout.contains("snapshots: 1, newest ")
            && human.stdout.contains(", fresh")
            && human.stdout.contains("last backup job FAILED"),
        "{}",
        human.stdout
    );

    // monitor: one alert for the failed backup, none when nothing changed; the metrics.
    let alerts = n.tmp.path().join("alerts");
    let prom = n.tmp.path().join("lnraid.prom");
    let alert_cmd = format!(
        "cat >> '{}'; echo >> '{}'",
        alerts.display(),
        alerts.display()
    );
    let mon = |_: ()| {
        run(
            &config,
            &state,
            &[
                "monitor",
                "--alert-command",
                &alert_cmd,
                "--textfile",
                prom.to_str().unwrap(),
                n.mnt.dir.to_str().unwrap(),
            ],
        )
    };
    mon(());
    let first = fs::read_to_string(&alerts).unwrap_or_default();
    assert!(first.contains("backup job failed"), "{first}");
    mon(());
    assert_eq!(
        fs::read_to_string(&alerts).unwrap(),
        first,
        "no second alert for the same run"
    );
    let metrics = fs::read_to_string(&prom).unwrap();
    for want in [
        "lnraid_snapshot_last_timestamp_seconds{",
        "lnraid_hot_job_success{",
        "job=\"backup\"} 0",
        "job=\"snapshot\"} 1",
        "lnraid_hot_copy_stale{",
    ] {
        assert!(metrics.contains(want), "{want}: {metrics}");
    }
}
