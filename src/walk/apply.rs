//! One action at a time. Each is safe to repeat: it sees when it is already done (a rename
//! whose source is gone and target present, a link in place, a mount there), so a resumed
//! step can simply run again. Nothing here decides whether a step may run — the checks did.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::fresh::{self, read_proof, SourceLock};
use super::{Journal, Walker};
use crate::config::atomic::{remove_file_synced, write_atomic};
use crate::config::fstab_edit::{apply_fstab_edit, plan_fstab_edit, plan_fstab_removal};
use crate::copy::{copy_tree, copy_tree_into, verify, CopyOptions};
use crate::exec::{Cmd, Runner};
use crate::plan::{mount_cmd, umount_cmd, wipe_cmd, Action, Contents, Plan, Step};
use crate::probe::blkid::probe_identity;
use crate::probe::btrfs::replace::{probe_failure_cause, probe_replace_status, ReplaceState};
use crate::sqlite::integrity_check;
use crate::ui::progress::{Progress, Unit};

pub fn apply<R: Serialize + DeserializeOwned>(
    w: &Walker,
    j: &mut Journal<R>,
    plan: &Plan,
    action: &Action,
) -> Result<()> {
    match action {
        Action::Run { cmd } => {
            w.runner.run_ok(cmd)?;
        }
        Action::Try { cmd } => {
            let _ = w.runner.output(cmd);
        }
        Action::MakeDir { path, mode } => make_dir(path, *mode)?,
        Action::Copy { src, dst, owner } => copy(w, j, plan, src, dst, *owner)?,
        Action::Verify { dst, database } => verify_copy(j, dst, database.as_deref())?,
        Action::Rename { from, to } => {
            if fs::symlink_metadata(from).is_err() && fs::symlink_metadata(to).is_ok() {
                return Ok(()); // done before an interruption
            }
            fs::rename(from, to)
                .with_context(|| format!("renaming {} to {}", from.display(), to.display()))?;
            sync_parent(to);
        }
        Action::Symlink { link, target } => symlink(link, target)?,
        Action::FstabAdd {
            path,
            line,
            uuid,
            mountpoint,
            ..
        } => {
            let uuid = crate::types::FsUuid::parse(uuid).context("bad UUID in plan")?;
            let current = fs::read_to_string(path).unwrap_or_default();
            let edit = plan_fstab_edit(&current, line, &uuid, mountpoint)?;
            apply_fstab_edit(w.runner, path, &edit, Some(line))?;
        }
        Action::FstabRemove { path, mountpoint } => {
            let current = fs::read_to_string(path).unwrap_or_default();
            let edit = plan_fstab_removal(&current, mountpoint)?;
            apply_fstab_edit(w.runner, path, &edit, None)?;
            if edit.changed {
                say(&format!("removed lnraid's line from {}", path.display()));
            }
        }
        Action::WriteFile {
            path,
            content,
            mode,
        } => {
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            write_atomic(path, content.as_bytes(), *mode, &mut |_| Ok(()))?;
        }
        Action::RemoveOwnFile { path, content } => {
            if fs::read_to_string(path).is_ok_and(|c| c == *content) {
                remove_file_synced(path)?;
                say(&format!("removed {}", path.display()));
            }
        }
        Action::Mount {
            fs_uuid,
            members,
            mountpoint,
            options,
        } => mount(w, fs_uuid, members, mountpoint, options)?,
        Action::Umount { mountpoint } => {
            if w.machine.is_mounted(mountpoint)? {
                umount(w.runner, mountpoint)?;
                say(&format!("unmounted {}", mountpoint.display()));
            }
        }
        Action::WipeOwn {
            device,
            fs_uuid,
            strict,
        } => {
            let now = Contents::of(&probe_identity(w.runner, device)?);
            if now.is_own(fs_uuid) {
                w.runner.run_ok(&wipe_cmd(device))?;
                say(&format!(
                    "erased lnraid's own filesystem {fs_uuid} from {device} (it held only a copy)"
                ));
            } else if !now.is_blank() && *strict {
                bail!(
                    "{device}: carries {}, not lnraid's filesystem — left untouched",
                    now.describe()
                );
            }
        }
        Action::BtrfsReplace { cmd, mountpoint } => run_replace(w.runner, cmd, mountpoint)?,
        Action::RestoreDir {
            dir,
            link_target,
            aside,
        } => restore_dir(dir, link_target, aside)?,
        Action::MakeMutable { path } => {
            if path.is_dir() {
                w.runner.run_ok(&crate::plan::chattr_cmd("-i", path))?;
            }
        }
        Action::RemoveEmptyDir { path } => {
            if fs::remove_dir(path).is_ok() {
                say(&format!("removed the empty directory {}", path.display()));
            }
        }
        Action::UnSchedule { schedule } => crate::app::schedule::undo_setup(schedule, w.runner)?,
        // md backend hooks (src/backend/md): mdadm.conf append, waiting for a resync.
        Action::ConfAppend {
            path,
            lines,
            md_uuid,
        } => crate::backend::md::conf::apply_append(path, lines, md_uuid)?,
        Action::AwaitSync { array } => crate::backend::md::wait::await_sync(array)?,
        Action::Md(a) => super::apply_md::apply(w, a)?,
        // hotcopy: setup's partial subvolume (src/walk/apply_hotcopy.rs).
        Action::Hotcopy(h) => super::apply_hotcopy::apply(w, j, plan, h)?,
        // exec (maintain, schedule): src/walk/apply_ops.rs.
        Action::BtrfsScrub { .. }
        | Action::BtrfsBalance { .. }
        | Action::MdCheck { .. }
        | Action::PutFile { .. }
        | Action::WriteSecret { .. }
        | Action::RemoveSecret { .. } => super::apply_ops::apply(w, j, action)?,
        // recover's hooks (src/walk/apply_recover.rs).
        Action::RequireReadOnly { mountpoint } => {
            super::apply_recover::require_read_only(w, mountpoint)?
        }
        Action::CopyOut { out } => super::apply_recover::copy_out(w, out)?,
        Action::MdRecover(a) => super::apply_md_recover::apply(w, a)?,
    }
    Ok(())
}

