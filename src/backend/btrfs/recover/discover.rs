//! Finds the array among the present devices and tells whether it is mounted. Read-only.
//!
//! Identities come from `blkid -p` (read from each device; no udev, no fstab, no blkid cache —
//! a rescue system has none of them right). Mounted or not is the kernel's answer:
//! `/sys/fs/btrfs/<fsuuid>` exists only while the filesystem is mounted, and PID 1's mountinfo
//! names ONE member of it (DESIGN §4), so the mount is matched by the device numbers of all
//! the members sysfs lists.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::app::Refused;
use crate::cli::RecoverArgs;
use crate::exec::Runner;
use crate::probe::blkid::{probe_identity, Identity};
use crate::probe::btrfs::superblock::probe_superblock;
use crate::probe::btrfs::sysfs::read_btrfs_sysfs;
use crate::probe::lsblk::{lsblk_cmd, parse_lsblk};
use crate::probe::mounts::{read_mounts, Mount, PID1_MOUNTINFO};
use crate::probe::snapshot::resolve_device;
use crate::probe::sysfs::Sysfs;
use crate::recover::generations::{choose_members, Seen};
use crate::recover::select::{choose_array, ArrayChoice, Candidate, SelectError};
use crate::types::{DevNum, DevPath, FsUuid};

/// Where the array already is mounted (PID 1's view).
#[derive(Debug, Clone)]
pub struct ExistingMount {
    pub mountpoint: PathBuf,
    /// The mount's device number as mountinfo shows it (the superblock's anonymous `0:N`).
    pub devnum: DevNum,
    /// `st_dev` of files at the mountpoint: for btrfs, the mounted subvolume's own anonymous
    /// device, which differs from `devnum`.
    pub root_dev: DevNum,
    pub options: String,
    /// The subvolume mounted there (`/` for the whole filesystem).
    pub root: String,
}

/// The array lnraid will read from.
#[derive(Debug, Clone)]
pub struct ArrayFound {
    pub choice: ArrayChoice,
    /// The member that is mounted (given by `--device`, or the first present one).
    pub survivor: Candidate,
    /// Device numbers of every present member (for the destination checks).
    pub member_devnums: Vec<(DevPath, DevNum)>,
    pub existing: Option<ExistingMount>,
    /// Every present disk of the filesystem with its superblock (for the report).
    pub seen: Vec<Seen>,
    /// Present disks of the filesystem that are not read, each with why.
    pub ignored: Vec<(DevPath, String)>,
}

/// Finds the array `args` describe.
pub fn discover(args: &RecoverArgs, runner: &dyn Runner) -> Result<ArrayFound> {
    let given = match &args.device {
        Some(d) => Some(given_device(d, args.uuid.as_ref(), runner)?),
        None => None,
    };
    let mut candidates = present_btrfs(runner)?;
    if let Some(g) = &given {
        if !candidates.iter().any(|c| c.path == g.path) {
            candidates.push(g.clone());
        }
    }
    let want = args
        .uuid
        .clone()
        .or_else(|| given.as_ref().map(|g| g.uuid.clone()));
    let choice = choose_array(&candidates, want.as_ref(), &args.label).map_err(|e| match e {
        SelectError::Ambiguous(_) => anyhow::Error::new(Refused(vec![e.to_string()])),
        SelectError::NotFound { .. } => anyhow::anyhow!("{e}"),
    })?;
    let (choice, seen, ignored) = newest_members(choice, args, runner)?;
    let survivor = given.unwrap_or_else(|| choice.members[0].clone());
    let mut member_devnums = Vec::new();
    for m in &choice.members {
        if let Ok(r) = resolve_device(m.path.as_path()) {
            member_devnums.push((m.path.clone(), r.devnum));
        }
    }
    let existing = existing_mount(&choice.uuid)?;
    Ok(ArrayFound {
        choice,
        survivor,
        member_devnums,
        existing,
        seen,
        ignored,
    })
}

/// Present disks of the filesystem that are not read, each with why.
type Ignored = Vec<(DevPath, String)>;

/// Keeps the newest consistent set of `choice`'s present members (superblock generations,
/// lnraid's member record); the others are ignored with a reason. Refuses stale state.
fn newest_members(
    choice: ArrayChoice,
    args: &RecoverArgs,
    runner: &dyn Runner,
) -> Result<(ArrayChoice, Vec<Seen>, Ignored)> {
    let record = crate::members::read(&args.state_dir, &choice.uuid).map_err(|e| {
        Refused(vec![format!(
            "{e:#}: lnraid's record of the array's members is unreadable, so it cannot rule out a stale disk"
        )])
    })?;
    let mut seen = Vec::new();
    let mut ignored = Vec::new();
    for m in &choice.members {
        match probe_superblock(runner, m.path.as_path()) {
            Ok(sb) if sb.fsid == choice.uuid => seen.push(Seen {
                path: m.path.clone(),
                sb,
            }),
            Ok(sb) => ignored.push((
                m.path.clone(),
                format!(
                    "its superblock names filesystem {} (blkid said {})",
                    sb.fsid, choice.uuid
                ),
            )),
            Err(e) => ignored.push((m.path.clone(), format!("superblock unreadable: {e}"))),
        }
    }
    if seen.is_empty() {
        let why: Vec<String> = ignored.iter().map(|(p, w)| format!("{p}: {w}")).collect();
        return Err(Refused(vec![format!(
            "no readable superblock on any present disk of {}: {}",
            choice.uuid,
            why.join("; ")
        )])
        .into());
    }
    let given = args
        .device
        .as_ref()
        .and_then(|d| resolve_device(d).ok())
        .map(|r| r.path);
    let set = choose_members(&seen, record.as_ref(), given.as_ref()).map_err(Refused)?;
    ignored.extend(set.ignored.iter().map(|(s, w)| (s.path.clone(), w.clone())));
    let members = choice
        .members
        .iter()
        .filter(|m| set.chosen.iter().any(|s| s.path == m.path))
        .cloned()
        .collect();
    Ok((ArrayChoice { members, ..choice }, seen, ignored))
}

