//! The host paths lnraid writes (fstab, systemd unit dir, state dir, lock dir), each
//! redirectable by flag or environment so tests never touch the machine's `/etc`, and the
//! process-wide lock that serializes lnraid's mutating commands.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use nix::fcntl::{Flock, FlockArg};

/// Where lnraid reads and writes host configuration and state.
#[derive(Debug, Clone, clap::Args)]
pub struct HostPaths {
    /// The fstab to read: lnraid's arrays are the entries it marked there.
    #[arg(
        long,
        env = "LNRAID_FSTAB",
        default_value = "/etc/fstab",
        value_name = "PATH"
    )]
    pub fstab: PathBuf,
    /// Where lnraid keeps its journal and records.
    #[arg(
        long,
        env = "LNRAID_STATE_DIR",
        default_value = "/var/lib/lnraid",
        value_name = "DIR"
    )]
    pub state_dir: PathBuf,
    /// The systemd unit directory for drop-ins and timers (default: /etc/systemd/system when
    /// systemd runs this machine; otherwise none is written).
    #[arg(long, env = "LNRAID_UNIT_DIR", value_name = "DIR")]
    pub unit_dir: Option<PathBuf>,
    /// Where lock files live.
    #[arg(
        long,
        env = "LNRAID_LOCK_DIR",
        default_value = "/run/lock",
        value_name = "DIR"
    )]
    pub lock_dir: PathBuf,
}

/// The full path of `program` on `$PATH` (plus the sbin directories, which a non-login root
/// shell may lack), if it is installed.
pub fn find_program(program: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH").unwrap_or_default();
    let extra = [
        "/usr/local/sbin",
        "/usr/sbin",
        "/sbin",
        "/usr/local/bin",
        "/usr/bin",
        "/bin",
    ]
    .map(PathBuf::from);
    std::env::split_paths(&path)
        .chain(extra)
        .map(|d| d.join(program))
        .find(|p| fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

/// True when systemd is PID 1 here.
pub fn systemd_running() -> bool {
    Path::new("/run/systemd/system").is_dir()
}

impl HostPaths {
    /// The unit dir to write to, and whether it is the live systemd's (then `daemon-reload`).
    pub fn effective_unit_dir(&self) -> Option<(PathBuf, bool)> {
        match &self.unit_dir {
            Some(d) => Some((d.clone(), false)),
            None if systemd_running() => Some((PathBuf::from("/etc/systemd/system"), true)),
            None => None,
        }
    }
}

/// btrfsmaintenance's per-filesystem lock, `/run/btrfs-maintenance-running.<FSUUID>`: its
/// scrub and balance jobs `flock` it, so holding it keeps theirs and ours from overlapping.
pub fn btrfsmaintenance_lock_name(uuid: &crate::types::FsUuid) -> String {
    format!("btrfs-maintenance-running.{uuid}")
}

/// An exclusive lock held for the life of the value (flock; released by the kernel even if
/// the process is killed).
pub struct Lock {
    _file: Flock<File>,
    pub path: PathBuf,
}

impl Lock {
    /// Takes `dir/name`, waiting up to `wait` for another holder to finish. `Ok(None)` when
    /// still busy after that.
    pub fn acquire_within(
        dir: &Path,
        name: &str,
        wait: std::time::Duration,
    ) -> Result<Option<Lock>> {
        let start = std::time::Instant::now();
        loop {
            match Lock::try_acquire(dir, name) {
                Ok(l) => return Ok(Some(l)),
                Err(e) if e.to_string().starts_with("another lnraid command holds") => {
                    if start.elapsed() >= wait {
                        return Ok(None);
                    }
                    std::thread::sleep(std::time::Duration::from_millis(250));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Takes `dir/name` without waiting; says who to wait for when busy.
    pub fn try_acquire(dir: &Path, name: &str) -> Result<Lock> {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(name);
        let f = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening lock {}", path.display()))?;
        match Flock::lock(f, FlockArg::LockExclusiveNonblock) {
            Ok(file) => Ok(Lock { _file: file, path }),
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => {
                bail!(
                    "another lnraid command holds {}; wait for it to finish",
                    path.display()
                )
            }
            Err((_, e)) => Err(e).with_context(|| format!("locking {}", path.display())),
        }
    }
}