/// Whether a rename or link is already in place (for [`crate::plan::Resume::SkipIfDone`]).
pub fn is_done(a: &Action) -> bool {
    match a {
        Action::Rename { from, to } => {
            fs::symlink_metadata(from).is_err() && fs::symlink_metadata(to).is_ok()
        }
        Action::Symlink { link, target } => fs::read_link(link).is_ok_and(|t| t == *target),
        _ => false,
    }
}

fn say(s: &str) {
    tracing::info!("  {}", crate::ui::sanitize(s));
}

/// The copy: the source database locked against commits first (held until the walk ends), no
/// node using the source, the source's files recorded, copied, and recorded again — a file
/// that changed while it was copied stops the step.
fn copy<R: Serialize + DeserializeOwned>(
    w: &Walker,
    j: &mut Journal<R>,
    plan: &Plan,
    src: &Path,
    dst: &Path,
    owner: Option<(u32, u32)>,
) -> Result<()> {
    // setup's subvolume step made `dst` a subvolume: copy into it (hotcopy's hook).
    let into = super::apply_hotcopy::ready_partial_subvolume(w, plan, dst)?;
    if !into && fs::symlink_metadata(dst).is_ok() {
        remove_partial(w, dst)?;
    }
    let db = src.join(fresh::DATABASE);
    if db.is_file() && w.lock.borrow().is_none() {
        *w.lock.borrow_mut() = Some(SourceLock::acquire(&db)?);
    }
    super::node_stopped(w, src)?;
    let before = read_proof(src)?;
    let total = crate::app::setup::preflight::dir_size(src)?;
    let mut bar = Progress::new("copying", total);
    let opts = CopyOptions { owner };
    let manifest = if into {
        copy_tree_into(src, dst, &opts, &mut |n| bar.set(n))?
    } else {
        copy_tree(src, dst, &opts, &mut |n| bar.set(n))?
    };
    bar.finish();
    for s in &manifest.skipped {
        say(&format!(
            "skipped {} ({}): not a file lightningd needs copied",
            s.rel.display(),
            s.kind
        ));
    }
    for n in &manifest.notes {
        say(&format!("note: {n}"));
    }
    let changed = fresh::differences(&before, &read_proof(src)?);
    if !changed.is_empty() {
        bail!(
            "{} changed while it was copied; the copy is not used:\n  {}\nStop whatever writes to it (lightningd?) and run `lnraid setup --resume`",
            src.display(),
            changed.join("\n  ")
        );
    }
    j.manifest = Some(manifest);
    j.source = Some(before);
    j.copy = None;
    j.save()
}

