//! The alert command's root-only file (`/etc/lnraid/alert-command`): written 0600 from the
//! first byte (never a world-readable moment, whatever mode an earlier file had), owned by
//! root, atomically (temp + fsync + rename); read by the jobs through `--alert-command-file`.
//! The command may carry tokens (a webhook URL, an API key): it is never printed, logged or
//! written into any other file.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use anyhow::{bail, Context, Result};

/// The file's only allowed mode.
pub const SECRET_MODE: u32 = 0o600;

/// Writes `content` to `path` with mode 0600 from the first byte.
pub fn write_secret(path: &Path, content: &str) -> Result<()> {
    let dir = path
        .parent()
        .context("the alert command file has no directory")?;
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let tmp = dir.join(format!(
        ".{}.lnraid-tmp",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    ));
    let _ = fs::remove_file(&tmp);
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(SECRET_MODE)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(&tmp)
            .with_context(|| format!("creating {}", tmp.display()))?;
        // The umask can only remove bits; set exactly 0600 before any content.
        f.set_permissions(fs::Permissions::from_mode(SECRET_MODE))?;
        if nix::unistd::Uid::effective().is_root() {
            std::os::unix::fs::fchown(&f, Some(0), Some(0))?;
        }
        f.write_all(content.as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()?;
        fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
        fs::File::open(dir)?.sync_all()?;
        anyhow::Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// The command in `path`: one non-empty line. A file others can read is used (the alert
/// must not be lost) but named in a warning: its secret is exposed.
pub fn read_secret(path: &Path) -> Result<String> {
    let m = fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    if m.mode() & 0o077 != 0 {
        tracing::warn!(
            "{} is readable by others (mode {:04o}): run `chmod 600 {}` and rotate the tokens it holds",
            path.display(),
            m.mode() & 0o7777,
            path.display()
        );
    }
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let cmd = text.strip_suffix('\n').unwrap_or(&text);
    if cmd.trim().is_empty() || cmd.chars().any(char::is_control) {
        bail!(
            "{} must hold the alert command as one non-empty line",
            path.display()
        );
    }
    Ok(cmd.to_string())
}

/// Whether `path` already holds exactly `content` as a 0600 file: only then may writing it be
/// skipped. Same content with a looser mode is rewritten (0600 from the first byte), not
/// kept: "unchanged" must never leave a token readable by others.
pub fn holds(path: &Path, content: &str) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.is_file() && m.mode() & 0o7777 == SECRET_MODE)
        && read_secret(path).is_ok_and(|old| old == content)
}

/// The alert command a job runs: `--alert-command`, or the content of `--alert-command-file`.
pub fn alert_command(cmd: Option<&str>, file: Option<&Path>) -> Result<Option<String>> {
    match (cmd, file) {
        (Some(c), _) => Ok(Some(c.to_string())),
        (None, Some(f)) => read_secret(f).map(Some),
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn same_content_with_a_loose_mode_is_not_held() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("alert-command");
        write_secret(&p, "curl https://h/?token=T").unwrap();
        assert!(holds(&p, "curl https://h/?token=T"));
        assert!(!holds(&p, "other"));
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(
            !holds(&p, "curl https://h/?token=T"),
            "0644 must be rewritten"
        );
        write_secret(&p, "curl https://h/?token=T").unwrap();
        assert_eq!(fs::metadata(&p).unwrap().mode() & 0o7777, SECRET_MODE);
    }

    use super::*;

    #[test]
    fn written_0600_and_read_back_even_over_a_0644_file() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("etc/alert-command");
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, "old\n").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
        write_secret(&p, "curl -d @- 'https://h/?t=SECRET'").unwrap();
        assert_eq!(fs::metadata(&p).unwrap().mode() & 0o7777, 0o600);
        assert_eq!(read_secret(&p).unwrap(), "curl -d @- 'https://h/?t=SECRET'");
        assert_eq!(
            alert_command(None, Some(&p)).unwrap().as_deref(),
            Some("curl -d @- 'https://h/?t=SECRET'")
        );
        assert_eq!(
            alert_command(Some("x"), Some(&p)).unwrap().as_deref(),
            Some("x")
        );
        fs::write(&p, "a\nb\n").unwrap();
        assert!(read_secret(&p).is_err());
        assert!(alert_command(None, Some(&t.path().join("missing"))).is_err());
    }
}
