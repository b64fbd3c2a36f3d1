//! The data of recover's plans (any backend): the copy-out step's parameters and the request
//! a recover journal records. Pure data; the backends build the plans
//! (src/backend/btrfs/recover/plan.rs), the executor applies [`CopyOut`] in
//! src/walk/apply_recover.rs with the mechanics of `crate::recover`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{Action, Step, Tag};
use crate::recover::manifest::{ArrayInfo, MountInfo};

/// The copy-out: from the node directory on the read-only mount into DEST, read back from
/// disk and verified, then the MANIFEST. Nothing is written below `mountpoint`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyOut {
    /// The private read-only mount of the array.
    pub mountpoint: PathBuf,
    /// `--lightning-dir-name`; `None`: the one top-level directory holding the node's files.
    pub dir_name: Option<String>,
    pub dest: PathBuf,
    /// `--all`: the whole node directory, not only the copy-out set.
    pub all: bool,
    /// The array as found before mounting (the MANIFEST's `array`).
    pub array: ArrayInfo,
    /// How it is mounted (the MANIFEST's `mount`).
    pub mount: MountInfo,
    /// The array's own live mountpoint, when it is mounted: a lightningd using the node
    /// directory there is refused (a copy of a database being written is torn).
    pub live_mount: Option<PathBuf>,
    /// btrfs: fill the survivors' devids and the missing members from `btrfs filesystem show`
    /// on the mount (see src/backend/btrfs/recover/info.rs).
    pub btrfs_devids: bool,
}

/// What a recover journal records as its request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoverRequest {
    pub fs_uuid: String,
    pub dest: PathBuf,
    /// The private mountpoint the plan mounts (cleaned up after an interruption).
    pub mountpoint: PathBuf,
}

/// The recover journal's file name in the state dir.
pub const JOURNAL: &str = "recover-journal.json";

/// The last steps of every recover plan: copy out, then unmount and remove the private
/// mountpoint (non-recursively, only once unmounted).
pub fn copy_and_unmount_steps(out: CopyOut) -> Vec<Step> {
    let mp = out.mountpoint.clone();
    let what = if out.all {
        "everything in it (sockets skipped) through a verified staging copy".to_string()
    } else {
        format!(
            "{} with its -journal and -wal when present (never -shm), hsm_secret (created 0400), emergency.recover, config",
            crate::recover::DATABASE
        )
    };
    let dir = match &out.dir_name {
        Some(n) => format!("{n}/"),
        None => format!(
            "the one top-level directory holding {} or hsm_secret",
            crate::recover::DATABASE
        ),
    };
    vec![
        Step::new(
            "copy",
            Tag::Long,
            format!(
                "copy from {dir} into {} (created 0700 if missing): {what}; every byte hashed (BLAKE3), every file fsynced, read back from disk and compared, PRAGMA integrity_check on the copied database, then {} written",
                out.dest.display(),
                out.dest.join(crate::recover::MANIFEST_NAME).display()
            ),
            vec![Action::CopyOut { out: Box::new(out) }],
        ),
        unmount_step(&mp),
    ]
}

/// Unmounts the private mountpoint and removes its directory (also the cleanup after a
/// failed or interrupted recover).
pub fn unmount_step(mp: &std::path::Path) -> Step {
    Step::new(
        "unmount",
        Tag::Safe,
        "unmount the temporary mountpoint and remove its empty directory",
        vec![
            Action::Umount {
                mountpoint: mp.to_path_buf(),
            },
            Action::RemoveEmptyDir {
                path: mp.to_path_buf(),
            },
        ],
    )
}
