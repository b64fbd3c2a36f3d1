//! `lnraid replace --old DEV|DEVID --new DEV [MOUNTPOINT]`: back to full redundancy.
//!
//! All checks come before any change: the array is found (fstab or the mountpoint named),
//! `--old` is mapped to a devid (a missing member by devid, or by the path setup recorded for
//! it), the new device passes the device policy and is at least as large as the member it
//! replaces (its size read from the chunk tree, never guessed). Then the plan — optionally a
//! degraded mount (the one place lnraid writes to a degraded filesystem, which it says and
//! asks), `btrfs replace start`, a resize when the new device is larger, a soft convert of
//! any non-RAID chunks, a scrub — is printed, confirmed, journaled and executed; an
//! interrupted replace continues when `lnraid replace` is run again. Ends with `status`.

pub(crate) mod execute;
mod md;
pub(crate) mod prepare;

use anyhow::{Context, Result};

use super::{exit, Refused};
use crate::cli::ReplaceArgs;
use crate::exec::Runner;
use crate::host::Lock;
use crate::plan::render_plan;
use crate::ui::confirm::{confirm_erase, describe_targets};
use crate::ui::sanitize_multiline;

pub fn run(args: &ReplaceArgs, runner: &dyn Runner) -> Result<i32> {
    if !nix::unistd::Uid::effective().is_root() {
        return Err(Refused(vec!["lnraid replace must run as root".into()]).into());
    }
    let _lock = if args.dry_run {
        None
    } else {
        Some(Lock::try_acquire(&args.host.lock_dir, "lnraid.lock")?)
    };
    // The backend holding the array decides the mechanics (the one match is in backend::).
    if let Some((array, mountpoint)) = md_array(args, runner)? {
        return md::run(args, runner, &array, &mountpoint);
    }
    let machine = crate::walk::RealMachine;
    let jpath = execute::journal_path(&args.host.state_dir);
    let (mut j, plan) = match execute::ReplaceJournal::load(&jpath)? {
        Some(j) => {
            same_replacement(args, &j)?;
            tracing::info!(
                "resuming the replacement recorded in {} (completed: {})",
                jpath.display(),
                j.completed_list()
            );
            let remaining = crate::walk::resume_plan(&j);
            print!("{}", sanitize_multiline(&render_plan(&remaining)));
            if args.dry_run {
                println!("\n(dry run: nothing was changed)");
                return Ok(exit::OK);
            }
            if remaining
                .steps
                .iter()
                .any(crate::plan::Step::is_destructive)
            {
                confirm_again(&j, runner, &machine, args.yes)?;
            }
            (j, remaining)
        }
        None => {
            let p = prepare::prepare(args, runner)?;
            print!("{}", sanitize_multiline(&render_plan(&p.plan)));
            for w in &p.warnings {
                tracing::warn!("{}", crate::ui::sanitize(w));
            }
            if args.dry_run {
                println!("\n(dry run: nothing was changed)");
                return Ok(exit::OK);
            }
            let targets = [(p.new_device.clone(), p.new_identity.clone())];
            let summary = format!("\n{}", describe_targets(&targets));
            let summary = if p.request.mount_degraded {
                format!(
                    "{summary}The array is not mounted and a member is missing: lnraid will mount it read-write with\n\
                     `degraded` for the replacement. This is the one time lnraid writes to a degraded filesystem.\n"
                )
            } else {
                summary
            };
            if !confirm_erase(&summary, &targets, args.yes)? {
                return Err(Refused(vec!["not confirmed; nothing was changed".into()]).into());
            }
            let j = execute::ReplaceJournal::new(Some(jpath.clone()), p.request, p.plan.clone());
            j.save()?;
            (j, p.plan)
        }
    };
    execute::execute(&mut j, &plan, runner, &machine)?;
    execute::finish(&j)?;
    // Hook (recover): remember the member replaced out, so `lnraid recover` refuses that disk
    // (same devid and device UUID as its replacement, older generation) if it comes back.
    if let Err(e) = crate::members::replaced(
        runner,
        &args.host.state_dir,
        &j.request.mountpoint,
        j.request.old_devid,
        j.request.old_present.as_ref().map(|p| p.to_string()),
        &j.request.new.device.to_string(),
    ) {
        tracing::warn!(
            "the member record was not updated ({e:#}); `lnraid recover` will not recognize the old disk of devid {} if it comes back",
            j.request.old_devid
        );
    }
    // The final word is status's.
    let ctx = super::status::ctx_from(&args.host, None);
    let (arrays, overall) = super::status::collect(runner, &ctx, Some(&j.request.mountpoint))
        .context("final status")?;
    let a = arrays.first().context("the array vanished from status")?;
    let fstab_ok = a.facts.fstab_line == Some(true);
    println!(
        "\nReplacement done: devid {} is now {}. The filesystem UUID is unchanged ({}), so the fstab line {}.",
        j.request.old_devid,
        j.request.new.device,
        j.request.uuid,
        if fstab_ok { "still matches" } else { "is missing: see status below" }
    );
    if overall == crate::status::Severity::Ok {
        println!("status: healthy. Full redundancy is back.");
    } else {
        print!(
            "{}",
            sanitize_multiline(&crate::status::render::render(&arrays, overall))
        );
        println!(
            "The replacement finished, but the array is not healthy yet: see the problems above."
        );
    }
    Ok(overall.exit_code())
}

