//! The rules that turn facts into problems, one function per area. Pure; each problem says
//! what was found and what to do.

use super::{expected_profile, p, ArrayFacts, Problem, Severity, SCRUB_MAX_AGE_SECS};
use crate::probe::btrfs::balance::BalanceState;
use crate::probe::btrfs::df::ExpectedProfiles;
use crate::probe::btrfs::replace::{ReplaceState, ReplaceStatus};
use crate::probe::btrfs::scrub::ScrubState;
use crate::records::Outcome;

pub(super) fn profiles(f: &ArrayFacts, out: &mut Vec<Problem>) {
    let (Some(groups), Some(want)) = (&f.df, expected_profile(f)) else {
        return;
    };
    let exp = ExpectedProfiles {
        data: want.clone(),
        metadata: want.clone(),
    };
    let pairs = groups.iter().map(|g| (&g.kind, &g.profile));
    for prob in crate::probe::btrfs::df::profile_problems(pairs, &exp) {
        let odd: Vec<String> = prob
            .found
            .iter()
            .filter(|x| **x != want)
            .map(ToString::to_string)
            .collect();
        let bytes: u64 = groups
            .iter()
            .filter(|g| g.kind == prob.kind && g.profile != want)
            .map(|g| g.total.0)
            .sum();
        let conv = want.to_string().to_lowercase();
        out.push(p(
            Severity::Warning,
            "non_raid_profile",
            format!(
                "{:?} has {} block groups ({}) besides {want}: not mirrored (typically written while degraded)",
                prob.kind,
                odd.join(", "),
                crate::types::Bytes(bytes)
            ),
            format!(
                "convert them: `btrfs balance start -dconvert={conv},soft -mconvert={conv},soft {}` (lnraid replace does this)",
                crate::exec::quote_path(&f.mountpoint)
            ),
        ));
    }
}

pub(super) fn device_errors(f: &ArrayFacts, out: &mut Vec<Problem>) {
    for d in f.stats.iter().flatten().filter(|d| d.has_errors()) {
        let name = d
            .device
            .as_ref()
            .map(ToString::to_string)
            .or(d.devid.map(|i| format!("devid {i}")))
            .unwrap_or_default();
        out.push(p(
            Severity::Warning,
            "device_errors",
            format!(
                "{name} has logged errors: write {}, read {}, flush {}, corruption {}, generation {}",
                d.write_io_errs, d.read_io_errs, d.flush_io_errs, d.corruption_errs, d.generation_errs
            ),
            "check the disk (`smartctl -a`); rising counts mean it is failing: plan `lnraid replace`; after fixing, reset the counters with `btrfs device stats -z`",
        ));
    }
}

pub(super) fn scrub(f: &ArrayFacts, now: u64, out: &mut Vec<Problem>) {
    let mp = crate::exec::quote_path(&f.mountpoint);
    let run =
        format!("run `lnraid maintain scrub {mp}` (and `lnraid schedule install` to do it weekly)");
    if let Some(s) = &f.scrub {
        if s.errors.uncorrectable > 0 {
            out.push(p(
                Severity::Critical,
                "scrub_uncorrectable",
                format!("the last scrub found {} uncorrectable errors: some data has no good copy", s.errors.uncorrectable),
                "see `dmesg` for the affected files; restore them from a backup or `lnraid recover` what is intact",
            ));
        } else if s.errors.corrected > 0 {
            out.push(p(
                Severity::Warning,
                "scrub_corrected",
                format!(
                    "the last scrub corrected {} errors from the good mirror",
                    s.errors.corrected
                ),
                "check the device error counters and the disk's health (`smartctl -a`)",
            ));
        }
        if matches!(s.state, ScrubState::Aborted | ScrubState::Interrupted) {
            out.push(p(
                Severity::Warning,
                "scrub_incomplete",
                format!("the last scrub did not finish ({:?})", s.state),
                run.clone(),
            ));
        }
    }
    if f.last_scrub_record
        .as_ref()
        .is_some_and(|r| r.outcome == Outcome::Skipped)
    {
        let detail = f
            .last_scrub_record
            .as_ref()
            .map(|r| r.detail.clone())
            .unwrap_or_default();
        out.push(p(
            Severity::Warning,
            "scrub_skipped",
            format!("the last scheduled scrub was skipped: {detail}"),
            run.clone(),
        ));
    }
    match f.scrub_finished_at {
        // A new array is given one scrub interval before "never scrubbed" is a warning.
        None if f
            .scrub
            .as_ref()
            .is_none_or(|s| s.state != ScrubState::Running)
            && f.created_at
                .is_none_or(|c| now.saturating_sub(c) > SCRUB_MAX_AGE_SECS) =>
        {
            out.push(p(
                Severity::Warning,
                "scrub_never",
                "the array has never been scrubbed".into(),
                run,
            ));
        }
        Some(t) if now.saturating_sub(t) > SCRUB_MAX_AGE_SECS => out.push(p(
            Severity::Warning,
            "scrub_old",
            format!(
                "the last scrub ended {} days ago",
                now.saturating_sub(t) / 86_400
            ),
            run,
        )),
        _ => {}
    }
}

pub(super) fn operations(f: &ArrayFacts, out: &mut Vec<Problem>) {
    if let Some(ReplaceStatus {
        state: ReplaceState::Suspended { percent },
        ..
    }) = &f.replace
    {
        out.push(p(
            Severity::Warning,
            "replace_interrupted",
            format!("a device replacement stopped at {percent} (the filesystem was unmounted)"),
            "mount the array: the kernel resumes the replace; then re-run `lnraid replace` to finish its checks",
        ));
    }
    if let Some(BalanceState::Paused(_)) = &f.balance {
        out.push(p(
            Severity::Warning,
            "balance_paused",
            "a balance is paused".into(),
            format!(
                "resume it (`btrfs balance resume {0}`) or cancel it (`btrfs balance cancel {0}`)",
                crate::exec::quote_path(&f.mountpoint)
            ),
        ));
    }
}

pub(super) fn config(f: &ArrayFacts, out: &mut Vec<Problem>) {
    for (cmd, step) in &f.unfinished {
        out.push(p(
            Severity::Warning,
            "unfinished_operation",
            format!("an lnraid {cmd} of this array stopped at step '{step}'"),
            match cmd.as_str() {
                "replace" => "run `lnraid replace` again: it continues from its journal".to_string(),
                _ => "run `lnraid setup --resume` to continue it, or `lnraid setup --abort` to undo it".to_string(),
            },
        ));
    }
    if f.fstab_line == Some(false) {
        out.push(p(
            Severity::Warning,
            "fstab_missing",
            "no fstab line mounts this filesystem UUID at boot".into(),
            "run `lnraid setup` again for this directory, or add the line it prints in its dry run",
        ));
    }
    if f.lightning_dir_on_array == Some(false) {
        let d = f
            .lightning_dir
            .as_ref()
            .map(|d| d.display().to_string())
            .unwrap_or_default();
        out.push(p(
            Severity::Critical,
            "lightning_dir_off_array",
            format!("{d} does not resolve into the array: the node is not using redundant storage"),
            format!(
                "point {d} at {} (see `lnraid setup`)",
                f.mountpoint.display()
            ),
        ));
    }
    if f.mountpoint_immutable == Some(false) {
        out.push(p(
            Severity::Warning,
            "mountpoint_mutable",
            format!("the bare mountpoint {} is not immutable: if the array fails to mount, lightningd could start a fresh node on the root disk", f.mountpoint.display()),
            format!("while unmounted: `chattr +i {}`", crate::exec::quote_path(&f.mountpoint)),
        ));
    }
}