fn verify_copy<R: Serialize + DeserializeOwned>(
    j: &mut Journal<R>,
    dst: &Path,
    database: Option<&str>,
) -> Result<()> {
    let m = j
        .manifest
        .as_ref()
        .context("the journal holds no manifest of the copy; run --abort")?;
    let mut bar = Progress::new("verifying", m.bytes());
    let report = verify(m, dst, &mut |n| bar.set(n))?;
    bar.finish();
    let report = report.into_result()?;
    if let Some(db) = database {
        let scratch = dst
            .parent()
            .unwrap_or(Path::new("/"))
            .join(".lnraid-integrity-check");
        let i = integrity_check(&dst.join(db), &scratch)?;
        if !i.ok {
            bail!(
                "PRAGMA integrity_check on the copied {db} failed: {}",
                i.problems.join("; ")
            );
        }
        say(&format!(
            "verified {} files, {}; integrity_check ok{}",
            report.files,
            crate::types::Bytes(report.bytes),
            if i.rolled_back_hot_journal {
                " (after rolling back a hot journal in a scratch copy)"
            } else {
                ""
            }
        ));
    }
    j.copy = Some(read_proof(dst)?);
    j.save()
}

/// Removes a partial copy left by an interrupted run — only ours: directly below a mounted
/// array's mountpoint, with lnraid's partial prefix.
fn remove_partial(w: &Walker, dst: &Path) -> Result<()> {
    let ours = dst
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with(".lnraid-partial-"))
        && match dst.parent() {
            Some(mp) => w.machine.is_mounted(mp)?,
            None => false,
        };
    if !ours {
        bail!(
            "{} exists and is not lnraid's partial copy; refusing to remove it",
            dst.display()
        );
    }
    say(&format!(
        "removing the partial copy of the interrupted run ({})",
        dst.display()
    ));
    fs::remove_dir_all(dst).with_context(|| format!("removing {}", dst.display()))
}

/// Mounts by a member re-proven just now with `blkid -p` to carry `fs_uuid`.
fn mount(
    w: &Walker,
    uuid: &str,
    members: &[crate::types::DevPath],
    mp: &Path,
    opts: &str,
) -> Result<()> {
    if w.machine.is_mounted(mp)? {
        return Ok(()); // resumed after the mount happened
    }
    let mut seen = Vec::new();
    for m in members {
        match probe_identity(w.runner, m) {
            Ok(id) if Contents::of(&id).is_own(uuid) => {
                w.runner.run_ok(&mount_cmd(m, mp, opts))?;
                return Ok(());
            }
            Ok(id) => seen.push(format!("{m}: {}", Contents::of(&id).describe())),
            Err(e) => seen.push(format!("{m}: {e}")),
        }
    }
    bail!(
        "no member of filesystem {uuid} was found to mount at {} (blkid -p: {})",
        mp.display(),
        seen.join("; ")
    )
}

/// Unmounts with a bounded retry (a just-closed file can keep the filesystem busy briefly).
fn umount(runner: &dyn Runner, p: &Path) -> Result<()> {
    let cmd = umount_cmd(p);
    let mut last = None;
    for attempt in 0..5u64 {
        match runner.run_ok(&cmd) {
            Ok(_) => return Ok(()),
            Err(e) => last = Some(e),
        }
        std::thread::sleep(Duration::from_millis(200 * (attempt + 1)));
    }
    Err(last.expect("at least one attempt")).with_context(|| format!("unmounting {}", p.display()))
}

