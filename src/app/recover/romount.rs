//! The private read-only mount md's `recover` reads through, and the guard that undoes it
//! (btrfs recover is a walked plan: src/backend/btrfs/recover/plan.rs).
//!
//! Read-only by construction and checked after the fact (`statvfs` `ST_RDONLY`): the
//! dm-snapshot overlay is mounted `ro`; an array that is already mounted is bind-mounted
//! `ro`, so not even an access time reaches it.
//! The guard unmounts with a bounded retry and removes the mountpoint directory only after a
//! successful unmount, only if it created it, and never recursively (STYLE rule 18: a
//! recursive removal after a failed unmount deletes the data inside the mount). It runs on
//! every exit path, errors included (`Drop`).

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::exec::{Cmd, Runner};
use crate::recover::mountpoint::{run_base, umount_cmd};

const UNMOUNT_TRIES: u32 = 5;

/// A read-only mount lnraid made, unmounted (and its directory removed) on drop.
pub struct ReadOnlyMount<'r> {
    runner: &'r dyn Runner,
    path: PathBuf,
    done: bool,
}

impl<'r> ReadOnlyMount<'r> {
    /// Creates a fresh, empty, private (0700) mountpoint and runs `make(mountpoint)` on it.
    /// On any failure the mountpoint is unmounted if needed and removed.
    pub fn new(runner: &'r dyn Runner, make: impl Fn(&Path) -> Cmd) -> Result<ReadOnlyMount<'r>> {
        let base = run_base();
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&base)
            .with_context(|| format!("creating {}", base.display()))?;
        // `keep()`: a TempDir would remove recursively on drop, inside a still-mounted tree.
        let path = tempfile::Builder::new()
            .prefix("recover-")
            .tempdir_in(&base)
            .with_context(|| format!("creating a mountpoint in {}", base.display()))?
            .keep();
        let guard = ReadOnlyMount {
            runner,
            path,
            done: false,
        };
        let cmd = make(&guard.path);
        tracing::info!("  $ {cmd}");
        runner.run_ok(&cmd)?;
        guard.check_read_only()?;
        Ok(guard)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Refuses to go on unless the mount is really read-only (an old `mount --bind -o ro`
    /// silently made a read-write bind).
    fn check_read_only(&self) -> Result<()> {
        let st = nix::sys::statvfs::statvfs(&self.path)
            .with_context(|| format!("statvfs {}", self.path.display()))?;
        if !st.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY) {
            bail!(
                "{} is mounted read-write although lnraid asked for read-only; unmounting without reading anything",
                self.path.display()
            );
        }
        Ok(())
    }

    fn is_mounted(&self) -> bool {
        let text = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        crate::probe::mounts::parse_mountinfo(&text)
            .map(|ms| ms.iter().any(|m| m.mountpoint == self.path))
            .unwrap_or(true) // unknown: try to unmount, and keep the directory if that fails
    }

    /// Unmounts (bounded retry: a scan or an indexer may briefly hold it) and removes the
    /// empty mountpoint. Errors name the one command to run by hand.
    pub fn unmount(mut self) -> Result<PathBuf> {
        self.done = true;
        self.release()?;
        Ok(self.path.clone())
    }

    fn release(&self) -> Result<()> {
        let cmd = umount_cmd(&self.path);
        let mut last = None;
        for attempt in 1..=UNMOUNT_TRIES {
            if !self.is_mounted() {
                last = None;
                break;
            }
            match self.runner.run_ok(&cmd) {
                Ok(_) => {
                    last = None;
                    break;
                }
                Err(e) => last = Some(e),
            }
            std::thread::sleep(Duration::from_millis(200 * u64::from(attempt)));
        }
        if let Some(e) = last {
            bail!(
                "could not unmount {} ({e}); it is read-only, so nothing is at risk: run `{cmd}` and then `rmdir {}`",
                self.path.display(),
                crate::exec::quote_path(&self.path)
            );
        }
        // Non-recursive: fails (and leaves it) unless the directory is empty.
        fs::remove_dir(&self.path).with_context(|| format!("removing {}", self.path.display()))
    }
}

impl Drop for ReadOnlyMount<'_> {
    fn drop(&mut self) {
        if !self.done {
            if let Err(e) = self.release() {
                tracing::warn!("{e:#}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_mount_leaves_nothing() {
        if !nix::unistd::Uid::effective().is_root() {
            println!(
                "SKIPPED: failed_mount_leaves_nothing: needs root to create {}",
                crate::recover::mountpoint::RUN_DIR
            );
            return;
        }
        let runner = crate::exec::FakeRunner::new();
        let seen = std::cell::RefCell::new(None);
        let r = ReadOnlyMount::new(&runner, |mp| {
            *seen.borrow_mut() = Some(mp.to_path_buf());
            Cmd::mutating("mount", ["-t", "btrfs"]).arg(mp.to_string_lossy().into_owned())
        });
        assert!(r.is_err(), "the fake runner has no reply: the mount fails");
        let mp = seen.borrow().clone().unwrap();
        assert!(mp.starts_with(run_base()));
        assert!(!mp.exists(), "the mountpoint it created is removed");
    }
}
