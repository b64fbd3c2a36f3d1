//! Re-proving destructive targets right before a destructive step (also on resume): each
//! device is still the one the operator confirmed, passes the full device policy (including
//! the plan's protected `$LIGHTNINGDIR` and the `O_EXCL` open), and carries what it carried
//! at confirmation — or nothing, or lnraid's own new filesystem. `--wipe` consented to the
//! signatures shown then, not to whatever sits at that path now: a same-size disk plugged in
//! at the recorded name (loop devices, virtio disks and many USB bridges have no serial) is
//! caught by its contents and stable ids, and left untouched. A loop target is judged by
//! where its backing file lives now (on the array, on `$LIGHTNINGDIR`'s filesystem, on
//! another member's disk), exactly as setup's preflight judged it.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use super::Walker;
use crate::plan::{Allow, Contents, Plan, Target};
use crate::policy::{classify_request, LoopCheck, PolicyContext};
use crate::probe::snapshot::Exclusive;
use crate::types::DevPath;

/// How long a re-check waits for a tool still holding a target (an orphaned `mkfs.btrfs` of a
/// killed run) before refusing. `LNRAID_BUSY_WAIT_SECS` overrides (tests).
pub fn busy_wait() -> Duration {
    let secs = std::env::var("LNRAID_BUSY_WAIT_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    Duration::from_secs(secs)
}

/// Re-proves `devices` (targets of `plan`) with `allow`; errors name every problem.
pub fn reprove(w: &Walker, plan: &Plan, devices: &[DevPath], allow: Allow) -> Result<()> {
    let targets: Vec<&Target> = devices
        .iter()
        .map(|d| {
            plan.target(d).ok_or_else(|| {
                anyhow::anyhow!("internal error: {d} is not a confirmed target of this plan")
            })
        })
        .collect::<Result<_>>()?;
    let mut problems = Vec::new();
    let mut resolved = Vec::new();
    for t in &targets {
        match w.machine.resolve(&t.given) {
            Ok(r) if r.path == t.device => resolved.push(r),
            Ok(r) => problems.push(format!(
                "{} now names {}, not the confirmed {}",
                t.given.display(),
                r.path,
                t.device
            )),
            Err(e) => problems.push(format!("{}: {e:#}", t.given.display())),
        }
    }
    if !problems.is_empty() {
        return refuse(problems);
    }
    for t in &targets {
        wait_until_free(w, &t.device)?;
    }
    let snap = w.machine.snapshot(w.runner)?;
    let mut ctx = PolicyContext::new(plan.protect.as_deref());
    // Loop members judged by their backing files of now (a `losetup` may have re-pointed the
    // confirmed /dev/loopN), with the rehearsal consent given at confirmation.
    ctx.loops = Some(LoopCheck::new(
        w.machine.sys_block(),
        targets.iter().all(|t| t.rehearsal),
    ));
    for ((t, r), verdict) in targets
        .iter()
        .zip(&resolved)
        .zip(classify_request(&resolved, &snap, &ctx))
    {
        let now_id = snap.identity(&r.path);
        match snap.device_by_num(r.devnum) {
            Some(b) => {
                let ids = w.machine.stable_ids(&r.path, now_id);
                for d in t.differences(b, &ids) {
                    problems.push(format!(
                        "{} is no longer the device that was confirmed: {d}",
                        t.device
                    ));
                }
            }
            None => problems.push(format!("{} is no longer among the block devices", t.device)),
        }
        let now = now_id.map(Contents::of);
        let own = plan.own_fs.as_deref();
        let ok = now.as_ref().is_some_and(|n| {
            n.is_blank()
                || own.is_some_and(|u| n.is_own(u))
                || (allow == Allow::Confirmed && *n == t.contents)
        });
        if !ok {
            problems.push(format!(
                "{} now carries {}; when you confirmed, it carried {}{} — left untouched",
                t.device,
                now.map(|n| n.describe())
                    .unwrap_or_else(|| "something blkid cannot read".into()),
                t.contents.describe(),
                if allow == Allow::OwnOrBlank {
                    ", and this step erases only lnraid's own filesystem (not lnraid's filesystem)"
                } else {
                    ""
                }
            ));
        }
        for refusal in verdict.refusals {
            // Signatures were judged just above, against what the operator saw.
            if !refusal.overridable_by_wipe() {
                problems.push(format!("{}: {}", t.device, refusal.message()));
            }
        }
    }
    if !problems.is_empty() {
        return refuse(problems);
    }
    Ok(())
}

fn refuse(problems: Vec<String>) -> Result<()> {
    bail!(
        "the devices changed since the plan was confirmed; nothing was destroyed:\n  {}",
        problems.join("\n  ")
    )
}

/// Waits (bounded) while another program holds `dev` exclusively — e.g. a `mkfs.btrfs` left
/// running by a killed run — and names it; refuses when it does not let go.
fn wait_until_free(w: &Walker, dev: &DevPath) -> Result<()> {
    let deadline = Instant::now() + w.busy_wait;
    let mut said = false;
    loop {
        match w.machine.exclusive(dev) {
            Exclusive::Busy => {}
            _ => return Ok(()),
        }
        let holders = w.machine.holders(dev);
        if Instant::now() >= deadline {
            bail!(
                "{dev} is in use{}: nothing was destroyed. Wait until it has finished (or stop it), then run this again",
                if holders.is_empty() {
                    " (the kernel holds it: mounted, or a member of a mounted filesystem?)".to_string()
                } else {
                    format!(" by {}", holders.join(", "))
                }
            );
        }
        if !said {
            tracing::info!(
                "  {dev} is held{}; waiting up to {} s for it to be released",
                if holders.is_empty() {
                    String::new()
                } else {
                    format!(" by {}", holders.join(", "))
                },
                w.busy_wait.as_secs()
            );
            said = true;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}
