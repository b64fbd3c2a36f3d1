//! Walks the confirmed plan, recording each completed step in the journal. Every action is
//! safe to repeat, so `--resume` simply runs the first incomplete step again. Destructive steps
//! re-check their devices immediately before running (the operator may have waited at the
//! prompt; USB disks re-enumerate).

use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

use anyhow::{bail, Context, Result};

use super::journal::Journal;
use crate::config::atomic::write_atomic;
use crate::config::fstab_edit::{apply_fstab_edit, plan_fstab_edit};
use crate::copy::{copy_tree, verify, CopyOptions};
use crate::exec::Runner;
use crate::plan::{Action, Step};
use crate::policy::{classify_request, PolicyContext, Refusal};
use crate::probe::mounts::{read_mounts, PID1_MOUNTINFO};
use crate::probe::snapshot::{probe_snapshot, resolve_device, ProbeSources};
use crate::sqlite::integrity_check;
use crate::ui::progress::Progress;

/// The environment variable naming a step after which the process kills itself (tests).
pub const FAILPOINT_ENV: &str = "LNRAID_FAILPOINT";

pub fn execute(j: &mut Journal, runner: &dyn Runner) -> Result<()> {
    let steps = j.plan.steps.clone();
    for (n, step) in steps.iter().enumerate() {
        if j.is_completed(&step.id) {
            continue;
        }
        let resumed = j.started.as_deref() == Some(step.id.as_str());
        j.started = Some(step.id.clone());
        j.save()?;
        eprintln!("[{}/{}] {}", n + 1, steps.len(), step.describe);
        run_step(step, j, runner, resumed)
            .with_context(|| format!("step {} ({}) failed", n + 1, step.id))
            .map_err(|e| e.context(state_report(j, step)))?;
        j.completed.push(step.id.clone());
        j.started = None;
        j.save()?;
        failpoint(&step.id);
    }
    Ok(())
}

pub(crate) fn failpoint(id: &str) {
    if std::env::var(FAILPOINT_ENV).is_ok_and(|v| v == id) {
        eprintln!("lnraid: failpoint {FAILPOINT_ENV}={id}: killing the process after this step");
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }
}

/// Where things stand after a failure, and the one command to run next.
fn state_report(j: &Journal, failed: &Step) -> String {
    let r = &j.request;
    let dir_state = if j.is_completed("move-aside") {
        format!("the original directory is kept at {}", r.aside().display())
    } else {
        format!(
            "the original directory {} is untouched",
            r.lightning_dir.display()
        )
    };
    format!(
        "setup stopped at step '{}'. Completed: {}. {dir_state}. Fix the cause, then run \
         `lnraid setup --resume` to continue, or `lnraid setup --abort` to undo",
        failed.id,
        if j.completed.is_empty() {
            "none".to_string()
        } else {
            j.completed.join(", ")
        }
    )
}

fn run_step(step: &Step, j: &mut Journal, runner: &dyn Runner, resumed: bool) -> Result<()> {
    if step.is_destructive() {
        recheck_devices(j, runner, resumed)?;
    }
    for action in &step.actions {
        apply(action, j, runner, resumed)?;
    }
    Ok(())
}

fn apply(action: &Action, j: &mut Journal, runner: &dyn Runner, resumed: bool) -> Result<()> {
    match action {
        Action::Run { cmd } => {
            if cmd.program == "mount" && is_mounted_here(&j.request.mountpoint)? {
                return Ok(()); // resumed after the mount happened
            }
            runner.run_ok(&resumed_cmd(cmd, resumed))?;
        }
        Action::Try { cmd } => {
            let out = runner.output(cmd)?;
            if !out.status.success() {
                tracing::info!("{cmd}: {} (harmless here)", out.status);
            }
        }
        Action::AwaitSync { array } => crate::backend::md::wait::await_sync(array)?,
        Action::ConfAppend {
            path,
            lines,
            md_uuid,
        } => crate::backend::md::conf::apply_append(path, lines, md_uuid)?,
        Action::MakeDir { path, mode } => make_dir(path, *mode)?,
        Action::Copy { src, dst, owner } => {
            if fs::symlink_metadata(dst).is_ok() {
                // Our own partial copy from an interrupted run, on our new filesystem.
                remove_partial(dst, &j.request.mountpoint)?;
            }
            let total = crate::app::setup::preflight::dir_size(src)?;
            let mut bar = Progress::new("copying", total);
            let manifest = copy_tree(src, dst, &CopyOptions { owner: *owner }, &mut |n| {
                bar.set(n)
            })?;
            bar.finish();
            for s in &manifest.skipped {
                eprintln!(
                    "  skipped {} ({}): not a file lightningd needs copied",
                    s.rel.display(),
                    s.kind
                );
            }
            for n in &manifest.notes {
                eprintln!("  note: {n}");
            }
            j.manifest = Some(manifest);
            j.save()?;
        }
        Action::Verify { dst, database } => {
            let m = j
                .manifest
                .as_ref()
                .context("the journal holds no manifest of the copy; run --abort")?;
            let mut bar = Progress::new("verifying", m.bytes());
            let report = verify(m, dst, &mut |n| bar.set(n))?;
            bar.finish();
            let report = report.into_result()?;
            if let Some(db) = database {
                let scratch = j.request.mountpoint.join(".lnraid-integrity-check");
                let i = integrity_check(&dst.join(db), &scratch)?;
                if !i.ok {
                    bail!(
                        "PRAGMA integrity_check on the copied {db} failed: {}",
                        i.problems.join("; ")
                    );
                }
                eprintln!(
                    "  verified {} files, {}; integrity_check ok{}",
                    report.files,
                    crate::types::Bytes(report.bytes),
                    if i.rolled_back_hot_journal {
                        " (after rolling back a hot journal in a scratch copy)"
                    } else {
                        ""
                    }
                );
            }
        }
        Action::Rename { from, to } => {
            if fs::symlink_metadata(from).is_err() && fs::symlink_metadata(to).is_ok() {
                return Ok(()); // done before an interruption
            }
            fs::rename(from, to)
                .with_context(|| format!("renaming {} to {}", from.display(), to.display()))?;
            sync_parent(to);
        }
        Action::Symlink { link, target } => {
            if fs::read_link(link).is_ok_and(|t| t == *target) {
                return Ok(());
            }
            let mut tmp = link.clone().into_os_string();
            tmp.push(".lnraid-link");
            let tmp = std::path::PathBuf::from(tmp);
            if fs::symlink_metadata(&tmp).is_ok_and(|m| m.file_type().is_symlink()) {
                fs::remove_file(&tmp)?;
            }
            std::os::unix::fs::symlink(target, &tmp)
                .with_context(|| format!("creating {}", tmp.display()))?;
            // rename(2) replaces atomically, and refuses to replace a directory: the original
            // can never be clobbered here.
            fs::rename(&tmp, link)
                .with_context(|| format!("putting the symlink at {}", link.display()))?;
            sync_parent(link);
        }
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
            apply_fstab_edit(runner, path, &edit, Some(line))?;
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
    }
    Ok(())
}

