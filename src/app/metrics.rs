//! Prometheus text exposition (node_exporter's textfile collector) of the arrays' status.
//! Pure: the caller writes it atomically.

use std::fmt::Write as _;

use crate::status::{expected_profile, ArrayStatus};

/// Escapes a label value: backslash, double quote and newline.
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub fn render(arrays: &[ArrayStatus], now: u64) -> String {
    let mut o = String::new();
    let family = |o: &mut String, name: &str, help: &str, rows: Vec<(String, f64)>| {
        let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} gauge");
        for (labels, v) in rows {
            let _ = writeln!(o, "{name}{{{labels}}} {v}");
        }
    };
    let base = |a: &ArrayStatus| {
        let uuid = a
            .facts
            .uuid
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        format!(
            "uuid=\"{}\",mountpoint=\"{}\"",
            esc(&uuid),
            esc(&a.facts.mountpoint.to_string_lossy())
        )
    };
    let per = |f: &dyn Fn(&ArrayStatus) -> Option<f64>| -> Vec<(String, f64)> {
        arrays
            .iter()
            .filter_map(|a| f(a).map(|v| (base(a), v)))
            .collect()
    };
    family(
        &mut o,
        "lnraid_array_up",
        "1 when the array is mounted.",
        per(&|a| Some(a.facts.mounted_at.is_some() as u8 as f64)),
    );
    family(
        &mut o,
        "lnraid_array_verdict",
        "0 healthy, 1 warning, 2 critical, 3 unknown.",
        per(&|a| Some(a.verdict.exit_code() as f64)),
    );
    family(
        &mut o,
        "lnraid_members_present",
        "Members present.",
        per(&|a| {
            a.facts
                .show
                .as_ref()
                .map(|s| s.devices.iter().filter(|d| !d.missing).count() as f64)
        }),
    );
    family(
        &mut o,
        "lnraid_members_missing",
        "Members missing.",
        per(&|a| {
            a.facts
                .show
                .as_ref()
                .map(|s| s.missing_devids().len().max(s.some_missing as usize) as f64)
        }),
    );
    let mut errs = Vec::new();
    for a in arrays {
        for d in a.facts.stats.iter().flatten() {
            let dev = d
                .device
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            let devid = d.devid.map(|i| i.to_string()).unwrap_or_default();
            for (counter, v) in [
                ("write_io_errs", d.write_io_errs),
                ("read_io_errs", d.read_io_errs),
                ("flush_io_errs", d.flush_io_errs),
                ("corruption_errs", d.corruption_errs),
                ("generation_errs", d.generation_errs),
            ] {
                errs.push((
                    format!(
                        "{},device=\"{}\",devid=\"{devid}\",counter=\"{counter}\"",
                        base(a),
                        esc(&dev)
                    ),
                    v as f64,
                ));
            }
        }
    }
    family(
        &mut o,
        "lnraid_device_errors",
        "btrfs device error counters.",
        errs,
    );
    family(
        &mut o,
        "lnraid_last_scrub_age_seconds",
        "Seconds since the last scrub ended.",
        per(&|a| {
            a.facts
                .scrub_finished_at
                .map(|t| now.saturating_sub(t) as f64)
        }),
    );
    let mut scrub = Vec::new();
    for a in arrays {
        if let Some(s) = &a.facts.scrub {
            scrub.push((
                format!("{},kind=\"corrected\"", base(a)),
                s.errors.corrected as f64,
            ));
            scrub.push((
                format!("{},kind=\"uncorrectable\"", base(a)),
                s.errors.uncorrectable as f64,
            ));
        }
    }
    family(
        &mut o,
        "lnraid_last_scrub_errors",
        "Errors found by the last scrub.",
        scrub,
    );
    let mut odd = Vec::new();
    for a in arrays {
        let Some(want) = expected_profile(&a.facts) else {
            continue;
        };
        for g in a.facts.df.iter().flatten() {
            if format!("{:?}", g.kind) != "GlobalReserve" && g.profile != want {
                odd.push((
                    format!(
                        "{},type=\"{:?}\",profile=\"{}\"",
                        base(a),
                        g.kind,
                        esc(&g.profile.to_string())
                    ),
                    g.total.0 as f64,
                ));
            }
        }
    }
    family(
        &mut o,
        "lnraid_non_raid_bytes",
        "Bytes in block groups whose profile is not the array's RAID profile.",
        odd,
    );
    family(
        &mut o,
        "lnraid_monitor_last_run_timestamp_seconds",
        "When lnraid monitor last ran.",
        vec![(String::new(), now as f64)],
    );
    o
}
