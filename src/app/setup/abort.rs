//! `lnraid setup --abort`: undo an interrupted setup. Order matters: the node's directory is
//! put back first, and the new array is released and erased only once the original is in
//! place — the array then held nothing but a copy, and erasing it means there is never a
//! second usable copy of the node's state lying around.

use std::fs;
use std::path::Path;

use anyhow::{bail, Context, Result};

use super::journal::{Journal, JournalState};
use crate::config::atomic::remove_file_synced;
use crate::config::fstab_edit::{apply_fstab_edit, plan_fstab_removal};
use crate::exec::{Cmd, Runner};
use crate::plan::setup::dropin_content;
use crate::probe::mounts::{read_mounts, PID1_MOUNTINFO};

pub fn abort(j: &mut Journal, runner: &dyn Runner) -> Result<()> {
    let r = j.request.clone();
    let touched = |id: &str| j.is_completed(id) || j.started.as_deref() == Some(id);
    // First, so no timer starts a scrub or balance on the array being taken apart.
    if let Some(s) = r.schedule.as_ref().filter(|_| touched("schedule")) {
        crate::app::schedule::undo_setup(s, runner)?;
    }
    if let Some(dropin) = r.dropin.as_ref().filter(|_| touched("boot-safety")) {
        if fs::read_to_string(dropin).is_ok_and(|c| c == dropin_content(&r.mountpoint)) {
            remove_file_synced(dropin)?;
            say(&format!("removed {}", dropin.display()));
            if r.daemon_reload {
                runner.run_ok(&Cmd::mutating("systemctl", ["daemon-reload"]))?;
            }
        }
    }
    if touched("fstab") {
        let current = fs::read_to_string(&r.fstab).unwrap_or_default();
        let edit = plan_fstab_removal(&current, &r.mountpoint)?;
        apply_fstab_edit(runner, &r.fstab, &edit, None)?;
        if edit.changed {
            say(&format!("removed lnraid's line from {}", r.fstab.display()));
        }
    }
    restore_dir(j)?;
    if touched("mount") && is_mountpoint(&r.mountpoint)? {
        umount(runner, &r.mountpoint)?;
        say(&format!("unmounted {}", r.mountpoint.display()));
    }
    if touched("mountpoint") && r.mountpoint.is_dir() {
        runner.run_ok(&Cmd::mutating(
            "chattr",
            ["-i", &r.mountpoint.to_string_lossy()],
        ))?;
        if !r.mountpoint_existed && fs::remove_dir(&r.mountpoint).is_ok() {
            say(&format!(
                "removed the mountpoint {}",
                r.mountpoint.display()
            ));
        }
    }
    if touched("mkfs") {
        let devs: Vec<String> = r.devices.iter().map(|d| d.to_string()).collect();
        runner.run_ok(
            &Cmd::mutating("btrfs", ["device", "scan", "--forget"])
                .args_from(devs.iter().map(String::as_str)),
        )?;
        for d in &devs {
            runner.run_ok(&Cmd::mutating("wipefs", ["--all", d.as_str()]))?;
        }
        say(&format!(
            "erased the new filesystem (it held only a copy) and released {}",
            devs.join(", ")
        ));
    }
    j.state = JournalState::Aborted;
    j.started = None;
    j.save()?;
    let archived = j.archive()?;
    say(&format!(
        "setup aborted; {} is as it was. Record: {}",
        r.lightning_dir.display(),
        archived.display()
    ));
    Ok(())
}

/// Puts `$LIGHTNINGDIR` back as the real directory, or proves it never left.
fn restore_dir(j: &Journal) -> Result<()> {
    let r = &j.request;
    let dir = &r.lightning_dir;
    let link = fs::symlink_metadata(dir).ok();
    if link.as_ref().is_some_and(|m| m.file_type().is_symlink()) {
        let target = fs::read_link(dir)?;
        if target != r.new_home() {
            bail!(
                "{} is a symlink to {}, which lnraid did not create; resolve it by hand",
                dir.display(),
                target.display()
            );
        }
        fs::remove_file(dir).with_context(|| format!("removing the symlink {}", dir.display()))?;
    }
    // A symlink left by a crash between creating and renaming it.
    let mut tmp = dir.clone().into_os_string();
    tmp.push(".lnraid-link");
    let _ = fs::remove_file(&tmp);
    if fs::symlink_metadata(dir).is_err() {
        let aside = r.aside();
        if !aside.is_dir() {
            bail!(
                "neither {} nor {} exists; not erasing the array, which may hold the only copy",
                dir.display(),
                aside.display()
            );
        }
        fs::rename(&aside, dir)
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

fn is_mountpoint(p: &Path) -> Result<bool> {
    Ok(read_mounts(Path::new(PID1_MOUNTINFO))?
        .iter()
        .any(|m| m.mountpoint == p))
}

/// Unmounts with a bounded retry (a just-closed file can keep the filesystem busy briefly).
fn umount(runner: &dyn Runner, p: &Path) -> Result<()> {
    let cmd = Cmd::mutating("umount", [p.to_string_lossy().as_ref()]);
    let mut last = None;
    for attempt in 0..5u64 {
        match runner.run_ok(&cmd) {
            Ok(_) => return Ok(()),
            Err(e) => last = Some(e),
        }
        std::thread::sleep(std::time::Duration::from_millis(200 * (attempt + 1)));
    }
    Err(last.expect("at least one attempt")).context("unmounting the array")
}

fn say(s: &str) {
    println!("{}", crate::ui::sanitize(s));
}
