//! Gathering a btrfs array's facts for status: find its mount (mountinfo names one member;
//! sysfs knows the rest), run the seven btrfs status commands in parallel (each through the
//! runner), or `btrfs filesystem show <uuid>` when it is not mounted; then the
//! backend-neutral part ([`crate::status::gather::complete`]). Read-only. A probe that fails
//! becomes an entry in `errors` (verdict unknown), never a guess.

use std::path::Path;

use super::mounts::find_mount;
use crate::backend::Backend;
use crate::exec::Runner;
use crate::probe::btrfs::balance::probe_balance_status;
use crate::probe::btrfs::df::probe_df;
use crate::probe::btrfs::replace::probe_replace_status;
use crate::probe::btrfs::scrub::{probe_scrub_status, ScrubState};
use crate::probe::btrfs::show::probe_show;
use crate::probe::btrfs::stats::probe_stats;
use crate::probe::btrfs::usage::probe_usage;
use crate::probe::mounts::{read_mounts, PID1_MOUNTINFO};
use crate::status::gather::{complete, immutable, merge_options, GatherCtx, Target};
use crate::status::ArrayFacts;

/// Every fact status evaluates about the btrfs array `t`.
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
    let mount = find_mount(t.uuid.as_ref(), &t.mountpoint, &mounts, &ctx.sys_root);
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
    complete(ctx, t, Backend::Btrfs, &mut f);
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
