//! md recover's mechanics (hook of the recover helper, kept out of apply.rs): each action
//! re-proves right before (the survivor's event count, the origin's size, the loop device's
//! backing file) and is idempotent (a teardown undoes only what is there). Commands go through
//! the runner; the read-only queries (`mdadm --examine`, `blockdev --getsz`, `dmsetup info`,
//! `losetup -O BACK-FILE`, `mdadm --detail`) never change anything.
//!
//! May not: force an assembly, write to the survivor, detach a loop device backed by another
//! file, or remove a file that is not the plan's own.

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{bail, Context, Result};

use super::Walker;
use crate::backend::md::recover::{OVERLAY_NAME, RECOVER_NAME};
use crate::backend::md::recover_action::MdRecoverAction as M;
use crate::exec::Cmd;
use crate::types::DevPath;

pub fn apply(w: &Walker, a: &M) -> Result<()> {
    match a {
        M::Assemble { survivor, events } => {
            let now = events_now(w, survivor)?;
            if now != *events {
                bail!("{survivor} now shows events {now}, not {events} as when the plan was made: something wrote to it; nothing was assembled, rerun lnraid recover");
            }
            run(w, a)
        }
        M::NewFile { path, bytes } => new_file(path, *bytes),
        M::Overlay {
            origin, sectors, ..
        } => {
            let out = w.runner.run_ok(&Cmd::read_only(
                "blockdev",
                ["--getsz", &origin.to_string()],
            ))?;
            let now: u64 = out.stdout.trim().parse().with_context(|| {
                format!(
                    "blockdev --getsz {origin}: unreadable size {:?}",
                    out.stdout.trim()
                )
            })?;
            if now != *sectors {
                bail!("{origin} has {now} sectors, not {sectors} as planned: not the array the plan was made for; no overlay made");
            }
            run(w, a)
        }
        M::RemoveOverlay => {
            let info = Cmd::read_only("dmsetup", ["info", OVERLAY_NAME]);
            if w.runner.output(&info).is_ok_and(|o| o.status.success()) {
                run(w, a)?;
            }
            Ok(())
        }
        M::DetachLoop { loopdev, file } => {
            let q = Cmd::read_only(
                "losetup",
                ["--noheadings", "--output", "BACK-FILE", loopdev],
            );
            let back = match w.runner.output(&q) {
                Ok(o) if o.status.success() => o.stdout.trim().to_string(),
                _ => String::new(),
            };
            if backed_by(&back, file) {
                run(w, a)?;
            } else if !back.is_empty() {
                tracing::warn!(
                    "{loopdev} is backed by {back}, not by {}: left alone",
                    file.display()
                );
            }
            Ok(())
        }
        M::RemoveFile { path } => match fs::remove_file(path) {
            Err(e) if e.kind() != ErrorKind::NotFound => {
                Err(e).with_context(|| format!("removing {}", path.display()))
            }
            _ => Ok(()),
        },
        M::StopAssembly => {
            let link = crate::backend::md::array_path(RECOVER_NAME);
            let q = Cmd::read_only("mdadm", ["--detail", link.as_str()]);
            if w.runner.output(&q).is_ok_and(|o| o.status.success()) {
                run(w, a)?;
            }
            // Without udev nothing removes the link (scripts/vm/README.md pitfalls).
            match fs::symlink_metadata(&link) {
                Ok(m) if m.file_type().is_symlink() => {
                    fs::remove_file(&link).with_context(|| format!("removing {link}"))
                }
                _ => Ok(()),
            }
        }
    }
}

fn run(w: &Walker, a: &M) -> Result<()> {
    let cmd = a.command().expect("this md recover action has a command");
    w.runner.run_ok(&cmd)?;
    Ok(())
}

fn events_now(w: &Walker, dev: &DevPath) -> Result<u64> {
    let out = w.runner.run_ok(&crate::probe::mdadm::examine_cmd(dev))?;
    let e = crate::probe::mdadm::parse_examine(&out.stdout)?;
    e.events
        .as_deref()
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("mdadm --examine {dev} shows no event count"))
}

/// A new file (never an existing one), 0600 from the first byte, `bytes` sparse.
fn new_file(path: &Path, bytes: u64) -> Result<()> {
    let f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.set_len(bytes)
        .with_context(|| format!("sizing {}", path.display()))?;
    f.sync_all()?;
    Ok(())
}

/// Whether losetup's BACK-FILE names `file` (it prints the kernel's path, maybe `(deleted)`).
fn backed_by(back: &str, file: &Path) -> bool {
    let back = back.trim_end_matches(" (deleted)");
    !back.is_empty()
        && (Path::new(back) == file || fs::canonicalize(file).is_ok_and(|c| c == Path::new(back)))
}
