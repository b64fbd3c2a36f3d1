//! The copy walk. Writes only below `dst`, which must not exist yet.

use std::fs::{self, File, FileTimes, OpenOptions, Permissions};
use std::os::unix::fs::{
    fchown, lchown, DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt,
};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use nix::sys::stat::{utimensat, UtimensatFlags};
use nix::sys::time::TimeSpec;

use super::stream::copy_content;
use super::{Entry, EntryKind, Manifest, Skipped, SECRET_FILES};

#[derive(Debug, Clone, Default)]
pub struct CopyOptions {
    /// Give every copied path this owner instead of the source's (`--owner`).
    pub owner: Option<(u32, u32)>,
}

/// Copies the tree at `src` to the new path `dst` and returns what was copied, with hashes.
/// Calls `progress` with the number of bytes written so far. Ends with `syncfs` on the
/// destination filesystem: when this returns, the copy is on the disk.
pub fn copy_tree(
    src: &Path,
    dst: &Path,
    opts: &CopyOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<Manifest> {
    let meta = fs::symlink_metadata(src).with_context(|| format!("reading {}", src.display()))?;
    if !meta.is_dir() {
        bail!("{} is not a directory", src.display());
    }
    if fs::symlink_metadata(dst).is_ok() {
        bail!("{} already exists; refusing to copy over it", dst.display());
    }
    walk_root(src, dst, &meta, opts, progress, false)
}

/// [`copy_tree`] into `dst`, an existing EMPTY directory (a freshly created btrfs subvolume,
/// which cannot be made by `mkdir`). `dst` is chmod 0700 first and gets its final owner and
/// mode at the end, as with `copy_tree`.
pub fn copy_tree_into(
    src: &Path,
    dst: &Path,
    opts: &CopyOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<Manifest> {
    let meta = fs::symlink_metadata(src).with_context(|| format!("reading {}", src.display()))?;
    if !meta.is_dir() {
        bail!("{} is not a directory", src.display());
    }
    let empty = fs::read_dir(dst)
        .with_context(|| format!("listing {}", dst.display()))?
        .next()
        .is_none();
    if !empty || !fs::symlink_metadata(dst)?.is_dir() {
        bail!(
            "{} is not an empty directory; refusing to copy into it",
            dst.display()
        );
    }
    fs::set_permissions(dst, Permissions::from_mode(0o700))
        .with_context(|| format!("chmod {}", dst.display()))?;
    walk_root(src, dst, &meta, opts, progress, true)
}

fn walk_root(
    src: &Path,
    dst: &Path,
    meta: &fs::Metadata,
    opts: &CopyOptions,
    progress: &mut dyn FnMut(u64),
    root_exists: bool,
) -> Result<Manifest> {
    let mut w = Walk {
        opts,
        manifest: Manifest::default(),
        copied: 0,
        progress,
        root_exists,
    };
    w.dir(src, dst, Path::new(""), meta)?;
    let root = File::open(dst).with_context(|| format!("opening {}", dst.display()))?;
    nix::unistd::syncfs(std::os::fd::AsRawFd::as_raw_fd(&root))
        .with_context(|| format!("syncing {}", dst.display()))?;
    Ok(w.manifest)
}

struct Walk<'a> {
    opts: &'a CopyOptions,
    manifest: Manifest,
    copied: u64,
    progress: &'a mut dyn FnMut(u64),
    /// The root directory exists already (`copy_tree_into`).
    root_exists: bool,
}

impl Walk<'_> {
    fn owner(&self, m: &fs::Metadata) -> (u32, u32) {
        self.opts.owner.unwrap_or((m.uid(), m.gid()))
    }

    fn entry(&self, rel: &Path, kind: EntryKind, m: &fs::Metadata, mode: u32) -> Entry {
        let (uid, gid) = self.owner(m);
        Entry {
            rel: rel.to_path_buf(),
            kind,
            mode,
            uid,
            gid,
            size: if kind == EntryKind::File { m.len() } else { 0 },
            mtime_sec: m.mtime(),
            mtime_nsec: m.mtime_nsec(),
            hash: None,
            target: None,
        }
    }

    /// A directory: created `0700`, filled, then given its owner, mode and times (post-order,
    /// so writing the children does not disturb its mtime).
    fn dir(&mut self, src: &Path, dst: &Path, rel: &Path, meta: &fs::Metadata) -> Result<()> {
        if !(self.root_exists && rel.as_os_str().is_empty()) {
            fs::DirBuilder::new()
                .mode(0o700)
                .create(dst)
                .with_context(|| format!("creating {}", dst.display()))?;
        }
        let index = self.manifest.entries.len();
        self.manifest
            .entries
            .push(self.entry(rel, EntryKind::Dir, meta, meta.mode() & 0o7777));
        let mut children: Vec<PathBuf> = fs::read_dir(src)
            .with_context(|| format!("listing {}", src.display()))?
            .map(|e| e.map(|e| e.file_name().into()))
            .collect::<Result<_, _>>()
            .with_context(|| format!("listing {}", src.display()))?;
        children.sort();
        for name in children {
            let (s, d, r) = (src.join(&name), dst.join(&name), rel.join(&name));
            let m = fs::symlink_metadata(&s).with_context(|| format!("reading {}", s.display()))?;
            let ft = m.file_type();
            if ft.is_dir() {
                self.dir(&s, &d, &r, &m)?;
            } else if ft.is_file() {
                self.file(&s, &d, &r, &m)?;
            } else if ft.is_symlink() {
                self.symlink(&s, &d, &r, &m)?;
            } else {
                self.manifest.skipped.push(Skipped {
                    rel: r,
                    kind: special_kind(&m).into(),
                });
            }
        }
        let e = &self.manifest.entries[index];
        let f = File::open(dst).with_context(|| format!("opening {}", dst.display()))?;
        fchown(&f, Some(e.uid), Some(e.gid)).with_context(|| format!("chown {}", dst.display()))?;
        f.set_permissions(Permissions::from_mode(e.mode))
            .with_context(|| format!("chmod {}", dst.display()))?;
        f.set_times(times(meta))
            .with_context(|| format!("setting times of {}", dst.display()))?;
        Ok(())
    }

    /// A regular file: created `0600` (never readable by others while it fills; a secret such
    /// as `hsm_secret` is created `0400`, its final mode, from the first byte), content copied
    /// and hashed, then owner, final mode and times.
    fn file(&mut self, src: &Path, dst: &Path, rel: &Path, meta: &fs::Metadata) -> Result<()> {
        let mut mode = meta.mode() & 0o7777;
        let secret = rel
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| SECRET_FILES.contains(&n));
        if secret && mode & 0o077 != 0 {
            self.manifest.notes.push(format!(
                "{} had mode {:04o} (readable by others); the copy gets {:04o}",
                rel.display(),
                mode,
                mode & !0o077
            ));
            mode &= !0o077;
        }
        let mut entry = self.entry(rel, EntryKind::File, meta, mode);
        let mut input = OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(src)
            .with_context(|| format!("opening {}", src.display()))?;
        let out = OpenOptions::new()
            .write(true)
            .create_new(true)
            // The descriptor is opened for writing at creation, so a 0400 file still fills.
            .mode(if secret { 0o400 } else { 0o600 })
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(dst)
            .with_context(|| format!("creating {}", dst.display()))?;
        let copied = &mut self.copied;
        let progress = &mut *self.progress;
        let (hash, size) = copy_content(&mut input, &out, (src, dst), meta.len(), &mut |n| {
            *copied += n;
            progress(*copied)
        })?;
        if size != meta.len() {
            bail!("{} changed size while being copied ({} → {size} bytes): is the node still running?", src.display(), meta.len());
        }
        fchown(&out, Some(entry.uid), Some(entry.gid))
            .with_context(|| format!("chown {}", dst.display()))?;
        out.set_permissions(Permissions::from_mode(mode))
            .with_context(|| format!("chmod {}", dst.display()))?;
        out.set_times(times(meta))
            .with_context(|| format!("setting times of {}", dst.display()))?;
        entry.hash = Some(hash);
        self.manifest.entries.push(entry);
        Ok(())
    }

    fn symlink(&mut self, src: &Path, dst: &Path, rel: &Path, meta: &fs::Metadata) -> Result<()> {
        let target =
            fs::read_link(src).with_context(|| format!("reading link {}", src.display()))?;
        std::os::unix::fs::symlink(&target, dst)
            .with_context(|| format!("creating link {}", dst.display()))?;
        let mut entry = self.entry(rel, EntryKind::Symlink, meta, 0o777);
        lchown(dst, Some(entry.uid), Some(entry.gid))
            .with_context(|| format!("chown {}", dst.display()))?;
        let (a, m) = (
            timespec(meta.atime(), meta.atime_nsec()),
            timespec(meta.mtime(), meta.mtime_nsec()),
        );
        utimensat(None, dst, &a, &m, UtimensatFlags::NoFollowSymlink)
            .with_context(|| format!("setting times of {}", dst.display()))?;
        entry.target = Some(target);
        self.manifest.entries.push(entry);
        Ok(())
    }
}

fn special_kind(m: &fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let ft = m.file_type();
    if ft.is_socket() {
        "socket"
    } else if ft.is_fifo() {
        "fifo"
    } else if ft.is_block_device() {
        "block device"
    } else if ft.is_char_device() {
        "char device"
    } else {
        "unknown"
    }
}

fn system_time(sec: i64, nsec: i64) -> SystemTime {
    let d = Duration::new(sec.unsigned_abs(), nsec.clamp(0, 999_999_999) as u32);
    if sec >= 0 {
        UNIX_EPOCH + d
    } else {
        UNIX_EPOCH - d
    }
}

fn times(m: &fs::Metadata) -> FileTimes {
    FileTimes::new()
        .set_accessed(system_time(m.atime(), m.atime_nsec()))
        .set_modified(system_time(m.mtime(), m.mtime_nsec()))
}

fn timespec(sec: i64, nsec: i64) -> TimeSpec {
    TimeSpec::new(sec, nsec)
}
