//! The record of a copy: one [`Entry`] per copied path, with the hash of what was read from
//! the source. Serialized into the setup journal so a resumed run can verify without
//! re-reading the source.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
}

/// One copied path, relative to the copy's root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub rel: PathBuf,
    pub kind: EntryKind,
    /// Permission bits (`0o7777` mask) the destination must end with.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub mtime_sec: i64,
    pub mtime_nsec: i64,
    /// BLAKE3 of the content, hex (files only).
    pub hash: Option<String>,
    /// Link target (symlinks only), verbatim.
    pub target: Option<PathBuf>,
}

/// A path that was deliberately not copied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub rel: PathBuf,
    /// `socket`, `fifo`, `block device`, `char device`.
    pub kind: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub entries: Vec<Entry>,
    pub skipped: Vec<Skipped>,
    /// Notes for the operator (e.g. a secret whose loose permissions were tightened).
    pub notes: Vec<String>,
}

impl Manifest {
    pub fn bytes(&self) -> u64 {
        self.entries
            .iter()
            .filter(|e| e.kind == EntryKind::File)
            .map(|e| e.size)
            .sum()
    }

    pub fn count(&self, kind: EntryKind) -> usize {
        self.entries.iter().filter(|e| e.kind == kind).count()
    }
}
