//! `lnraid status` of an md array: probe (mdadm, /proc/mdstat, sysfs, mountinfo, mdadm.conf)
//! → neutral health → md rules → the same `ArrayStatus` (verdict, problems, facts) btrfs
//! arrays get. Read-only.

use std::fs;
use std::path::Path;

use super::check::distro_schedule;
use super::history::{creation_time, probe_foreign_members, ForeignMember, LastCheck};
use super::probe::{probe_array, MdSnapshot};
use super::rules::{self, RulesCtx};
use crate::backend::health::BackendFacts;
use crate::backend::{Backend, Health};
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
    f.fstab_path = ctx.fstab.clone();
    // The backend-neutral facts: lnraid's records (the last `maintain check`), unfinished
    // runs, the setup record, the fstab line (of an md filesystem type), the node's dir.
    crate::status::gather::complete(ctx, t, Backend::Md, &mut f);
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
            let mut h = super::health::health(&snap);
            let conf_text = fs::read_to_string(conf).ok();
            let (foreign, errors) = foreign_members(runner, &h);
            f.errors.extend(errors);
            let last = f
                .last_scrub_record
                .as_ref()
                .and_then(LastCheck::from_record);
            let rctx = RulesCtx {
                now,
                last_check_at: last.as_ref().map(|l| l.finished_at),
                last_check_mismatch: last.as_ref().and_then(|l| l.mismatch_sectors),
                created_at: f
                    .created_at
                    .or_else(|| snap.detail.as_ref().and_then(creation_time)),
                distro_check: distro_schedule(Path::new("/")),
                foreign,
                conf_has_array: match (&conf_text, &h.array_uuid) {
                    (Some(text), Some(u)) => Some(super::conf::has_array(text, u)),
                    (None, Some(_)) => Some(false),
                    _ => None,
                },
                conf_path: Some(conf.display().to_string()),
            };
            problems.extend(rules::evaluate(&h, &rctx));
            if let BackendFacts::Md(mf) = &mut h.facts {
                mf.last_check = last;
                mf.distro_check = rctx.distro_check;
                mf.foreign = rctx.foreign;
            }
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

/// Members (with a path) whose `mdadm --examine` names another array than `h`'s.
fn foreign_members(
    runner: &dyn crate::exec::Runner,
    h: &Health,
) -> (Vec<ForeignMember>, Vec<String>) {
    let Some(uuid) = &h.array_uuid else {
        return (Vec::new(), Vec::new());
    };
    let paths: Vec<DevPath> = h.members.iter().filter_map(|m| m.path.clone()).collect();
    probe_foreign_members(runner, uuid, &paths)
}
