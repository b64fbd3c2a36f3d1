//! Every check before the first change, and the plan. Read-only.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::app::Refused;
use crate::cli::ReplaceArgs;
use crate::exec::{Cmd, Runner};
use crate::plan::{Action, Allow, Check, Plan, Resume, Step, Tag, Target};
use crate::policy::{classify_request, PolicyContext};
use crate::probe::blkid::Identity;
use crate::probe::btrfs::devitems::{dump_chunk_tree_cmd, parse_dev_items};
use crate::probe::btrfs::show::{probe_show, ShowFs};
use crate::probe::btrfs::Profile;
use crate::probe::lsblk::BlockDev;
use crate::probe::snapshot::{probe_snapshot, resolve_device, ProbeSources};
use crate::status::expected_profile;
use crate::status::gather::{gather, targets};
use crate::types::{Bytes, DevPath, FsUuid};

/// A validated replacement.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReplaceRequest {
    pub uuid: FsUuid,
    pub mountpoint: PathBuf,
    pub old_devid: u64,
    /// The old member's path when it is present (then replace reads from it only if no good
    /// mirror exists: `-r`).
    pub old_present: Option<DevPath>,
    pub old_size: u64,
    /// The new device as confirmed (identity and contents), re-proven before each
    /// destructive step, also on resume.
    pub new: Target,
    /// The node's directory, when known: protected by the device policy at every re-check,
    /// and the node must not use it when the array is remounted.
    #[serde(default)]
    pub lightning_dir: Option<PathBuf>,
    /// The mount options of the array's fstab line (for the final remount).
    #[serde(default)]
    pub fstab_options: Option<String>,
    /// lnraid mounts the array degraded for the replacement (it was unmounted, a member gone).
    pub mount_degraded: bool,
    pub profile: String,
}

pub struct Prepared {
    pub request: ReplaceRequest,
    pub plan: Plan,
    pub new_device: BlockDev,
    pub new_identity: Option<Identity>,
    pub warnings: Vec<String>,
}

pub fn prepare(args: &ReplaceArgs, runner: &dyn Runner) -> Result<Prepared> {
    let ctx = crate::app::status::ctx_from(&args.host, None);
    let list = targets(&ctx, args.mountpoint.as_deref())?;
    let target = match list.as_slice() {
        [t] => t.clone(),
        [] => {
            return Err(Refused(vec![
                "no lnraid array in the fstab: name the array's mountpoint".into(),
            ])
            .into())
        }
        _ => {
            return Err(Refused(vec![
                "several lnraid arrays: name the mountpoint of the one to repair".into(),
            ])
            .into())
        }
    };
    let facts = gather(runner, &ctx, &target);
    let uuid = facts.uuid.clone().with_context(|| {
        format!(
            "cannot identify the filesystem at {}: {}",
            target.mountpoint.display(),
            facts.errors.join("; ")
        )
    })?;
    let show: ShowFs = match &facts.show {
        Some(s) => s.clone(),
        None => probe_show(runner, Path::new(uuid.as_str()))?
            .into_iter()
            .next()
            .context("btrfs does not know the array's devices")?,
    };
    let present: Vec<DevPath> = show
        .devices
        .iter()
        .filter(|d| !d.missing)
        .filter_map(|d| d.path.clone())
        .collect();
    let member = present
        .first()
        .context("no member of the array is present")?;
    let sizes = parse_dev_items(
        &runner
            .run_ok(&dump_chunk_tree_cmd(member.as_path()))?
            .stdout,
    )?;
    let mut problems = Vec::new();
    let old_devid = resolve_old(&args.old, &show, &args.host.state_dir, &uuid)?;
    let old_present = show
        .devices
        .iter()
        .find(|d| d.devid == old_devid && !d.missing)
        .and_then(|d| d.path.clone());
    let old_size = sizes
        .iter()
        .find(|(d, _)| *d == old_devid)
        .map(|(_, s)| s.0)
        .context(format!("devid {old_devid} is not in the chunk tree"))?;

    let new = resolve_device(&args.new)?;
    let snap = probe_snapshot(runner, &ProbeSources::default())?;
    let new_dev = snap
        .device_by_num(new.devnum)
        .cloned()
        .context(format!("{} is not among the block devices", new.path))?;
    let lightning = facts.lightning_dir.clone();
    let pctx = PolicyContext::new(lightning.as_deref());
    for r in classify_request(std::slice::from_ref(&new), &snap, &pctx)
        .remove(0)
        .refusals
    {
        if !(args.wipe && r.overridable_by_wipe()) {
            problems.push(format!(
                "{}: {}: {}",
                args.new.display(),
                r.message(),
                r.remedy()
            ));
        }
    }
    if new_dev.size.0 < old_size {
        problems.push(format!(
            "{} ({}) is smaller than devid {old_devid} ({}): btrfs replace needs a device at least as large",
            args.new.display(),
            new_dev.size,
            Bytes(old_size)
        ));
    }
    if !problems.is_empty() {
        return Err(Refused(problems).into());
    }
    let mount_degraded =
        facts.mounted_at.is_none() && (show.some_missing || !show.missing_devids().is_empty());
    let profile = expected_profile(&facts)
        .unwrap_or(Profile::Raid1)
        .to_string()
        .to_lowercase();
    let request = ReplaceRequest {
        uuid,
        mountpoint: facts
            .mounted_at
            .clone()
            .unwrap_or(target.mountpoint.clone()),
        old_devid,
        old_present,
        old_size,
        new: Target::new(
            args.new.clone(),
            &new_dev,
            snap.identity(&new.path),
            crate::walk::machine::stable_ids(&new.path, snap.identity(&new.path)),
        )
        .rehearsal(args.allow_loop_on_shared_disk),
        lightning_dir: lightning.clone(),
        fstab_options: fstab_options(&args.host.fstab, &target.mountpoint),
        mount_degraded,
        profile,
    };
    let degraded_now = facts
        .mount_options
        .as_deref()
        .is_some_and(|o| o.split(',').any(|x| x == "degraded"));
    let plan = plan_replace(
        &request,
        &present,
        args.wipe,
        facts.mounted_at.is_none(),
        mount_degraded,
        mount_degraded || degraded_now,
    );
    let mut warnings = Vec::new();
    if request.new.size > old_size {
        warnings.push(format!(
            "{} is larger than the old member; the filesystem grows to use it",
            request.new.device
        ));
    }
    Ok(Prepared {
        new_identity: snap.identity(&new.path).cloned(),
        new_device: new_dev,
        request,
        plan,
        warnings,
    })
}

