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
    /// A read-only snapshot of the subvolume `home` into `dir` (named by the time it is
    /// taken), under SQLite's SHARED lock held at most `cap_ms` (`BTRFS_IOC_SNAP_CREATE_V2`,
    /// no process), then verified on a scratch clone and recorded. Fails (leaving no
    /// snapshot) when the lock is not had within `wait_ms` or the cap passes.
    Snapshot {
        home: PathBuf,
        dir: PathBuf,
        wait_ms: u64,
        cap_ms: u64,
    },
    /// `btrfs subvolume delete DIR/NAME` of one of lnraid's snapshots, and its record.
    DeleteSnapshot { dir: PathBuf, name: String },
    /// A fresh point-in-time source (snapshot, or reflink under the lock) copied to `to`
    /// without any lock, read back, then DEST's retention (`keep`: last, hourly, daily,
    /// weekly).
    Backup {
        lightning_dir: PathBuf,
        to: PathBuf,
        max_locked_copy: u64,
        wait_ms: u64,
        cap_ms: u64,
        recipients: Vec<String>,
        keep: [usize; 4],
    },
    /// Copies `src` into the new partial home `partial` (a subvolume on btrfs), applying
    /// `renamed` (backup name → node name) and leaving out `extra`; reads it back and
    /// integrity-checks the database. The source manifest goes into the journal.
    CopyIn {
        src: PathBuf,
        partial: PathBuf,
        renamed: Vec<(String, String)>,
        extra: Vec<String>,
    },
    /// `dir` is unchanged since `CopyIn` copied it (a migration must not lose a commit).
    ProveUnchanged { dir: PathBuf },
}

impl HotAction {
    pub fn command(&self) -> Option<Cmd> {
        Some(match self {
            HotAction::Subvolume { path } => subvolume_create_cmd(path),
            HotAction::DeletePartial { path } => subvolume_delete_cmd(path),
            HotAction::DeleteSnapshot { dir, name } => subvolume_delete_cmd(&dir.join(name)),
            // An ioctl, file copies, or commands that depend on what DEST holds (send -p):
            // described, not printed as a command line.
            _ => return None,
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
            HotAction::DeleteSnapshot { .. } => format!("      $ {cmd}\n        (and its record)"),
            HotAction::Snapshot { home, dir, wait_ms, cap_ms } => format!(
                "      under SQLite's SHARED lock on {}/lightningd.sqlite3 (waiting at most {wait_ms} ms for a commit, held at most {cap_ms} ms):\n        ioctl BTRFS_IOC_SNAP_CREATE_V2 read-only {} -> {}/<RFC 3339 UTC now>\n      then PRAGMA integrity_check on a scratch clone; record <name>.json",
                home.display(), home.display(), dir.display()
            ),
            HotAction::Backup { lightning_dir, to, recipients, keep, .. } => format!(
                "      a fresh point-in-time source of {} (snapshot; reflink under the lock elsewhere)\n      -> {} ({}), read back, MANIFEST; README at DEST\n      then DEST's retention: keep last {}, hourly {}, daily {}, weekly {}",
                lightning_dir.display(), to.display(),
                if recipients.is_empty() { "btrfs send | receive on a btrfs DEST, else a verified file copy".to_string() } else { format!("each file encrypted to {} age recipient(s)", recipients.len()) },
                keep[0], keep[1], keep[2], keep[3]
            ),
            HotAction::CopyIn { src, partial, renamed, .. } => format!(
                "      copy {} -> {} (a new subvolume on btrfs; every byte hashed){}\n      read back and compare; PRAGMA integrity_check on the copied database",
                src.display(), partial.display(),
                if renamed.is_empty() { String::new() } else { format!("; undo the backup's renames ({})", renamed.iter().map(|(a, b)| format!("{a} -> {b}")).collect::<Vec<_>>().join(", ")) }
            ),
            HotAction::ProveUnchanged { dir } => format!(
                "      read {} back against the copy's manifest: unchanged since it was copied",
                dir.display()
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
