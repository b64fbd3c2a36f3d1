//! File-level I/O of the copy-out: one file from the (read-only) node directory into the
//! destination, hashed as it is read; the read-back hash of a copy from the disk; fsync of
//! directories; publishing a staged `--all` copy.
//!
//! Invariants: a destination file is created with `O_CREAT|O_EXCL|O_NOFOLLOW` (never opens or
//! truncates something that was there) and, for `hsm_secret`, with mode 0400 from the first
//! byte; a source is opened with `O_NOFOLLOW` (a link on the array is reported, not followed)
//! and `O_NOATIME` when allowed. Nothing here writes outside the destination, and no secret's
//! content is ever logged.

use std::fs::{self, File, FileTimes, OpenOptions, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{fchown, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use anyhow::{bail, Context, Result};

use super::select::HSM_SECRET;

/// Read and write block size: large enough to stream a multi-GB database at disk speed.
pub const BUF_SIZE: usize = 1 << 20;

/// The mode `hsm_secret` always gets in the destination: readable by its owner only, and
/// read-only — nothing should ever rewrite a node's seed.
pub const SECRET_MODE: u32 = 0o400;

/// A file copied into the destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopiedFile {
    pub name: String,
    pub size: u64,
    /// Permission bits the copy ended with.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime_sec: i64,
    /// BLAKE3 of the bytes read from the source, hex.
    pub blake3: String,
}

/// What was found under a name of the copy-out set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Copied(CopiedFile),
    Absent,
    /// Present but not a regular file (`kind` says what), so not copied.
    NotRegular {
        kind: String,
    },
}

/// Opens a source for reading without following a final symlink and, when the kernel lets
/// us (owner or root), without updating its access time.
fn open_source(path: &Path) -> io::Result<File> {
    let base = nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC;
    match OpenOptions::new()
        .read(true)
        .custom_flags(base | nix::libc::O_NOATIME)
        .open(path)
    {
        Err(e) if e.raw_os_error() == Some(nix::libc::EPERM) => {
            OpenOptions::new().read(true).custom_flags(base).open(path)
        }
        r => r,
    }
}

fn kind_of(m: &fs::Metadata) -> String {
    use std::os::unix::fs::FileTypeExt;
    let ft = m.file_type();
    if ft.is_symlink() {
        "symlink"
    } else if ft.is_dir() {
        "directory"
    } else if ft.is_socket() {
        "socket"
    } else if ft.is_fifo() {
        "fifo"
    } else {
        "special file"
    }
    .into()
}

/// Copies `src_dir/name` to the new file `dest_dir/name`: created `0600` (`hsm_secret`:
/// [`SECRET_MODE`]) with `O_EXCL`, content hashed while read, then the source's owner, mode
/// (`hsm_secret`: always [`SECRET_MODE`]) and times, then fsync. `progress` gets bytes copied.
pub fn copy_out(
    src_dir: &Path,
    name: &str,
    dest_dir: &Path,
    buf: &mut [u8],
    progress: &mut dyn FnMut(u64),
) -> Result<Outcome> {
    let src = src_dir.join(name);
    let meta = match fs::symlink_metadata(&src) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Outcome::Absent),
        Err(e) => return Err(e).with_context(|| format!("reading {}", src.display())),
    };
    if !meta.file_type().is_file() {
        return Ok(Outcome::NotRegular {
            kind: kind_of(&meta),
        });
    }
    let mut input = open_source(&src).with_context(|| format!("opening {}", src.display()))?;
    let meta = input.metadata()?;
    if !meta.is_file() {
        bail!("{} changed while being opened", src.display());
    }
    let secret = name == HSM_SECRET;
    let final_mode = if secret {
        SECRET_MODE
    } else {
        meta.mode() & 0o7777
    };
    let dst = dest_dir.join(name);
    let mut out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(if secret { SECRET_MODE } else { 0o600 })
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
        .open(&dst)
        .with_context(|| format!("creating {}", dst.display()))?;
    let mut hasher = blake3::Hasher::new();
    let mut size = 0u64;
    loop {
        let n = match input.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).with_context(|| format!("reading {}", src.display())),
        };
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])
            .with_context(|| format!("writing {}", dst.display()))?;
        size += n as u64;
        progress(n as u64);
    }
    if size != meta.len() {
        bail!(
            "{} changed size while being copied ({} → {size} bytes): is a node still using it?",
            src.display(),
            meta.len()
        );
    }
    fchown(&out, Some(meta.uid()), Some(meta.gid()))
        .with_context(|| format!("chown {}", dst.display()))?;
    out.set_permissions(Permissions::from_mode(final_mode))
        .with_context(|| format!("chmod {}", dst.display()))?;
    out.set_times(
        FileTimes::new()
            .set_accessed(system_time(meta.atime(), meta.atime_nsec()))
            .set_modified(system_time(meta.mtime(), meta.mtime_nsec())),
    )
    .with_context(|| format!("setting times of {}", dst.display()))?;
    out.sync_all()
        .with_context(|| format!("fsync {}", dst.display()))?;
    Ok(Outcome::Copied(CopiedFile {
        name: name.to_string(),
        size,
        mode: final_mode,
        uid: meta.uid(),
        gid: meta.gid(),
        mtime_sec: meta.mtime(),
        blake3: hasher.finalize().to_hex().to_string(),
    }))
}