/// `--old` as a devid: a number; or a path that is a present member; or the path setup
/// recorded for a member that is now missing.
fn resolve_old(old: &str, show: &ShowFs, state_dir: &Path, uuid: &FsUuid) -> Result<u64> {
    if let Ok(devid) = old.parse::<u64>() {
        if show.devices.iter().any(|d| d.devid == devid) || show.missing_devids().contains(&devid) {
            return Ok(devid);
        }
        return Err(Refused(vec![format!("the array has no devid {devid}")]).into());
    }
    let canon = std::fs::canonicalize(old).unwrap_or_else(|_| PathBuf::from(old));
    if let Some(d) = show
        .devices
        .iter()
        .find(|d| !d.missing && d.path.as_ref().is_some_and(|p| p.as_path() == canon))
    {
        return Ok(d.devid);
    }
    // Setup ran `mkfs.btrfs` with the devices in this order: devid n is the n-th.
    let rec =
        crate::app::setup::record_path(state_dir, uuid.as_str(), crate::walk::JournalState::Done);
    // A record this version cannot read (older journal version) is as good as none.
    if let Some(j) = crate::app::setup::SetupJournal::load(&rec).ok().flatten() {
        if let Some(i) = j
            .request
            .devices
            .iter()
            .position(|p| p.as_path() == canon.as_path())
        {
            let devid = i as u64 + 1;
            if show.missing_devids().contains(&devid) || show.some_missing {
                return Ok(devid);
            }
            return Err(Refused(vec![format!("{old} was devid {devid} at setup, but devid {devid} is present now at another path; give the devid")]).into());
        }
    }
    Err(Refused(vec![format!("{old} is not a member of the array; give the devid of the member to replace (see `lnraid status`)")]).into())
}

/// The options field of the fstab line that mounts `mountpoint`.
fn fstab_options(fstab: &Path, mountpoint: &Path) -> Option<String> {
    let text = std::fs::read_to_string(fstab).ok()?;
    text.lines()
        .map(str::split_whitespace)
        .filter_map(|mut f| Some((f.next()?, f.next()?, f.next()?, f.next()?)))
        .find(|(src, mp, _, _)| !src.starts_with('#') && Path::new(mp) == mountpoint)
        .map(|(_, _, _, opts)| opts.to_string())
}

fn p(mp: &Path) -> String {
    mp.to_string_lossy().into_owned()
}

