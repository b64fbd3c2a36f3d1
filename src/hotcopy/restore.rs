//! Putting a snapshot or backup back as the node's directory (`lnraid restore`), and moving a
//! plain node directory into a subvolume (`lnraid snapshot migrate`): both are "a verified
//! copy into a new home, then swap".
//!
//! Invariants: the node is checked stopped (procfs) before the copy and again right before
//! the swap; the current directory is renamed aside, never deleted; the new home appears
//! under the node's name only after the copy was read back and its database checked; a
//! migration proves the source unchanged (read back against the manifest) right before the
//! swap, so no commit made meanwhile is lost.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use jiff::Timestamp;

use super::dest::{self, BackupManifest, MANIFEST_NAME};
use super::snapshot::{snapshot_name, DB_NAME, SNAPSHOTS_DIR};
use crate::copy::{copy_tree, copy_tree_into, verify, CopyOptions, Manifest};
use crate::exec::Runner;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Snapshot,
    FileBackup,
    BtrfsBackup,
}

#[derive(Debug, Clone)]
pub struct RestoreSource {
    pub kind: Kind,
    pub path: PathBuf,
    pub time: Timestamp,
    /// Name in the source → name in the node directory.
    pub renamed: Vec<(String, String)>,
    /// Files of the source that are not the node's (MANIFEST, README).
    pub extra: Vec<String>,
}

/// What `from` is. Refuses anything lnraid did not make.
pub fn identify(from: &Path) -> Result<RestoreSource> {
    let path = fs::canonicalize(from).with_context(|| format!("resolving {}", from.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let parent = path.parent().context("no parent")?;
    let time_of_name = name.parse::<Timestamp>().ok();
    let m: Option<BackupManifest> = dest::read_manifest(parent, &name);
    let (kind, renamed, extra) = match &m {
        Some(m) if m.layout == dest::Layout::Files => {
            (Kind::FileBackup, m.renamed.clone(), vec![MANIFEST_NAME.into(), "README".into()])
        }
        Some(_) => (Kind::BtrfsBackup, Vec::new(), Vec::new()),
        None if parent.parent().and_then(|p| p.file_name()).is_some_and(|n| n == SNAPSHOTS_DIR) => {
            (Kind::Snapshot, Vec::new(), Vec::new())
        }
        None => bail!(
            "{} is neither an lnraid snapshot (in {SNAPSHOTS_DIR}/) nor an lnraid backup (with a MANIFEST)",
            path.display()
        ),
    };
    let time = m
        .as_ref()
        .and_then(|m| m.name.parse().ok())
        .or(time_of_name)
        .with_context(|| format!("{} is not named by its time", path.display()))?;
    Ok(RestoreSource {
        kind,
        path,
        time,
        renamed,
        extra,
    })
}

/// Where the current directory goes.
pub fn aside_path(target: &Path, tag: &str) -> PathBuf {
    let mut p = target.as_os_str().to_os_string();
    p.push(format!(
        ".{tag}-{}",
        snapshot_name(Timestamp::now()).replace(':', "")
    ));
    PathBuf::from(p)
}

/// Where [`copy_in`] writes the new home of `target` until it is swapped in.
pub fn partial_path(target: &Path, tag: &str) -> Result<PathBuf> {
    let parent = target.parent().context("the directory has no parent")?;
    let name = target.file_name().context("no name")?.to_string_lossy();
    Ok(parent.join(format!(".lnraid-{tag}-partial-{name}")))
}

/// Copies `src` into `partial` (a new subvolume when its parent is btrfs), applies `renamed`,
/// leaves out `extra`, reads the copy back against the manifest and integrity-checks its
/// database. Returns the source's manifest (what a migration proves unchanged before the
/// swap). A `partial` left by an interrupted run is refused, not removed.
pub fn copy_in(
    runner: &dyn Runner,
    src: &Path,
    partial: &Path,
    renamed: &[(String, String)],
    extra: &[String],
) -> Result<Manifest> {
    let parent = partial.parent().context("the directory has no parent")?;
    if fs::symlink_metadata(partial).is_ok() {
        bail!(
            "{} exists (an interrupted run?): look at it and remove it first",
            partial.display()
        );
    }
    let mut manifest = if dest::is_btrfs(parent)? {
        runner.run_ok(&crate::plan::hotcopy::subvolume_create_cmd(partial))?;
        copy_tree_into(src, partial, &CopyOptions::default(), &mut |_| {})?
    } else {
        copy_tree(src, partial, &CopyOptions::default(), &mut |_| {})?
    };
    let source_manifest = manifest.clone();
    for x in extra {
        let p = partial.join(x);
        if p.is_file() {
            fs::remove_file(&p)?;
        }
        manifest.entries.retain(|e| e.rel != Path::new(x));
    }
    for (from, to) in renamed {
        let (a, b) = (partial.join(from), partial.join(to));
        if a.is_file() {
            fs::rename(&a, &b)?;
            for e in manifest
                .entries
                .iter_mut()
                .filter(|e| e.rel == Path::new(from))
            {
                e.rel = PathBuf::from(to);
            }
        }
    }
    super::dest::reset_root_times(partial, &manifest)?;
    verify(&manifest, partial, &mut |_| {})?.into_result()?;
    let db = partial.join(DB_NAME);
    if db.is_file() {
        let scratch = parent.join(format!(
            ".lnraid-scratch-{}",
            partial.file_name().unwrap_or_default().to_string_lossy()
        ));
        let i = crate::sqlite::integrity_check(&db, &scratch)?;
        if !i.ok {
            bail!(
                "the copied database failed its integrity check: {}",
                i.problems.join("; ")
            );
        }
    }
    Ok(source_manifest)
}

/// The source is unchanged since [`copy_in`] copied it (special files, like the RPC socket,
/// are not copied and not compared): a commit made meanwhile would be lost by a migration.
pub fn prove_unchanged(m: &Manifest, dir: &Path) -> Result<()> {
    let mut r = verify(m, dir, &mut |_| {})?;
    let skipped: Vec<&Path> = m.skipped.iter().map(|s| s.rel.as_path()).collect();
    r.mismatches.retain(|x| !skipped.contains(&x.rel.as_path()));
    r.into_result()
        .map(|_| ())
        .with_context(|| format!("{} changed while it was copied", dir.display()))
}
