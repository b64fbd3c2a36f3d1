//! `lnraid recover` from an md array: probes the source (mounted, assembled, or stopped: the
//! survivor with the highest event count, stale members named and never used), builds the
//! plan (src/backend/md/recover_plan.rs: read-only assembly, dm-snapshot overlay whose
//! copy-on-write file is on the destination media — or, without device-mapper and once the
//! operator agreed, a `dd` image there — read-only mount, the copy-out with its MANIFEST,
//! unmount, teardown), prints it (the dry run stops there) and walks it with the one
//! executor, journaled like btrfs recover (app/recover/journal.rs: a failed walk is taken
//! down at once, a killed one by the next run).
//!
//! May not: run a command itself (the walk runs them), `--force`, `noload`, or write to the
//! survivor.

use std::fs;
use std::path::Path;

use anyhow::{bail, Context, Result};

use super::super::{exit, Refused};
use crate::backend::md::probe::{list_arrays, resolve};
use crate::backend::md::recover::{self as mdr, Candidate};
use crate::backend::md::recover_plan::{plan_md_recover, MdRecover, MdSource, Overlay};
use crate::cli::RecoverArgs;
use crate::exec::{Cmd, Runner};
use crate::probe::mdadm::{examine_cmd, parse_examine, Examine};
use crate::recover::copy;
use crate::recover::copyout::{copied_of, read_manifest};
use crate::recover::dest::Dest;
use crate::recover::{DATABASE, HSM_SECRET, MANIFEST_NAME};
use crate::types::{DevPath, FsUuid};
use crate::ui::sanitize_multiline;

fn examine(runner: &dyn Runner, dev: &DevPath) -> Option<(Candidate, Examine)> {
    let out = runner.output(&examine_cmd(dev)).ok()?;
    let e = parse_examine(&out.stdout).ok()?;
    Some((Candidate::from_examine(dev.clone(), &e)?, e))
}

fn dm_available() -> bool {
    crate::backend::md::preflight::on_path("dmsetup").is_some()
        && (Path::new("/sys/module/dm_snapshot").exists()
            || fs::read_to_string("/proc/misc").is_ok_and(|m| m.contains("device-mapper")))
}

fn sectors(dev: &DevPath) -> Result<u64> {
    let k = resolve(dev.as_path());
    let name = k
        .file_name()
        .context("device without a name")?
        .to_string_lossy()
        .into_owned();
    let s = fs::read_to_string(format!("/sys/class/block/{name}/size"))?;
    s.trim().parse().context("unreadable device size in sysfs")
}

/// The members of a running array, as `mdadm --examine` shows them.
fn running_members(runner: &dyn Runner, md: &DevPath) -> Vec<Candidate> {
    let snap = crate::backend::md::probe::probe_array(
        runner,
        md,
        Path::new("/sys"),
        Path::new(crate::backend::md::status::PROC_MDSTAT),
    );
    snap.detail
        .iter()
        .flat_map(|d| d.members.iter())
        .filter(|m| !m.has("faulty"))
        .filter_map(|m| examine(runner, m.device.as_ref()?).map(|(c, _)| c))
        .collect()
}

/// A stopped array: the survivor among the given (or every) block device.
fn stopped(args: &RecoverArgs, runner: &dyn Runner) -> Result<(MdSource, Vec<Candidate>)> {
    let given: Vec<DevPath> = match &args.device {
        Some(d) => vec![DevPath::new(
            fs::canonicalize(d).unwrap_or_else(|_| d.clone()),
        )],
        None => fs::read_dir("/sys/class/block")?
            .flatten()
            .map(|e| DevPath::new(format!("/dev/{}", e.file_name().to_string_lossy())))
            .filter(|d| {
                let s = d.to_string();
                !s.starts_with("/dev/md")
                    && !s.starts_with("/dev/loop")
                    && !s.starts_with("/dev/dm-")
            })
            .collect(),
    };
    let found: Vec<(Candidate, Examine)> =
        given.iter().filter_map(|d| examine(runner, d)).collect();
    let cands: Vec<Candidate> = found.iter().map(|(c, _)| c.clone()).collect();
    let uuid = cands
        .iter()
        .max_by_key(|c| c.events)
        .map(|c| c.array_uuid.clone())
        .context("no md member found: name the survivor with --device")?;
    let choice = mdr::choose(&cands, &uuid).context("no md member found")?;
    let e = &found
        .iter()
        .find(|(c, _)| *c == choice.survivor)
        .context("the survivor's superblock")?
        .1;
    let sectors = mdr::array_sectors(e).with_context(|| {
        format!(
            "mdadm --examine {} shows no Array Size",
            choice.survivor.device
        )
    })?;
    let members = cands.into_iter().filter(|c| c.array_uuid == uuid).collect();
    Ok((
        MdSource::Stopped {
            survivor: choice.survivor,
            stale: choice.stale,
            sectors,
        },
        members,
    ))
}

/// The first unused loop device (`losetup --find`: a query, nothing attached).
fn free_loop(runner: &dyn Runner) -> Result<String> {
    let out = runner.run_ok(&Cmd::read_only("losetup", ["--find"]))?;
    let l = out.stdout.trim().to_string();
    if !l.starts_with("/dev/loop") {
        bail!("losetup --find named no free loop device ({l:?})");
    }
    Ok(l)
}

