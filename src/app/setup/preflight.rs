//! Every check before the first change. Problems are collected, not returned one at a time:
//! the operator fixes them all in one go. Read-only.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::app::{ids, Refused};
use crate::cli::SetupArgs;
use crate::config::fstab_edit::{plan_fstab_edit, MARKER};
use crate::exec::Runner;
use crate::plan::setup::{Profile, SetupRequest};
use crate::plan::Target;
use crate::policy::{classify_request, LoopCheck, PolicyContext};
use crate::probe::lsblk::BlockDev;
use crate::probe::mounts::mount_containing;
use crate::probe::procs::processes_using;
use crate::probe::snapshot::{probe_snapshot, resolve_device, ProbeSources, Snapshot};
use crate::probe::versions::version_tuple;
use crate::types::{Bytes, DevPath};

/// Headroom the array must have beyond the directory: twice its size plus 256 MiB. btrfs
/// misbehaves when nearly full (balance needs unallocated space; "ENOSPC with free space" is
/// its classic failure), the database and gossip_store keep growing, and 256 MiB covers the
/// first metadata and system chunks of a small filesystem.
pub fn required_space(dir_bytes: u64) -> u64 {
    dir_bytes.saturating_mul(2).saturating_add(256 * Bytes::MIB)
}

/// What preflight found.
pub enum Preflight {
    Ready(Box<Prepared>),
    /// `$LIGHTNINGDIR` already points into an lnraid array: nothing to do.
    AlreadyDone(String),
}

pub struct Prepared {
    pub request: SetupRequest,
    pub snapshot: Snapshot,
    /// The devices to be destroyed, as the snapshot shows them (for the confirmation).
    pub targets: Vec<BlockDev>,
    pub warnings: Vec<String>,
    pub fstab_diff: String,
}

