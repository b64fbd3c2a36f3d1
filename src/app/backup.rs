//! `lnraid backup --to DEST`: the plan (one `Backup` action: a point-in-time source under a
//! lock of milliseconds, copied to DEST without any lock, read back, DEST's retention),
//! printed for the dry run or walked by the executor; the mechanics are `hotcopy::backup`.

use anyhow::{Context, Result};

use crate::cli_hotcopy::BackupArgs;
use crate::exec::Runner;
use crate::hotcopy::jobs::{recorded, HotJob};
use crate::hotcopy::{backup, crypt, dest, snapshot};
use crate::plan::hotcopy::HotAction;
use crate::plan::hotcopy_plans::plan_backup;
use crate::types::Bytes;

pub fn run(args: &BackupArgs, runner: &dyn Runner) -> Result<i32> {
    let rec = (args.record.record_job && !args.dry_run).then_some({
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
    // Recipients resolved now (the file read once), so the plan holds exactly what is used.
    let recipients: Vec<String> =
        crypt::parse_recipients(&args.encrypt_to, args.recipients_file.as_deref())?
            .iter()
            .map(ToString::to_string)
            .collect();
    let encrypt = !recipients.is_empty();
    let btrfs_dest = !encrypt && args.to.exists() && dest::is_btrfs(&args.to)?;
    let subvol = snapshot::is_subvolume(&layout.home)?;
    let k = &args.keep;
    let plan = plan_backup(HotAction::Backup {
        lightning_dir: layout.home.clone(),
        to: args.to.clone(),
        max_locked_copy: max,
        wait_ms: args.node.lock_wait_ms,
        cap_ms: args.node.lock_cap_ms,
        recipients: recipients.clone(),
        keep: [k.keep_last, k.keep_hourly, k.keep_daily, k.keep_weekly],
    });
    let how = backup::method(subvol, btrfs_dest, encrypt);
    if args.dry_run {
        println!(
            "would back up {} to {}: {how}",
            layout.home.display(),
            args.to.display()
        );
        super::hot_walk::print_plan(&plan);
        return Ok((super::exit::OK, String::new()));
    }
    let before: Vec<String> = match dest::list(&args.to) {
        Ok(all) => all.into_iter().map(|f| f.name).collect(),
        Err(_) => Vec::new(), // DEST does not exist yet: the step creates it
    };
    super::hot_walk::run_plan(runner, &plan, "backup")?;
    let found = dest::list(&args.to)?
        .into_iter()
        .rev()
        .find(|f| !before.contains(&f.name))
        .context("the backup step finished but DEST lists no new backup")?;
    let doc = found.manifest.context("the new backup has no MANIFEST")?;
    println!(
        "backup {}{}\n  taken by {} (SQLite lock held {:.1} ms)\n  {} bytes written to DEST{}\n  verified: {} files read back, database integrity {}",
        found.path.display(),
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
    Ok((
        super::exit::OK,
        format!("backup {} at {}", doc.name, args.to.display()),
    ))
}
