//! Degraded recovery: the pieces of `lnraid recover` that are not orchestration.
//!
//! When a member of the array dies, the node's state must be copied off the survivor without
//! writing to the degraded filesystem (DESIGN §1 job 4, §4). This module holds:
//! - [`select`]: pure choices — which array (by filesystem UUID), which node directory, which
//!   files make up the copy-out set;
//! - [`generations`]: which present members may be read (the newest consistent set by
//!   superblock generation, checked against lnraid's member records);
//! - [`files`]: the copy-out of single files into the destination (secrets created with their
//!   final mode from the first byte, everything fsynced) and the read-back hash from disk;
//! - [`manifest`]: the `MANIFEST` written next to the copies (JSON, documented in README);
//! - [`copy`], [`copyout`], [`partial`], [`dest`]: the copy-out step the executor applies
//!   (default set or `--all`, verification read back from disk, cleanup of a failed copy,
//!   DEST's checks);
//! - [`mountpoint`]: where the private read-only mounts go (pure).
//!
//! May not: start processes, mount, or open anything on the array for writing. The plans
//! (src/backend/*/recover) mount read-only, and the executor hands this module paths below
//! that read-only mount.

pub mod copy;
pub mod copyout;
pub mod dest;
pub mod files;
pub mod generations;
pub mod manifest;
pub mod mountpoint;
pub mod no_overlay;
pub mod partial;
pub mod select;

pub use manifest::{RecoverManifest, MANIFEST_NAME};
pub use select::{COPY_SET, DATABASE, HSM_SECRET};
