//! The [`Snapshot`]: one read-only picture of the machine, probed once and then handed to the
//! (pure) policy and planner.
//!
//! Nothing here decides anything. Where a probe fails for one device, the failure is kept in
//! the snapshot (the policy refuses a device it could not identify) instead of being dropped;
//! a failure of a machine-wide source (lsblk, mountinfo) fails the whole probe.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;

use super::blkid::{probe_identity, Identity};
use super::btrfs::show::{parse_show, ShowFs};
use super::lsblk::{lsblk_cmd, parse_lsblk, BlockDev};
use super::mdstat::{parse_mdstat_per_array, Mdstat};
use super::mounts::{read_mounts, Mount, PID1_MOUNTINFO};
use super::swaps::{read_swaps, Swap};
use super::sysfs::{BtrfsMounted, SysBlock, Sysfs};
use super::versions::{probe_versions, Versions};
use crate::exec::Runner;
use crate::types::{DevNum, DevPath};

/// What `blkid -p` told about a device, or why it could not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum IdentityProbe {
    Known(Identity),
    Unreadable { error: String },
}

/// The result of opening a device with `O_EXCL`: the kernel's own "is anyone using this".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Exclusive {
    Free,
    Busy,
    Error { error: String },
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Snapshot {
    pub devices: Vec<BlockDev>,
    pub identities: BTreeMap<DevPath, IdentityProbe>,
    pub sys: BTreeMap<DevPath, SysBlock>,
    pub exclusive: BTreeMap<DevPath, Exclusive>,
    pub mounts: Vec<Mount>,
    pub swaps: Vec<Swap>,
    pub btrfs_mounted: Vec<BtrfsMounted>,
    /// Every btrfs filesystem `btrfs filesystem show` knows, mounted or not, with members.
    pub btrfs: Vec<ShowFs>,
    /// `/proc/mdstat`, when the kernel has md.
    pub md: Option<Mdstat>,
    pub versions: Versions,
    /// Sources that could not be read; the snapshot is still usable, the policy is stricter.
    pub warnings: Vec<String>,
}

impl Snapshot {
    /// The md array whose members include `kname`, and whether it is active.
    pub fn md_array_of(&self, kname: &str) -> Option<&super::mdstat::MdArray> {
        self.md
            .as_ref()?
            .arrays
            .iter()
            .find(|a| a.members.iter().any(|m| m.device == kname))
    }

    /// The btrfs filesystem (mounted or not) with a member at `path`.
    pub fn btrfs_of(&self, path: &DevPath) -> Option<&ShowFs> {
        self.btrfs
            .iter()
            .find(|f| f.devices.iter().any(|d| d.path.as_ref() == Some(path)))
    }

    pub fn device(&self, path: &DevPath) -> Option<&BlockDev> {
        self.devices.iter().find(|d| &d.path == path)
    }

    pub fn device_by_num(&self, num: DevNum) -> Option<&BlockDev> {
        self.devices.iter().find(|d| d.devnum == Some(num))
    }

    pub fn identity(&self, path: &DevPath) -> Option<&Identity> {
        match self.identities.get(path) {
            Some(IdentityProbe::Known(id)) => Some(id),
            _ => None,
        }
    }

    /// Direct children (partitions, arrays or mappings stacked on `path`).
    pub fn children<'a>(&'a self, path: &'a DevPath) -> impl Iterator<Item = &'a BlockDev> + 'a {
        self.devices
            .iter()
            .filter(move |d| d.parents.contains(path))
    }
}

/// Where the probe reads from; tests and odd systems can redirect.
#[derive(Debug, Clone)]
pub struct ProbeSources {
    pub sysfs: Sysfs,
    pub mountinfo: PathBuf,
    pub swaps: PathBuf,
    pub mdstat: PathBuf,
}

impl Default for ProbeSources {
    fn default() -> Self {
        ProbeSources {
            sysfs: Sysfs::default(),
            mountinfo: PathBuf::from(PID1_MOUNTINFO),
            swaps: PathBuf::from("/proc/swaps"),
            mdstat: PathBuf::from("/proc/mdstat"),
        }
    }
}