/// A resume that still overwrites the new device shows what it holds now and asks again:
/// the operator confirmed another moment's disk.
fn confirm_again(
    j: &execute::ReplaceJournal,
    runner: &dyn Runner,
    machine: &dyn crate::walk::Machine,
    yes: bool,
) -> Result<()> {
    let t = &j.request.new;
    let snap = machine.snapshot(runner)?;
    let id = snap.identity(&t.device).cloned();
    let now = id
        .as_ref()
        .map(|i| crate::plan::Contents::of(i).describe())
        .unwrap_or_else(|| "unreadable".into());
    let summary = sanitize_multiline(&format!(
        "\nThe remaining steps OVERWRITE {} ({}): it holds {now} now; at confirmation {}.\n",
        t.device,
        t.given.display(),
        t.contents.describe()
    ));
    let disks: Vec<_> = snap
        .device(&t.device)
        .map(|b| (b.clone(), id))
        .into_iter()
        .collect();
    if !confirm_erase(&summary, &disks, yes)? {
        return Err(Refused(vec!["not confirmed; nothing was changed".into()]).into());
    }
    Ok(())
}

/// The md array (and its mountpoint) when the array to repair is an md one.
fn md_array(
    args: &ReplaceArgs,
    runner: &dyn Runner,
) -> Result<Option<(crate::types::DevPath, std::path::PathBuf)>> {
    let ctx = super::status::ctx_from(&args.host, None);
    let list = crate::status::gather::targets(&ctx, args.mountpoint.as_deref())?;
    let [t] = list.as_slice() else {
        return Ok(None);
    };
    Ok(match crate::backend::locate(runner, &ctx, t) {
        crate::backend::Located::Md { device, .. } => {
            let dev = device.with_context(|| {
                format!(
                    "the md array holding {} is not assembled: `mdadm --assemble --scan`, or `lnraid recover`",
                    t.mountpoint.display()
                )
            })?;
            Some((dev, t.mountpoint.clone()))
        }
        crate::backend::Located::Btrfs { .. } => None,
    })
}

/// A resumed replacement must be the one the operator names now: never silently continue a
/// different one.
fn same_replacement(args: &ReplaceArgs, j: &execute::ReplaceJournal) -> Result<()> {
    let r = &j.request;
    let new_ok = std::fs::canonicalize(&args.new).is_ok_and(|p| p == r.new.device.as_path());
    let old_ok = match args.old.parse::<u64>() {
        Ok(devid) => devid == r.old_devid,
        // A path: the journal has only the devid; accept and let the recorded plan speak.
        Err(_) => true,
    };
    if new_ok && old_ok {
        return Ok(());
    }
    Err(Refused(vec![format!(
        "an interrupted replacement of devid {} with {} is recorded in {}: run `lnraid replace --old {} --new {}` to finish it first",
        r.old_devid,
        r.new.device,
        execute::journal_path(&args.host.state_dir).display(),
        r.old_devid,
        crate::exec::shell_quote(&r.new.device.to_string())
    )])
    .into())
}
