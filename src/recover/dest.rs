//! The destination of a copy-out (`--to DEST`), whatever the backend: DEST made absolute with
//! its nearest existing ancestor, names it already holds, and the disks under a block device
//! (so a copy never lands on the surviving disk). Read-only.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::app::Refused;
use crate::types::DevNum;

/// DEST as the operator named it, made absolute, and its nearest existing ancestor.
#[derive(Debug, Clone)]
pub struct Dest {
    pub path: PathBuf,
    pub exists: bool,
    /// Canonical path of DEST, or of its nearest existing ancestor when DEST is missing.
    pub anchor: PathBuf,
}

impl Dest {
    pub fn new(given: &Path) -> Result<Dest> {
        let path =
            std::path::absolute(given).with_context(|| format!("--to {}", given.display()))?;
        let exists = match fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => true,
            Ok(m) if m.file_type().is_symlink() && path.is_dir() => true,
            Ok(_) => {
                return Err(Refused(vec![format!(
                    "--to {}: exists and is not a directory",
                    path.display()
                )])
                .into())
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let mut anchor = path.clone();
        while fs::symlink_metadata(&anchor).is_err() {
            if !anchor.pop() {
                break;
            }
        }
        let anchor =
            fs::canonicalize(&anchor).with_context(|| format!("resolving {}", anchor.display()))?;
        Ok(Dest {
            path,
            exists,
            anchor,
        })
    }

    pub fn st_dev(&self) -> Result<DevNum> {
        let m = fs::metadata(&self.anchor)
            .with_context(|| format!("reading {}", self.anchor.display()))?;
        Ok(DevNum::from_rdev(m.dev()))
    }
}

/// Problems with names DEST already holds: one of `names` (recovered files must never mix with
/// other copies), or the staging/scratch directory of an interrupted recover.
pub fn names_taken(dest: &Dest, names: &[&str]) -> Vec<String> {
    let mut problems = Vec::new();
    if dest.exists {
        let taken: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| fs::symlink_metadata(dest.path.join(n)).is_ok())
            .collect();
        if !taken.is_empty() {
            problems.push(format!(
                "--to {} already holds {}: recovered files must never mix with (or replace) other copies; choose a new or empty directory",
                dest.path.display(),
                taken.join(", ")
            ));
        }
        // An interrupted (killed) recover's staging directory: never published, not usable.
        for e in fs::read_dir(&dest.path).into_iter().flatten().flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with(".lnraid-recover-staging-")
                || n.starts_with(".lnraid-integrity-check-")
            {
                problems.push(format!(
                    "--to {} holds {n}, the unfinished copy of an interrupted `lnraid recover` (never verified, no MANIFEST): nothing in it is usable; remove it (`rm -r {}`) or choose another DEST",
                    dest.path.display(),
                    crate::exec::shell_quote(&e.path().to_string_lossy())
                ));
            }
        }
    }
    problems
}

/// The whole disks under a block device: itself when it is a disk, its disk when it is a
/// partition, and recursively the disks under what it is stacked on (dm, md, loop over a
/// device). Unknown devices give an empty set.
pub fn underlying_disks(dev: DevNum) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    walk(&PathBuf::from(format!("/sys/dev/block/{dev}")), &mut out, 0);
    out
}

fn walk(sys: &Path, out: &mut BTreeSet<String>, depth: u32) {
    let Ok(real) = fs::canonicalize(sys) else {
        return;
    };
    if depth > 16 {
        return;
    }
    if real.join("partition").exists() {
        if let Some(parent) = real.parent() {
            walk(parent, out, depth + 1);
        }
        return;
    }
    let slaves: Vec<PathBuf> = fs::read_dir(real.join("slaves"))
        .map(|r| r.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    if slaves.is_empty() {
        if let Some(name) = real.file_name() {
            out.insert(name.to_string_lossy().into_owned());
        }
    }
    for s in slaves {
        walk(&s, out, depth + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disks_of_this_machine_root() {
        // The root filesystem's device, when it has one, maps to at least one disk name.
        let dev = DevNum::from_rdev(fs::metadata("/").unwrap().dev());
        if dev.major != 0 {
            assert!(!underlying_disks(dev).is_empty(), "{dev}");
        }
        assert!(underlying_disks(DevNum {
            major: 4095,
            minor: 4095
        })
        .is_empty());
    }

    #[test]
    fn dest_must_be_a_directory_and_anchor_exists() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("f");
        fs::write(&f, b"").unwrap();
        assert!(Dest::new(&f).is_err());
        let d = Dest::new(&t.path().join("a/b/c")).unwrap();
        assert!(!d.exists);
        assert_eq!(d.anchor, fs::canonicalize(t.path()).unwrap());
    }
}