pub fn preflight(args: &SetupArgs, runner: &dyn Runner) -> Result<Preflight> {
    if !nix::unistd::Uid::effective().is_root() {
        // Nothing else can be judged without root (device contents, PID 1's mounts).
        return Err(Refused(vec![
            "lnraid setup must run as root: it formats devices, mounts and edits fstab".into(),
        ])
        .into());
    }
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let given = args
        .lightning_dir
        .clone()
        .context("--lightning-dir is required")?;
    let dir = match check_dir(&given, &args.host.fstab, &mut problems)? {
        DirState::Real(d) => Some(d),
        DirState::Done(msg) => return Ok(Preflight::AlreadyDone(msg)),
        DirState::Bad => None,
    };
    if !(2..=4).contains(&args.devices.len()) {
        problems.push(format!(
            "give 2 to 4 --device (got {}): a mirror needs two, btrfs keeps at most four copies",
            args.devices.len()
        ));
    }
    let profile = args
        .profile
        .unwrap_or_else(|| Profile::for_devices(args.devices.len()));
    if profile.copies() > args.devices.len() {
        problems.push(format!(
            "{} keeps {} copies and needs at least that many devices",
            profile.name(),
            profile.copies()
        ));
    }
    let mut resolved = Vec::new();
    for d in &args.devices {
        match resolve_device(d) {
            Ok(r) => resolved.push(r),
            Err(e) => problems.push(e.to_string()),
        }
    }
    let snapshot = probe_snapshot(runner, &ProbeSources::default())?;
    tools_and_kernel(&snapshot, profile, args, &mut problems, &mut warnings);
    let autodefrag = !args.no_autodefrag && !is_5_16(&snapshot.versions.kernel);
    if let Some(dir) = &dir {
        for p in processes_using(dir) {
            problems.push(format!(
                "{} (pid {}) is running and uses {}: {}; stop the node first",
                p.name,
                p.pid,
                dir.display(),
                p.why
            ));
        }
    }
    let mut ctx = PolicyContext::new(dir.as_deref());
    ctx.loops = Some(LoopCheck::new("/sys/block", args.allow_loop_on_shared_disk));
    let mut targets = Vec::new();
    for (r, v) in resolved
        .iter()
        .zip(classify_request(&resolved, &snapshot, &ctx))
    {
        for refusal in &v.refusals {
            if !(args.wipe && refusal.overridable_by_wipe()) {
                problems.push(format!(
                    "{}: {}: {}",
                    r.given.display(),
                    refusal.message(),
                    refusal.remedy()
                ));
            }
        }
        if let Some(b) = snapshot.device_by_num(r.devnum) {
            targets.push(b.clone());
        }
    }
    if let Some(dir) = &dir {
        let need = required_space(dir_size(dir)?);
        if let Some(min) = targets
            .iter()
            .map(|t| t.size.0)
            .min()
            .filter(|_| targets.len() == resolved.len())
        {
            let usable = min.saturating_mul(targets.len() as u64) / profile.copies() as u64;
            if usable < need {
                problems.push(format!(
                    "the array would hold about {} but {} needs {} (twice its size plus 256 MiB, so btrfs never runs nearly full); use larger devices",
                    Bytes(usable),
                    dir.display(),
                    Bytes(need)
                ));
            }
        }
    }
    let timestamp = ids::utc_timestamp();
    let checked =
        super::paths::check_paths(args, dir.as_deref(), &timestamp, &snapshot, &mut problems);
    check_mountpoint(&checked.mountpoint, &snapshot, &mut problems);
    let request = dir.map(|dir| SetupRequest {
        has_database: dir.join("lightningd.sqlite3").is_file(),
        lightning_dir: dir,
        devices: resolved
            .iter()
            .map(|r| r.path.clone())
            .collect::<Vec<DevPath>>(),
        targets: resolved
            .iter()
            .zip(&targets)
            .map(|(r, b)| {
                let id = snapshot.identity(&b.path);
                Target::new(
                    r.given.clone(),
                    b,
                    id,
                    crate::walk::machine::stable_ids(&b.path, id),
                )
                .rehearsal(args.allow_loop_on_shared_disk)
            })
            .collect(),
        profile,
        mountpoint_existed: checked.mountpoint.exists(),
        mountpoint: checked.mountpoint,
        label: args.label.clone(),
        fs_uuid: args.fs_uuid.clone().unwrap_or_else(ids::random_fs_uuid),
        owner: None,
        wipe: args.wipe,
        autodefrag,
        fstab: args.host.fstab.clone(),
        dropin: args
            .host
            .effective_unit_dir()
            .map(|(d, _)| d.join(format!("{}.d", args.unit)).join("lnraid.conf")),
        daemon_reload: args.host.effective_unit_dir().is_some_and(|(_, live)| live),
        timestamp,
        schedule: None,
        backend: args.backend,
        md: None,
    });
    let mut request = match request {
        Some(r) if problems.is_empty() => r,
        _ => return Err(Refused(problems).into()),
    };
    if args.backend == crate::backend::Backend::Md {
        let ask = crate::backend::md::preflight::MdAsk {
            devices: &request.devices,
            targets: &targets,
            wipe: args.wipe,
            conf: &args.mdadm_conf,
            wait: args.wait,
        };
        request.md = Some(crate::backend::md::preflight::preflight(runner, &ask).map_err(Refused)?);
    }
    request.schedule = crate::app::schedule::for_setup(args, &request)?;
    if let Some(user) = &args.owner {
        match nix::unistd::User::from_name(user) {
            Ok(Some(u)) => request.owner = Some((u.uid.as_raw(), u.gid.as_raw())),
            _ => return Err(Refused(vec![format!("--owner {user}: no such user")]).into()),
        }
    }
    if request.aside().exists() {
        return Err(Refused(vec![format!(
            "{} already exists",
            request.aside().display()
        )])
        .into());
    }
    let current = fs::read_to_string(&request.fstab).unwrap_or_default();
    let edit = plan_fstab_edit(
        &current,
        &request.fstab_line(),
        &request.fs_uuid,
        &request.mountpoint,
    )
    .map_err(|e| Refused(vec![format!("{}: {e:#}", request.fstab.display())]))?;
    if !autodefrag && !args.no_autodefrag {
        warnings.push(format!(
            "kernel {} is a 5.16 kernel, where autodefrag caused severe write amplification: leaving it out of the mount options",
            snapshot.versions.kernel
        ));
    }
    Ok(Preflight::Ready(Box::new(Prepared {
        request,
        snapshot,
        targets,
        warnings,
        fstab_diff: edit.diff,
    })))
}

enum DirState {
    Real(PathBuf),
    Done(String),
    Bad,
}

