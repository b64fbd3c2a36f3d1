//! Prometheus text exposition (node_exporter's textfile collector) of the arrays' status,
//! rendered from the status document ([`crate::status::doc`]), so every backend gets the same
//! metrics. Pure: the caller writes it atomically to a `*.prom` file.
//!
//! node_exporter conventions: base units (seconds, bytes), `_total` for counters,
//! `_timestamp_seconds` for points in time (never ages, which go stale between runs), ratios
//! 0–1, and no empty label values (a label whose value is unknown is left out). The list
//! [`METRICS`] is the documented one (README.md, "`lnraid monitor`"; a test keeps them equal).

use std::fmt::Write as _;

use crate::status::doc::{ArrayDoc, MemberState, OperationKind};

/// Every metric family: name, type, help. Documented in README.md.
pub const METRICS: &[(&str, &str, &str)] = &[
    ("lnraid_array_up", "gauge", "1 when the array is mounted."),
    (
        "lnraid_array_verdict",
        "gauge",
        "0 healthy, 1 warning, 2 critical, 3 unknown.",
    ),
    (
        "lnraid_array_read_only",
        "gauge",
        "1 when the array is mounted read-only.",
    ),
    (
        "lnraid_array_degraded",
        "gauge",
        "1 when members are missing or failed.",
    ),
    (
        "lnraid_members_present",
        "gauge",
        "Members present and working.",
    ),
    ("lnraid_members_missing", "gauge", "Members missing."),
    (
        "lnraid_device_errors_total",
        "counter",
        "Device error counters (btrfs device stats; reset by btrfs device stats -z).",
    ),
    (
        "lnraid_space_size_bytes",
        "gauge",
        "Raw size of all members.",
    ),
    (
        "lnraid_space_free_bytes",
        "gauge",
        "Estimated free space for data (one copy).",
    ),
    (
        "lnraid_space_unallocated_bytes",
        "gauge",
        "Raw space not allocated to chunks (btrfs).",
    ),
    (
        "lnraid_operation_progress_ratio",
        "gauge",
        "Progress 0-1 of a running replace, balance, scrub, resync or recovery.",
    ),
    (
        "lnraid_last_scrub_timestamp_seconds",
        "gauge",
        "When the last scrub (md: check) ended, Unix time.",
    ),
    (
        "lnraid_last_scrub_errors",
        "gauge",
        "Errors the last scrub found, by kind (corrected, uncorrectable).",
    ),
    (
        "lnraid_non_raid_bytes",
        "gauge",
        "Bytes in block groups whose profile is not the array's RAID profile.",
    ),
    (
        "lnraid_snapshot_last_timestamp_seconds",
        "gauge",
        "When the node's newest snapshot was taken, Unix time (age: time() minus this).",
    ),
    (
        "lnraid_backup_last_timestamp_seconds",
        "gauge",
        "When the newest verified backup at DEST was taken, Unix time.",
    ),
    (
        "lnraid_hot_copy_stale",
        "gauge",
        "1 when the newest snapshot or backup is stale, or missing although scheduled.",
    ),
    (
        "lnraid_hot_job_success",
        "gauge",
        "1 when the last scheduled snapshot or backup job succeeded, 0 when it failed.",
    ),
    (
        "lnraid_problems",
        "gauge",
        "Problems status reports, by severity.",
    ),
    (
        "lnraid_monitor_arrays",
        "gauge",
        "Arrays lnraid monitor checked (0: none found, or the fstab could not be read).",
    ),
    (
        "lnraid_monitor_last_run_timestamp_seconds",
        "gauge",
        "When lnraid monitor last ran, Unix time.",
    ),
];

/// Escapes a label value: backslash, double quote and newline.
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// `name="value"` pairs, dropping those without a value.
fn labels(pairs: &[(&str, Option<String>)]) -> String {
    let body: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| {
            v.as_ref()
                .filter(|v| !v.is_empty())
                .map(|v| format!("{k}=\"{}\"", esc(v)))
        })
        .collect();
    if body.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", body.join(","))
    }
}

fn base(a: &ArrayDoc) -> Vec<(&'static str, Option<String>)> {
    vec![
        ("uuid", a.uuid.clone()),
        ("mountpoint", Some(a.mountpoint.clone())),
    ]
}

