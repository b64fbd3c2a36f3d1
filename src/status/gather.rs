//! Probing the facts of each array. Read-only: btrfs status commands (run in parallel, each
//! through the runner), mountinfo, sysfs, fstab, lnraid's records. A probe that fails becomes
//! an entry in `errors` (verdict unknown), never a guess.

use std::fs;
use std::path::{Path, PathBuf};

use crate::config::fstab_edit::managed_arrays;
use crate::exec::{Cmd, Runner};
use crate::probe::btrfs::balance::probe_balance_status;
use crate::probe::btrfs::df::probe_df;
use crate::probe::btrfs::replace::probe_replace_status;
use crate::probe::btrfs::scrub::{probe_scrub_status, ScrubState};
use crate::probe::btrfs::show::probe_show;
use crate::probe::btrfs::stats::probe_stats;
use crate::probe::btrfs::Profile;
use crate::probe::mounts::{read_mounts, Mount, PID1_MOUNTINFO};
use crate::records::{read_record, Job, Outcome};
use crate::types::FsUuid;

use super::ArrayFacts;

/// What to look at, and where lnraid's files are.
#[derive(Debug, Clone)]
pub struct GatherCtx {
    pub fstab: PathBuf,
    pub state_dir: PathBuf,
    pub sys_root: PathBuf,
    /// Overrides the node directory recorded by setup.
    pub lightning_dir: Option<PathBuf>,
}

/// One array to report on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub uuid: Option<FsUuid>,
    pub mountpoint: PathBuf,
}

/// The arrays lnraid manages (its fstab lines), or the one mounted at `given`.
pub fn targets(ctx: &GatherCtx, given: Option<&Path>) -> anyhow::Result<Vec<Target>> {
    let text = fs::read_to_string(&ctx.fstab).unwrap_or_default();
    let managed = managed_arrays(&text)?;
    Ok(match given {
        Some(mp) => {
            let uuid = managed
                .iter()
                .find(|a| a.mountpoint == mp)
                .map(|a| a.uuid.clone());
            vec![Target {
                uuid,
                mountpoint: mp.to_path_buf(),
            }]
        }
        None => managed
            .into_iter()
            .map(|a| Target {
                uuid: Some(a.uuid),
                mountpoint: a.mountpoint,
            })
            .collect(),
    })
}

/// The btrfs mount holding `t`: at its mountpoint, or (by UUID) wherever sysfs says it is.
fn find_mount(t: &Target, mounts: &[Mount], sys_root: &Path) -> Option<Mount> {
    let at = mounts
        .iter()
        .rev()
        .find(|m| m.mountpoint == t.mountpoint && m.fstype == "btrfs");
    if at.is_some() {
        return at.cloned();
    }
    let uuid = t.uuid.as_ref()?;
    let members: Vec<String> = fs::read_dir(
        sys_root
            .join("fs/btrfs")
            .join(uuid.as_str())
            .join("devices"),
    )
    .ok()?
    .flatten()
    .map(|e| e.file_name().to_string_lossy().into_owned())
    .collect();
    mounts
        .iter()
        .filter(|m| m.fstype == "btrfs")
        .find(|m| {
            Path::new(&m.source)
                .file_name()
                .is_some_and(|n| members.iter().any(|k| k.as_str() == n))
        })
        .cloned()
}