/// The plan. Pure.
pub fn plan_replace(
    r: &ReplaceRequest,
    present: &[DevPath],
    wipe: bool,
    unmounted: bool,
    degraded: bool,
    remount: bool,
) -> Plan {
    let mp = p(&r.mountpoint);
    let new = r.new.device.to_string();
    let new_check = Check::Targets {
        devices: vec![r.new.device.clone()],
        allow: Allow::Confirmed,
    };
    let uuid = r.uuid.to_string();
    let mut steps = Vec::new();
    if unmounted {
        let mut acts = vec![Action::Run {
            cmd: Cmd::mutating("btrfs", ["device", "scan"]).args_from(
                present
                    .iter()
                    .map(|d| d.as_path().to_str().unwrap_or_default()),
            ),
        }];
        let opts = if degraded { "degraded" } else { "defaults" };
        acts.push(Action::Mount {
            fs_uuid: uuid.clone(),
            members: present.to_vec(),
            mountpoint: r.mountpoint.clone(),
            options: opts.to_string(),
        });
        let why = if degraded {
            " (read-write, degraded: needed to rebuild the missing member)"
        } else {
            ""
        };
        steps.push(Step::new(
            "mount",
            Tag::Safe,
            format!("mount the array on {mp}{why}"),
            acts,
        ));
    }
    if wipe {
        steps.push(
            Step::new(
                "wipe",
                Tag::Destructive,
                format!("erase the signatures shown at confirmation on {new}"),
                vec![Action::Run {
                    cmd: crate::plan::wipe_cmd(&r.new.device),
                }],
            )
            .check(new_check.clone()),
        );
    }
    let mut replace = Cmd::mutating("btrfs", ["replace", "start", "-B"]);
    let src = match &r.old_present {
        // Read from the failing member only where no good mirror exists.
        Some(path) => {
            replace = replace.arg("-r");
            path.to_string()
        }
        None => r.old_devid.to_string(),
    };
    replace = replace.args_from([src.as_str(), new.as_str(), mp.as_str()]);
    steps.push(
        Step::new(
            "replace",
            Tag::Destructive,
            format!(
                "rebuild devid {} onto {new} (everything on {new} is overwritten)",
                r.old_devid
            ),
            vec![Action::BtrfsReplace {
                cmd: replace,
                mountpoint: r.mountpoint.clone(),
            }],
        )
        .check(new_check)
        .resume(Resume::AwaitKernel),
    );
    if r.new.size > r.old_size {
        steps.push(Step::new(
            "resize",
            Tag::Safe,
            format!("grow devid {} to the whole of {new}", r.old_devid),
            vec![Action::Run {
                cmd: Cmd::mutating(
                    "btrfs",
                    ["filesystem", "resize", &format!("{}:max", r.old_devid), &mp],
                ),
            }],
        ));
    }
    let conv = &r.profile;
    steps.push(Step::new(
        "convert",
        Tag::Long,
        format!("mirror again what was written while degraded: convert every non-{conv} chunk (soft: {conv} chunks are skipped)"),
        vec![Action::Run {
            cmd: Cmd::mutating("btrfs", ["balance", "start", &format!("-dconvert={conv},soft"), &format!("-mconvert={conv},soft"), &mp]),
        }],
    ));
    steps.push(Step::new(
        "scrub",
        Tag::Long,
        "verify every copy with a scrub",
        vec![Action::Run {
            cmd: Cmd::mutating("btrfs", ["scrub", "start", "-B", &mp]),
        }],
    ));
    if remount {
        // `degraded` cannot be dropped by a remount: unmount, then mount by a member re-proven
        // with `blkid -p` — never `mount --fstab`, whose `UUID=` goes through libblkid's cache
        // and once mounted another device that had just taken the dead member's path.
        let mut members = vec![r.new.device.clone()];
        members.extend(present.iter().filter(|d| **d != r.new.device).cloned());
        if let Some(old) = &r.old_present {
            members.retain(|d| d != old);
        }
        let mut step = Step::new(
            "remount",
            Tag::Safe,
            format!("remount {mp} without `degraded` (the node must not hold it open)"),
            vec![
                Action::Umount {
                    mountpoint: r.mountpoint.clone(),
                },
                Action::Mount {
                    fs_uuid: uuid.clone(),
                    members,
                    mountpoint: r.mountpoint.clone(),
                    options: r.fstab_options.clone().unwrap_or_else(|| "defaults".into()),
                },
            ],
        );
        if let Some(d) = &r.lightning_dir {
            step = step.check(Check::NodeStopped { dir: d.clone() });
        }
        steps.push(step);
    }
    Plan {
        targets: vec![r.new.clone()],
        protect: r.lightning_dir.clone(),
        ..Plan::new(
            format!(
                "lnraid replace: devid {} of {} ({}) with {new}",
                r.old_devid, r.uuid, mp
            ),
            steps,
        )
    }
}
