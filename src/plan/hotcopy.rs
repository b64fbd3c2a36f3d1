//! The hot-copy layer's plan pieces: its actions ([`HotAction`], one [`super::Action::Hotcopy`]
//! variant so other planners' enums stay untouched) and setup's subvolume steps. Pure.
//!
//! Why setup makes the node's new home a subvolume: `lnraid snapshot` can only snapshot a
//! subvolume root, and converting later (`snapshot migrate`) needs the node stopped and a
//! second full copy. The partial copy is born a subvolume, so publishing it stays one rename.
//!
//! Invariant: every action here names exactly the command its mechanics run
//! ([`HotAction::command`]), so the dry run is what runs; deletions are only of lnraid's own
//! partial subvolume, re-proven by the executor (`walk/apply_hotcopy.rs`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::setup::SetupRequest;
use super::{Action, Check, Step, Tag};
use crate::exec::Cmd;

/// What the hot-copy layer adds to the executor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "hotcopy", rename_all = "snake_case")]
pub enum HotAction {
    /// `btrfs subvolume create PATH`. Already there and empty: done. lnraid's own half-filled
    /// partial of an interrupted run (re-proven: its `.lnraid-partial-` name, directly below
    /// a mounted mountpoint, on the plan's own filesystem by `BTRFS_IOC_FS_INFO`) is deleted
    /// with `btrfs subvolume delete` first.
    Subvolume { path: PathBuf },
    /// `btrfs subvolume delete PATH` of lnraid's own partial subvolume, when it is there
    /// (re-proven as above; abort).
    DeletePartial { path: PathBuf },
}

impl HotAction {
    pub fn command(&self) -> Option<Cmd> {
        Some(match self {
            HotAction::Subvolume { path } => subvolume_create_cmd(path),
            HotAction::DeletePartial { path } => subvolume_delete_cmd(path),
        })
    }

    /// The dry-run lines (after the step's header).
    pub fn render(&self) -> String {
        let cmd = self.command().map(|c| c.to_string()).unwrap_or_default();
        match self {
            HotAction::Subvolume { .. } => format!(
                "      $ {cmd}\n        (an interrupted run's own partial is deleted first, after re-proof)"
            ),
            HotAction::DeletePartial { .. } => format!(
                "      $ {cmd}\n        (only if there, and proven lnraid's partial on its own filesystem)"
            ),
        }
    }
}

pub fn subvolume_create_cmd(path: &Path) -> Cmd {
    Cmd::mutating(
        "btrfs",
        ["subvolume", "create", path.to_string_lossy().as_ref()],
    )
}

pub fn subvolume_delete_cmd(path: &Path) -> Cmd {
    Cmd::mutating(
        "btrfs",
        ["subvolume", "delete", path.to_string_lossy().as_ref()],
    )
}

/// setup (btrfs), before `copy`: the partial copy's directory is a new subvolume.
pub fn subvolume_step(r: &SetupRequest) -> Step {
    Step::new(
        "subvolume",
        Tag::Safe,
        format!(
            "create the node's new home as a btrfs subvolume ({}), so `lnraid snapshot` can take \
             read-only snapshots of it",
            r.partial().display()
        ),
        vec![Action::Hotcopy(HotAction::Subvolume { path: r.partial() })],
    )
}

/// setup --abort, after the directory is put back: delete the partial subvolume if the copy
/// was never published (a published one is the new home, erased with the array).
pub fn remove_partial_step(r: &SetupRequest) -> Step {
    Step::new(
        "remove-partial",
        Tag::Safe,
        format!(
            "delete the unpublished partial copy {} (a subvolume lnraid created)",
            r.partial().display()
        ),
        vec![Action::Hotcopy(HotAction::DeletePartial {
            path: r.partial(),
        })],
    )
    .check(Check::NodeStopped {
        dir: r.lightning_dir.clone(),
    })
}
