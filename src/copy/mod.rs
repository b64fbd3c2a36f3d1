//! The verified copy of `$LIGHTNINGDIR` onto the new array.
//!
//! [`copy_tree`] copies regular files, directories and symlinks, preserving modes, owners and
//! timestamps, hashing every byte it reads (BLAKE3) into a [`Manifest`]; sockets
//! (`lightning-rpc`), FIFOs and device nodes are skipped and listed. [`verify`] then reads every
//! destination file back from the disk (its cached pages dropped first) and compares hash,
//! size, mode, owner and link target with the manifest.
//!
//! Secrets: nothing is ever readable by others while being copied. Files are created `0600`
//! (root-owned) and directories `0700`; owner and final mode are applied only after the
//! content is written, and `hsm_secret` never gets group/other bits at all, even if the source
//! had them. This module writes only below the destination it is given and never deletes.
//!
//! Speed: both phases are bound by the disks, so `stream` overlaps reading with writing (and
//! starts writeback during the copy) and reads large files back with two threads; measured
//! with `scripts/bench-setup-copy` (README, "Benchmarks").

mod manifest;
mod stream;
mod tree;
mod verify;

pub use manifest::{Entry, EntryKind, Manifest, Skipped};
pub use tree::{copy_tree, copy_tree_into, CopyOptions};
pub use verify::{hash_from_disk, verify, Mismatch, VerifyReport};

/// Files that must never carry group or other permission bits.
pub const SECRET_FILES: &[&str] = &["hsm_secret"];

/// Block size of the copy (three in flight between its reader and writer threads): large
/// enough to stream at disk speed, small enough to keep memory flat for multi-GB databases.
/// The read-back uses larger blocks (`stream::VERIFY_CHUNK`).
pub const BUF_SIZE: usize = 1 << 20;

#[cfg(test)]
mod tests;
