//! Setup's path checks, all before the first change. Read-only (the fstab probe creates and
//! removes one temp file of lnraid's own name beside the fstab, nothing else).
//!
//! Each check is a failure seen in a test as a hostile operator would run it:
//! - `--mountpoint DIR/../bitcoin/mnt` or a mountpoint through a symlinked parent passed the
//!   "must not contain each other" check, and the copy recursed into itself until the array
//!   was full. So every path is canonicalized once (symlinks and `..` resolved; a mountpoint
//!   that does not exist yet through its nearest existing ancestor) and all later checks, and
//!   the plan itself, use the canonical paths.
//! - DIR itself a mountpoint, a 240-character DIR name, an immutable fstab and a used
//!   `--fs-uuid` each passed preflight and the dry run and failed only after mkfs.

use std::ffi::OsStr;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

use crate::cli::SetupArgs;
use crate::config::atomic::{backup_path, temp_path};
use crate::probe::mounts::mount_containing;
use crate::probe::snapshot::Snapshot;
use crate::types::FsUuid;

/// Longest file name Linux filesystems take (`NAME_MAX`), in bytes.
pub const NAME_MAX: usize = 255;
/// Longest path the kernel resolves in one call (`PATH_MAX`, including the NUL).
pub const PATH_MAX: usize = 4096;

/// What the path checks settled: the canonical mountpoint the plan must use.
pub struct CheckedPaths {
    pub mountpoint: PathBuf,
}

/// Every path check of setup, in one go. `dir` is DIR canonical (when it is usable);
/// `timestamp` names the original's place aside.
pub fn check_paths(
    args: &SetupArgs,
    dir: Option<&Path>,
    timestamp: &str,
    snap: &Snapshot,
    problems: &mut Vec<String>,
) -> CheckedPaths {
    let given = &args.mountpoint;
    let mountpoint = match canonical(given) {
        Ok(p) => p,
        Err(e) => {
            if given.is_absolute() {
                problems.push(format!("--mountpoint {}: {e}", given.display()));
            }
            given.clone()
        }
    };
    let state = canonical(&args.host.state_dir).unwrap_or_else(|_| args.host.state_dir.clone());
    let mut named: Vec<(&str, &Path)> =
        vec![("--mountpoint", &mountpoint), ("the state dir", &state)];
    if let Some(d) = dir {
        named.insert(0, ("the node's directory", d));
        check_dir_not_mountpoint(d, snap, problems);
    }
    check_containment(&named, problems);
    let mut derived = vec![
        mountpoint.clone(),
        args.host.fstab.clone(),
        temp_path(&args.host.fstab),
    ];
    let mut longest_rel = 0;
    if let Some(d) = dir {
        let name = d
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let with = |suffix: &str| {
            let mut p = d.as_os_str().to_owned();
            p.push(suffix);
            PathBuf::from(p)
        };
        derived.extend([
            d.to_path_buf(),
            with(&format!(".pre-lnraid-{timestamp}")),
            with(".lnraid-link"),
            mountpoint.join(format!(".lnraid-partial-{name}")),
            mountpoint.join(&name),
        ]);
        longest_rel = longest_below(d, 0);
    }
    check_names(&derived, longest_rel, problems);
    check_fstab_writable(&args.host.fstab, problems);
    if let Some(u) = &args.fs_uuid {
        problems.extend(check_fs_uuid_unused(u, snap, Path::new("/sys/fs/btrfs")));
    }
    CheckedPaths { mountpoint }
}

/// The length in bytes of the longest relative path below `dir` (not following symlinks).
fn longest_below(dir: &Path, prefix: usize) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return prefix;
    };
    let mut longest = prefix;
    for e in entries.flatten() {
        let len = prefix + usize::from(prefix > 0) + e.file_name().len();
        let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
        longest = longest.max(if is_dir {
            longest_below(&e.path(), len)
        } else {
            len
        });
    }
    longest
}

