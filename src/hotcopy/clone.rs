//! File clones (reflinks, `FICLONE`) and the plain-copy fallback. Writes only the new file it
//! is given, created with mode `0600` (or `0400` for a secret) from the first byte.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{Context, Result};

/// Clones `src` into the new file `dst` (same filesystem, btrfs or XFS with reflink): the
/// data is shared, not copied, so it takes milliseconds whatever the size. Errors (EXDEV,
/// EOPNOTSUPP, EINVAL) mean the filesystem cannot; the new file is then removed.
pub fn reflink(src: &Path, dst: &Path, mode: u32) -> Result<()> {
    let input = File::open(src).with_context(|| format!("opening {}", src.display()))?;
    reflink_from(&input, src, dst, mode)
}

/// [`reflink`] from an open descriptor — the one holding the database's lock, so no second
/// descriptor of the database is ever opened and closed under it (closing one would drop the
/// lock). `src` only names it in messages.
pub fn reflink_from(input: &File, src: &Path, dst: &Path, mode: u32) -> Result<()> {
    let out = create_new(dst, mode)?;
    // SAFETY: FICLONE takes the source descriptor as its argument; both descriptors are ours
    // and open for the duration of the call.
    let rc = unsafe { nix::libc::ioctl(out.as_raw_fd(), nix::libc::FICLONE, input.as_raw_fd()) };
    if rc == -1 {
        let e = std::io::Error::last_os_error();
        drop(out);
        let _ = std::fs::remove_file(dst);
        return Err(e)
            .with_context(|| format!("cloning {} to {} (FICLONE)", src.display(), dst.display()));
    }
    Ok(())
}

/// Copies all of `input` (by `pread`, leaving its offset alone) into the new file `dst`.
pub fn copy_from(input: &File, src: &Path, dst: &Path, mode: u32) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::FileExt;
    let mut out = create_new(dst, mode)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut off = 0u64;
    loop {
        let n = input
            .read_at(&mut buf, off)
            .with_context(|| format!("reading {}", src.display()))?;
        if n == 0 {
            break;
        }
        out.write_all(&buf[..n])
            .with_context(|| format!("writing {}", dst.display()))?;
        off += n as u64;
    }
    Ok(())
}

/// Clones when the filesystem can, else copies the bytes. Returns true when cloned.
pub fn reflink_or_copy(src: &Path, dst: &Path, mode: u32) -> Result<bool> {
    if reflink(src, dst, mode).is_ok() {
        return Ok(true);
    }
    let mut input = File::open(src).with_context(|| format!("opening {}", src.display()))?;
    let mut out = create_new(dst, mode)?;
    std::io::copy(&mut input, &mut out)
        .with_context(|| format!("copying {} to {}", src.display(), dst.display()))?;
    Ok(false)
}

fn create_new(dst: &Path, mode: u32) -> Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(dst)
        .with_context(|| format!("creating {}", dst.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn falls_back_to_a_copy_with_the_mode_given() {
        use std::os::unix::fs::PermissionsExt;
        let t = tempfile::tempdir().unwrap();
        let (a, b) = (t.path().join("a"), t.path().join("b"));
        std::fs::write(&a, b"hello").unwrap();
        reflink_or_copy(&a, &b, 0o400).unwrap();
        assert_eq!(std::fs::read(&b).unwrap(), b"hello");
        let mode = std::fs::metadata(&b).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o400);
        assert!(reflink_or_copy(&a, &b, 0o600).is_err(), "never overwrites");
    }
}
