//! contrib/grafana/lnraid.json queries only metrics lnraid really writes: the metric names
//! are extracted from every PromQL expression in the dashboard and checked against the
//! families lnraid documents (`app::metrics::METRICS`, which the monitor test keeps equal to
//! README) and the names in textfiles `lnraid monitor --textfile` produced here — one with no
//! array and, where device tests can run, one of a real, scrubbed array (every name written
//! must be documented too; some families, like a running operation's progress, only appear
//! while it runs). A metric renamed without the dashboard following fails here.

#[path = "common/array.rs"]
mod array;
mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use regex::Regex;

/// Every PromQL expression in the dashboard (panel targets and template variable queries).
fn expressions(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("expr" | "definition", serde_json::Value::String(s)) => out.push(s.clone()),
                    _ => expressions(v, out),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| expressions(v, out)),
        _ => {}
    }
}

/// The metric names a PromQL expression selects: identifiers that are not functions, label
/// names, grouping clauses, keywords or template variables.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let strip = [
        r#""(?:[^"\\]|\\.)*""#,                                             // strings
        r"\{[^}]*\}",                                                       // label matchers
        r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", // groupings
        r"\$\w+|\[[^\]]*\]",                                                // $vars, ranges
    ];
    let mut e = expr.to_string();
    for re in strip {
        e = Regex::new(re).unwrap().replace_all(&e, " ").into_owned();
    }
    let keywords = [
        "and", "or", "unless", "bool", "offset", "by", "on", "without",
    ];
    Regex::new(r"([A-Za-z_:][A-Za-z0-9_:]*)\s*(\()?")
        .unwrap()
        .captures_iter(&e)
        .filter(|c| c.get(2).is_none())
        .map(|c| c[1].to_string())
        .filter(|n| !keywords.contains(&n.as_str()))
        .collect()
}

#[test]
fn metric_names_are_extracted_from_promql() {
    assert_eq!(
        metric_names(
            r#"sum by (mountpoint) (lnraid_non_raid_bytes{mountpoint=~"$mountpoint"}) or on() vector(0)"#
        ),
        BTreeSet::from(["lnraid_non_raid_bytes".to_string()])
    );
    assert_eq!(
        metric_names("time() - lnraid_monitor_last_run_timestamp_seconds"),
        BTreeSet::from(["lnraid_monitor_last_run_timestamp_seconds".to_string()])
    );
    let lv = metric_names("label_values(lnraid_array_up, mountpoint)");
    assert!(lv.contains("lnraid_array_up"), "{lv:?}");
}

/// Metric names in a Prometheus text exposition: TYPE lines and samples.
fn written_names(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| match l.strip_prefix("# TYPE ") {
            Some(rest) => rest.split_whitespace().next(),
            None if !l.starts_with('#') => l.split(['{', ' ']).next(),
            None => None,
        })
        .filter(|n| !n.is_empty())
        .map(String::from)
        .collect()
}

fn monitor_textfile(host: &[String], out: &Path) -> String {
    let mut args = vec![
        "monitor".to_string(),
        "--textfile".into(),
        out.to_str().unwrap().into(),
    ];
    args.extend(host.iter().cloned());
    let o = common::lnraid(&args.iter().map(String::as_str).collect::<Vec<_>>());
    fs::read_to_string(out)
        .unwrap_or_else(|e| panic!("monitor wrote no textfile ({e}): {}{}", o.stdout, o.stderr))
}

#[test]
fn every_metric_the_dashboard_queries_is_one_lnraid_writes() {
    let dash: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/contrib/grafana/lnraid.json"
        ))
        .unwrap(),
    )
    .expect("the dashboard is JSON");
    let mut exprs = Vec::new();
    expressions(&dash, &mut exprs);
    assert!(exprs.len() >= 8, "{exprs:?}");
    let mut queried = BTreeSet::new();
    for e in &exprs {
        queried.extend(metric_names(e));
    }
    // label_values(metric, label): the second argument is a label.
    queried.remove("mountpoint");
    assert!(queried.len() >= 8, "{queried:?}");

    let tmp = common::tempdir();
    fs::write(tmp.path().join("fstab"), "").unwrap();
    let p = |r: &str| tmp.path().join(r).to_str().unwrap().to_string();
    let host = [
        "--fstab",
        &p("fstab"),
        "--state-dir",
        &p("state"),
        "--lock-dir",
        &p("lock"),
    ]
    .map(String::from)
    .to_vec();
    let mut written = written_names(&monitor_textfile(&host, &tmp.path().join("empty.prom")));

    match common::device_tests_unavailable() {
        Some(why) => {
            println!("SKIPPED (real-array textfile): {why}; checked the no-array textfile only")
        }
        None => {
            let _lock = common::DeviceLock::acquire();
            let env = array::Env::with_array("grafana", lnraid::testkit::NodeSpec::default());
            let scrub = env.lnraid_host(&["maintain", "scrub", env.mp.to_str().unwrap()]);
            assert!(scrub.status.success(), "{}{}", scrub.stdout, scrub.stderr);
            let text = monitor_textfile(&env.host_args(), &env.tmp.path().join("array.prom"));
            assert!(
                text.contains("lnraid_array_up{"),
                "a real array has samples:\n{text}"
            );
            written.extend(written_names(&text));
        }
    }
    let documented: BTreeSet<String> = lnraid::app::metrics::METRICS
        .iter()
        .map(|(name, _, _)| name.to_string())
        .collect();
    let undocumented: Vec<&String> = written.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "written but not in METRICS: {undocumented:?}"
    );
    let written: BTreeSet<String> = written.union(&documented).cloned().collect();
    let missing: Vec<&String> = queried.difference(&written).collect();
    assert!(
        missing.is_empty(),
        "the dashboard queries metrics lnraid does not write: {missing:?}\nwritten: {written:?}"
    );
    for unused in written.difference(&queried) {
        println!("note: {unused} is written but not on the dashboard");
    }
}
