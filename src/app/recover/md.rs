//! `lnraid recover` from an md array (backend rules in src/backend/md/recover.rs): the source
//! is the running (degraded) array, or the survivor with the highest event count assembled
//! read-only under another name; the ext4 journal is replayed onto a dm-snapshot overlay whose
//! copy-on-write file lives on the destination media, so not one byte is written to the
//! survivor; then the same copy-out set, read-back verification and MANIFEST as btrfs.
//! The [`Overlay`] guard takes everything down again (unmount, dm, loop, COW file, the
//! read-only assembly) on every exit path.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::super::{exit, Refused};
use super::romount::ReadOnlyMount;
use crate::backend::md::probe::{list_arrays, resolve};
use crate::backend::md::recover::{self as mdr, Candidate};
use crate::cli::RecoverArgs;
use crate::exec::{Cmd, Runner};
use crate::probe::mdadm::{examine_cmd, parse_examine};
use crate::recover::copy;
use crate::recover::copyout::{node_dir, write_manifest};
use crate::recover::dest::Dest;
use crate::recover::manifest::{
    ArrayInfo, Member, MountInfo, MountKind, RecoverManifest, MANIFEST_FORMAT, MANIFEST_VERSION,
};
use crate::recover::{DATABASE, HSM_SECRET, MANIFEST_NAME};
use crate::types::{DevPath, FsUuid};
use crate::ui::sanitize_multiline;

/// The loop device, dm snapshot and read-only assembly lnraid set up; undone on drop.
pub(super) struct Overlay<'r> {
    runner: &'r dyn Runner,
    assembled: bool,
    pub(super) loopdev: Option<String>,
    dm: bool,
    pub(super) cow: Option<PathBuf>,
}

impl Drop for Overlay<'_> {
    fn drop(&mut self) {
        let r = self.runner;
        let try_run = |c: Cmd| {
            if let Err(e) = r.run_ok(&c) {
                tracing::warn!("cleaning up: {e}");
            }
        };
        if self.dm {
            try_run(mdr::overlay_remove_cmd());
        }
        if let Some(l) = self.loopdev.take() {
            try_run(Cmd::mutating("losetup", ["-d", l.as_str()]));
        }
        if let Some(c) = self.cow.take() {
            let _ = fs::remove_file(c);
        }
        if self.assembled {
            try_run(mdr::stop_cmd());
            // Without udev nothing removes the link (scripts/vm/README.md pitfalls).
            let _ = fs::remove_file(crate::backend::md::array_path(mdr::RECOVER_NAME));
        }
    }
}

fn examine(runner: &dyn Runner, dev: &DevPath) -> Option<Candidate> {
    let out = runner.output(&examine_cmd(dev)).ok()?;
    Candidate::from_examine(dev.clone(), &parse_examine(&out.stdout).ok()?)
}

fn dm_available() -> bool {
    crate::backend::md::preflight::on_path("dmsetup").is_some()
        && (Path::new("/sys/module/dm_snapshot").exists()
            || fs::read_to_string("/proc/misc").is_ok_and(|m| m.contains("device-mapper")))
}