/// `path` with symlinks and `..` resolved. A path that does not exist yet is resolved through
/// its nearest existing ancestor; its missing tail is normalized lexically (no symlink can
/// hide in a directory that does not exist).
pub fn canonical(path: &Path) -> io::Result<PathBuf> {
    if !path.is_absolute() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not an absolute path",
        ));
    }
    let mut tail: Vec<&OsStr> = Vec::new();
    let mut base = path;
    loop {
        match fs::canonicalize(base) {
            Ok(mut c) => {
                for name in tail.iter().rev() {
                    match Path::new(name).components().next() {
                        Some(Component::ParentDir) => {
                            c.pop();
                        }
                        Some(Component::CurDir) | None => {}
                        _ => c.push(name),
                    }
                }
                return Ok(c);
            }
            // A dangling symlink or a permission problem: do not guess past it.
            Err(e) if fs::symlink_metadata(base).is_ok() => return Err(e),
            Err(_) => {}
        }
        let Some(name) = base.file_name().or_else(|| {
            base.components()
                .next_back()
                .map(|c| c.as_os_str())
                .filter(|c| *c == OsStr::new(".."))
        }) else {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                "no existing ancestor",
            ));
        };
        tail.push(name);
        base = base.parent().unwrap_or(Path::new("/"));
    }
}

/// DIR, the mountpoint and the state dir, canonical, and not inside one another.
pub fn check_containment(named: &[(&str, &Path)], problems: &mut Vec<String>) {
    for (i, (a_name, a)) in named.iter().enumerate() {
        for (b_name, b) in &named[i + 1..] {
            if a.starts_with(b) || b.starts_with(a) {
                problems.push(format!(
                    "{a_name} {} and {b_name} {} must not contain each other (paths resolved: symlinks and `..` followed): the copy would recurse into itself",
                    a.display(),
                    b.display()
                ));
            }
        }
    }
}

/// DIR must not be a mountpoint: setup renames it aside, which fails (EBUSY) after mkfs.
pub fn check_dir_not_mountpoint(dir: &Path, snap: &Snapshot, problems: &mut Vec<String>) {
    if let Some(m) = mount_containing(&snap.mounts, dir).filter(|m| m.mountpoint == dir) {
        problems.push(format!(
            "{} is itself a mountpoint ({} {}): setup must rename it aside, which a mountpoint cannot be; use a directory inside it as the node's directory, or move the data off that mount first",
            dir.display(),
            m.fstype,
            m.source
        ));
    }
}

/// Every name setup will create must fit `NAME_MAX`, every path `PATH_MAX`, and none may
/// hold a control character (the fstab and the systemd drop-in are line-based).
/// `longest_rel` is the longest path below DIR, in bytes.
pub fn check_names(derived: &[PathBuf], longest_rel: usize, problems: &mut Vec<String>) {
    for p in derived {
        if p.as_os_str().as_bytes().iter().any(u8::is_ascii_control) {
            problems.push(format!(
                "{:?} holds a control character (a newline?): fstab and systemd lines cannot carry it; rename it",
                p
            ));
            continue;
        }
        if let Some(long) = p
            .components()
            .map(|c| c.as_os_str())
            .find(|c| c.len() > NAME_MAX)
        {
            problems.push(format!(
                "the name {}… ({} bytes) in {} is longer than the {NAME_MAX} bytes a file name may have; setup needs it: use a shorter directory name",
                String::from_utf8_lossy(&long.as_bytes()[..32]),
                long.len(),
                p.display()
            ));
        }
    }
    if let Some(p) = derived
        .iter()
        .find(|p| p.as_os_str().len() + 1 + longest_rel >= PATH_MAX)
    {
        problems.push(format!(
            "{} with the deepest file below the node's directory ({longest_rel} bytes) would exceed PATH_MAX ({PATH_MAX}): use shorter paths",
            p.display()
        ));
    }
}

/// Whether the fstab can be replaced atomically: a dry-run write of the temp file beside
/// it, and no immutable or append-only flag on the fstab itself (the rename over it would
/// fail with EPERM, after mkfs).
pub fn check_fstab_writable(fstab: &Path, problems: &mut Vec<String>) {
    let probe = temp_path(fstab);
    let res = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&probe);
    match res {
        Ok(_) => {
            let _ = fs::remove_file(&probe);
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {} // ours, from a crashed run
        Err(e) => problems.push(format!(
            "cannot write {} beside {} ({e}): lnraid replaces the fstab atomically through that temp file; make the directory writable",
            probe.display(),
            fstab.display()
        )),
    }
    for p in [fstab.to_path_buf(), backup_path(fstab)] {
        match inode_flags(&p) {
            Ok(f) if f & (FS_IMMUTABLE_FL | FS_APPEND_FL) != 0 => problems.push(format!(
                "{} is immutable or append-only (chattr +i/+a): lnraid could not replace it; run `chattr -i -a {}` first",
                p.display(),
                crate::exec::quote_path(&p)
            )),
            _ => {}
        }
    }
}

