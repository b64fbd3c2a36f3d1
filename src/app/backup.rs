//! `lnraid backup --to DEST`: a consistent point-in-time source taken under a lock of
//! milliseconds (`hotcopy::source`), copied to DEST without any lock (`hotcopy::dest`),
//! verified by reading back, then DEST's retention.

use anyhow::{Context, Result};

use crate::cli_hotcopy::BackupArgs;
use crate::exec::Runner;
use crate::hotcopy::jobs::{recorded, HotJob};
use crate::hotcopy::{crypt, dest, snapshot, source};
use crate::types::Bytes;

pub fn run(args: &BackupArgs, runner: &dyn Runner) -> Result<i32> {
    let rec = (args.record.record_job && !args.dry_run).then(|| {
        (
            args.record.state_dir.as_path(),
            HotJob::Backup,
            args.node.lightning_dir.as_path(),
            Some(args.to.as_path()),
        )
    });
    recorded(rec, || run_inner(args, runner))
}

fn run_inner(args: &BackupArgs, runner: &dyn Runner) -> Result<(i32, String)> {
    let layout = snapshot::Layout::for_dir(&args.node.lightning_dir)?;
    let max = Bytes::parse_human(&args.max_locked_copy)
        .with_context(|| format!("{:?} is not a size", args.max_locked_copy))?
        .0;
    let recipients = crypt::parse_recipients(&args.encrypt_to, args.recipients_file.as_deref())?;
    let encrypt = !recipients.is_empty();
    let btrfs_dest = !encrypt && args.to.exists() && dest::is_btrfs(&args.to)?;
    let subvol = snapshot::is_subvolume(&layout.home)?;
    let how = match (subvol, btrfs_dest) {
        _ if encrypt => "a point-in-time source (snapshot or reflink under the lock), each file encrypted with age into DEST",
        (true, true) => "snapshot, then btrfs send | receive (incremental when DEST has the previous one)",
        (true, false) => "snapshot, then a verified file copy",
        (false, _) => "reflink of the database under the lock (or a copy under it, small databases only), then a verified file copy",
    };
    if args.dry_run {
        println!(
            "would back up {} to {}: {how}",
            layout.home.display(),
            args.to.display()
        );
        return Ok((super::exit::OK, String::new()));
    }
    dest::ensure_dest(&args.to)?;
    let src = source::acquire(runner, &layout, super::snapshot::bounds(&args.node), max)?;
    let result = if encrypt {
        crypt::encrypted_backup(&src, &args.to, &recipients)
    } else if subvol && btrfs_dest {
        let names: Vec<String> = snapshot::list(&layout)?
            .into_iter()
            .map(|s| s.name)
            .collect();
        dest::btrfs_backup(runner, &src, &names, &args.to)
    } else {
        dest::files_backup(&src, &args.to)
    };
    src.cleanup();
    let doc = result?;
    dest::ensure_readme(&args.to)?;
    let pruned = dest::prune(runner, &args.to, super::snapshot::policy(&args.keep))?;
    println!(
        "backup {}{}\n  taken by {} (SQLite lock held {:.1} ms)\n  {} bytes written to DEST{}\n  verified: {} files read back, database integrity {}",
        args.to.join(&doc.name).display(),
        if doc.encrypted {
            format!(" (encrypted to {} age recipient(s))", recipients.len())
        } else {
            String::new()
        },
        doc.taken_by,
        doc.lock_ms,
        doc.transferred,
        doc.parent.as_ref().map(|p| format!(" (incremental from {p})")).unwrap_or_default(),
        doc.files.len(),
        doc.integrity_check
    );
    for p in pruned {
        println!("  pruned {p}");
    }
    Ok((
        super::exit::OK,
        format!("backup {} at {}", doc.name, args.to.display()),
    ))
}
