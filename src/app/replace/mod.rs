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

mod execute;
mod prepare;

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
    let mut j = match execute::ReplaceJournal::load(&args.host.state_dir)? {
        Some(j) => {
            same_replacement(args, &j)?;
            eprintln!(
                "resuming the replacement recorded in {} (completed: {})",
                j.path.display(),
                j.completed.join(", ")
            );
            let remaining = crate::plan::Plan {
                title: format!("Resuming: {}", j.plan.title),
                steps: j
                    .plan
                    .steps
                    .iter()
                    .filter(|s| !j.completed.contains(&s.id))
                    .cloned()
                    .collect(),
            };
            print!("{}", sanitize_multiline(&render_plan(&remaining)));
            if args.dry_run {
                println!("\n(dry run: nothing was changed)");
                return Ok(exit::OK);
            }
            j
        }
        None => {
            let p = prepare::prepare(args, runner)?;
            print!("{}", sanitize_multiline(&render_plan(&p.plan)));
            for w in &p.warnings {
                eprintln!("warning: {}", crate::ui::sanitize(w));
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
            let j = execute::ReplaceJournal::new(&args.host.state_dir, p.request, p.plan);
            j.save()?;
            j
        }
    };
    execute::execute(&mut j, runner, args)?;
    j.finish()?;
    // The final word is status's.
    let ctx = super::status::ctx_from(&args.host, None);
    let (arrays, overall) = super::status::collect(runner, &ctx, Some(&j.request.mountpoint))
        .context("final status")?;
    let a = arrays.first().context("the array vanished from status")?;
    let fstab_ok = a.facts.fstab_line == Some(true);
    println!(
        "\nReplacement done: devid {} is now {}. The filesystem UUID is unchanged ({}), so the fstab line {}.",
        j.request.old_devid,
        j.request.new.path,
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

/// A resumed replacement must be the one the operator names now: never silently continue a
/// different one.
fn same_replacement(args: &ReplaceArgs, j: &execute::ReplaceJournal) -> Result<()> {
    let r = &j.request;
    let new_ok = std::fs::canonicalize(&args.new).is_ok_and(|p| p == r.new.path.as_path());
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
        r.new.path,
        j.path.display(),
        r.old_devid,
        crate::exec::shell_quote(&r.new.path.to_string())
    )])
    .into())
}