const FS_IMMUTABLE_FL: CLong = 0x10;
const FS_APPEND_FL: CLong = 0x20;
type CLong = nix::libc::c_long;

/// The inode flags (`lsattr`) of `path`, read with `FS_IOC_GETFLAGS`.
fn inode_flags(path: &Path) -> io::Result<CLong> {
    use std::os::fd::AsRawFd;
    let f = fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(path)?;
    let mut flags: CLong = 0;
    // SAFETY: FS_IOC_GETFLAGS writes one long into `flags`, which outlives the call.
    let rc = unsafe { nix::libc::ioctl(f.as_raw_fd(), FS_IOC_GETFLAGS, &mut flags) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(flags)
}

/// `_IOR('f', 1, long)`.
const FS_IOC_GETFLAGS: nix::libc::c_ulong = 0x8008_6601;

/// A `--fs-uuid` that some device, a filesystem the kernel knows, or btrfs's scan already
/// carries would make two filesystems with one UUID: btrfs mixes up their devices.
pub fn check_fs_uuid_unused(uuid: &FsUuid, snap: &Snapshot, sys_fs_btrfs: &Path) -> Option<String> {
    let u = uuid.to_string();
    let on_device = snap.identities.keys().find_map(|dev| {
        snap.identity(dev)
            .and_then(|i| i.uuid.as_deref())
            .filter(|x| x.eq_ignore_ascii_case(&u))
            .map(|_| dev.to_string())
    });
    let known = sys_fs_btrfs.join(&u).exists()
        || snap
            .btrfs
            .iter()
            .any(|f| f.uuid.to_string().eq_ignore_ascii_case(&u));
    match (on_device, known) {
        (Some(dev), _) => Some(format!(
            "--fs-uuid {u} is already the filesystem UUID on {dev}: pick another (or leave it out for a random one)"
        )),
        (None, true) => Some(format!(
            "--fs-uuid {u} is already a btrfs filesystem the kernel knows: pick another (or leave it out for a random one)"
        )),
        (None, false) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_resolves_dotdot_and_symlinked_parents() {
        let t = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(t.path()).unwrap();
        let dir = root.join("node/bitcoin");
        fs::create_dir_all(&dir).unwrap();
        std::os::unix::fs::symlink(&dir, root.join("link")).unwrap();
        // Not existing yet, written with `..` and through a symlink: both end inside DIR.
        let dotdot = root.join("other/../node/bitcoin/mnt");
        assert_eq!(canonical(&dotdot).unwrap(), dir.join("mnt"));
        let via_link = root.join("link/new/mnt");
        assert_eq!(canonical(&via_link).unwrap(), dir.join("new/mnt"));
        let missing_dotdot = root.join("nope/../node/bitcoin/x");
        assert_eq!(canonical(&missing_dotdot).unwrap(), dir.join("x"));
        assert!(canonical(Path::new("relative/x")).is_err());
        let mut problems = Vec::new();
        check_containment(
            &[
                ("DIR", &dir),
                ("--mountpoint", &canonical(&via_link).unwrap()),
            ],
            &mut problems,
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
    }

    #[test]
    fn names_too_long_or_with_newlines_are_refused() {
        let mut problems = Vec::new();
        let long = format!("/srv/{}", "n".repeat(230));
        check_names(&[PathBuf::from(&long)], 10, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        check_names(
            &[PathBuf::from(format!("{long}.pre-lnraid-20260101T000000Z"))],
            10,
            &mut problems,
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
        check_names(&[PathBuf::from("/srv/a\nb")], 10, &mut problems);
        assert!(problems[1].contains("control character"), "{problems:?}");
        check_names(&[PathBuf::from("/srv/x")], PATH_MAX, &mut problems);
        assert!(problems[2].contains("PATH_MAX"), "{problems:?}");
    }

    #[test]
    fn fstab_in_a_read_only_place_is_refused() {
        let t = tempfile::tempdir().unwrap();
        let fstab = t.path().join("fstab");
        fs::write(&fstab, "").unwrap();
        let mut problems = Vec::new();
        check_fstab_writable(&fstab, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        assert!(!temp_path(&fstab).exists(), "the probe file is removed");
        let missing_dir = t.path().join("nodir/fstab");
        check_fstab_writable(&missing_dir, &mut problems);
        assert_eq!(problems.len(), 1, "{problems:?}");
    }
}