fn system_time(sec: i64, nsec: i64) -> std::time::SystemTime {
    let d = Duration::new(sec.unsigned_abs(), nsec.clamp(0, 999_999_999) as u32);
    if sec >= 0 {
        UNIX_EPOCH + d
    } else {
        UNIX_EPOCH - d
    }
}

/// fsyncs a directory, so the names of the files created in it are on the disk too.
pub fn fsync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("fsync {}", dir.display()))
}

/// Moves every entry of `staging` (a verified `--all` copy, on the destination's filesystem)
/// up into `dest`, refusing to replace anything (`RENAME_NOREPLACE`), then removes the empty
/// staging directory (never recursively) and fsyncs `dest`. Returns the names moved.
pub fn publish_staged(staging: &Path, dest: &Path) -> Result<Vec<String>> {
    let mut names: Vec<String> = fs::read_dir(staging)
        .with_context(|| format!("listing {}", staging.display()))?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<io::Result<_>>()?;
    names.sort();
    for n in &names {
        nix::fcntl::renameat2(
            None,
            &staging.join(n),
            None,
            &dest.join(n),
            nix::fcntl::RenameFlags::RENAME_NOREPLACE,
        )
        .with_context(|| format!("moving {} into {}", n, dest.display()))?;
    }
    fs::remove_dir(staging).with_context(|| format!("removing {}", staging.display()))?;
    fsync_dir(dest)?;
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_hashes_and_keeps_attributes() {
        let t = tempfile::tempdir().unwrap();
        let (src, dst) = (t.path().join("src"), t.path().join("dst"));
        fs::create_dir(&src).unwrap();
        fs::create_dir(&dst).unwrap();
        fs::write(src.join("config"), b"network=bitcoin\n").unwrap();
        fs::set_permissions(src.join("config"), Permissions::from_mode(0o640)).unwrap();
        fs::write(src.join(HSM_SECRET), [9u8; 32]).unwrap();
        fs::set_permissions(src.join(HSM_SECRET), Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::symlink("config", src.join("emergency.recover")).unwrap();
        let mut buf = vec![0u8; 7]; // tiny buffer: several reads per file
        let mut total = 0;
        let Outcome::Copied(c) =
            copy_out(&src, "config", &dst, &mut buf, &mut |n| total += n).unwrap()
        else {
            panic!("not copied")
        };
        assert_eq!(c.size, 16);
        assert_eq!(total, 16);
        assert_eq!(c.mode, 0o640);
        assert_eq!(
            c.blake3,
            blake3::hash(b"network=bitcoin\n").to_hex().to_string()
        );
        assert_eq!(fs::read(dst.join("config")).unwrap(), b"network=bitcoin\n");
        let m = fs::metadata(dst.join("config")).unwrap();
        assert_eq!(m.mode() & 0o7777, 0o640);
        assert_eq!(m.mtime(), fs::metadata(src.join("config")).unwrap().mtime());
        let (size, hash) = crate::copy::hash_from_disk(&dst.join("config"), &mut |_| {}).unwrap();
        assert_eq!((size, hash), (16, c.blake3));

        // hsm_secret ends 0400 even from a 0600 source.
        let Outcome::Copied(s) = copy_out(&src, HSM_SECRET, &dst, &mut buf, &mut |_| {}).unwrap()
        else {
            panic!("not copied")
        };
        assert_eq!(s.mode, SECRET_MODE);
        assert_eq!(
            fs::metadata(dst.join(HSM_SECRET)).unwrap().mode() & 0o7777,
            SECRET_MODE
        );
        // Links are reported, not followed; absent is absent; existing copies are refused.
        assert_eq!(
            copy_out(&src, "emergency.recover", &dst, &mut buf, &mut |_| {}).unwrap(),
            Outcome::NotRegular {
                kind: "symlink".into()
            }
        );
        assert_eq!(
            copy_out(&src, "nope", &dst, &mut buf, &mut |_| {}).unwrap(),
            Outcome::Absent
        );
        assert!(copy_out(&src, "config", &dst, &mut buf, &mut |_| {}).is_err());
        assert_eq!(fs::read(dst.join("config")).unwrap(), b"network=bitcoin\n");
    }

    #[test]
    fn publish_moves_up_and_never_replaces() {
        let t = tempfile::tempdir().unwrap();
        let (st, dest) = (t.path().join("dest/.staging"), t.path().join("dest"));
        fs::create_dir_all(st.join("plugins")).unwrap();
        fs::write(st.join("a"), b"a").unwrap();
        assert_eq!(publish_staged(&st, &dest).unwrap(), ["a", "plugins"]);
        assert!(!st.exists() && dest.join("plugins").is_dir());
        fs::create_dir(&st).unwrap();
        fs::write(st.join("a"), b"new").unwrap();
        assert!(publish_staged(&st, &dest).is_err());
        assert_eq!(fs::read(dest.join("a")).unwrap(), b"a");
    }
}
