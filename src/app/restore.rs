//! `lnraid restore --from SNAPSHOT|BACKUP --lightning-dir DIR` (the guide's last resort, with
//! its warnings) and `lnraid snapshot migrate` (a plain node directory into a subvolume).
//! Both are one plan (`plan::hotcopy_plans::plan_swap`) walked by the executor: verified copy,
//! node re-checked stopped before each rename, the current directory renamed aside (never
//! deleted), the copy renamed into place.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::Refused;
use crate::cli_hotcopy::{MigrateArgs, RestoreArgs};
use crate::exec::Runner;
use crate::hotcopy::restore::{aside_path, identify, partial_path, Kind};
use crate::hotcopy::snapshot::{age, is_subvolume};
use crate::plan::hotcopy_plans::{plan_swap, Swap};
use crate::probe::procs::processes_using;
use crate::ui::confirm::confirm_destruction;

/// The directory the node really uses: setup's symlink is followed; a missing one is taken
/// as given (its parent must exist).
fn real_home(dir: &Path) -> Result<PathBuf> {
    match fs::canonicalize(dir) {
        Ok(p) => Ok(p),
        Err(_) => {
            let parent = dir.parent().context("the directory has no parent")?;
            let parent = fs::canonicalize(parent)
                .with_context(|| format!("{} does not exist", parent.display()))?;
            Ok(parent.join(dir.file_name().context("no name")?))
        }
    }
}

fn ensure_stopped(home: &Path) -> Result<()> {
    let using = processes_using(home);
    if using.is_empty() {
        return Ok(());
    }
    Err(Refused(
        using
            .iter()
            .map(|p| {
                format!(
                    "{} (pid {}) uses {}: {}; stop the node first",
                    p.name,
                    p.pid,
                    home.display(),
                    p.why
                )
            })
            .collect(),
    )
    .into())
}

