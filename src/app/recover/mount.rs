//! The private read-only mount `recover` reads through, and the guard that undoes it.
//!
//! Two ways in, both read-only by construction and checked after the fact (`statvfs`
//! `ST_RDONLY`): the unmounted survivor is mounted `ro,degraded` (never read-write); an array
//! that is already mounted is bind-mounted `ro`, so not even an access time reaches it.
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
use crate::types::DevPath;

/// Where temporary mountpoints are made (a tmpfs on most systems: nothing survives a reboot).
pub const RUN_DIR: &str = "/run/lnraid";
/// The name the dry run shows for the mountpoint chosen at run time.
pub const PLACEHOLDER: &str = "recover-XXXXXX";
/// `mount -o` for the survivor.
pub const DEGRADED_OPTIONS: &str = "ro,degraded";

const UNMOUNT_TRIES: u32 = 5;

/// `btrfs device scan <dev>`: registers one named member with the kernel. Never run without a
/// device: with no argument it rescans every device on the machine.
pub fn scan_cmd(dev: &DevPath) -> Cmd {
    Cmd::mutating("btrfs", ["device", "scan"]).arg(dev.to_string())
}

pub fn mount_degraded_cmd(dev: &DevPath, mp: &Path) -> Cmd {
    Cmd::mutating("mount", ["-t", "btrfs", "-o", DEGRADED_OPTIONS])
        .arg(dev.to_string())
        .arg(mp.to_string_lossy().into_owned())
}

pub fn bind_ro_cmd(existing: &Path, mp: &Path) -> Cmd {
    Cmd::mutating("mount", ["--bind", "-o", "ro"])
        .arg(existing.to_string_lossy().into_owned())
        .arg(mp.to_string_lossy().into_owned())
}

pub fn umount_cmd(mp: &Path) -> Cmd {
    Cmd::mutating("umount", [mp.to_string_lossy().into_owned()])
}

/// The directory temporary mountpoints go in: [`RUN_DIR`], or the temp dir where `/run` does
/// not exist (some rescue systems).
pub fn run_base() -> PathBuf {
    if Path::new("/run").is_dir() {
        PathBuf::from(RUN_DIR)
    } else {
        std::env::temp_dir().join("lnraid")
    }
}

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
    fn commands_are_read_only_mounts() {
        let mp = Path::new("/run/lnraid/recover-abc");
        assert_eq!(
            mount_degraded_cmd(&DevPath::new("/dev/sdb"), mp).to_string(),
            "mount -t btrfs -o ro,degraded /dev/sdb /run/lnraid/recover-abc"
        );
        assert_eq!(
            bind_ro_cmd(Path::new("/mnt/lnraid"), mp).to_string(),
            "mount --bind -o ro /mnt/lnraid /run/lnraid/recover-abc"
        );
        assert_eq!(
            scan_cmd(&DevPath::new("/dev/sdb")).to_string(),
            "btrfs device scan /dev/sdb"
        );
        assert_eq!(umount_cmd(mp).to_string(), "umount /run/lnraid/recover-abc");
    }

    #[test]
    fn failed_mount_leaves_nothing() {
        if !nix::unistd::Uid::effective().is_root() {
            println!("SKIPPED: failed_mount_leaves_nothing: needs root to create {RUN_DIR}");
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
