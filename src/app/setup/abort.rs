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
use crate::probe::snapshot::{
    probe_exclusive, probe_snapshot, resolve_device, Exclusive, ProbeSources,
};

/// One undo step, computed from the journal before anything changes, so `--abort --dry-run`
/// can print exactly what `--abort` will do.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Undo {
    Schedule,
    DropIn,
    FstabLine,
    RestoreDir,
    Umount,
    Mountpoint {
        remove: bool,
    },
    /// Forget and wipe the devices that carry the new filesystem (and only those).
    Erase {
        devices: Vec<String>,
    },
}

fn plan_undo(j: &Journal) -> Vec<Undo> {
    let r = &j.request;
    let touched = |id: &str| j.is_completed(id) || j.started.as_deref() == Some(id);
    let mut v = Vec::new();
    // First, so no timer starts a scrub or balance on the array being taken apart.
    if r.schedule.is_some() && touched("schedule") {
        v.push(Undo::Schedule);
    }
    if r.dropin.is_some() && touched("boot-safety") {
        v.push(Undo::DropIn);
    }
    if touched("fstab") {
        v.push(Undo::FstabLine);
    }
    v.push(Undo::RestoreDir);
    if touched("mount") {
        v.push(Undo::Umount);
    }
    if touched("mountpoint") {
        v.push(Undo::Mountpoint {
            remove: !r.mountpoint_existed,
        });
    }
    if touched("mkfs") {
        v.push(Undo::Erase {
            devices: r.devices.iter().map(|d| d.to_string()).collect(),
        });
    }
    v
}

fn describe(u: &Undo, j: &Journal) -> String {
    let r = &j.request;
    let mp = r.mountpoint.display();
    let mp_q = crate::exec::quote_path(&r.mountpoint);
    match u {
        Undo::Schedule => "remove the schedule files setup installed (restoring any it replaced)".into(),
        Undo::DropIn => format!("remove the systemd drop-in {}", r.dropin.as_ref().map(|d| d.display().to_string()).unwrap_or_default()),
        Undo::FstabLine => format!("remove lnraid's line for {mp} from {}", r.fstab.display()),
        Undo::RestoreDir => format!("make {} the original directory again (from {} if it was moved)", r.lightning_dir.display(), r.aside().display()),
        Undo::Umount => format!("$ umount {mp_q} (if mounted)"),
        Undo::Mountpoint { remove } => format!("$ chattr -i {mp_q}{}", if *remove { "; remove the empty directory" } else { "" }),
        Undo::Erase { devices } => format!(
            "[DESTRUCTIVE] $ btrfs device scan --forget {0}; $ wipefs --all on each of {0} that still carries filesystem {1} \
             (it holds only a copy; a device carrying anything else is left untouched)",
            devices.join(" "),
            r.fs_uuid
        ),
    }
}

/// Undoes an interrupted setup. `dry_run` prints the undo plan and changes nothing; erasing the
/// new filesystem needs the operator's confirmation (`yes`, or a terminal).
pub fn abort(j: &mut Journal, runner: &dyn Runner, dry_run: bool, yes: bool) -> Result<i32> {
    let steps = plan_undo(j);
    println!(
        "lnraid setup --abort: undo the interrupted setup of {}",
        j.request.lightning_dir.display()
    );
    for (i, u) in steps.iter().enumerate() {
        println!("{:>2}. {}", i + 1, crate::ui::sanitize(&describe(u, j)));
    }
    if dry_run {
        println!("\n(dry run: nothing was changed)");
        return Ok(crate::app::exit::OK);
    }
    if let Some(Undo::Erase { devices }) = steps.iter().find(|u| matches!(u, Undo::Erase { .. })) {
        let summary = format!(
            "\nThe new filesystem {} on {} will be erased.\n",
            j.request.fs_uuid,
            devices.join(", ")
        );
        if !crate::ui::confirm::confirm_destruction(&summary, yes)? {
            return Err(
                crate::app::Refused(vec!["not confirmed; nothing was changed".into()]).into(),
            );
        }
    }
    for u in &steps {
        apply(u, j, runner)?;
    }
    j.state = JournalState::Aborted;
    j.started = None;
    j.save()?;
    let archived = j.archive()?;
    say(&format!(
        "setup aborted; {} is as it was. Record: {}",
        j.request.lightning_dir.display(),
        archived.display()
    ));
    Ok(crate::app::exit::OK)
}