const LAST_RESORT: &str = "\
Restoring a copy is the LAST resort (Core Lightning's backup guide): a copy is a past state,
and channels changed since can be lost to penalty transactions. First try:
  - the RAID-1 itself: `lnraid status`, `lnraid recover --to NEW_MEDIA` from the survivor;
  - the --wallet replica (sqlite3://main:replica), which holds every commit.
After a restore, start lightningd and CLOSE ALL CHANNELS; open new ones from the funds.
";

pub fn run(args: &RestoreArgs, runner: &dyn Runner) -> Result<i32> {
    let src = identify(&args.from)?;
    let home = real_home(&args.lightning_dir)?;
    ensure_stopped(&home)?;
    let what = match src.kind {
        Kind::Snapshot => "snapshot",
        Kind::FileBackup => "file backup",
        Kind::BtrfsBackup => "btrfs backup",
    };
    let decrypt = encrypted(&src.path, &home)?;
    let aside = fs::symlink_metadata(&home)
        .is_ok()
        .then(|| aside_path(&home, "pre-restore"));
    let swap = Swap {
        src: decrypt
            .as_ref()
            .map(|(out, _)| out.clone())
            .unwrap_or(src.path.clone()),
        partial: partial_path(&home, "pre-restore")?,
        home: home.clone(),
        aside: aside.clone(),
        renamed: src.renamed.clone(),
        extra: if decrypt.is_some() {
            Vec::new()
        } else {
            src.extra.clone()
        },
        migrate: false,
    };
    let plan = plan_swap(
        format!(
            "lnraid restore: the {what} {} as {}",
            src.path.display(),
            home.display()
        ),
        &swap,
    );
    let summary = format!(
        "{LAST_RESORT}\nRestore the {what} {} — {} old (taken {}) — as {}.\n{}{}\n",
        src.path.display(),
        age(src.time),
        src.time,
        home.display(),
        match &aside {
            Some(a) => format!("The current {} is moved aside to {} (kept, not deleted).", home.display(), a.display()),
            None => "There is no current directory to keep.".to_string(),
        },
        match &decrypt {
            Some((out, _)) => format!("\nThe encrypted backup is first decrypted (--identity) into {}, removed afterwards.", out.display()),
            None => String::new(),
        }
    );
    if args.dry_run {
        println!("{summary}");
        super::hot_walk::print_plan(&plan);
        return Ok(super::exit::OK);
    }
    if !confirm_destruction(&summary, args.yes)? {
        bail!("not confirmed; nothing changed");
    }
    if let Some((out, m)) = &decrypt {
        decrypt_into(args, &src.path, m, out)?;
    }
    let walked = super::hot_walk::run_plan(runner, &plan, "restore");
    if let Some((out, _)) = &decrypt {
        fs::remove_dir_all(out).with_context(|| format!("removing {}", out.display()))?;
    }
    let j = walked?;
    let files = j
        .manifest
        .as_ref()
        .map_or(0, |m| m.count(crate::copy::EntryKind::File));
    println!(
        "restored {files} files into {}{}",
        home.display(),
        if is_subvolume(&home)? {
            " (a new subvolume)"
        } else {
            ""
        }
    );
    if let Some(a) = aside {
        println!("the previous directory is kept at {}", a.display());
    }
    println!("Start lightningd, then close all channels (`lightning-cli close <id>` for each).");
    Ok(super::exit::OK)
}

/// An encrypted backup's manifest and where it is decrypted (beside the node's home); None
/// for a plain source.
fn encrypted(
    from: &Path,
    home: &Path,
) -> Result<Option<(PathBuf, crate::hotcopy::dest::BackupManifest)>> {
    let parent = from.parent().context("no parent")?;
    let name = from.file_name().context("no name")?.to_string_lossy();
    let Some(m) = crate::hotcopy::dest::read_manifest(parent, &name).filter(|m| m.encrypted) else {
        return Ok(None);
    };
    let out = home
        .parent()
        .context("no parent")?
        .join(format!(".lnraid-decrypt-{name}"));
    Ok(Some((out, m)))
}

fn decrypt_into(
    args: &RestoreArgs,
    from: &Path,
    m: &crate::hotcopy::dest::BackupManifest,
    out: &Path,
) -> Result<()> {
    let Some(id) = &args.identity else {
        bail!(
            "{} is an encrypted backup: pass --identity FILE (the age identity it was encrypted to)",
            from.display()
        );
    };
    let ids = crate::hotcopy::crypt::load_identities(id)?;
    if fs::symlink_metadata(out).is_ok() {
        bail!(
            "{} exists (an interrupted restore?): look at it and remove it first",
            out.display()
        );
    }
    if let Err(e) = crate::hotcopy::crypt::decrypt_backup(from, m, out, &ids) {
        let _ = fs::remove_dir_all(out);
        return Err(e);
    }
    Ok(())
}

pub fn migrate(args: &MigrateArgs, runner: &dyn Runner) -> Result<i32> {
    let home = fs::canonicalize(&args.lightning_dir)
        .with_context(|| format!("resolving {}", args.lightning_dir.display()))?;
    if is_subvolume(&home)? {
        println!("{} is already a subvolume: nothing to do", home.display());
        return Ok(super::exit::OK);
    }
    let parent = home.parent().context("no parent")?;
    if !crate::hotcopy::dest::is_btrfs(parent)? {
        bail!(
            "{} is not on btrfs: snapshots need lnraid's btrfs array (lnraid setup)",
            home.display()
        );
    }
    ensure_stopped(&home)?;
    let aside = aside_path(&home, "pre-subvolume");
    let swap = Swap {
        src: home.clone(),
        partial: partial_path(&home, "pre-subvolume")?,
        home: home.clone(),
        aside: Some(aside.clone()),
        renamed: Vec::new(),
        extra: Vec::new(),
        migrate: true,
    };
    let plan = plan_swap(
        format!(
            "lnraid snapshot migrate: {} into a new subvolume",
            home.display()
        ),
        &swap,
    );
    let summary = format!(
        "Move {} into a new btrfs subvolume of the same name: copy, read back, check the \
         database, prove the original unchanged, then swap; the current directory is kept as {}.\n",
        home.display(),
        aside.display()
    );
    if args.dry_run {
        println!("{summary}");
        super::hot_walk::print_plan(&plan);
        return Ok(super::exit::OK);
    }
    if !confirm_destruction(&summary, args.yes)? {
        bail!("not confirmed; nothing changed");
    }
    let j = super::hot_walk::run_plan(runner, &plan, "snapshot migrate")?;
    let files = j
        .manifest
        .as_ref()
        .map_or(0, |m| m.count(crate::copy::EntryKind::File));
    println!(
        "{} is now a subvolume ({files} files, verified)",
        home.display()
    );
    println!(
        "the previous directory is kept at {} (remove it once you are satisfied)",
        aside.display()
    );
    Ok(super::exit::OK)
}