pub fn gather(runner: &dyn Runner, ctx: &GatherCtx, t: &Target) -> ArrayFacts {
    let mut f = ArrayFacts {
        uuid: t.uuid.clone(),
        mountpoint: t.mountpoint.clone(),
        ..ArrayFacts::default()
    };
    let mounts = match read_mounts(Path::new(PID1_MOUNTINFO)) {
        Ok(m) => m,
        Err(e) => {
            f.errors.push(format!("{e:#}"));
            return f;
        }
    };
    let mount = find_mount(t, &mounts, &ctx.sys_root);
    f.mounted_at = mount.as_ref().map(|m| m.mountpoint.clone());
    f.mount_options = mount
        .as_ref()
        .map(|m| format!("{},{}", m.options, m.super_options));
    match &mount {
        Some(m) => probe_mounted(runner, &m.mountpoint, &mut f),
        None => {
            if let Some(uuid) = &t.uuid {
                match probe_show(runner, Path::new(uuid.as_str())) {
                    Ok(mut v) if !v.is_empty() => f.show = Some(v.remove(0)),
                    Ok(_) => f.errors.push(format!(
                        "btrfs does not know filesystem {uuid}: are its devices attached?"
                    )),
                    Err(e) => f.errors.push(e.to_string()),
                }
            }
            f.mountpoint_immutable = immutable(runner, &t.mountpoint);
        }
    }
    if f.uuid.is_none() {
        f.uuid = f.show.as_ref().map(|s| s.uuid.clone());
    }
    let Some(uuid) = f.uuid.clone() else { return f };
    records(ctx, &uuid, &mut f);
    unfinished(ctx, &uuid, &mut f);
    setup_record(ctx, &uuid, &mut f);
    let fstab = fs::read_to_string(&ctx.fstab).unwrap_or_default();
    f.fstab_line = Some(
        managed_arrays(&fstab)
            .map(|a| a.iter().any(|x| x.uuid == uuid))
            .unwrap_or(false),
    );
    if let Some(d) = ctx.lightning_dir.clone().or(f.lightning_dir.clone()) {
        f.lightning_dir_on_array = Some(resolves_into(&d, &t.mountpoint));
        f.lightning_dir = Some(d);
    }
    f
}

/// The six status commands, in parallel: each is a separate process, and together they are
/// most of status's cost.
fn probe_mounted(runner: &dyn Runner, mp: &Path, f: &mut ArrayFacts) {
    std::thread::scope(|s| {
        let show = s.spawn(|| probe_show(runner, mp));
        let stats = s.spawn(|| probe_stats(runner, mp));
        let df = s.spawn(|| probe_df(runner, mp));
        let scrub = s.spawn(|| probe_scrub_status(runner, mp));
        let balance = s.spawn(|| probe_balance_status(runner, mp));
        let replace = probe_replace_status(runner, mp);
        let mut err = |e: String| f.errors.push(e);
        match show.join() {
            Ok(Ok(mut v)) if !v.is_empty() => f.show = Some(v.remove(0)),
            Ok(Ok(_)) => err(format!(
                "`btrfs filesystem show {}` listed nothing",
                crate::exec::quote_path(mp)
            )),
            Ok(Err(e)) => err(e.to_string()),
            Err(_) => err("show probe panicked".into()),
        }
        match stats.join() {
            Ok(Ok(v)) => f.stats = Some(v),
            Ok(Err(e)) => err(e.to_string()),
            Err(_) => err("stats probe panicked".into()),
        }
        match df.join() {
            Ok(Ok(v)) => f.df = Some(v.groups),
            Ok(Err(e)) => err(e.to_string()),
            Err(_) => err("df probe panicked".into()),
        }
        match scrub.join() {
            Ok(Ok(v)) => f.scrub = Some(v),
            Ok(Err(e)) => err(e.to_string()),
            Err(_) => err("scrub probe panicked".into()),
        }
        match balance.join() {
            Ok(Ok(v)) => f.balance = Some(v),
            Ok(Err(e)) => err(e.to_string()),
            Err(_) => err("balance probe panicked".into()),
        }
        match replace {
            Ok(v) => f.replace = Some(v),
            Err(e) => err(e.to_string()),
        }
    });
    if let Some(s) = &f.scrub {
        if matches!(
            s.state,
            ScrubState::Finished | ScrubState::Aborted | ScrubState::Interrupted
        ) {
            let started = s.started.as_deref().and_then(parse_btrfs_local_time);
            f.scrub_finished_at = started.map(|t| t + s.duration_secs.unwrap_or(0));
        }
    }
}

fn records(ctx: &GatherCtx, uuid: &FsUuid, f: &mut ArrayFacts) {
    match read_record(&ctx.state_dir, uuid, Job::Scrub) {
        Ok(r) => {
            if let Some(r) = r.as_ref().filter(|r| {
                matches!(
                    r.outcome,
                    Outcome::Ok | Outcome::Corrected | Outcome::Uncorrectable
                )
            }) {
                f.scrub_finished_at = Some(
                    f.scrub_finished_at
                        .map_or(r.finished, |t| t.max(r.finished)),
                );
            }
            f.last_scrub_record = r;
        }
        Err(e) => f.errors.push(format!("{e:#}")),
    }
    match read_record(&ctx.state_dir, uuid, Job::Balance) {
        Ok(r) => f.last_balance_record = r,
        Err(e) => f.errors.push(format!("{e:#}")),
    }
}

