//! Mechanics of the hot-copy layer's actions ([`HotAction`]: setup's partial subvolume,
//! snapshots, backups, restore's copy) and of the partial subvolume setup's copy writes into. Each is idempotent: an empty subvolume already there is "done";
//! a half-filled one from an interrupted run is deleted and made again.
//!
//! What it may not do: delete any path not re-proven, right before, to be lnraid's own
//! partial copy — named `.lnraid-partial-*`, directly below a mounted mountpoint, on the
//! plan's own filesystem (`BTRFS_IOC_FS_INFO` UUID == [`Plan::own_fs`]). A subvolume is
//! deleted with `btrfs subvolume delete` (one kernel call, no recursive walk).

use std::fs;
use std::path::Path;

use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{Journal, Walker};
use crate::hotcopy::restore::{copy_in, prove_unchanged};
use crate::hotcopy::retention::Policy;
use crate::hotcopy::snapshot::{self, is_subvolume, Layout, LockBounds};
use crate::plan::hotcopy::{subvolume_create_cmd, subvolume_delete_cmd, HotAction};
use crate::plan::Plan;

pub const PARTIAL_PREFIX: &str = ".lnraid-partial-";

pub fn apply<R: Serialize + DeserializeOwned>(
    w: &Walker,
    j: &mut Journal<R>,
    plan: &Plan,
    a: &HotAction,
) -> Result<()> {
    match a {
        HotAction::Subvolume { path } => create_subvolume(w, plan, path),
        HotAction::DeletePartial { path } => {
            if fs::symlink_metadata(path).is_ok() {
                remove_own_partial(w, plan, path)?;
            }
            Ok(())
        }
        HotAction::Snapshot {
            home,
            dir,
            wait_ms,
            cap_ms,
        } => {
            let layout = Layout {
                home: home.clone(),
                dir: dir.clone(),
            };
            let rec = snapshot::create(w.runner, &layout, bounds(*wait_ms, *cap_ms))?;
            if !rec.verified {
                bail!(
                    "the snapshot {} failed its verification: {}",
                    rec.name,
                    rec.integrity
                );
            }
            Ok(())
        }
        HotAction::DeleteSnapshot { dir, name } => delete_snapshot(w, dir, name),
        HotAction::Backup {
            lightning_dir,
            to,
            max_locked_copy,
            wait_ms,
            cap_ms,
            recipients,
            keep,
        } => {
            let policy = Policy {
                last: keep[0],
                hourly: keep[1],
                daily: keep[2],
                weekly: keep[3],
            };
            let done = crate::hotcopy::backup::run(
                w.runner,
                lightning_dir,
                to,
                bounds(*wait_ms, *cap_ms),
                *max_locked_copy,
                recipients,
                policy,
            )?;
            for p in &done.pruned {
                tracing::info!("  pruned {p} at DEST (retention)");
            }
            Ok(())
        }
        HotAction::CopyIn {
            src,
            partial,
            renamed,
            extra,
        } => {
            j.manifest = Some(copy_in(w.runner, src, partial, renamed, extra)?);
            j.save()
        }
        HotAction::ProveUnchanged { dir } => {
            let m = j
                .manifest
                .as_ref()
                .context("the journal holds no manifest of the copy")?;
            prove_unchanged(m, dir)
        }
    }
}

fn bounds(wait_ms: u64, cap_ms: u64) -> LockBounds {
    LockBounds {
        wait: Duration::from_millis(wait_ms),
        cap: Duration::from_millis(cap_ms),
    }
}

/// Deletes one of lnraid's snapshots: named by a time, inside a `.lnraid-snapshots` dir.
fn delete_snapshot(w: &Walker, dir: &Path, name: &str) -> Result<()> {
    let ours = name.parse::<jiff::Timestamp>().is_ok()
        && dir
            .parent()
            .and_then(|p| p.file_name())
            .is_some_and(|n| n == crate::hotcopy::snapshot::SNAPSHOTS_DIR);
    if !ours {
        bail!(
            "{}/{name} is not an lnraid snapshot; not deleting it",
            dir.display()
        );
    }
    let path = dir.join(name);
    if fs::symlink_metadata(&path).is_ok() {
        w.runner.run_ok(&subvolume_delete_cmd(&path))?;
    }
    let _ = fs::remove_file(dir.join(format!("{name}.json")));
    Ok(())
}

fn is_empty_dir(p: &Path) -> Result<bool> {
    Ok(fs::read_dir(p)
        .with_context(|| format!("listing {}", p.display()))?
        .next()
        .is_none())
}

fn create_subvolume(w: &Walker, plan: &Plan, path: &Path) -> Result<()> {
    if fs::symlink_metadata(path).is_ok() {
        if is_subvolume(path)? && is_empty_dir(path)? {
            return Ok(()); // made before an interruption
        }
        remove_own_partial(w, plan, path)?;
    }
    w.runner.run_ok(&subvolume_create_cmd(path))?;
    Ok(())
}

/// Before the copy: `true` when `dst` is an empty subvolume to copy into (a half-filled one
/// of an interrupted copy is deleted and created again first); `false` when `dst` is not a
/// subvolume (absent: the copy creates a directory; an md array's ext4 has no subvolumes).
pub fn ready_partial_subvolume(w: &Walker, plan: &Plan, dst: &Path) -> Result<bool> {
    if fs::symlink_metadata(dst).is_err() || !is_subvolume(dst)? {
        return Ok(false);
    }
    if !is_empty_dir(dst)? {
        remove_own_partial(w, plan, dst)?;
        w.runner.run_ok(&subvolume_create_cmd(dst))?;
    }
    Ok(true)
}

/// Re-proves `p` is lnraid's own partial copy: named `.lnraid-partial-*`, directly below a
/// mounted mountpoint, on the plan's own btrfs (by UUID).
fn prove_own_partial(w: &Walker, plan: &Plan, p: &Path) -> Result<()> {
    let named = p
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with(PARTIAL_PREFIX));
    let mounted = match p.parent() {
        Some(mp) => w.machine.is_mounted(mp)?,
        None => false,
    };
    if !named || !mounted {
        bail!(
            "{} exists and is not lnraid's partial copy below a mounted array; refusing to remove it",
            p.display()
        );
    }
    let Some(own) = plan.own_fs.as_deref() else {
        bail!(
            "{}: the plan names no filesystem of its own; not deleting",
            p.display()
        );
    };
    match w.machine.btrfs_uuid(p)? {
        Some(on) if on == own => Ok(()),
        Some(on) => bail!(
            "{} is on filesystem {on}, not lnraid's new {own}; refusing to delete it",
            p.display()
        ),
        None => bail!("{} is not on btrfs; refusing to delete it", p.display()),
    }
}

/// Deletes lnraid's own partial copy, re-proven right before: `btrfs subvolume delete` (a
/// plain directory there is refused by it, loudly: only the subvolume step makes one).
fn remove_own_partial(w: &Walker, plan: &Plan, p: &Path) -> Result<()> {
    prove_own_partial(w, plan, p)?;
    tracing::info!(
        "  deleting the partial copy of the interrupted run ({})",
        crate::ui::sanitize(&p.display().to_string())
    );
    w.runner.run_ok(&subvolume_delete_cmd(p))?;
    Ok(())
}