fn with(a: &ArrayDoc, extra: &[(&'static str, Option<String>)]) -> String {
    let mut l = base(a);
    l.extend_from_slice(extra);
    labels(&l)
}

fn op_word(k: OperationKind) -> &'static str {
    match k {
        OperationKind::Replace => "replace",
        OperationKind::Balance => "balance",
        OperationKind::Scrub => "scrub",
        OperationKind::Resync => "resync",
        OperationKind::Recovery => "recovery",
        OperationKind::Check => "check",
        OperationKind::Repair => "repair",
        OperationKind::Reshape => "reshape",
    }
}

/// The samples of one array, keyed by family name.
fn samples(a: &ArrayDoc, out: &mut Vec<(&'static str, String, f64)>) {
    let b = |v: bool| f64::from(u8::from(v));
    let l = with(a, &[]);
    out.push(("lnraid_array_up", l.clone(), b(a.mount.is_some())));
    out.push((
        "lnraid_array_verdict",
        l.clone(),
        f64::from(a.verdict.exit_code()),
    ));
    out.push((
        "lnraid_array_read_only",
        l.clone(),
        b(a.mount.as_ref().is_some_and(|m| m.read_only)),
    ));
    out.push(("lnraid_array_degraded", l.clone(), b(a.redundancy.degraded)));
    out.push((
        "lnraid_members_present",
        l.clone(),
        a.redundancy.members_present as f64,
    ));
    out.push((
        "lnraid_members_missing",
        l.clone(),
        a.redundancy.members_missing as f64,
    ));
    for m in a.members.iter().filter(|m| m.state != MemberState::Missing) {
        for (counter, v) in m.errors.iter().flatten() {
            let lab = with(
                a,
                &[
                    ("device", m.path.clone()),
                    ("devid", Some(m.id.clone())),
                    ("counter", Some(counter.clone())),
                ],
            );
            out.push(("lnraid_device_errors_total", lab, *v as f64));
        }
    }
    if let Some(s) = &a.space {
        out.push(("lnraid_space_size_bytes", l.clone(), s.size_bytes as f64));
        out.push(("lnraid_space_free_bytes", l.clone(), s.free_bytes as f64));
        if let Some(u) = s.unallocated_bytes {
            out.push(("lnraid_space_unallocated_bytes", l.clone(), u as f64));
        }
    }
    for op in &a.operations {
        if let Some(p) = op.percent {
            let lab = with(a, &[("operation", Some(op_word(op.kind).into()))]);
            out.push(("lnraid_operation_progress_ratio", lab, p / 100.0));
        }
    }
    if let Some(c) = &a.last_check {
        if let Some(t) = c.finished_at {
            out.push(("lnraid_last_scrub_timestamp_seconds", l.clone(), t.0 as f64));
        }
        for (kind, v) in [
            ("corrected", c.corrected_errors),
            ("uncorrectable", c.uncorrectable_errors),
        ] {
            if let Some(v) = v {
                out.push((
                    "lnraid_last_scrub_errors",
                    with(a, &[("kind", Some(kind.into()))]),
                    v as f64,
                ));
            }
        }
    }
    if let Some(bt) = &a.btrfs {
        if let Some(want) = &bt.expected_profile {
            for g in bt
                .block_groups
                .iter()
                .filter(|g| g.kind != "global_reserve" && &g.profile != want)
            {
                let lab = with(
                    a,
                    &[
                        ("type", Some(g.kind.clone())),
                        ("profile", Some(g.profile.clone())),
                    ],
                );
                out.push(("lnraid_non_raid_bytes", lab, g.total_bytes as f64));
            }
        }
    }
    if let Some(h) = &a.hot_copies {
        hot_samples(a, h, out);
    }
    for sev in [
        crate::status::Severity::Warning,
        crate::status::Severity::Critical,
        crate::status::Severity::Unknown,
    ] {
        let n = a.problems.iter().filter(|p| p.severity == sev).count();
        out.push((
            "lnraid_problems",
            with(a, &[("severity", Some(sev.word().into()))]),
            n as f64,
        ));
    }
}

/// hotcopy's samples: the newest copies' times, staleness, the jobs' last outcomes.
fn hot_samples(
    a: &ArrayDoc,
    h: &crate::status::hotcopy::HotCopiesDoc,
    out: &mut Vec<(&'static str, String, f64)>,
) {
    use crate::status::hotcopy::Freshness;
    if let Some(t) = h.snapshot.newest_at {
        out.push((
            "lnraid_snapshot_last_timestamp_seconds",
            with(a, &[]),
            t.0 as f64,
        ));
    }
    if let Some(t) = h.backup.newest_at {
        let lab = with(a, &[("dest", h.backup.dest.clone())]);
        out.push(("lnraid_backup_last_timestamp_seconds", lab, t.0 as f64));
    }
    for (copy, c) in [("snapshot", &h.snapshot), ("backup", &h.backup)] {
        if c.state != Freshness::None {
            let stale = matches!(c.state, Freshness::Stale | Freshness::Never);
            let lab = with(a, &[("copy", Some(copy.into()))]);
            out.push(("lnraid_hot_copy_stale", lab, f64::from(u8::from(stale))));
        }
    }
    for j in &h.jobs {
        let lab = with(a, &[("job", Some(j.job.clone()))]);
        out.push(("lnraid_hot_job_success", lab, f64::from(u8::from(j.ok))));
    }
}

/// The whole textfile: every family of [`METRICS`] that has samples, in that order.
pub fn render(arrays: &[ArrayDoc], now: u64) -> String {
    let mut all: Vec<(&'static str, String, f64)> = Vec::new();
    for a in arrays {
        samples(a, &mut all);
    }
    all.push(("lnraid_monitor_arrays", String::new(), arrays.len() as f64));
    all.push((
        "lnraid_monitor_last_run_timestamp_seconds",
        String::new(),
        now as f64,
    ));
    let mut o = String::new();
    for (name, kind, help) in METRICS {
        let rows: Vec<&(&str, String, f64)> = all.iter().filter(|s| s.0 == *name).collect();
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (_, l, v) in rows {
            let _ = writeln!(o, "{name}{l} {v}");
        }
    }
    o
}

/// node_exporter's textfile collector reads `*.prom` only; anything else would be silently
/// ignored (or, worse, overwrite some other file).
pub fn check_textfile_path(p: &std::path::Path) -> anyhow::Result<()> {
    match p.extension().and_then(|e| e.to_str()) {
        Some("prom") if p.file_stem().is_some_and(|s| !s.is_empty()) => Ok(()),
        _ => anyhow::bail!(
            "--textfile {}: the name must end in .prom (node_exporter's textfile collector reads only *.prom files)",
            p.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::doc::*;
    use crate::status::Severity;
    use crate::time::UtcTime;

    fn doc() -> ArrayDoc {
        ArrayDoc {
            backend: Backend::Btrfs,
            uuid: None,
            label: None,
            mountpoint: "/mnt/\"x\"".into(),
            verdict: Severity::Warning,
            mount: None,
            redundancy: RedundancyDoc {
                level: Some("raid1".into()),
                members_expected: Some(2),
                members_present: 1,
                members_missing: 1,
                degraded: true,
            },
            members: vec![MemberDoc {
                id: "1".into(),
                path: None,
                state: MemberState::Present,
                size_bytes: None,
                used_bytes: None,
                errors: Some([("read_io_errs".to_string(), 3)].into()),
            }],
            space: None,
            operations: vec![OperationDoc {
                kind: OperationKind::Replace,
                state: OperationState::Running,
                percent: Some(20.8),
                detail: None,
            }],
            last_check: Some(CheckDoc {
                kind: "scrub".into(),
                state: CheckState::Finished,
                started_at: None,
                finished_at: Some(UtcTime(1_796_000_000)),
                corrected_errors: Some(0),
                uncorrectable_errors: Some(0),
            }),
            jobs: vec![],
            unfinished: vec![],
            lightning_dir: None,
            fstab: None,
            problems: vec![],
            probe_errors: vec![],
            btrfs: None,
            md: None,
            hot_copies: None,
        }
    }

    #[test]
    fn follows_node_exporter_conventions() {
        let text = render(&[doc()], 1_796_145_651);
        // No empty label values, no empty braces.
        assert!(!text.contains("=\"\"") && !text.contains("{}"), "{text}");
        assert!(text.contains("lnraid_device_errors_total{mountpoint=\"/mnt/\\\"x\\\"\",devid=\"1\",counter=\"read_io_errs\"} 3"), "{text}");
        assert!(
            text.contains("# TYPE lnraid_device_errors_total counter"),
            "{text}"
        );
        assert!(text.contains("lnraid_operation_progress_ratio{mountpoint=\"/mnt/\\\"x\\\"\",operation=\"replace\"} 0.208"), "{text}");
        assert!(
            text.contains(
                "lnraid_last_scrub_timestamp_seconds{mountpoint=\"/mnt/\\\"x\\\"\"} 1796000000"
            ),
            "{text}"
        );
        assert!(
            text.contains("lnraid_monitor_last_run_timestamp_seconds 1796145651\n"),
            "{text}"
        );
        assert!(!text.contains("age_seconds"), "{text}");
        for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
            let f: Vec<&str> = line.split(' ').collect();
            assert_eq!(f[3] == "counter", f[2].ends_with("_total"), "{line}");
        }
        // Every family rendered is documented.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap();
            assert!(METRICS.iter().any(|m| m.0 == name), "{name}");
        }
    }

    /// README.md's metric table lists exactly [`METRICS`], with the same types.
    #[test]
    fn readme_lists_every_metric() {
        let readme = include_str!("../../README.md");
        let documented: Vec<(String, String)> = readme
            .lines()
            .filter_map(|l| l.strip_prefix("| `lnraid_"))
            .map(|rest| {
                let mut cells = rest.split('|').map(str::trim);
                let name = format!("lnraid_{}", cells.next().unwrap().trim_end_matches('`'));
                (name, cells.next().unwrap().to_string())
            })
            .collect();
        let ours: Vec<(String, String)> = METRICS
            .iter()
            .map(|(n, t, _)| (n.to_string(), t.to_string()))
            .collect();
        assert_eq!(documented, ours);
    }

    #[test]
    fn textfile_must_end_in_prom() {
        assert!(check_textfile_path("/var/lib/node-exporter/lnraid.prom".as_ref()).is_ok());
        for bad in [
            "/tmp/lnraid.txt",
            "/tmp/lnraid",
            "/tmp/.prom",
            "/tmp/lnraid.prom.tmp",
        ] {
            assert!(check_textfile_path(bad.as_ref()).is_err(), "{bad}");
        }
    }
}