/// Journals of `replace` and `setup` still in the state dir belong to runs that did not finish.
fn unfinished(ctx: &GatherCtx, uuid: &FsUuid, f: &mut ArrayFacts) {
    for (cmd, file, uuid_at) in [
        ("replace", "replace-journal.json", "/request/uuid"),
        ("setup", "setup-journal.json", "/request/fs_uuid"),
    ] {
        let Ok(text) = fs::read_to_string(ctx.state_dir.join(file)) else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
            f.errors
                .push(format!("{} is damaged", ctx.state_dir.join(file).display()));
            continue;
        };
        if v.pointer(uuid_at).and_then(|u| u.as_str()) == Some(uuid.as_str())
            && v["state"].as_str() != Some("done")
        {
            let done: Vec<&str> = v["completed"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|x| x.as_str())
                .collect();
            let step = v["started"]
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| format!("after {}", done.last().unwrap_or(&"the start")));
            f.unfinished.push((cmd.to_string(), step));
        }
    }
}

/// The archived setup journal (`setup-<uuid>-done.json`) names the profile and the node's
/// directory.
fn setup_record(ctx: &GatherCtx, uuid: &FsUuid, f: &mut ArrayFacts) {
    let p = ctx.state_dir.join(format!("setup-{uuid}-done.json"));
    let Ok(text) = fs::read_to_string(&p) else {
        return;
    };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
        f.errors.push(format!("{} is damaged", p.display()));
        return;
    };
    if let Some(prof) = v["request"]["profile"].as_str() {
        f.expected_profile = Some(Profile::parse(prof));
    }
    f.created_at = v["request"]["timestamp"]
        .as_str()
        .and_then(crate::app::ids::parse_timestamp);
    if let Some(d) = v["request"]["lightning_dir"].as_str() {
        f.lightning_dir = Some(PathBuf::from(d));
    }
}

/// Whether `dir` is, or links to, a path below `mountpoint` (following links textually, so an
/// unmounted array's dangling link still counts).
pub fn resolves_into(dir: &Path, mountpoint: &Path) -> bool {
    if let Ok(c) = fs::canonicalize(dir) {
        if c.starts_with(mountpoint) {
            return true;
        }
    }
    let mut p = dir.to_path_buf();
    for _ in 0..16 {
        match fs::read_link(&p) {
            Ok(t) => {
                p = if t.is_absolute() {
                    t
                } else {
                    p.parent().unwrap_or(Path::new("/")).join(t)
                };
                if p.starts_with(mountpoint) {
                    return true;
                }
            }
            Err(_) => return false,
        }
    }
    false
}

/// `lsattr -d` of the bare (unmounted) mountpoint.
fn immutable(runner: &dyn Runner, mp: &Path) -> Option<bool> {
    let out = runner
        .run_ok(&Cmd::read_only("lsattr", ["-d"]).arg(mp.to_string_lossy()))
        .ok()?;
    out.stdout
        .split_whitespace()
        .next()
        .map(|flags| flags.contains('i'))
}

/// `Sat Nov 21 12:59:51 2026` (btrfs prints local time) → Unix seconds.
pub fn parse_btrfs_local_time(s: &str) -> Option<u64> {
    let f: Vec<&str> = s.split_whitespace().collect();
    let [_, mon, day, hms, year] = f[..] else {
        return None;
    };
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let m = months.iter().position(|x| *x == mon)?;
    let t: Vec<i32> = hms
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    let [h, mi, sec] = t[..] else { return None };
    // SAFETY: a zeroed `tm` is a valid value; mktime reads and normalizes it.
    let mut tm: nix::libc::tm = unsafe { std::mem::zeroed() };
    tm.tm_year = year.parse::<i32>().ok()? - 1900;
    tm.tm_mon = m as i32;
    tm.tm_mday = day.parse().ok()?;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    tm.tm_isdst = -1;
    // SAFETY: `tm` is a valid, exclusively borrowed struct.
    let t = unsafe { nix::libc::mktime(&mut tm) };
    u64::try_from(t).ok()
}
