//! A copy-out that did not finish must not look like a recovery: DEST too small is refused
//! before the first byte (free space against the bytes to copy), and a copy that fails anyway
//! (ENOSPC from metadata, inodes, a concurrent writer; a read error) has its partial files
//! removed. Where removing fails, DEST is marked in big letters: a file
//! `INCOMPLETE-DO-NOT-USE` is written and the directory renamed `<DEST>.INCOMPLETE-DO-NOT-USE`.
//!
//! May not: remove anything recover did not create. Only names of the copy-out (or of the
//! node directory, for `--all`), the MANIFEST and recover's own hidden staging/scratch
//! directories are touched (`check_dest` proved none of them existed before), DEST itself
//! only when recover created it and it ends empty. Removal never crosses into another
//! filesystem (a mount inside DEST is left, and reported).

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::types::Bytes;

/// The marker written into a DEST whose partial copy could not be removed.
pub const INCOMPLETE: &str = "INCOMPLETE-DO-NOT-USE";

/// Bytes a copy of `bytes` needs on DEST: the files, a WAL database's second copy for the
/// integrity check in a scratch directory, and 1% + 4 MiB for metadata.
pub fn needed(bytes: u64, scratch: u64) -> u64 {
    bytes + scratch + bytes / 100 + (4 << 20)
}

/// Free bytes on the filesystem holding `p` for an unprivileged writer (root may dip into
/// ext4's reserve, but lnraid plans without it).
pub fn free_bytes(p: &Path) -> Result<u64> {
    let st = nix::sys::statvfs::statvfs(p).with_context(|| format!("statvfs {}", p.display()))?;
    Ok(st.blocks_available() * st.fragment_size())
}

/// Refuses when DEST cannot hold the copy.
pub fn check_space(dest: &Path, anchor: &Path, bytes: u64, scratch: u64) -> Result<()> {
    let at = if dest.is_dir() { dest } else { anchor };
    let free = free_bytes(at)?;
    let need = needed(bytes, scratch);
    if free < need {
        return Err(crate::app::Refused(vec![format!(
            "--to {} has {} free, the copy needs about {} ({} of files{}): choose larger media; nothing was copied",
            dest.display(),
            Bytes(free),
            Bytes(need),
            Bytes(bytes),
            if scratch > 0 { " and a scratch copy of the WAL database for its check" } else { "" }
        )])
        .into());
    }
    Ok(())
}

/// What a failed copy left, and what became of it.
#[derive(Debug, Default)]
pub struct Cleanup {
    pub removed: Vec<PathBuf>,
    pub kept: Vec<(PathBuf, String)>,
    pub marked: Option<PathBuf>,
}

/// Removes what recover created in DEST: the entries in `names`, and hidden entries that start
/// with `.lnraid-` (staging, integrity scratch). `created` says whether DEST itself was made by
/// this run (then it is removed when empty). Falls back to marking DEST incomplete.
pub fn clean_partial(dest: &Path, created: bool, names: &[String]) -> Cleanup {
    let mut c = Cleanup::default();
    let Ok(root) = fs::symlink_metadata(dest) else {
        return c;
    };
    let mut ours: Vec<PathBuf> = names.iter().map(|n| dest.join(n)).collect();
    if let Ok(rd) = fs::read_dir(dest) {
        ours.extend(
            rd.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(".lnraid-"))
                .map(|e| e.path()),
        );
    }
    ours.sort();
    ours.dedup();
    for p in ours {
        if fs::symlink_metadata(&p).is_err() {
            continue;
        }
        match remove_same_dev(&p, root.dev()) {
            Ok(()) => c.removed.push(p),
            Err(e) => c.kept.push((p, format!("{e:#}"))),
        }
    }
    if c.kept.is_empty() {
        if created {
            let _ = fs::remove_dir(dest);
        }
        return c;
    }
    c.marked = mark_incomplete(dest);
    c
}