/// `$LIGHTNINGDIR` must be a real directory; a symlink into an array with lnraid's fstab line
/// means setup already ran.
fn check_dir(given: &Path, fstab: &Path, problems: &mut Vec<String>) -> Result<DirState> {
    let meta = match fs::symlink_metadata(given) {
        Ok(m) => m,
        Err(_) => {
            problems.push(format!("{} does not exist", given.display()));
            return Ok(DirState::Bad);
        }
    };
    if meta.file_type().is_symlink() {
        let target = fs::canonicalize(given).unwrap_or_default();
        let mounts =
            crate::probe::mounts::read_mounts(Path::new(crate::probe::mounts::PID1_MOUNTINFO))?;
        let on_array =
            mount_containing(&mounts, &target).filter(|m| crate::backend::mounts::is_array_type(m));
        let fstab_text = fs::read_to_string(fstab).unwrap_or_default();
        if let Some(m) = on_array {
            let mp = m.mountpoint.to_string_lossy();
            if fstab_text
                .lines()
                .any(|l| l.trim_end().ends_with(MARKER) && l.split_whitespace().nth(1) == Some(&mp))
            {
                return Ok(DirState::Done(format!(
                    "setup is already done: {} -> {} on the lnraid array mounted at {mp}; nothing changed",
                    given.display(),
                    target.display()
                )));
            }
        }
        problems.push(format!(
            "{} is a symlink to {}, not an lnraid array: give the real directory",
            given.display(),
            target.display()
        ));
        return Ok(DirState::Bad);
    }
    if !meta.is_dir() {
        problems.push(format!("{} is not a directory", given.display()));
        return Ok(DirState::Bad);
    }
    Ok(DirState::Real(fs::canonicalize(given)?))
}

fn tools_and_kernel(
    snap: &Snapshot,
    profile: Profile,
    args: &SetupArgs,
    problems: &mut Vec<String>,
    warnings: &mut Vec<String>,
) {
    if snap.versions.btrfs_progs.is_none() {
        problems.push("mkfs.btrfs not found: install the Debian package btrfs-progs".into());
    }
    for (tool, pkg) in [
        ("chattr", "e2fsprogs"),
        ("findmnt", "util-linux"),
        ("wipefs", "util-linux"),
        ("mount", "mount"),
    ] {
        if crate::host::find_program(tool).is_none() {
            problems.push(format!(
                "{tool} not found: install the Debian package {pkg}"
            ));
        }
    }
    let k = version_tuple(&snap.versions.kernel);
    if k < vec![4, 14] {
        problems.push(format!(
            "kernel {} is older than 4.14, which cannot mount a degraded RAID-1 read-write",
            snap.versions.kernel
        ));
    }
    if profile != Profile::Raid1 {
        if k < vec![5, 5] {
            problems.push(format!(
                "{} needs kernel 5.5 or newer (this is {})",
                profile.name(),
                snap.versions.kernel
            ));
        }
        if snap
            .versions
            .btrfs_progs
            .as_deref()
            .map(version_tuple)
            .is_some_and(|v| v < vec![5, 4])
        {
            problems.push(format!("{} needs btrfs-progs 5.4 or newer", profile.name()));
        }
    }
    if args.devices.len() > profile.copies() {
        warnings.push(format!(
            "{} devices with {}: each block is kept {} times, so only {} device(s) may fail",
            args.devices.len(),
            profile.name(),
            profile.copies(),
            profile.copies() - 1
        ));
    }
}

fn is_5_16(kernel: &str) -> bool {
    version_tuple(kernel).starts_with(&[5, 16])
}

/// `mp` is canonical (containment is checked in `paths`).
fn check_mountpoint(mp: &Path, snap: &Snapshot, problems: &mut Vec<String>) {
    if !mp.is_absolute() {
        problems.push(format!(
            "--mountpoint {} must be an absolute path",
            mp.display()
        ));
        return;
    }
    if let Ok(m) = fs::symlink_metadata(mp) {
        let canon = fs::canonicalize(mp).unwrap_or_else(|_| mp.to_path_buf());
        if !m.is_dir() {
            problems.push(format!("{} exists and is not a directory", mp.display()));
        } else if mount_containing(&snap.mounts, &canon).is_some_and(|x| x.mountpoint == canon) {
            problems.push(format!("something is already mounted at {}", mp.display()));
        } else if fs::read_dir(mp)
            .map(|mut r| r.next().is_some())
            .unwrap_or(true)
        {
            problems.push(format!("{} is not empty", mp.display()));
        }
    }
}

/// Apparent size of the regular files below `dir`.
pub fn dir_size(dir: &Path) -> Result<u64> {
    let mut total = 0u64;
    for e in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let e = e?;
        let m = fs::symlink_metadata(e.path())?;
        if m.is_dir() {
            total += dir_size(&e.path())?;
        } else if m.is_file() {
            total += m.size();
        }
    }
    Ok(total)
}
