//! Atomic replacement of a configuration file: write a temp file beside it, fsync, validate,
//! keep a `.bak` of the old content, rename over, fsync the directory. A crash at any point
//! leaves either the old file or the new one, never a torn one.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{fchown, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The temp file's path for `path`: same directory, so the rename is atomic; it has a dot in
/// its name, which cron ignores in `/etc/cron.d`, so a half-written cron file never runs.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.lnraid-tmp"))
}

pub fn backup_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!("{name}.bak"))
}

/// Writes `content` to `path` atomically. `validate` gets the temp file's path and may veto.
/// The new file keeps the old one's mode and owner (or `default_mode` for a new file).
/// Returns the backup path when an old file existed.
pub fn write_atomic(
    path: &Path,
    content: &[u8],
    default_mode: u32,
    validate: &mut dyn FnMut(&Path) -> Result<()>,
) -> Result<Option<PathBuf>> {
    write_atomic_with(path, content, default_mode, true, validate)
}

/// [`write_atomic`] for lnraid's own records, which need no `.bak`.
pub fn write_atomic_no_backup(path: &Path, content: &[u8], mode: u32) -> Result<()> {
    write_atomic_with(path, content, mode, false, &mut |_| Ok(())).map(|_| ())
}

fn write_atomic_with(
    path: &Path,
    content: &[u8],
    default_mode: u32,
    keep_backup: bool,
    validate: &mut dyn FnMut(&Path) -> Result<()>,
) -> Result<Option<PathBuf>> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let old = fs::metadata(path).ok();
    let tmp = temp_path(path);
    let _ = fs::remove_file(&tmp); // a leftover of a crashed run of ours
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("creating {}", tmp.display()))?;
        f.write_all(content)
            .with_context(|| format!("writing {}", tmp.display()))?;
        if let Some(m) = &old {
            fchown(&f, Some(m.uid()), Some(m.gid()))
                .with_context(|| format!("chown {}", tmp.display()))?;
        }
        let mode = old
            .as_ref()
            .map(|m| m.mode() & 0o7777)
            .unwrap_or(default_mode);
        f.set_permissions(Permissions::from_mode(mode))?;
        f.sync_all()
            .with_context(|| format!("syncing {}", tmp.display()))?;
        validate(&tmp)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    let backup = if old.is_some() && keep_backup {
        let b = backup_path(path);
        let prev = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        write_synced(
            &b,
            &prev,
            old.as_ref().map(|m| m.mode() & 0o7777).unwrap_or(0o644),
        )?;
        Some(b)
    } else {
        None
    };
    fs::rename(&tmp, path)
        .with_context(|| format!("renaming {} over {}", tmp.display(), path.display()))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing {}", dir.display()))?;
    Ok(backup)
}

fn write_synced(path: &Path, content: &[u8], mode: u32) -> Result<()> {
    let tmp = temp_path(path);
    let _ = fs::remove_file(&tmp);
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)?;
    f.write_all(content)?;
    f.sync_all()?;
    fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Removes `path` if it exists, syncing its directory. For files lnraid wholly owns.
pub fn remove_file_synced(path: &Path) -> Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => {
            if let Some(dir) = path.parent() {
                File::open(dir).and_then(|d| d.sync_all()).ok();
            }
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e).with_context(|| format!("removing {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_keeps_backup_and_mode() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("fstab");
        fs::write(&p, "old\n").unwrap();
        fs::set_permissions(&p, Permissions::from_mode(0o640)).unwrap();
        let b = write_atomic(&p, b"new\n", 0o644, &mut |_| Ok(()))
            .unwrap()
            .unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "new\n");
        assert_eq!(fs::read_to_string(&b).unwrap(), "old\n");
        assert_eq!(fs::metadata(&p).unwrap().mode() & 0o777, 0o640);
        assert!(!temp_path(&p).exists());
    }

    #[test]
    fn validation_veto_leaves_original() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("fstab");
        fs::write(&p, "old\n").unwrap();
        let err = write_atomic(&p, b"bad\n", 0o644, &mut |_| {
            anyhow::bail!("findmnt says no")
        })
        .unwrap_err();
        assert!(err.to_string().contains("findmnt says no"));
        assert_eq!(fs::read_to_string(&p).unwrap(), "old\n");
        assert!(!temp_path(&p).exists() && !backup_path(&p).exists());
    }

    #[test]
    fn new_file_gets_default_mode() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("unit.conf");
        assert!(write_atomic(&p, b"x", 0o644, &mut |_| Ok(()))
            .unwrap()
            .is_none());
        assert_eq!(fs::metadata(&p).unwrap().mode() & 0o777, 0o644);
    }
}