fn refuse_dest(dest: &Dest, array_mp: &Path) -> Result<()> {
    for n in [DATABASE, HSM_SECRET, MANIFEST_NAME] {
        if dest.path.join(n).exists() {
            return Err(Refused(vec![format!(
                "{} already holds {n}: pick an empty directory on new media",
                dest.path.display()
            )])
            .into());
        }
    }
    if dest.anchor.starts_with(array_mp) {
        return Err(Refused(vec![format!(
            "--to {} is on the array itself: pick new media",
            dest.path.display()
        )])
        .into());
    }
    Ok(())
}

/// What the plan is made of, probed (read-only).
fn probe(
    args: &RecoverArgs,
    runner: &dyn Runner,
    running: Option<DevPath>,
    fs_uuid: FsUuid,
    array_mp: &Path,
    dest: &Dest,
) -> Result<MdRecover> {
    let mounted =
        crate::probe::mounts::read_mounts(Path::new(crate::probe::mounts::PID1_MOUNTINFO))?
            .into_iter()
            .any(|m| m.mountpoint == array_mp);
    let running = running.filter(|d| {
        list_arrays(Path::new("/sys"))
            .iter()
            .any(|k| resolve(d.as_path()).ends_with(k))
    });
    let (source, members) = match (&running, mounted) {
        (_, true) => (
            MdSource::Mounted {
                mountpoint: array_mp.to_path_buf(),
            },
            running
                .as_ref()
                .map(|d| running_members(runner, d))
                .unwrap_or_default(),
        ),
        (Some(d), false) => (
            MdSource::Running {
                device: d.clone(),
                sectors: sectors(d)?,
            },
            running_members(runner, d),
        ),
        (None, false) => stopped(args, runner)?,
    };
    let pid = std::process::id();
    let overlay = if matches!(source, MdSource::Mounted { .. }) || dm_available() {
        Overlay::Dm {
            cow: dest.anchor.join(format!(".lnraid-recover-cow-{pid}")),
            loopdev: free_loop(runner)?,
        }
    } else {
        Overlay::Image {
            image: dest.anchor.join(format!(".lnraid-recover-image-{pid}")),
            loopdev: free_loop(runner)?,
        }
    };
    Ok(MdRecover {
        source,
        overlay,
        fs_uuid,
        members,
        dest: dest.path.clone(),
        dir_name: args.lightning_dir_name.clone(),
        all: args.all,
        mountpoint: crate::recover::mountpoint::fresh_mountpoint(),
    })
}

/// Runs the md recovery into `dest`.
pub fn run(
    args: &RecoverArgs,
    runner: &dyn Runner,
    running: Option<DevPath>,
    fs_uuid: Option<FsUuid>,
    array_mp: &Path,
    dest: &Dest,
) -> Result<i32> {
    refuse_dest(dest, array_mp)?;
    let fs_uuid = fs_uuid.context("the array's filesystem UUID is unknown")?;
    let r = probe(args, runner, running, fs_uuid.clone(), array_mp, dest)?;
    println!("Members (events, last update):");
    for m in &r.members {
        println!(
            "  {}  events {}  {}",
            m.device,
            m.events,
            m.update_time.as_deref().unwrap_or("?")
        );
    }
    let plan = plan_md_recover(&r);
    print!("\n{}", sanitize_multiline(&crate::plan::render_plan(&plan)));
    if let Overlay::Image { image, .. } = &r.overlay {
        println!("\n{}", crate::recover::no_overlay::explanation(None));
        if args.dry_run {
            println!("The real run asks first (type yes, or pass --yes).");
        } else {
            let bytes = match &r.source {
                MdSource::Running { sectors, .. } | MdSource::Stopped { sectors, .. } => {
                    sectors * 512
                }
                MdSource::Mounted { .. } => 0,
            };
            super::md_image::consent(args, image, bytes, &dest.anchor)?;
        }
    }
    if args.dry_run {
        println!("\n(dry run: nothing was assembled, mounted or copied)");
        return Ok(exit::OK);
    }
    println!();
    super::journal::walk_recover(runner, &args.state_dir, &fs_uuid, &dest.path, &plan)?;
    finish(&dest.path, &r.mountpoint)
}

/// The closing report, from the MANIFEST the walk wrote.
fn finish(dest: &Path, mp: &Path) -> Result<i32> {
    let manifest = read_manifest(dest)?;
    let copied = copied_of(&manifest);
    let mut out = format!(
        "\nCopied from {} to {} and verified (read back from disk):\n",
        mp.display(),
        dest.display()
    );
    for l in copy::summary_lines(&copied) {
        out.push_str(&format!("  {l}\n"));
    }
    if let Some(db) = &copied.database {
        out.push_str(&format!(
            "PRAGMA integrity_check on the copied {}: {}\n",
            db.path, db.integrity_check
        ));
    }
    out.push_str(&format!("MANIFEST: {}\nNext: `lnraid replace --old <failed member> --new <device>` to restore redundancy.\n", dest.join(MANIFEST_NAME).display()));
    print!("{}", sanitize_multiline(&out));
    let essential = copied
        .not_copied
        .iter()
        .any(|n| n.path == DATABASE || n.path == HSM_SECRET);
    Ok(if essential { exit::FAILURE } else { exit::OK })
}
