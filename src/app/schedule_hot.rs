//! `schedule install`'s snapshot and backup flags → the config request (hotcopy's part of
//! the schedule). Pure conversion; `None` keeps what lnraid.toml has, `Some(None)` removes.

use crate::cli_hotcopy::ScheduleHotArgs;
use crate::schedule::hotcopy::{BackupConfig, SnapshotConfig};

pub fn snapshot(a: &ScheduleHotArgs) -> Option<Option<SnapshotConfig>> {
    if a.no_snapshot {
        return Some(None);
    }
    let (dir, every) = (a.lightning_dir.as_ref()?, a.snapshot_every.as_ref()?);
    Some(Some(SnapshotConfig {
        lightning_dir: dir.clone(),
        every: every.clone(),
    }))
}

pub fn backup(a: &ScheduleHotArgs) -> Option<Option<BackupConfig>> {
    if a.no_backup {
        return Some(None);
    }
    let (dir, to) = (a.lightning_dir.as_ref()?, a.backup_to.as_ref()?);
    Some(Some(BackupConfig {
        lightning_dir: dir.clone(),
        to: to.clone(),
        every: a.backup_every.clone(),
        encrypt_to: a.backup_encrypt_to.clone(),
        recipients_file: a.backup_recipients_file.clone(),
    }))
}