/// Probes the whole machine once.
pub fn probe_snapshot(runner: &dyn Runner, src: &ProbeSources) -> anyhow::Result<Snapshot> {
    let lsblk = runner.run_ok(&lsblk_cmd())?;
    let devices = parse_lsblk(&lsblk.stdout)?;
    let mut snap = Snapshot {
        mounts: read_mounts(&src.mountinfo)?,
        swaps: read_swaps(&src.swaps)?,
        btrfs_mounted: src
            .sysfs
            .read_btrfs_mounted()
            .context("reading /sys/fs/btrfs")?,
        versions: probe_versions(runner)?,
        ..Snapshot::default()
    };
    for dev in &devices {
        let id = match probe_identity(runner, &dev.path) {
            Ok(id) => IdentityProbe::Known(id),
            Err(e) => IdentityProbe::Unreadable {
                error: e.to_string(),
            },
        };
        snap.identities.insert(dev.path.clone(), id);
        if let Some(kname) = dev.path.kname() {
            match src.sysfs.read_block(kname) {
                Ok(b) => {
                    snap.sys.insert(dev.path.clone(), b);
                }
                Err(e) => {
                    tracing::warn!(device = %dev.path, error = %e, "cannot read sysfs attributes")
                }
            }
        }
        snap.exclusive
            .insert(dev.path.clone(), probe_exclusive(dev.path.as_path()));
    }
    snap.devices = devices;
    if snap.versions.btrfs_progs.is_some() {
        // No target: every filesystem btrfs knows or finds by scanning, mounted or not.
        let cmd = crate::exec::Cmd::read_only("btrfs", ["filesystem", "show", "--raw"]);
        match runner
            .run_ok(&cmd)
            .map_err(anyhow::Error::from)
            .and_then(|o| Ok(parse_show(&o.stdout)?))
        {
            Ok(fs) => snap.btrfs = fs,
            // A hung btrfs is not "no filesystems": membership decides eligibility.
            Err(e) if is_timeout(&e) => return Err(e),
            Err(e) => snap
                .warnings
                .push(format!("btrfs filesystems unknown: {e:#}")),
        }
    }
    match std::fs::read_to_string(&src.mdstat) {
        // Array by array: one array this parser cannot read must not hide the md holders
        // of every other (the policy refuses members of arrays it can see).
        Ok(text) => match parse_mdstat_per_array(&text) {
            Ok(r) => {
                for u in &r.unreadable {
                    snap.warnings.push(format!(
                        "{}: array {} unreadable: {}",
                        src.mdstat.display(),
                        u.name,
                        u.error
                    ));
                }
                snap.md = Some(r.mdstat);
            }
            Err(e) => snap.warnings.push(format!("{}: {e}", src.mdstat.display())),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => {} // no md driver
        Err(e) => snap.warnings.push(format!("{}: {e}", src.mdstat.display())),
    }
    Ok(snap)
}

fn is_timeout(e: &anyhow::Error) -> bool {
    matches!(
        e.downcast_ref::<crate::exec::CmdError>(),
        Some(crate::exec::CmdError::TimedOut { .. })
    )
}

/// Opens `dev` read-only with `O_EXCL` and closes it at once. For a block device this fails
/// with `EBUSY` when the kernel holds it: mounted, a member of a mounted btrfs, held by md or
/// dm, or opened exclusively by another program (mkfs.btrfs does the same). The backstop for
/// every check that reads tables.
pub fn probe_exclusive(dev: &Path) -> Exclusive {
    match OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_EXCL | nix::libc::O_CLOEXEC)
        .open(dev)
    {
        Ok(_) => Exclusive::Free,
        Err(e) if e.raw_os_error() == Some(nix::libc::EBUSY) => Exclusive::Busy,
        Err(e) => Exclusive::Error {
            error: e.to_string(),
        },
    }
}

/// A device path as the operator gave it, resolved to the device it names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resolved {
    pub given: PathBuf,
    /// The canonical node path (symlinks followed).
    pub path: DevPath,
    pub devnum: DevNum,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("{0}: no such file (is the disk plugged in? `lnraid devices` lists what is there)")]
    Missing(PathBuf),
    #[error("{0}: not a block device")]
    NotBlock(PathBuf),
    #[error("{path}: {error}")]
    Io { path: PathBuf, error: String },
}

/// Follows symlinks (`/dev/disk/by-id/...`) and reads the device number, which is the
/// identity used to catch one device named twice.
pub fn resolve_device(given: &Path) -> Result<Resolved, ResolveError> {
    let io = |e: io::Error| match e.kind() {
        io::ErrorKind::NotFound => ResolveError::Missing(given.to_path_buf()),
        _ => ResolveError::Io {
            path: given.to_path_buf(),
            error: e.to_string(),
        },
    };
    let meta = std::fs::metadata(given).map_err(io)?;
    if !meta.file_type().is_block_device() {
        return Err(ResolveError::NotBlock(given.to_path_buf()));
    }
    let canonical = std::fs::canonicalize(given).map_err(io)?;
    Ok(Resolved {
        given: given.to_path_buf(),
        path: DevPath::new(canonical),
        devnum: DevNum::from_rdev(meta.rdev()),
    })
}