/// `/dev/dm-N` of the mapping `name`, from sysfs: without udev nothing creates
/// `/dev/mapper/<name>`, but devtmpfs has the kernel's node.
fn dm_node(name: &str) -> Result<String> {
    for e in fs::read_dir("/sys/block")?.flatten() {
        let k = e.file_name().to_string_lossy().into_owned();
        if k.starts_with("dm-")
            && fs::read_to_string(e.path().join("dm/name")).is_ok_and(|n| n.trim() == name)
        {
            return Ok(format!("/dev/{k}"));
        }
    }
    bail!("the dm mapping {name} does not show in /sys/block")
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

/// The block device to read from: the running array, or the read-only assembled survivor.
fn source(
    args: &RecoverArgs,
    runner: &dyn Runner,
    running: Option<&DevPath>,
    ov: &mut Overlay,
) -> Result<(DevPath, Vec<Candidate>)> {
    if let Some(md) = running {
        let snap = crate::backend::md::probe::probe_array(
            runner,
            md,
            Path::new("/sys"),
            Path::new(crate::backend::md::status::PROC_MDSTAT),
        );
        let members: Vec<Candidate> = snap
            .detail
            .iter()
            .flat_map(|d| d.members.iter())
            .filter(|m| !m.has("faulty"))
            .filter_map(|m| examine(runner, m.device.as_ref()?))
            .collect();
        return Ok((md.clone(), members));
    }
    let given: Vec<DevPath> = match &args.device {
        Some(d) => vec![DevPath::new(
            fs::canonicalize(d).unwrap_or_else(|_| d.clone()),
        )],
        None => fs::read_dir("/sys/class/block")?
            .flatten()
            .map(|e| DevPath::new(format!("/dev/{}", e.file_name().to_string_lossy())))
            .filter(|d| {
                !d.to_string().starts_with("/dev/md") && !d.to_string().starts_with("/dev/loop")
            })
            .collect(),
    };
    let cands: Vec<Candidate> = given.iter().filter_map(|d| examine(runner, d)).collect();
    let uuid = cands
        .iter()
        .max_by_key(|c| c.events)
        .map(|c| c.array_uuid.clone())
        .context("no md member found: name the survivor with --device")?;
    let choice = mdr::choose(&cands, &uuid).context("no md member found")?;
    for s in &choice.stale {
        println!(
            "  stale member {} (events {} < {}): not used, never forced",
            s.device, s.events, choice.survivor.events
        );
    }
    let cmd = mdr::assemble_cmd(&choice.survivor.device);
    tracing::info!("  $ {cmd}");
    runner.run_ok(&cmd)?;
    ov.assembled = true;
    let dev = DevPath::new(resolve(Path::new(&crate::backend::md::array_path(
        mdr::RECOVER_NAME,
    ))));
    Ok((dev, cands))
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
    if args.dry_run {
        if dm_available() {
            println!("md recovery: assemble the survivor read-only (if the array is stopped), replay the ext4 journal onto a dm-snapshot overlay, mount read-only, copy and verify into {}.", dest.path.display());
        } else {
            let image = dest.anchor.join(".lnraid-recover-image-PID");
            let plan = crate::recover::no_overlay::plan_image_copy(
                &running.as_ref().map_or_else(
                    || crate::backend::md::array_path(mdr::RECOVER_NAME),
                    |d| d.to_string(),
                ),
                &image,
                &crate::recover::mountpoint::run_base().join("recover-XXXXXX"),
                crate::backend::md::FSTYPE,
            );
            println!(
                "{}\n{}",
                crate::recover::no_overlay::explanation(None),
                sanitize_multiline(&crate::plan::render_plan(&plan))
            );
            println!("The real run asks first (type yes, or pass --yes), then copies and verifies into {}.", dest.path.display());
        }
        println!("(dry run: nothing was assembled, mounted or copied)");
        return Ok(exit::OK);
    }
    let mut ov = Overlay {
        runner,
        assembled: false,
        loopdev: None,
        dm: false,
        cow: None,
    };
    let mounted =
        crate::probe::mounts::read_mounts(Path::new(crate::probe::mounts::PID1_MOUNTINFO))?
            .into_iter()
            .any(|m| m.mountpoint == array_mp);
    let (mount, members) = if mounted {
        // The live mount is the kernel's own current view (its journal is live): read it
        // through a private read-only bind mount; nothing is replayed, nothing written.
        println!(
            "{} is mounted: lnraid reads it through a private read-only bind mount.",
            array_mp.display()
        );
        let m = ReadOnlyMount::new(runner, |mp| {
            crate::recover::mountpoint::bind_ro_cmd(array_mp, mp)
        })?;
        (m, Vec::new())
    } else {
        let (m, members) = overlay_mount(args, runner, running.as_ref(), &mut ov, dest)?;
        (m, members)
    };
    let name = node_dir(mount.path(), args.lightning_dir_name.as_deref())?;
    let node = mount.path().join(&name);
    let busy = crate::probe::procs::processes_using(&array_mp.join(&name));
    if !busy.is_empty() {
        bail!("lightningd still uses {} (pid {}): stop it first, the copy would not be its last state", array_mp.join(&name).display(), busy[0].pid);
    }
    copy::create_dest(&dest.path, &node)?;
    let copied = if args.all {
        copy::copy_all(&node, &dest.path)?
    } else {
        copy::copy_set(&node, &dest.path)?
    };
    let manifest = RecoverManifest {
        format: MANIFEST_FORMAT.into(),
        version: MANIFEST_VERSION,
        created_utc: crate::time::rfc3339(crate::records::now_unix()),
        lnraid_version: env!("CARGO_PKG_VERSION").into(),
        array: ArrayInfo {
            fs_uuid: fs_uuid.context("the array's filesystem UUID is unknown")?,
            label: None,
            total_devices: None,
            survivors: members
                .iter()
                .map(|m| Member {
                    devid: None,
                    path: m.device.to_string(),
                    uuid_sub: None,
                })
                .collect(),
            missing_devids: Vec::new(),
        },
        source_dir: name.clone(),
        mount: MountInfo {
            kind: MountKind::Temporary,
            options: "ro (ext4 journal replayed onto a dm-snapshot overlay)".into(),
            existing_mountpoint: None,
        },
        all: args.all,
        database: copied.database.clone(),
        files: copied.files.clone(),
        not_copied: copied.not_copied.clone(),
    };
    write_manifest(&dest.path, &manifest, &node)?;
    mount.unmount()?;
    drop(ov);
    let mut out = format!(
        "\nCopied to {} and verified (read back from disk):\n",
        dest.path.display()
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
    out.push_str(&format!("MANIFEST: {}\nNext: `lnraid replace --old <failed member> --new <device>` to restore redundancy.\n", dest.path.join(MANIFEST_NAME).display()));
    print!("{}", sanitize_multiline(&out));
    let essential = copied
        .not_copied
        .iter()
        .any(|n| n.path == DATABASE || n.path == HSM_SECRET);
    Ok(if essential { exit::FAILURE } else { exit::OK })
}

/// Not mounted: the survivor (or the stopped-from-mount array) behind a dm-snapshot overlay
/// whose copy-on-write file is on the destination media, mounted read-only — ext4 replays its
/// journal into the overlay, the survivor is never written.
fn overlay_mount<'r>(
    args: &RecoverArgs,
    runner: &'r dyn Runner,
    running: Option<&DevPath>,
    ov: &mut Overlay,
    dest: &Dest,
) -> Result<(ReadOnlyMount<'r>, Vec<Candidate>)> {
    let dm = dm_available();
    let running = running.filter(|d| {
        list_arrays(Path::new("/sys"))
            .iter()
            .any(|k| resolve(d.as_path()).ends_with(k))
    });
    let (src, members) = source(args, runner, running, ov)?;
    println!("Source: {src}; members (events, last update):");
    for m in &members {
        println!(
            "  {}  events {}  {}",
            m.device,
            m.events,
            m.update_time.as_deref().unwrap_or("?")
        );
    }
    let n = sectors(&src)?;
    if !dm {
        return super::md_image::image_mount(args, runner, &src, n * 512, ov, dest)
            .map(|m| (m, members));
    }
    fs::create_dir_all(&dest.anchor).ok();
    let cow = dest
        .anchor
        .join(format!(".lnraid-recover-cow-{}", std::process::id()));
    let f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&cow)
        .with_context(|| format!("creating {}", cow.display()))?;
    f.set_len((n * 512).min(1 << 30))?;
    ov.cow = Some(cow.clone());
    let out = runner.run_ok(&Cmd::mutating(
        "losetup",
        ["--find", "--show", &cow.to_string_lossy()],
    ))?;
    let lo = out.stdout.trim().to_string();
    ov.loopdev = Some(lo.clone());
    runner.run_ok(&mdr::overlay_create_cmd(&mdr::overlay_table(&src, n, &lo)))?;
    ov.dm = true;
    println!("The ext4 journal is replayed onto a dm-snapshot overlay (copy-on-write file {}); the survivor is never written.", cow.display());
    let ovdev = dm_node(mdr::OVERLAY_NAME)?;
    let mount = ReadOnlyMount::new(runner, |mp| {
        Cmd::mutating(
            "mount",
            [
                "-t",
                crate::backend::md::FSTYPE,
                "-o",
                "ro,nodev,nosuid,noexec",
                ovdev.as_str(),
                &mp.to_string_lossy(),
            ],
        )
    })?;
    Ok((mount, members))
}
