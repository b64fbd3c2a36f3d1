//! The rules that turn facts into problems, one function per area. Pure; each problem says
//! what was found and what to do.

use super::doc::{FstabState, ReadOnlyCause};
use super::{expected_profile, p, ArrayFacts, Problem, Severity, SCRUB_MAX_AGE_SECS};
use crate::probe::btrfs::balance::BalanceState;
use crate::probe::btrfs::df::ExpectedProfiles;
use crate::probe::btrfs::replace::{ReplaceState, ReplaceStatus};
use crate::probe::btrfs::scrub::ScrubState;
use crate::records::Outcome;

/// A read-only array cannot run a node: lightningd fails its first database write.
pub(super) fn read_only(f: &ArrayFacts, out: &mut Vec<Problem>) {
    let Some(cause) = f.read_only_cause() else {
        return;
    };
    let at = f.mounted_at.as_deref().unwrap_or(&f.mountpoint).display();
    let (message, action) = match cause {
        ReadOnlyCause::Kernel => (
            format!("the kernel forced {at} read-only after an error: the node cannot write"),
            format!("see `dmesg` for the error (a failed write or a corrupted tree); stop lightningd; if a member failed, copy the node's data out with `lnraid recover --to <new media>`; after fixing the cause, `umount {at}` and `mount {at}` (a remount cannot undo a forced read-only)"),
        ),
        ReadOnlyCause::Fstab => (
            format!("{at} is mounted read-only because its fstab line says `ro`: the node cannot write"),
            format!("remove `ro` from the fstab line, then `mount -o remount,rw {at}`"),
        ),
        ReadOnlyCause::MountOption => (
            format!("{at} is mounted read-only (`ro`, not from the fstab): the node cannot write"),
            format!("if it was remounted read-only on purpose, `mount -o remount,rw {at}` when done; otherwise check `dmesg` for errors first"),
        ),
    };
    out.push(p(Severity::Critical, "read_only", message, action));
}

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
                "{} has {} block groups ({}) besides {want}: not mirrored (typically written while degraded)",
                super::export::bg_word(&prob.kind),
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
                format!(
                    "the last scrub did not finish ({})",
                    super::export::scrub_state_word(s.state)
                ),
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
    let mp = f.mountpoint.display();
    if let Some(ReplaceStatus {
        state: ReplaceState::Running { percent },
        ..
    }) = &f.replace
    {
        out.push(p(
            Severity::Ok,
            "replace_running",
            format!("a device replacement is running: {percent} done"),
            format!("let it finish (`btrfs replace status {mp}` follows it); then run `lnraid replace` again if lnraid started it, to convert and verify"),
        ));
    }
    if let Some(BalanceState::Running(b)) = &f.balance {
        out.push(p(
            Severity::Ok,
            "balance_running",
            format!(
                "a balance is running: {} of about {} chunks done ({}% left)",
                b.completed_chunks, b.expected_chunks, b.percent_left
            ),
            format!("let it finish, or stop it with `btrfs balance cancel {mp}`"),
        ));
    }
    if let Some(s) = f.scrub.as_ref().filter(|s| s.state == ScrubState::Running) {
        let pct = s.percent.map(|p| format!(": {p} done")).unwrap_or_default();
        out.push(p(
            Severity::Ok,
            "scrub_running",
            format!("a scrub is running{pct}"),
            format!("let it finish (`btrfs scrub status {mp}`), or stop it with `btrfs scrub cancel {mp}`"),
        ));
    }
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
    fstab(f, out);
    if f.lightning_dir_dangling {
        lightning_dir_dangling(f, out);
    } else if f.lightning_dir_on_array == Some(false) {
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

fn fstab(f: &ArrayFacts, out: &mut Vec<Problem>) {
    // Facts built without the full check (older callers) still report a missing line.
    let fallback = super::fstab_check::FstabCheck {
        state: FstabState::Missing,
        lines: vec![],
        options: None,
        detail: None,
    };
    let c = match (&f.fstab, f.fstab_line) {
        (Some(c), _) => c,
        (None, Some(false)) => &fallback,
        (None, _) => return,
    };
    let path = f.fstab_path.display();
    let lines = c
        .lines
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let detail = c.detail.clone().unwrap_or_default();
    let uuid = f.uuid.as_ref().map(ToString::to_string).unwrap_or_default();
    let mp = f.mountpoint.display();
    let line = format!(
        "UUID={uuid} {mp} btrfs defaults,nofail,x-systemd.device-timeout=30s 0 0 # lnraid-managed"
    );
    let (sev, code, message, action) = match c.state {
        FstabState::Ok => return,
        FstabState::Missing => (
            Severity::Warning,
            "fstab_missing",
            format!("no line in {path} mounts this filesystem (UUID={uuid}) at boot"),
            format!("add this line to {path}: `{line}`"),
        ),
        FstabState::Wrong => (
            Severity::Warning,
            "fstab_wrong",
            format!("{path} line {lines} is wrong: {detail}"),
            format!("replace it with `{line}`"),
        ),
        FstabState::Duplicated => (
            Severity::Warning,
            "fstab_duplicated",
            format!("{path} lines {lines} conflict: {detail} (a trailing `/` or `//` still names the same mountpoint)"),
            format!("keep one line, `{line}`, and delete the others"),
        ),
        FstabState::Unreadable => (
            Severity::Unknown,
            "fstab_unreadable",
            format!("{path} could not be read: {detail}"),
            format!("check that {path} exists and is readable (`--fstab` names another file)"),
        ),
    };
    out.push(p(sev, code, message, action));
}

/// The node directory leads nowhere: lightningd would fail, or start a fresh node in an empty
/// directory. The remedy names where the array must be mounted for the link to resolve.
fn lightning_dir_dangling(f: &ArrayFacts, out: &mut Vec<Problem>) {
    let d = f
        .lightning_dir
        .as_ref()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    let target = f
        .lightning_dir
        .as_deref()
        .and_then(|d| std::fs::read_link(d).ok())
        .map(|t| t.display().to_string())
        .unwrap_or_else(|| d.clone());
    let mp = f.mountpoint.display();
    let action = match &f.mounted_at {
        Some(at) if *at != f.mountpoint => format!(
            "the array is mounted at {} instead: stop lightningd, `umount {}`, then `mount {mp}` so {d} -> {target} resolves",
            at.display(),
            at.display()
        ),
        Some(_) => format!("{target} is missing from the array mounted at {mp}: restore it (`lnraid recover`) or point {d} at the node's directory on {mp}"),
        None => format!("mount the array at {mp} (`mount {mp}`), so {d} -> {target} resolves; do not start lightningd before"),
    };
    out.push(p(
        Severity::Critical,
        "lightning_dir_dangling",
        format!("{d} leads to {target}, which does not exist: lightningd cannot find its data"),
        action,
    ));
}
