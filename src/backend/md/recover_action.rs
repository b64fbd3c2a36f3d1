//! md recover's executor actions, as data (own arm in `plan::Action::MdRecover`): the
//! read-only assembly of the survivor, the dm-snapshot overlay, the loop device of the
//! copy-on-write file (or of the survivor's image), and their teardown. Each names the one
//! command it runs ([`MdRecoverAction::command`]), so the dry run prints what runs; the
//! mechanics (re-proofs right before, "already done" checks) are in src/walk/apply_md_recover.rs.
//!
//! Never `--force`, never `noload`/`norecovery`, never a write to the survivor: the assembly
//! is `--readonly`, the journal replays into the overlay (or the image copy); a teardown
//! removes only what this recover made (the loop device only while it is backed by our file).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::recover::{
    assemble_cmd, overlay_create_cmd, overlay_remove_cmd, overlay_table, stop_cmd,
};
use crate::exec::{quote_path, Cmd};
use crate::types::DevPath;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MdRecoverAction {
    /// `mdadm --assemble --readonly --run /dev/md/lnraid-recover SURVIVOR`, after re-reading
    /// the survivor's superblock: its event count must still be `events` (as planned).
    Assemble { survivor: DevPath, events: u64 },
    /// Create `path` (new, 0600, sparse `bytes` long) on the destination media: the overlay's
    /// copy-on-write store or the survivor's image.
    NewFile { path: PathBuf, bytes: u64 },
    /// `dmsetup create lnraid-recover-overlay --table '0 SECTORS snapshot ORIGIN COW N 8'`,
    /// after checking the origin still has `sectors` 512-byte sectors.
    Overlay {
        origin: DevPath,
        sectors: u64,
        cow: String,
    },
    /// `dmsetup remove lnraid-recover-overlay`, when the mapping exists.
    RemoveOverlay,
    /// `losetup -d LOOP`, only while LOOP is backed by `file` (ours).
    DetachLoop { loopdev: String, file: PathBuf },
    /// Delete `path` (the copy-on-write file or the image), if present.
    RemoveFile { path: PathBuf },
    /// `mdadm --stop /dev/md/lnraid-recover` when assembled, and its leftover link.
    StopAssembly,
}

/// `losetup LOOP FILE` (a busy LOOP is refused by losetup: never reattached).
pub fn attach_cmd(loopdev: &str, file: &Path) -> Cmd {
    Cmd::mutating("losetup", [loopdev, &file.to_string_lossy()])
}

pub fn detach_cmd(loopdev: &str) -> Cmd {
    Cmd::mutating("losetup", ["-d", loopdev])
}

impl MdRecoverAction {
    /// The one command the action runs, as the dry run prints it.
    pub fn command(&self) -> Option<Cmd> {
        match self {
            MdRecoverAction::Assemble { survivor, .. } => Some(assemble_cmd(survivor)),
            MdRecoverAction::Overlay {
                origin,
                sectors,
                cow,
            } => Some(overlay_create_cmd(&overlay_table(origin, *sectors, cow))),
            MdRecoverAction::RemoveOverlay => Some(overlay_remove_cmd()),
            MdRecoverAction::DetachLoop { loopdev, .. } => Some(detach_cmd(loopdev)),
            MdRecoverAction::StopAssembly => Some(stop_cmd()),
            MdRecoverAction::NewFile { .. } | MdRecoverAction::RemoveFile { .. } => None,
        }
    }

    /// The dry run's line (plan/render.rs); `$ command` lines are printed beside it.
    pub fn render(&self) -> String {
        match self {
            MdRecoverAction::Assemble { survivor, events } => format!(
                "re-read {survivor} with mdadm --examine (events must still be {events}), then assemble it read-only (never --force)"
            ),
            MdRecoverAction::NewFile { path, bytes } => format!(
                "create {} (new, 0600, {} sparse) on the destination media",
                quote_path(path),
                crate::types::Bytes(*bytes)
            ),
            MdRecoverAction::Overlay { origin, sectors, .. } => format!(
                "check that {origin} still has {sectors} sectors, then put the dm-snapshot overlay on it (writes go to the copy-on-write file, never to {origin})"
            ),
            MdRecoverAction::RemoveOverlay => "remove the overlay (if present)".into(),
            MdRecoverAction::DetachLoop { loopdev, file } => format!(
                "detach {loopdev} only while it is backed by {}",
                quote_path(file)
            ),
            MdRecoverAction::RemoveFile { path } => {
                format!("delete {} (if present)", quote_path(path))
            }
            MdRecoverAction::StopAssembly => {
                "stop the read-only assembly (if assembled) and remove its /dev/md link".into()
            }
        }
    }
}
