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

mod manifest;
mod tree;
mod verify;

pub use manifest::{Entry, EntryKind, Manifest, Skipped};
pub use tree::{copy_tree, CopyOptions};
pub use verify::{verify, Mismatch, VerifyReport};

/// Files that must never carry group or other permission bits.
pub const SECRET_FILES: &[&str] = &["hsm_secret"];

/// Block size for reading and writing: large enough to stream at disk speed, small enough to
/// keep memory flat for multi-GB databases.
pub const BUF_SIZE: usize = 1 << 20;

#[cfg(test)]
mod tests;
