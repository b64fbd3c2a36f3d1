//! `lnraid status` of an md array: probe (mdadm, /proc/mdstat, sysfs, mountinfo, mdadm.conf)
//! → neutral health → md rules → the same `ArrayStatus` (verdict, problems, facts) btrfs
//! arrays get. Read-only.

use std::fs;
use std::path::Path;

use super::probe::{probe_array, MdSnapshot};
use super::rules::{self, RulesCtx};
use crate::probe::mounts::{read_mounts, PID1_MOUNTINFO};
use crate::status::gather::{GatherCtx, Target};
use crate::status::{ArrayFacts, ArrayStatus, Problem, Severity};
use crate::types::DevPath;

/// Where the kernel lists md arrays.
pub const PROC_MDSTAT: &str = "/proc/mdstat";

fn problem(severity: Severity, code: &'static str, message: String, action: String) -> Problem {
    Problem {
        severity,
        code,
        message,
        action,
    }
}

/// The status of the md array `device` (`None`: no assembled md carries the filesystem).
pub fn array_status(
    runner: &dyn crate::exec::Runner,
    ctx: &GatherCtx,
    t: &Target,
    device: Option<&DevPath>,
    conf: &Path,
    now: u64,
) -> ArrayStatus {
    let mut f = ArrayFacts {
        uuid: t.uuid.clone(),
        mountpoint: t.mountpoint.clone(),
        ..ArrayFacts::default()
    };
    let mut problems = Vec::new();
    match read_mounts(Path::new(PID1_MOUNTINFO)) {
        Ok(mounts) => {
            let m = mounts.iter().rev().find(|m| m.mountpoint == t.mountpoint);
            f.mounted_at = m.map(|m| m.mountpoint.clone());
            // Per-mount then filesystem options, each once (the document's options are a set).
            f.mount_options = m.map(|m| {
                let mut seen: Vec<&str> = Vec::new();
                for o in m.options.split(',').chain(m.super_options.split(',')) {
                    if !o.is_empty() && !seen.contains(&o) {
                        seen.push(o);
                    }
                }
                seen.join(",")
            });
        }
        Err(e) => f.errors.push(format!("{e:#}")),
    }
    if f.mounted_at.is_none() {
        problems.push(problem(
            Severity::Critical,
            "not_mounted",
            format!("the array is not mounted at {}: the node cannot run from it", t.mountpoint.display()),
            format!("check `cat /proc/mdstat` and `dmesg`; if a member is missing, run `lnraid recover --to <new media>` first, then mount {}", t.mountpoint.display()),
        ));
    }
    let health = match device {
        None => {
            problems.push(problem(
                Severity::Critical,
                "md_not_found",
                format!(
                    "no assembled md array carries filesystem {}",
                    t.uuid.as_ref().map(|u| u.to_string()).unwrap_or_default()
                ),
                "`mdadm --assemble --scan` (or `lnraid recover --to <new media>` if a member died)"
                    .into(),
            ));
            // Still an md array (its document says backend md), with nothing known about it.
            Some(super::health::health(&MdSnapshot::default()))
        }
        Some(dev) => {
            let snap: MdSnapshot = probe_array(runner, dev, &ctx.sys_root, Path::new(PROC_MDSTAT));
            f.errors.extend(snap.errors.iter().cloned());
            let h = super::health::health(&snap);
            let conf_text = fs::read_to_string(conf).ok();
            let rctx = RulesCtx {
                now,
                conf_has_array: match (&conf_text, &h.array_uuid) {
                    (Some(text), Some(u)) => Some(super::conf::has_array(text, u)),
                    (None, Some(_)) => Some(false),
                    _ => None,
                },
                conf_path: Some(conf.display().to_string()),
                ..RulesCtx::default()
            };
            problems.extend(rules::evaluate(&h, &rctx));
            Some(h)
        }
    };
    for e in &f.errors {
        problems.push(problem(
            Severity::Unknown,
            "probe_failed",
            e.clone(),
            "run the command by hand to see why; lnraid could not tell this part".into(),
        ));
    }
    let verdict = problems
        .iter()
        .map(|p| p.severity)
        .fold(Severity::Ok, Severity::worst);
    ArrayStatus {
        verdict,
        problems,
        facts: f,
        health,
    }
}
