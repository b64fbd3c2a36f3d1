//! Probing the facts of each array. Read-only: btrfs status commands (run in parallel, each
//! through the runner), mountinfo, sysfs, fstab, lnraid's records. A probe that fails becomes
//! an entry in `errors` (verdict unknown), never a guess.

use std::fs;
use std::path::{Path, PathBuf};

use super::fstab_check::{check_fstab, normalize_mountpoint};
use crate::config::fstab_edit::managed_arrays;
use crate::exec::{Cmd, Runner};
use crate::probe::btrfs::balance::probe_balance_status;
use crate::probe::btrfs::df::probe_df;
use crate::probe::btrfs::replace::probe_replace_status;
use crate::probe::btrfs::scrub::{probe_scrub_status, ScrubState};
use crate::probe::btrfs::show::probe_show;
use crate::probe::btrfs::stats::probe_stats;
use crate::probe::btrfs::usage::probe_usage;
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
///
/// An fstab that cannot be read is an error, never "no array": a mistyped `--fstab` must not
/// read as a machine without lnraid arrays. With a mountpoint given, an unreadable fstab is
/// left to [`gather`] (it becomes the array's `fstab_unreadable` problem).
pub fn targets(ctx: &GatherCtx, given: Option<&Path>) -> anyhow::Result<Vec<Target>> {
    let text = match (fs::read_to_string(&ctx.fstab), given) {
        (Ok(t), _) => t,
        (Err(_), Some(_)) => String::new(),
        (Err(e), None) => {
            return Err(anyhow::Error::new(e)
                .context(format!("cannot read the fstab {}", ctx.fstab.display())))
        }
    };
    let managed = managed_arrays(&text)?;
    Ok(match given {
        Some(mp) => {
            let mp = normalize_mountpoint(mp);
            let uuid = managed
                .iter()
                .find(|a| normalize_mountpoint(&a.mountpoint) == mp)
                .map(|a| a.uuid.clone());
            vec![Target {
                uuid,
                mountpoint: mp,
            }]
        }
        None => managed
            .into_iter()
            .map(|a| Target {
                uuid: Some(a.uuid),
                mountpoint: normalize_mountpoint(&a.mountpoint),
            })
            .collect(),
    })
}

/// Per-mount options, then the filesystem's, each once: `rw,relatime` + `rw,space_cache=v2`
/// → `rw,relatime,space_cache=v2` (mountinfo repeats `rw`).
pub fn merge_options(per_mount: &str, super_opts: &str) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for o in per_mount.split(',').chain(super_opts.split(',')) {
        if !o.is_empty() && !seen.contains(&o) {
            seen.push(o);
        }
    }
    seen.join(",")
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
        .map(|m| merge_options(&m.options, &m.super_options));
    f.per_mount_options = mount.as_ref().map(|m| m.options.clone());
    f.super_options = mount.as_ref().map(|m| m.super_options.clone());
    f.fstab_path = ctx.fstab.clone();
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
    let check = match fs::read_to_string(&ctx.fstab) {
        Ok(text) => check_fstab(&text, &uuid, &t.mountpoint),
        Err(e) => super::fstab_check::FstabCheck {
            state: super::doc::FstabState::Unreadable,
            lines: vec![],
            options: None,
            detail: Some(e.to_string()),
        },
    };
    f.fstab_line = match check.state {
        super::doc::FstabState::Unreadable => None,
        super::doc::FstabState::Missing => Some(false),
        _ => Some(!check.lines.is_empty()),
    };
    f.fstab = Some(check);
    if let Some(d) = ctx.lightning_dir.clone().or(f.lightning_dir.clone()) {
        f.lightning_dir_on_array = Some(resolves_into(&d, &t.mountpoint));
        // The link may name a path on the array that does not exist (the array is mounted
        // elsewhere, or not at all): that is not "on the array" for the node.
        f.lightning_dir_dangling = fs::symlink_metadata(&d).is_ok() && fs::metadata(&d).is_err();
        f.lightning_dir = Some(d);
    }
    // hotcopy: snapshot/backup ages and job outcomes.
    f.hot = super::hotcopy::gather(&ctx.state_dir, f.lightning_dir.as_deref());
    f
}

/// The seven status commands, in parallel: each is a separate process, and together they are
/// most of status's cost.
fn probe_mounted(runner: &dyn Runner, mp: &Path, f: &mut ArrayFacts) {
    std::thread::scope(|s| {
        let show = s.spawn(|| probe_show(runner, mp));
        let stats = s.spawn(|| probe_stats(runner, mp));
        let df = s.spawn(|| probe_df(runner, mp));
        let scrub = s.spawn(|| probe_scrub_status(runner, mp));
        let balance = s.spawn(|| probe_balance_status(runner, mp));
        let usage = s.spawn(|| probe_usage(runner, mp));
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
        match usage.join() {
            Ok(Ok(v)) => f.usage = Some(v),
            Ok(Err(e)) => err(e.to_string()),
            Err(_) => err("usage probe panicked".into()),
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
            let started = s
                .started
                .as_deref()
                .and_then(crate::time::parse_btrfs_local_time);
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

/// `Sat Nov 21 12:59:51 2026` (btrfs prints local time) → Unix seconds; see
/// [`crate::time::parse_btrfs_local_time`].
pub fn parse_btrfs_local_time(s: &str) -> Option<u64> {
    crate::time::parse_btrfs_local_time(s)
}
