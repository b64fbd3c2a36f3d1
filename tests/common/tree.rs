//! A comparable description of a directory tree: every path with its kind, mode, owner,
//! size, mtime and content hash (or link target). Two trees are equal byte for byte, mode
//! for mode, owner for owner, link for link when their descriptions are equal.
#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

pub fn describe(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    walk(root, Path::new(""), &mut out);
    out.sort();
    out
}

fn walk(root: &Path, rel: &Path, out: &mut Vec<String>) {
    let p = root.join(rel);
    let m = fs::symlink_metadata(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let ft = m.file_type();
    let common = format!(
        "{} uid={} gid={} mtime={}.{}",
        rel.display(),
        m.uid(),
        m.gid(),
        m.mtime(),
        m.mtime_nsec()
    );
    if ft.is_dir() {
        out.push(format!("dir {common} mode={:o}", m.mode() & 0o7777));
        let mut names: Vec<_> = fs::read_dir(&p)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        for n in names {
            walk(root, &rel.join(n), out);
        }
    } else if ft.is_symlink() {
        out.push(format!(
            "link {common} -> {}",
            fs::read_link(&p).unwrap().display()
        ));
    } else if ft.is_file() {
        let hash = blake3::hash(&fs::read(&p).unwrap());
        out.push(format!(
            "file {common} mode={:o} size={} {}",
            m.mode() & 0o7777,
            m.len(),
            hash.to_hex()
        ));
    } else if ft.is_socket() {
        out.push(format!("socket {}", rel.display()));
    } else {
        out.push(format!("special {}", rel.display()));
    }
}

/// The description without special files (which a copy skips by design).
pub fn describe_copyable(root: &Path) -> Vec<String> {
    describe(root)
        .into_iter()
        .filter(|l| !l.starts_with("socket ") && !l.starts_with("special "))
        .collect()
}
