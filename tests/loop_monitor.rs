//! `lnraid monitor` on a real array (root + loop devices; visible SKIPPED otherwise): the
//! alert command runs exactly once per change, and the textfile is valid Prometheus text.

#[path = "common/array.rs"]
mod array;
mod common;

use std::fs;
use std::path::Path;

use array::Env;
use common::sh;
use lnraid::exec::{Cmd, RealRunner, Runner};
use lnraid::testkit::NodeSpec;

/// Checks the Prometheus text exposition format line by line (HELP/TYPE, metric names, label
/// syntax, float values), and with the official Python parser when it is installed.
fn assert_prometheus_text(path: &Path, min_samples: u32) {
    let text = fs::read_to_string(path).unwrap();
    let name = regex::Regex::new(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$").unwrap();
    let sample = regex::Regex::new(
        r#"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\\n])*"(,[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\\n])*")*)?\})? (-?[0-9.e+]+|NaN|\+Inf|-Inf)$"#,
    )
    .unwrap();
    assert!(text.ends_with('\n'));
    for line in text.lines() {
        if let Some(rest) = line
            .strip_prefix("# HELP ")
            .or_else(|| line.strip_prefix("# TYPE "))
        {
            assert!(
                name.is_match(rest.split(' ').next().unwrap()),
                "bad metric name: {line}"
            );
        } else {
            assert!(
                sample.is_match(line),
                "not a Prometheus sample line: {line:?}"
            );
        }
    }
    let py =
        "import sys\nfrom prometheus_client.parser import text_string_to_metric_families as p\n\
              n = sum(len(f.samples) for f in p(open(sys.argv[1]).read()))\nprint(n)";
    let out = RealRunner
        .output(&Cmd::read_only(
            "python3",
            ["-c", py, path.to_str().unwrap()],
        ))
        .unwrap();
    if out.stderr.contains("No module named") {
        println!("SKIPPED: prometheus_client parser not installed (pip install prometheus-client); line check done");
    } else {
        assert!(
            out.status.success(),
            "prometheus_client rejects the textfile: {}",
            out.stderr
        );
        assert!(
            out.stdout.trim().parse::<u32>().unwrap() >= min_samples,
            "{}\n{text}",
            out.stdout
        );
    }
}

fn events(path: &Path) -> Vec<serde_json::Value> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn monitor_alerts_once_per_change_and_writes_metrics() {
    let _lock = device_test!("monitor_alerts_once_per_change_and_writes_metrics");
    let env = Env::with_array(
        "monitor",
        NodeSpec {
            db_bytes: 4 << 20,
            gossip_bytes: 2 << 20,
            hot_journal: false,
        },
    );
    let log = env.tmp.path().join("events.jsonl");
    let prom = env.tmp.path().join("lnraid.prom");
    let alert = format!("cat >> '{}'", log.display());
    let monitor = || {
        env.lnraid_host(&[
            "monitor",
            "--alert-command",
            &alert,
            "--textfile",
            prom.to_str().unwrap(),
        ])
    };

    // Healthy at first sight: a baseline, no alert.
    assert_eq!(monitor().status.code(), Some(0));
    assert_eq!(events(&log).len(), 0);
    // 4 array gauges + 2 devices x 5 counters + 2 scrub counters + timestamp.
    assert_prometheus_text(&prom, 17);
    let text = fs::read_to_string(&prom).unwrap();
    assert!(
        text.contains(&format!(
            "lnraid_array_up{{uuid=\"{}\",mountpoint=\"{}\"}} 1",
            env.uuid,
            env.mp.display()
        )),
        "{text}"
    );
    assert!(
        text.contains("lnraid_members_missing{") && text.contains("counter=\"corruption_errs\"} 0"),
        "{text}"
    );
    // node_exporter conventions: counters end in _total, times are timestamps, no empty label.
    assert!(
        text.contains("# TYPE lnraid_device_errors_total counter"),
        "{text}"
    );
    assert!(
        !text.contains("age_seconds") && !text.contains("=\"\""),
        "{text}"
    );
    assert_eq!(monitor().status.code(), Some(0));
    assert_eq!(events(&log).len(), 0, "no change, no alert");

    // The array goes away while the alert channel is down: nothing delivered, and the change
    // is not taken as reported.
    sh("umount", &[env.mp.to_str().unwrap()]);
    let down = env.lnraid_host(&["monitor", "--alert-command", "exit 1"]);
    assert_eq!(
        down.status.code(),
        Some(2),
        "{:?} {} {}",
        down.status,
        down.stdout,
        down.stderr
    );
    assert!(
        down.stderr.contains("next monitor run retries"),
        "{}",
        down.stderr
    );
    // The channel is back: one alert, however often monitor runs.
    for _ in 0..3 {
        assert_eq!(monitor().status.code(), Some(2));
    }
    let ev = events(&log);
    assert_eq!(ev.len(), 1, "{ev:#?}");
    assert_eq!(
        (ev[0]["kind"].as_str(), ev[0]["severity"].as_str()),
        (Some("verdict_changed"), Some("critical"))
    );
    assert!(ev[0]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["code"] == "not_mounted"));
    assert_prometheus_text(&prom, 5);
    assert!(fs::read_to_string(&prom).unwrap().contains(&format!(
        "lnraid_array_up{{uuid=\"{}\",mountpoint=\"{}\"}} 0",
        env.uuid,
        env.mp.display()
    )));

    // Back: one more alert (critical -> healthy), then quiet.
    sh(
        "mount",
        &[
            "--fstab",
            env.fstab().to_str().unwrap(),
            env.mp.to_str().unwrap(),
        ],
    );
    assert_eq!(monitor().status.code(), Some(0));
    assert_eq!(monitor().status.code(), Some(0));
    let ev = events(&log);
    assert_eq!(ev.len(), 2, "{ev:#?}");
    assert_eq!(ev[1]["severity"], "ok");
}
