//! `lnraid recover`: a member died; copy the node's state off the survivor onto new media.
//!
//! Phases: checks (root, arguments, DEST, the array found by filesystem UUID, no running
//! node) → the backend's plan (btrfs: src/backend/btrfs/recover/plan.rs — register members,
//! read-only mount proven read-only, copy-out verified with its MANIFEST, unmount; md:
//! src/backend/md/recover_plan.rs — read-only assembly, dm-snapshot overlay or confirmed image,
//! the same mount proof and copy-out, unmount, teardown), printed
//! (the dry run stops there) and walked by the one executor with a journal
//! (`<state dir>/recover-journal.json`) → next steps. Every refusal comes before the first
//! mount. A walk that fails is cleaned up at once (unmount, empty mountpoint removed); one
//! killed is cleaned up by the next run (its journal and its leftover mount).
//!
//! May not: mount the array read-write, write below the mount, remove anything it did not
//! create, or print `hsm_secret` (nor its hash). See DESIGN §4 for the tree-log trade-off.

mod journal;
mod md;
mod md_image;
mod report;
mod say;

use std::fs;
use std::path::Path;

use anyhow::Result;

use super::{exit, Refused};
use crate::backend::btrfs::recover::discover::{self, ArrayFound};
use crate::backend::btrfs::recover::{dest as bdest, leftover, plan::plan_recover};
use crate::cli::RecoverArgs;
use crate::exec::Runner;
use crate::host::Lock;
use crate::probe::procs::processes_using;
use crate::recover::copyout::{copied_of, read_manifest};
use crate::recover::dest::Dest;
use crate::recover::select::validate_dir_name;
use crate::recover::{DATABASE, HSM_SECRET};
use crate::ui::sanitize_multiline;

pub fn run(args: &RecoverArgs, runner: &dyn Runner) -> Result<i32> {
    if !nix::unistd::Uid::effective().is_root() {
        return Err(Refused(vec![
            "lnraid recover must run as root: it reads block devices and mounts the array".into(),
        ])
        .into());
    }
    if let Some(n) = &args.lightning_dir_name {
        validate_dir_name(n).map_err(|e| Refused(vec![e]))?;
    }
    let dest = Dest::new(&args.to)?;
    let _lock = if args.dry_run {
        None
    } else {
        Some(Lock::try_acquire(&args.lock_dir, "lnraid.lock")?)
    };
    // Before anything is probed: a killed recover's mount would pose as "already mounted".
    journal::clean_interrupted(runner, &args.state_dir, args.dry_run)?;
    leftover::clean_leftovers(runner, args.dry_run)?;
    // The backend holding the array decides how it is read (the one match is in backend::).
    if let Some((device, uuid, mp)) = md_array(runner)? {
        return md::run(args, runner, device, uuid, &mp, &dest);
    }
    let array = discover::discover(args, runner)?;
    bdest::check_dest(&dest, &array, &bdest::default_names())?;
    say::print_array(&array);
    refuse_running_before_mount(&array, &args.state_dir)?;
    let mp = crate::recover::mountpoint::fresh_mountpoint();
    let plan = plan_recover(
        &array,
        &dest.path,
        args.lightning_dir_name.as_deref(),
        args.all,
        &mp,
    );
    print!("\n{}", sanitize_multiline(&crate::plan::render_plan(&plan)));
    if array.existing.is_none() {
        println!("\n{}", report::LOG_REPLAY_NOTE);
    }
    if args.dry_run {
        println!("\n(dry run: nothing was mounted or copied)");
        return Ok(exit::OK);
    }
    println!();
    journal::walk_recover(
        runner,
        &args.state_dir,
        &array.choice.uuid,
        &dest.path,
        &plan,
    )?;
    finish(&dest.path, &mp, &array)
}

/// The closing report, from the MANIFEST the walk wrote.
fn finish(dest: &Path, mp: &Path, array: &ArrayFound) -> Result<i32> {
    let manifest = read_manifest(dest)?;
    let copied = copied_of(&manifest);
    say::print_result(dest, &copied, &manifest, mp, array);
    print!(
        "{}",
        sanitize_multiline(&report::next_steps(
            dest,
            &manifest.source_dir,
            &manifest.array.missing_devids,
            array.existing.is_some()
        ))
    );
    // What was copied stays (verified, in the MANIFEST), but a recovery without the database
    // or hsm_secret cannot restore the node: say so in the exit code, not only in a line.
    let essential: Vec<&str> = copied
        .not_copied
        .iter()
        .filter(|n| n.path == DATABASE || n.path == HSM_SECRET)
        .map(|n| n.path.as_str())
        .collect();
    if !essential.is_empty() {
        tracing::error!(
            "the recovery is incomplete: {} could not be copied (see above); the node cannot be restored from {} alone",
            essential.join(" and "),
            dest.display()
        );
        return Ok(exit::FAILURE);
    }
    Ok(exit::OK)
}

/// Before anything is mounted: a lightningd on the array's existing mount, or on the node
/// directory setup recorded for it, means the node is running — a copy would be torn, and
/// two copies could both be started as the node.
fn refuse_running_before_mount(array: &ArrayFound, state_dir: &Path) -> Result<()> {
    let mut dirs: Vec<std::path::PathBuf> = Vec::new();
    if let Some(ex) = &array.existing {
        dirs.push(ex.mountpoint.clone());
    }
    // Unreadable (damaged, another version): the existing mount is still checked.
    if let Ok(Some(r)) = crate::records::setup_done(state_dir, &array.choice.uuid) {
        dirs.push(r.lightning_dir);
    }
    let mut problems = Vec::new();
    for d in &dirs {
        let dir = fs::canonicalize(d).unwrap_or_else(|_| d.clone());
        for p in processes_using(&dir) {
            problems.push(format!(
                "{} (pid {}) is running on the array ({}): stop it first; nothing was mounted",
                p.name, p.pid, p.why
            ));
        }
    }
    problems.dedup();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Refused(problems).into())
    }
}

/// An md array lnraid manages: its device (when assembled), filesystem UUID, mountpoint.
type MdTarget = (
    Option<crate::types::DevPath>,
    Option<crate::types::FsUuid>,
    std::path::PathBuf,
);

/// The md array lnraid manages, when the fstab's lnraid line is on md.
fn md_array(runner: &dyn Runner) -> Result<Option<MdTarget>> {
    // recover has no --fstab: the fstab is the one status reads (LNRAID_FSTAB or /etc/fstab).
    let env = |k: &str, d: &str| {
        std::env::var_os(k)
            .map(Into::into)
            .unwrap_or_else(|| std::path::PathBuf::from(d))
    };
    let ctx = crate::status::gather::GatherCtx {
        fstab: env("LNRAID_FSTAB", "/etc/fstab"),
        state_dir: env("LNRAID_STATE_DIR", "/var/lib/lnraid"),
        sys_root: "/sys".into(),
        lightning_dir: None,
    };
    let list = crate::status::gather::targets(&ctx, None)?;
    let [t] = list.as_slice() else {
        return Ok(None);
    };
    Ok(match crate::backend::locate(runner, &ctx, t) {
        crate::backend::Located::Md { device, fs_uuid } => {
            Some((device, fs_uuid, t.mountpoint.clone()))
        }
        crate::backend::Located::Btrfs { .. } => None,
    })
}
