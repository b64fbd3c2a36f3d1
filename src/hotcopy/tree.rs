//! A [`Manifest`] of a tree as it is on the disk (hashes read back, caches dropped), for
//! checking a copy lnraid did not write itself (a `btrfs receive`) with `copy::verify`.
//! Read-only.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use anyhow::{Context, Result};

use crate::copy::{hash_from_disk, Entry, EntryKind, Manifest, Skipped};

pub fn manifest_of(root: &Path) -> Result<Manifest> {
    let mut m = Manifest::default();
    walk(root, Path::new(""), &mut m)?;
    Ok(m)
}

fn walk(root: &Path, rel: &Path, m: &mut Manifest) -> Result<()> {
    let path = root.join(rel);
    let meta =
        fs::symlink_metadata(&path).with_context(|| format!("reading {}", path.display()))?;
    let ft = meta.file_type();
    let kind = if ft.is_dir() {
        EntryKind::Dir
    } else if ft.is_file() {
        EntryKind::File
    } else if ft.is_symlink() {
        EntryKind::Symlink
    } else {
        m.skipped.push(Skipped {
            rel: rel.to_path_buf(),
            kind: "special file".into(),
        });
        return Ok(());
    };
    let mut e = Entry {
        rel: rel.to_path_buf(),
        kind,
        mode: if kind == EntryKind::Symlink {
            0o777
        } else {
            meta.mode() & 0o7777
        },
        uid: meta.uid(),
        gid: meta.gid(),
        size: if kind == EntryKind::File {
            meta.len()
        } else {
            0
        },
        mtime_sec: meta.mtime(),
        mtime_nsec: meta.mtime_nsec(),
        hash: None,
        target: None,
    };
    match kind {
        EntryKind::File => e.hash = Some(hash_from_disk(&path, &mut |_| {})?.1),
        EntryKind::Symlink => e.target = Some(fs::read_link(&path)?),
        EntryKind::Dir => {}
    }
    m.entries.push(e);
    if kind == EntryKind::Dir {
        let mut names: Vec<_> = fs::read_dir(&path)
            .with_context(|| format!("listing {}", path.display()))?
            .map(|d| d.map(|d| d.file_name()))
            .collect::<Result<_, _>>()?;
        names.sort();
        for n in names {
            walk(root, &rel.join(n), m)?;
        }
    }
    Ok(())
}
