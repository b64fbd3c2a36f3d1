//! The executor's read-only view of the machine, behind a trait so the executor's safety
//! rules are tested without root ([`Machine`] scripted in the tests, [`RealMachine`] here).
//! Every device read that decides a destruction — `blkid -p`, `lsblk` — still goes through the
//! [`Runner`], so the fake runner's log shows each re-proof right before its destructive step.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::exec::Runner;
use crate::probe::blkid::Identity;
use crate::probe::mounts::{read_mounts, PID1_MOUNTINFO};
use crate::probe::procs::{processes_using, UsingProcess};
use crate::probe::snapshot::{
    probe_exclusive, probe_snapshot, resolve_device, Exclusive, ProbeSources, Resolved, Snapshot,
};
use crate::types::DevPath;

pub trait Machine {
    /// Resolves a device path as the operator gave it (symlinks followed, device number read).
    fn resolve(&self, given: &Path) -> Result<Resolved>;
    /// One fresh snapshot (lsblk, `blkid -p` of every device, mounts, `O_EXCL` opens).
    fn snapshot(&self, runner: &dyn Runner) -> Result<Snapshot>;
    /// Ids of `dev` that survive re-enumeration (see [`crate::plan::Target::stable_ids`]).
    fn stable_ids(&self, dev: &DevPath, id: Option<&Identity>) -> Vec<String>;
    /// Opens `dev` with `O_EXCL` now.
    fn exclusive(&self, dev: &DevPath) -> Exclusive;
    /// Processes that hold `dev` open (`pid name`), for the "in use" message.
    fn holders(&self, dev: &DevPath) -> Vec<String>;
    fn is_mounted(&self, mountpoint: &Path) -> Result<bool>;
    /// `lightningd` processes that use `dir`.
    fn node_users(&self, dir: &Path) -> Vec<UsingProcess>;
    /// Whether the filesystem mounted at `mountpoint` is read-only now (`statvfs`
    /// `ST_RDONLY`): recover reads nothing through a mount it cannot prove read-only.
    fn is_read_only(&self, mountpoint: &Path) -> Result<bool> {
        let st = nix::sys::statvfs::statvfs(mountpoint)
            .map_err(|e| anyhow::anyhow!("statvfs {}: {e}", mountpoint.display()))?;
        Ok(st.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY))
    }
    /// Where loop devices' backing files are read (`<kname>/loop/backing_file`).
    fn sys_block(&self) -> PathBuf {
        PathBuf::from("/sys/block")
    }
    /// The UUID of the btrfs holding `path` (`BTRFS_IOC_FS_INFO`); `None` when it is not on
    /// btrfs. hotcopy's re-proof before it deletes a partial subvolume.
    fn btrfs_uuid(&self, path: &Path) -> Result<Option<String>> {
        if !crate::hotcopy::dest::is_btrfs(path)? {
            return Ok(None);
        }
        crate::hotcopy::ioctl::fs_uuid(path).map(Some)
    }
}

/// The machine itself.
pub struct RealMachine;

impl Machine for RealMachine {
    fn resolve(&self, given: &Path) -> Result<Resolved> {
        Ok(resolve_device(given)?)
    }

    fn snapshot(&self, runner: &dyn Runner) -> Result<Snapshot> {
        probe_snapshot(runner, &ProbeSources::default())
    }

    fn stable_ids(&self, dev: &DevPath, id: Option<&Identity>) -> Vec<String> {
        stable_ids(dev, id)
    }

    fn exclusive(&self, dev: &DevPath) -> Exclusive {
        probe_exclusive(dev.as_path())
    }

    fn holders(&self, dev: &DevPath) -> Vec<String> {
        holders(dev.as_path())
    }

    fn is_mounted(&self, mountpoint: &Path) -> Result<bool> {
        Ok(read_mounts(Path::new(PID1_MOUNTINFO))?
            .iter()
            .any(|m| m.mountpoint == mountpoint))
    }

    fn node_users(&self, dir: &Path) -> Vec<UsingProcess> {
        let canon = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        processes_using(&canon)
    }
}

/// `/dev/disk/by-id` links to `dev`, its WWN, its partition UUID, a loop device's backing
/// file: whichever exist. Loop devices, virtio disks and many USB bridges have no serial, so
/// size/model/serial alone cannot tell two such disks apart.
pub fn stable_ids(dev: &DevPath, id: Option<&Identity>) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/dev/disk/by-id") {
        for e in rd.flatten() {
            if std::fs::canonicalize(e.path()).is_ok_and(|p| p == dev.as_path()) {
                out.push(format!("by-id:{}", e.file_name().to_string_lossy()));
            }
        }
    }
    if let Some(k) = dev.kname() {
        let sys = PathBuf::from("/sys/class/block").join(k);
        for (file, tag) in [
            ("device/wwid", "wwid"),
            ("wwid", "wwid"),
            ("loop/backing_file", "loop"),
        ] {
            if let Ok(v) = std::fs::read_to_string(sys.join(file)) {
                let v = v.trim();
                if !v.is_empty() {
                    out.push(format!("{tag}:{v}"));
                }
            }
        }
    }
    if let Some(u) = id.and_then(|i| i.all.get("PART_ENTRY_UUID")) {
        out.push(format!("partuuid:{u}"));
    }
    out.sort();
    out.dedup();
    out
}

/// Processes with `dev` open, found through `/proc/*/fd` (`pid name`).
pub fn holders(dev: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(all) = procfs::process::all_processes() else {
        return out;
    };
    for p in all.flatten() {
        let Ok(fds) = p.fd() else { continue };
        let holds = fds
            .flatten()
            .any(|fd| matches!(&fd.target, procfs::process::FDTarget::Path(t) if t == dev));
        if holds {
            let name = p.stat().map(|s| s.comm).unwrap_or_default();
            out.push(format!("{} (pid {})", name, p.pid));
        }
    }
    out
}