/// `--device`: must exist, be a block device, and carry btrfs (of `--uuid`, if given).
fn given_device(d: &Path, uuid: Option<&FsUuid>, runner: &dyn Runner) -> Result<Candidate> {
    let r = resolve_device(d).map_err(|e| Refused(vec![format!("--device: {e}")]))?;
    let id = probe_identity(runner, &r.path)
        .with_context(|| format!("reading the signature of {}", r.path))?;
    let c = candidate(&r.path, &id).ok_or_else(|| {
        Refused(vec![format!(
            "--device {}: not a btrfs member (blkid -p finds {})",
            d.display(),
            id.fstype.as_deref().unwrap_or("no filesystem")
        )])
    })?;
    if let Some(u) = uuid {
        if &c.uuid != u {
            return Err(Refused(vec![format!(
                "--device {} belongs to the btrfs filesystem {}, not to --uuid {u}",
                d.display(),
                c.uuid
            )])
            .into());
        }
    }
    Ok(c)
}

fn candidate(path: &DevPath, id: &Identity) -> Option<Candidate> {
    if id.fstype.as_deref() != Some("btrfs") {
        return None;
    }
    Some(Candidate {
        path: path.clone(),
        uuid: id.fs_uuid()?,
        uuid_sub: id.uuid_sub.clone(),
        label: id.label.clone(),
    })
}

/// Every present block device carrying a btrfs signature. Devices blkid cannot read (an empty
/// card reader, a dying disk) are logged and left out: they cannot be the survivor we mount.
fn present_btrfs(runner: &dyn Runner) -> Result<Vec<Candidate>> {
    let out = runner.run_ok(&lsblk_cmd())?;
    let devices = parse_lsblk(&out.stdout)?;
    let mut found = Vec::new();
    for d in &devices {
        match probe_identity(runner, &d.path) {
            Ok(id) => found.extend(candidate(&d.path, &id)),
            Err(e) => tracing::info!(device = %d.path, error = %e, "unreadable; skipped"),
        }
    }
    Ok(found)
}

/// The mount of filesystem `uuid`, if the kernel has it mounted.
fn existing_mount(uuid: &FsUuid) -> Result<Option<ExistingMount>> {
    let Some(sys) = read_btrfs_sysfs(Path::new("/sys"), uuid)? else {
        return Ok(None);
    };
    let sysfs = Sysfs::default();
    let members: Vec<DevNum> = sys
        .members
        .iter()
        .filter_map(|k| sysfs.read_block(k).ok().and_then(|b| b.devnum))
        .collect();
    let mounts = read_mounts(Path::new(PID1_MOUNTINFO))?;
    let is_member = |m: &&Mount| {
        m.fstype == "btrfs"
            && (std::fs::metadata(&m.source)
                .is_ok_and(|md| members.contains(&DevNum::from_rdev(md.rdev())))
                || Path::new(&m.source)
                    .file_name()
                    .is_some_and(|n| sys.members.iter().any(|k| n == k.as_str())))
    };
    // Prefer a mount of the whole filesystem; among equals, the oldest.
    let Some(m) = mounts
        .iter()
        .filter(is_member)
        .min_by_key(|m| (m.root != "/", m.id))
    else {
        bail!(
            "the btrfs filesystem {uuid} is mounted (the kernel lists it in /sys/fs/btrfs) but not in PID 1's mount table: \
             it may be mounted in another mount namespace or lazily unmounted; unmount it everywhere, then rerun"
        );
    };
    // Our namespace must see the same mount there (btrfs files report the subvolume's own
    // anonymous st_dev, not the superblock's that mountinfo shows: compare mount tables).
    let ours = read_mounts(Path::new("/proc/self/mountinfo"))?;
    if !ours
        .iter()
        .any(|o| o.mountpoint == m.mountpoint && o.devnum == m.devnum)
    {
        bail!(
            "the array is mounted at {} for PID 1 but not in this process's mount namespace; run lnraid in the host's namespace",
            m.mountpoint.display()
        );
    }
    let root_dev = DevNum::from_rdev(
        std::fs::metadata(&m.mountpoint)
            .with_context(|| format!("reading {}", m.mountpoint.display()))?
            .dev(),
    );
    Ok(Some(ExistingMount {
        mountpoint: m.mountpoint.clone(),
        devnum: m.devnum,
        root_dev,
        options: m.options.clone(),
        root: m.root.clone(),
    }))
}