/// Removes `p` (a file, link or directory tree) without crossing into another filesystem.
fn remove_same_dev(p: &Path, dev: u64) -> Result<()> {
    let m = fs::symlink_metadata(p).with_context(|| format!("reading {}", p.display()))?;
    if m.dev() != dev {
        anyhow::bail!(
            "{} is another filesystem (a mount?): left alone",
            p.display()
        );
    }
    if m.is_dir() {
        for e in fs::read_dir(p).with_context(|| format!("listing {}", p.display()))? {
            remove_same_dev(&e?.path(), dev)?;
        }
        fs::remove_dir(p).with_context(|| format!("removing {}", p.display()))
    } else {
        fs::remove_file(p).with_context(|| format!("removing {}", p.display()))
    }
}

/// Writes `INCOMPLETE-DO-NOT-USE` into DEST and renames DEST beside itself. Returns the new
/// path (or DEST when only the marker could be written).
fn mark_incomplete(dest: &Path) -> Option<PathBuf> {
    let text = "THIS COPY IS INCOMPLETE. DO NOT START A NODE FROM IT.\n\
                lnraid recover failed while copying (see its output); run it again onto new media.\n";
    let wrote = fs::write(dest.join(INCOMPLETE), text).is_ok();
    let mut renamed = dest.as_os_str().to_owned();
    renamed.push(format!(".{INCOMPLETE}"));
    let renamed = PathBuf::from(renamed);
    if fs::rename(dest, &renamed).is_ok() {
        return Some(renamed);
    }
    wrote.then(|| dest.to_path_buf())
}

/// The operator's message for a failed copy-out and its cleanup.
pub fn report(dest: &Path, c: &Cleanup) -> String {
    match &c.marked {
        None if c.kept.is_empty() => format!(
            "the partial copy in {} was removed ({} entries): nothing there is usable",
            dest.display(),
            c.removed.len()
        ),
        marked => {
            let kept: Vec<String> = c
                .kept
                .iter()
                .map(|(p, e)| format!("{}: {e}", p.display()))
                .collect();
            format!(
                "THE COPY IN {} IS INCOMPLETE — DO NOT USE IT. Some partial files could not be removed ({}); {}",
                dest.display(),
                kept.join("; "),
                match marked {
                    Some(m) => format!("marked with {INCOMPLETE} at {}", m.display()),
                    None => "and it could not even be marked: delete it by hand".into(),
                }
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_only_ours_and_the_dest_it_created() {
        let t = tempfile::tempdir().unwrap();
        let dest = t.path().join("dest");
        fs::create_dir(&dest).unwrap();
        fs::write(dest.join("lightningd.sqlite3"), b"partial").unwrap();
        fs::create_dir_all(dest.join(".lnraid-recover-staging-1/sub")).unwrap();
        fs::write(dest.join(".lnraid-recover-staging-1/sub/f"), b"x").unwrap();
        let c = clean_partial(
            &dest,
            true,
            &["lightningd.sqlite3".into(), "hsm_secret".into()],
        );
        assert_eq!(c.removed.len(), 2, "{c:?}");
        assert!(c.kept.is_empty() && c.marked.is_none());
        assert!(!dest.exists(), "created by recover and empty: removed");
        assert!(report(&dest, &c).contains("was removed"));

        // An existing DEST with the operator's own file: that file and DEST stay.
        fs::create_dir(&dest).unwrap();
        fs::write(dest.join("notes.txt"), b"mine").unwrap();
        fs::write(dest.join("config"), b"partial").unwrap();
        let c = clean_partial(&dest, false, &["config".into()]);
        assert_eq!(c.removed, [dest.join("config")]);
        assert_eq!(fs::read(dest.join("notes.txt")).unwrap(), b"mine");
    }

    #[test]
    fn space_check_names_sizes() {
        let t = tempfile::tempdir().unwrap();
        let e = check_space(t.path(), t.path(), u64::MAX / 4, 0).unwrap_err();
        assert!(
            e.to_string().contains("choose larger media")
                || format!("{e:?}").contains("larger media")
        );
        check_space(t.path(), t.path(), 1, 0).unwrap();
        assert!(needed(100 << 20, 0) > 100 << 20);
    }
}
