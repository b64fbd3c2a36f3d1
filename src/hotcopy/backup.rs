//! One backup run (the mechanics of `lnraid backup --to DEST`, walked as the executor's
//! `Backup` action): a point-in-time source taken under a lock of milliseconds
//! ([`super::source`]), copied to DEST without any lock ([`super::dest`], [`super::crypt`]),
//! read back, the README at DEST, then DEST's retention.
//!
//! Invariant: the staging directory of a non-snapshot source is removed whatever happens;
//! a snapshot source stays (the next incremental's parent; snapshot retention prunes it).

use std::path::Path;

use anyhow::Result;

use super::dest::BackupManifest;
use super::retention::Policy;
use super::snapshot::{self, Layout, LockBounds};
use super::{crypt, dest, source};
use crate::exec::Runner;

/// What one run produced.
pub struct BackupDone {
    pub doc: BackupManifest,
    pub pruned: Vec<String>,
}

/// How DEST will be written, in words (the dry run's and the output's).
pub fn method(subvol: bool, btrfs_dest: bool, encrypt: bool) -> &'static str {
    match (subvol, btrfs_dest) {
        _ if encrypt => "a point-in-time source (snapshot or reflink under the lock), each file encrypted with age into DEST",
        (true, true) => "snapshot, then btrfs send | receive (incremental when DEST has the previous one)",
        (true, false) => "snapshot, then a verified file copy",
        (false, _) => "reflink of the database under the lock (or a copy under it, small databases only), then a verified file copy",
    }
}

pub fn run(
    runner: &dyn Runner,
    lightning_dir: &Path,
    to: &Path,
    bounds: LockBounds,
    max_locked_copy: u64,
    recipients: &[String],
    keep: Policy,
) -> Result<BackupDone> {
    let layout = Layout::for_dir(lightning_dir)?;
    let recipients = crypt::parse_recipients(recipients, None)?;
    let encrypt = !recipients.is_empty();
    dest::ensure_dest(to)?;
    let btrfs_dest = !encrypt && dest::is_btrfs(to)?;
    let subvol = snapshot::is_subvolume(&layout.home)?;
    let src = source::acquire(runner, &layout, bounds, max_locked_copy)?;
    let result = if encrypt {
        crypt::encrypted_backup(&src, to, &recipients)
    } else if subvol && btrfs_dest {
        let names: Vec<String> = snapshot::list(&layout)?
            .into_iter()
            .map(|s| s.name)
            .collect();
        dest::btrfs_backup(runner, &src, &names, to)
    } else {
        dest::files_backup(&src, to)
    };
    src.cleanup();
    let doc = result?;
    dest::ensure_readme(to)?;
    let pruned = dest::prune(runner, to, keep)?;
    Ok(BackupDone { doc, pruned })
}
