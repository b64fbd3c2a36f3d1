//! `lnraid restore --from SNAPSHOT|BACKUP --lightning-dir DIR` (the guide's last resort, with
//! its warnings) and `lnraid snapshot migrate` (a plain node directory into a subvolume).
//! Both are `hotcopy::restore::install`: verified copy, node re-checked stopped, the current
//! directory moved aside (never deleted), swap.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::Refused;
use crate::cli_hotcopy::{MigrateArgs, RestoreArgs};
use crate::exec::Runner;
use crate::hotcopy::restore::{identify, install, Kind};
use crate::hotcopy::snapshot::{age, is_subvolume};
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
    let summary = format!(
        "{LAST_RESORT}\nRestore the {what} {} — {} old (taken {}) — as {}.\n{}\n",
        src.path.display(),
        age(src.time),
        src.time,
        home.display(),
        if home.exists() {
            format!(
                "The current {} is moved aside (kept, not deleted).",
                home.display()
            )
        } else {
            "There is no current directory to keep.".to_string()
        }
    );
    if args.dry_run {
        // The dry run's summary is the output asked for: stdout, like every plan.
        print!("{summary}");
        println!("dry run: nothing changed");
        return Ok(super::exit::OK);
    }
    if !confirm_destruction(&summary, args.yes)? {
        bail!("not confirmed; nothing changed");
    }
    let decrypted = decrypt_if_needed(args, &src.path, &home)?;
    let from = decrypted.clone().unwrap_or_else(|| src.path.clone());
    let extra: &[String] = if decrypted.is_some() { &[] } else { &src.extra };
    let done = install(
        runner,
        &from,
        &home,
        &src.renamed,
        extra,
        "pre-restore",
        &mut |_| ensure_stopped(&home),
    );
    if let Some(d) = &decrypted {
        fs::remove_dir_all(d).with_context(|| format!("removing {}", d.display()))?;
    }
    let done = done?;
    println!(
        "restored {} files into {}{}",
        done.files,
        home.display(),
        if done.subvolume {
            " (a new subvolume)"
        } else {
            ""
        }
    );
    if let Some(a) = done.aside {
        println!("the previous directory is kept at {}", a.display());
    }
    println!("Start lightningd, then close all channels (`lightning-cli close <id>` for each).");
    Ok(super::exit::OK)
}

/// An encrypted backup is decrypted (with `--identity`) into a scratch directory beside the
/// node's home first; returns it. A plain source returns None.
fn decrypt_if_needed(args: &RestoreArgs, from: &Path, home: &Path) -> Result<Option<PathBuf>> {
    let parent = from.parent().context("no parent")?;
    let name = from.file_name().context("no name")?.to_string_lossy();
    let Some(m) = crate::hotcopy::dest::read_manifest(parent, &name).filter(|m| m.encrypted) else {
        return Ok(None);
    };
    let Some(id) = &args.identity else {
        bail!(
            "{} is an encrypted backup: pass --identity FILE (the age identity it was encrypted to)",
            from.display()
        );
    };
    let ids = crate::hotcopy::crypt::load_identities(id)?;
    let out = home
        .parent()
        .context("no parent")?
        .join(format!(".lnraid-decrypt-{name}"));
    if fs::symlink_metadata(&out).is_ok() {
        bail!(
            "{} exists (an interrupted restore?): look at it and remove it first",
            out.display()
        );
    }
    if let Err(e) = crate::hotcopy::crypt::decrypt_backup(from, &m, &out, &ids) {
        let _ = fs::remove_dir_all(&out);
        return Err(e);
    }
    Ok(Some(out))
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
    let summary = format!(
        "Move {} into a new btrfs subvolume of the same name: copy, read back, check the \
         database, then swap; the current directory is kept beside it.\n",
        home.display()
    );
    if args.dry_run {
        print!("{summary}");
        return Ok(super::exit::OK);
    }
    if !confirm_destruction(&summary, args.yes)? {
        bail!("not confirmed; nothing changed");
    }
    let done = install(runner, &home, &home, &[], &[], "pre-subvolume", &mut |m| {
        ensure_stopped(&home)?;
        // The source must be unchanged since it was copied (a commit made meanwhile would be
        // lost). Special files (the RPC socket) are not copied and not compared.
        let mut r = crate::copy::verify(m, &home, &mut |_| {})?;
        let skipped: Vec<&Path> = m.skipped.iter().map(|s| s.rel.as_path()).collect();
        r.mismatches.retain(|x| !skipped.contains(&x.rel.as_path()));
        r.into_result()
            .map(|_| ())
            .context("the node directory changed while it was copied")
    })?;
    println!(
        "{} is now a subvolume ({} files, verified)",
        home.display(),
        done.files
    );
    if let Some(a) = done.aside {
        println!(
            "the previous directory is kept at {} (remove it once you are satisfied)",
            a.display()
        );
    }
    Ok(super::exit::OK)
}
