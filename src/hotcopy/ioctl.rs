//! The read-only snapshot as one `BTRFS_IOC_SNAP_CREATE_V2` ioctl, for the moment lnraid holds
//! SQLite's lock: spawning `btrfs subvolume snapshot -r` there cost fork + exec + the tool's
//! own start-up (and lnraid's child bookkeeping) on top of the kernel's work, all of it while
//! the node's commits wait — the bench measured 27–54 ms under load for the command. The ioctl
//! is exactly the call the tool makes (btrfs-progs `cmds/subvolume.c`), without a process.
//!
//! What it may not do: create anything but a read-only snapshot of `src` named `name` in the
//! directory `parent` (the kernel refuses an existing name with EEXIST), or follow a symlink
//! for `parent` or `src`. Not a process spawn: src/exec's rule is untouched.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{bail, Context, Result};

/// `BTRFS_SUBVOL_NAME_MAX` (linux/btrfs.h).
const SUBVOL_NAME_MAX: usize = 4039;
/// `BTRFS_SUBVOL_RDONLY`.
const SUBVOL_RDONLY: u64 = 1 << 1;

/// `struct btrfs_ioctl_vol_args_v2` (linux/btrfs.h): 4096 bytes.
#[repr(C)]
struct VolArgsV2 {
    fd: i64,
    transid: u64,
    flags: u64,
    unused: [u64; 4],
    name: [u8; SUBVOL_NAME_MAX + 1],
}

const _: () = assert!(std::mem::size_of::<VolArgsV2>() == 4096);

// BTRFS_IOC_SNAP_CREATE_V2 = _IOW(BTRFS_IOCTL_MAGIC 0x94, 23, struct btrfs_ioctl_vol_args_v2)
nix::ioctl_write_ptr!(snap_create_v2, 0x94, 23, VolArgsV2);

fn open_dir(p: &Path) -> Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_DIRECTORY | nix::libc::O_NOFOLLOW)
        .open(p)
        .with_context(|| format!("opening {}", p.display()))
}

/// Descriptors opened before the lock is taken, so under the lock only the ioctl runs.
pub struct SnapshotCall {
    src: File,
    parent: File,
    args: Box<VolArgsV2>,
    /// `btrfs subvolume snapshot -r SRC PARENT/NAME`: the same act as a command line (logs).
    pub describe: String,
}

impl SnapshotCall {
    pub fn prepare(src: &Path, parent: &Path, name: &str) -> Result<SnapshotCall> {
        if name.is_empty() || name.len() > SUBVOL_NAME_MAX || name.contains('/') || name == ".." {
            bail!("{name:?} cannot name a snapshot");
        }
        let src_f = open_dir(src)?;
        let parent_f = open_dir(parent)?;
        let mut args = Box::new(VolArgsV2 {
            fd: src_f.as_raw_fd() as i64,
            transid: 0,
            flags: SUBVOL_RDONLY,
            unused: [0; 4],
            name: [0; SUBVOL_NAME_MAX + 1],
        });
        args.name[..name.len()].copy_from_slice(name.as_bytes());
        Ok(SnapshotCall {
            src: src_f,
            parent: parent_f,
            args,
            describe: format!(
                "btrfs subvolume snapshot -r {} {}",
                src.display(),
                parent.join(name).display()
            ),
        })
    }

    /// The ioctl itself.
    pub fn run(&self) -> Result<()> {
        debug_assert_eq!(self.args.fd, self.src.as_raw_fd() as i64);
        // SAFETY: both descriptors are open directories owned by `self`; `args` is a fully
        // initialised `btrfs_ioctl_vol_args_v2` with a NUL-terminated name.
        unsafe { snap_create_v2(self.parent.as_raw_fd(), &*self.args) }
            .map(|_| ())
            .with_context(|| format!("{} (BTRFS_IOC_SNAP_CREATE_V2)", self.describe))
    }
}

/// `struct btrfs_ioctl_fs_info_args` (linux/btrfs.h): 1024 bytes.
#[repr(C)]
struct FsInfoArgs {
    max_id: u64,
    num_devices: u64,
    fsid: [u8; 16],
    nodesize: u32,
    sectorsize: u32,
    clone_alignment: u32,
    csum_type: u16,
    csum_size: u16,
    flags: u64,
    generation: u64,
    metadata_uuid: [u8; 16],
    reserved: [u8; 944],
}

const _: () = assert!(std::mem::size_of::<FsInfoArgs>() == 1024);

// BTRFS_IOC_FS_INFO = _IOR(0x94, 31, struct btrfs_ioctl_fs_info_args)
nix::ioctl_read!(fs_info, 0x94, 31, FsInfoArgs);

/// The filesystem UUID of the btrfs holding `p` (`BTRFS_IOC_FS_INFO`, read-only): the proof
/// that a path lies on lnraid's own new filesystem before lnraid deletes anything there.
pub fn fs_uuid(p: &Path) -> Result<String> {
    let f = open_dir(p)?;
    // SAFETY: an all-zero FsInfoArgs is valid (plain integers); the kernel fills it.
    let mut args: Box<FsInfoArgs> = Box::new(unsafe { std::mem::zeroed() });
    // SAFETY: `f` is an open directory; `args` has the size the ioctl number encodes.
    unsafe { fs_info(f.as_raw_fd(), &mut *args) }.with_context(|| {
        format!(
            "reading the btrfs filesystem of {} (BTRFS_IOC_FS_INFO)",
            p.display()
        )
    })?;
    let h: String = args.fsid.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_names_that_are_paths() {
        let t = tempfile::tempdir().unwrap();
        for bad in ["", "a/b", ".."] {
            assert!(
                SnapshotCall::prepare(t.path(), t.path(), bad).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_directory_that_is_not_btrfs_gets_the_kernels_refusal_named() {
        let t = tempfile::tempdir().unwrap();
        if crate::hotcopy::dest::is_btrfs(t.path()).unwrap() {
            println!("SKIPPED: the temp dir is on btrfs");
            return;
        }
        let call = SnapshotCall::prepare(t.path(), t.path(), "x").unwrap();
        let e = format!("{:#}", call.run().unwrap_err());
        assert!(e.contains("BTRFS_IOC_SNAP_CREATE_V2"), "{e}");
        assert!(!t.path().join("x").exists());
    }
}
