//! Read-back verification of a copy against its manifest. Read-only.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use super::stream::hash_read_back;
use super::{EntryKind, Manifest};

/// One difference between the manifest and the destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    pub rel: PathBuf,
    pub what: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    pub files: usize,
    pub bytes: u64,
    pub mismatches: Vec<Mismatch>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.mismatches.is_empty()
    }

    /// `Ok` when the copy matched; otherwise the error listing every difference.
    pub fn into_result(self) -> anyhow::Result<VerifyReport> {
        if self.is_ok() {
            return Ok(self);
        }
        let list: Vec<String> = self
            .mismatches
            .iter()
            .map(|x| format!("{}: {}", x.rel.display(), x.what))
            .collect();
        anyhow::bail!(
            "the copy differs from the original:\n  {}",
            list.join("\n  ")
        )
    }
}

/// Checks every manifest entry at `dst`: kind, owner, mode, mtime, size, content hash (read
/// back from the disk: each file's cached pages are dropped before it is read), link target;
/// and that `dst` holds nothing the manifest does not list.
pub fn verify(
    manifest: &Manifest,
    dst: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<VerifyReport> {
    let mut report = VerifyReport::default();
    let mut read = 0u64;
    for e in &manifest.entries {
        let path = dst.join(&e.rel);
        let mut bad = |what: String| {
            report.mismatches.push(Mismatch {
                rel: e.rel.clone(),
                what,
            })
        };
        let m = match fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(err) => {
                bad(format!("missing from the copy: {err}"));
                continue;
            }
        };
        let kind_ok = match e.kind {
            EntryKind::File => m.file_type().is_file(),
            EntryKind::Dir => m.file_type().is_dir(),
            EntryKind::Symlink => m.file_type().is_symlink(),
        };
        if !kind_ok {
            bad(format!("expected a {:?}", e.kind));
            continue;
        }
        if (m.uid(), m.gid()) != (e.uid, e.gid) {
            bad(format!(
                "owner {}:{} instead of {}:{}",
                m.uid(),
                m.gid(),
                e.uid,
                e.gid
            ));
        }
        if e.kind != EntryKind::Symlink && m.mode() & 0o7777 != e.mode {
            bad(format!(
                "mode {:04o} instead of {:04o}",
                m.mode() & 0o7777,
                e.mode
            ));
        }
        if (m.mtime(), m.mtime_nsec()) != (e.mtime_sec, e.mtime_nsec) {
            bad("modification time differs".into());
        }
        match e.kind {
            EntryKind::Symlink => {
                let t = fs::read_link(&path)
                    .with_context(|| format!("reading link {}", path.display()))?;
                if Some(&t) != e.target.as_ref() {
                    bad(format!(
                        "link points to {} instead of {:?}",
                        t.display(),
                        e.target
                    ));
                }
            }
            EntryKind::File => {
                if m.len() != e.size {
                    bad(format!("size {} instead of {}", m.len(), e.size));
                    continue;
                }
                let (_, hash) = hash_from_disk(&path, &mut |n| {
                    read += n;
                    progress(read);
                })?;
                if Some(&hash) != e.hash.as_ref() {
                    bad("content differs from what was read from the source".into());
                }
                report.files += 1;
                report.bytes += e.size;
            }
            EntryKind::Dir => {}
        }
    }
    let listed: BTreeSet<&Path> = manifest.entries.iter().map(|e| e.rel.as_path()).collect();
    for extra in walk(dst, Path::new(""))?
        .into_iter()
        .filter(|p| !listed.contains(p.as_path()))
    {
        report.mismatches.push(Mismatch {
            rel: extra,
            what: "present in the copy but not in the source".into(),
        });
    }
    Ok(report)
}

/// Hashes a file as stored on the disk: the page cache for it is dropped first (the copy was
/// synced, so the pages are clean and `POSIX_FADV_DONTNEED` discards them), then it is read
/// back (by two threads when it is large, see `stream`).
/// Returns the size (at open) and the BLAKE3 hex. Also `recover`'s read-back.
pub fn hash_from_disk(path: &Path, progress: &mut dyn FnMut(u64)) -> Result<(u64, String)> {
    let f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let size = f
        .metadata()
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    nix::fcntl::posix_fadvise(
        f.as_raw_fd(),
        0,
        0,
        nix::fcntl::PosixFadviseAdvice::POSIX_FADV_DONTNEED,
    )
    .with_context(|| format!("dropping cached pages of {}", path.display()))?;
    let h = hash_read_back(path, f, progress)
        .with_context(|| format!("reading back {}", path.display()))?;
    Ok((size, h.to_hex().to_string()))
}

/// Every path below `root`, relative, the root itself included as "".
fn walk(root: &Path, rel: &Path) -> Result<Vec<PathBuf>> {
    let mut out = vec![rel.to_path_buf()];
    let dir = root.join(rel);
    for e in fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))? {
        let e = e?;
        let r = rel.join(e.file_name());
        if e.file_type()?.is_dir() {
            out.extend(walk(root, &r)?);
        } else {
            out.push(r);
        }
    }
    Ok(out)
}