fn symlink(link: &Path, target: &Path) -> Result<()> {
    if fs::read_link(link).is_ok_and(|t| t == target) {
        return Ok(());
    }
    let tmp = link_tmp(link);
    if fs::symlink_metadata(&tmp).is_ok_and(|m| m.file_type().is_symlink()) {
        fs::remove_file(&tmp)?;
    }
    std::os::unix::fs::symlink(target, &tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    // rename(2) replaces atomically, and refuses to replace a directory: the original can
    // never be clobbered here.
    fs::rename(&tmp, link).with_context(|| format!("putting the symlink at {}", link.display()))?;
    sync_parent(link);
    Ok(())
}

fn link_tmp(link: &Path) -> PathBuf {
    let mut tmp = link.to_path_buf().into_os_string();
    tmp.push(".lnraid-link");
    PathBuf::from(tmp)
}

/// Puts `dir` back as the real directory, or proves it never left.
fn restore_dir(dir: &Path, link_target: &Path, aside: &Path) -> Result<()> {
    if fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_symlink()) {
        let target = fs::read_link(dir)?;
        if target != link_target {
            bail!(
                "{} is a symlink to {}, which lnraid did not create; resolve it by hand",
                dir.display(),
                target.display()
            );
        }
        fs::remove_file(dir).with_context(|| format!("removing the symlink {}", dir.display()))?;
    }
    // A symlink left by a crash between creating and renaming it.
    let _ = fs::remove_file(link_tmp(dir));
    if fs::symlink_metadata(dir).is_err() {
        if !aside.is_dir() {
            bail!(
                "neither {} nor {} exists; not erasing the array, which may hold the only copy",
                dir.display(),
                aside.display()
            );
        }
        fs::rename(aside, dir)
            .with_context(|| format!("moving {} back to {}", aside.display(), dir.display()))?;
        say(&format!("moved the original back to {}", dir.display()));
    }
    if !fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) {
        bail!(
            "{} is not the original directory; not erasing the array",
            dir.display()
        );
    }
    Ok(())
}

fn make_dir(path: &Path, mode: u32) -> Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => bail!("{} exists and is not a directory", path.display()),
        Err(_) => {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(mode)
                .create(path)
                .with_context(|| format!("creating {}", path.display()))?;
            fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
            Ok(())
        }
    }
}

fn sync_parent(p: &Path) {
    if let Some(d) = p.parent() {
        let _ = fs::File::open(d).and_then(|f| f.sync_all());
    }
}

/// For a resumed [`crate::plan::Resume::AwaitKernel`] step: true when the kernel's operation
/// is finished (or was running and has now finished); false when none runs (re-prove, start).
pub fn kernel_op_settled(w: &Walker, step: &Step) -> Result<bool> {
    let Some(mp) = step.actions.iter().find_map(|a| match a {
        Action::BtrfsReplace { mountpoint, .. } => Some(mountpoint.clone()),
        _ => None,
    }) else {
        return Ok(false);
    };
    match probe_replace_status(w.runner, &mp)?.state {
        ReplaceState::Finished => Ok(true),
        ReplaceState::Running { .. } | ReplaceState::Suspended { .. } => {
            wait_for_replace(w.runner, &mp)?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

fn run_replace(runner: &dyn Runner, cmd: &Cmd, mp: &Path) -> Result<()> {
    let out = std::thread::scope(|s| {
        let worker = s.spawn(|| runner.output(cmd));
        let mut bar = Progress::with_unit("replacing", 10_000, Unit::Percent);
        while !worker.is_finished() {
            std::thread::sleep(Duration::from_millis(500));
            if let Ok(st) = probe_replace_status(runner, mp) {
                if let ReplaceState::Running { percent } = st.state {
                    bar.set(u64::from(percent.0));
                }
            }
        }
        bar.finish();
        worker
            .join()
            .map_err(|_| anyhow::anyhow!("replace worker panicked"))
    })??;
    let st = probe_replace_status(runner, mp)?;
    match st.state {
        ReplaceState::Finished if out.status.success() => Ok(()),
        // The real cause (recover helper's hook): the kernel's lines and progs' error.
        _ => bail!(
            "`{cmd}` did not finish: {}",
            probe_failure_cause(runner, &out.stderr).message()
        ),
    }
}

fn wait_for_replace(runner: &dyn Runner, mp: &Path) -> Result<()> {
    tracing::info!(
        "  a replacement is already running on {}: waiting for it",
        mp.display()
    );
    loop {
        match probe_replace_status(runner, mp)?.state {
            ReplaceState::Finished => return Ok(()),
            ReplaceState::Canceled => bail!(
                "the running replacement stopped: {}",
                probe_failure_cause(runner, "").message()
            ),
            _ => std::thread::sleep(Duration::from_secs(2)),
        }
    }
}