/// The command as it runs when its step is resumed after an interruption: a mkfs killed
/// mid-way left our half-made filesystem (the re-check allows only that), which mkfs refuses
/// without `-f`. The resumed plan is printed through this too, so it shows what will run.
pub(crate) fn resumed_cmd(cmd: &crate::exec::Cmd, resumed: bool) -> crate::exec::Cmd {
    let mut cmd = cmd.clone();
    if resumed && cmd.program == "mkfs.btrfs" {
        cmd.args.insert(0, "-f".into());
    }
    cmd
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

/// True when `mp` is a mountpoint now.
fn is_mounted_here(mp: &Path) -> Result<bool> {
    let mounts = read_mounts(Path::new(PID1_MOUNTINFO))?;
    Ok(mounts.iter().any(|m| m.mountpoint == mp))
}

/// Removes a partial copy left by an interrupted run — only ours: directly below the array's
/// mountpoint, with our partial prefix, and only while the array is mounted there.
fn remove_partial(dst: &Path, mountpoint: &Path) -> Result<()> {
    let ours = dst.parent() == Some(mountpoint)
        && dst
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(".lnraid-partial-"))
        && is_mounted_here(mountpoint)?;
    if !ours {
        bail!(
            "{} exists and is not lnraid's partial copy; refusing to remove it",
            dst.display()
        );
    }
    eprintln!(
        "  removing the partial copy of the interrupted run ({})",
        dst.display()
    );
    fs::remove_dir_all(dst).with_context(|| format!("removing {}", dst.display()))
}

fn sync_parent(p: &Path) {
    if let Some(d) = p.parent() {
        let _ = fs::File::open(d).and_then(|f| f.sync_all());
    }
}

/// Re-probes the devices right before a destructive step: still the same disks (size, model,
/// serial), still eligible. On a resumed mkfs, our own half-made filesystem is accepted.
fn recheck_devices(j: &Journal, runner: &dyn Runner, resumed: bool) -> Result<()> {
    let r = &j.request;
    let resolved = r
        .devices
        .iter()
        .map(|d| resolve_device(d.as_path()))
        .collect::<Result<Vec<_>, _>>()?;
    let snap = probe_snapshot(runner, &ProbeSources::default())?;
    let ctx = PolicyContext::new(Some(&r.lightning_dir));
    let mut problems = Vec::new();
    for ((res, verdict), id) in resolved
        .iter()
        .zip(classify_request(&resolved, &snap, &ctx))
        .zip(&r.identities)
    {
        match snap.device_by_num(res.devnum) {
            Some(b) if b.size.0 == id.size && b.model == id.model && b.serial == id.serial => {}
            _ => problems.push(format!(
                "{} is no longer the device that was confirmed",
                res.path
            )),
        }
        for refusal in verdict.refusals {
            let ours = matches!(&refusal, Refusal::Filesystem { fstype, uuid, .. }
                if resumed && fstype == "btrfs" && uuid.as_deref() == Some(r.fs_uuid.as_str()));
            if !(ours || r.wipe && refusal.overridable_by_wipe()) {
                problems.push(format!("{}: {}", res.path, refusal.message()));
            }
        }
    }
    if !problems.is_empty() {
        bail!(
            "the devices changed since the plan was confirmed; nothing was destroyed:\n  {}",
            problems.join("\n  ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::Cmd;

    #[test]
    fn only_a_resumed_mkfs_gets_force() {
        let mkfs = Cmd::mutating("mkfs.btrfs", ["-U", "u", "/dev/loop1"]);
        assert_eq!(resumed_cmd(&mkfs, false), mkfs);
        assert_eq!(
            resumed_cmd(&mkfs, true).to_string(),
            "mkfs.btrfs -f -U u /dev/loop1"
        );
        let mount = Cmd::mutating("mount", ["/dev/loop1", "/mnt"]);
        assert_eq!(resumed_cmd(&mount, true), mount);
    }
}