fn apply(u: &Undo, j: &Journal, runner: &dyn Runner) -> Result<()> {
    let r = &j.request;
    match u {
        Undo::Schedule => {
            if let Some(s) = &r.schedule {
                crate::app::schedule::undo_setup(s, runner)?;
            }
        }
        Undo::DropIn => {
            let Some(dropin) = &r.dropin else {
                return Ok(());
            };
            if fs::read_to_string(dropin).is_ok_and(|c| c == dropin_content(&r.mountpoint)) {
                remove_file_synced(dropin)?;
                say(&format!("removed {}", dropin.display()));
                if r.daemon_reload {
                    runner.run_ok(&Cmd::mutating("systemctl", ["daemon-reload"]))?;
                }
            }
        }
        Undo::FstabLine => {
            let current = fs::read_to_string(&r.fstab).unwrap_or_default();
            let edit = plan_fstab_removal(&current, &r.mountpoint)?;
            apply_fstab_edit(runner, &r.fstab, &edit, None)?;
            if edit.changed {
                say(&format!("removed lnraid's line from {}", r.fstab.display()));
            }
        }
        Undo::RestoreDir => restore_dir(j)?,
        Undo::Umount => {
            if is_mountpoint(&r.mountpoint)? {
                umount(runner, &r.mountpoint)?;
                say(&format!("unmounted {}", r.mountpoint.display()));
            }
        }
        Undo::Mountpoint { remove } => {
            if r.mountpoint.is_dir() {
                runner.run_ok(&Cmd::mutating(
                    "chattr",
                    ["-i", &r.mountpoint.to_string_lossy()],
                ))?;
                if *remove && fs::remove_dir(&r.mountpoint).is_ok() {
                    say(&format!(
                        "removed the mountpoint {}",
                        r.mountpoint.display()
                    ));
                }
            }
        }
        Undo::Erase { devices } => erase(j, devices, runner)?,
    }
    Ok(())
}

/// Wipes only what is provably ours: the same disk that was confirmed (size, model, serial),
/// not held by anyone (`O_EXCL`), carrying our filesystem UUID. A blank device needs nothing;
/// a device carrying anything else is left alone and reported.
fn erase(j: &Journal, devices: &[String], runner: &dyn Runner) -> Result<()> {
    let r = &j.request;
    let forget = Cmd::mutating("btrfs", ["device", "scan", "--forget"])
        .args_from(devices.iter().map(String::as_str));
    // Forgetting fails for a device btrfs no longer knows; that is fine, the wipe decides.
    let _ = runner.output(&forget);
    if r.identities.len() != devices.len() {
        bail!("the journal's device identities do not match its devices; erase nothing (wipe them by hand if you are sure)");
    }
    let snap = probe_snapshot(runner, &ProbeSources::default())?;
    let mut left = Vec::new();
    for (d, id) in devices.iter().zip(&r.identities) {
        let res = resolve_device(Path::new(d))?;
        let same = snap
            .device_by_num(res.devnum)
            .is_some_and(|b| b.size.0 == id.size && b.model == id.model && b.serial == id.serial);
        let free = probe_exclusive(res.path.as_path()) == Exclusive::Free;
        let carries = snap.identity(&res.path).cloned().unwrap_or_default();
        if carries.is_blank() && same {
            continue;
        }
        let ours = carries.fstype.as_deref() == Some("btrfs")
            && carries.uuid.as_deref() == Some(r.fs_uuid.as_str());
        if !(same && free && ours) {
            left.push(format!(
                "{d}: {} — left untouched",
                if !same {
                    "no longer the confirmed device".to_string()
                } else if !free {
                    "in use".to_string()
                } else {
                    format!(
                        "carries {:?} {:?}, not lnraid's filesystem",
                        carries.fstype, carries.uuid
                    )
                }
            ));
            continue;
        }
        runner.run_ok(&Cmd::mutating("wipefs", ["--all", d.as_str()]))?;
        say(&format!(
            "erased lnraid's new filesystem on {d} (it held only a copy)"
        ));
    }
    if !left.is_empty() {
        bail!("{}", left.join("; "));
    }
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
