//! `lnraid recover`: a member died; copy the node's state off the survivor onto new media.
//!
//! Phases: checks (root, arguments, DEST, the array found by filesystem UUID) → read-only
//! mount (the survivor `ro,degraded` on a private temporary mountpoint, or a read-only bind of
//! the existing mount) → node directory → copy → verify (read back from disk, BLAKE3, `PRAGMA
//! integrity_check`) → `MANIFEST` → unmount → next steps. Every refusal comes before the first
//! mount; the mount guard undoes the mount on every exit path.
//!
//! May not: mount the array read-write, write below the mount, remove anything it did not
//! create, or print `hsm_secret` (nor its hash). See DESIGN §4 for the tree-log trade-off.

mod copy;
mod dest;
mod discover;
mod leftover;
mod md;
mod mount;
mod partial;
mod report;
mod say;

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{fchown, MetadataExt, OpenOptionsExt};
use std::path::Path;

use anyhow::{Context, Result};

use super::{exit, Refused};
use crate::cli::RecoverArgs;
use crate::exec::Runner;
use crate::host::Lock;
use crate::probe::btrfs::show::probe_show;
use crate::probe::procs::processes_using;
use crate::recover::files::fsync_dir;
use crate::recover::manifest::{
    ArrayInfo, Member, MountInfo, MountKind, RecoverManifest, MANIFEST_FORMAT, MANIFEST_VERSION,
};
use crate::recover::select::{choose_node_dir, validate_dir_name, TopEntry};
use crate::recover::{DATABASE, HSM_SECRET, MANIFEST_NAME};
use crate::ui::{sanitize, sanitize_multiline};
use discover::ArrayFound;
use mount::ReadOnlyMount;

pub fn run(args: &RecoverArgs, runner: &dyn Runner) -> Result<i32> {
    if !nix::unistd::Uid::effective().is_root() {
        return Err(Refused(vec![
            "lnraid recover must run as root: it reads block devices and mounts the array".into(),
        ])
        .into());
    }
    if let Some(n) = &args.lightning_dir_name {
        validate_dir_name(n).map_err(|e| Refused(vec![e]))?;
    }
    let dest = dest::Dest::new(&args.to)?;
    let _lock = if args.dry_run {
        None
    } else {
        Some(Lock::try_acquire(&args.lock_dir, "lnraid.lock")?)
    };
    // Before anything is probed: a killed recover's mount would pose as "already mounted".
    leftover::clean_leftovers(runner, args.dry_run)?;
    // The backend holding the array decides how it is read (the one match is in backend::).
    if let Some((device, uuid, mp)) = md_array(runner)? {
        return md::run(args, runner, device, uuid, &mp, &dest);
    }
    let array = discover::discover(args, runner)?;
    dest::check_dest(&dest, &array, &dest::default_names())?;
    say::print_array(&array);
    refuse_running_before_mount(&array, &args.state_dir)?;
    if args.dry_run {
        let plan = report::plan_recover(
            &array,
            &dest.path,
            args.lightning_dir_name.as_deref(),
            args.all,
        );
        print!("\n{}", sanitize_multiline(&crate::plan::render_plan(&plan)));
        if array.existing.is_none() {
            println!("\n{}", report::LOG_REPLAY_NOTE);
        }
        println!("\n(dry run: nothing was mounted or copied)");
        return Ok(exit::OK);
    }
    let mount = mount_array(&array, runner)?;
    crate::walk::failpoint("recover-mounted");
    dest::check_not_in_mount(&dest, mount.path(), &array.choice.uuid)?;
    let info = array_info(runner, mount.path(), &array);
    let name = node_dir(mount.path(), args.lightning_dir_name.as_deref())?;
    let node = mount.path().join(&name);
    println!("Node directory on the array: {}", sanitize(&name));
    refuse_if_running(&array, &name)?;
    let names = dest_names(&node, args.all)?;
    if args.all {
        let taken: Vec<&str> = names.iter().map(String::as_str).collect();
        dest::check_dest(&dest, &array, &taken)?;
    }
    let (bytes, scratch) = copy::space_needed(&node, args.all)?;
    partial::check_space(&dest.path, &dest.anchor, bytes, scratch)?;
    let created = !dest.path.exists();
    copy::create_dest(&dest.path, &node)?;
    let (copied, manifest) = match copy_and_record(&dest.path, &node, &name, &array, info, args.all)
    {
        Ok(done) => done,
        Err(e) => {
            let c = partial::clean_partial(&dest.path, created, &names);
            let full = e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.raw_os_error() == Some(nix::libc::ENOSPC))
            });
            let what = if full {
                format!(
                    "{} is full (no space left on the device)",
                    dest.path.display()
                )
            } else {
                "the copy-out failed".to_string()
            };
            return Err(e.context(format!("{what}; {}", partial::report(&dest.path, &c))));
        }
    };
    let mp = mount.unmount()?;
    say::print_result(&dest.path, &copied, &manifest, &mp, &array);
    print!(
        "{}",
        sanitize_multiline(&report::next_steps(
            &dest.path,
            &name,
            &manifest.array.missing_devids,
            array.existing.is_some()
        ))
    );
    // What was copied stays (verified, in the MANIFEST), but a recovery without the database
    // or hsm_secret cannot restore the node: say so in the exit code, not only in a line.
    let essential: Vec<&str> = copied
        .not_copied
        .iter()
        .filter(|n| n.path == DATABASE || n.path == HSM_SECRET)
        .map(|n| n.path.as_str())
        .collect();
    if !essential.is_empty() {
        tracing::error!(
            "the recovery is incomplete: {} could not be copied (see above); the node cannot be restored from {} alone",
            essential.join(" and "),
            dest.path.display()
        );
        return Ok(exit::FAILURE);
    }
    Ok(exit::OK)
}

/// The names recover may create in DEST: the copy-out set (or, with `--all`, the node
/// directory's top-level names) and the MANIFEST.
fn dest_names(node: &Path, all: bool) -> Result<Vec<String>> {
    let mut names: Vec<String> = if all {
        fs::read_dir(node)?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<std::io::Result<_>>()?
    } else {
        crate::recover::COPY_SET
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    names.push(MANIFEST_NAME.into());
    Ok(names)
}

/// Copies, verifies and writes the MANIFEST. Any error leaves partial files for the caller
/// to remove.
fn copy_and_record(
    dest: &Path,
    node: &Path,
    name: &str,
    array: &ArrayFound,
    info: ArrayInfo,
    all: bool,
) -> Result<(copy::Copied, RecoverManifest)> {
    let copied = if all {
        copy::copy_all(node, dest)?
    } else {
        // Into a hidden 0700 staging directory, published only once verified: a recover
        // killed mid-copy leaves no usable-looking database in DEST.
        let staging = copy::staging_dir(dest);
        std::os::unix::fs::DirBuilderExt::mode(&mut fs::DirBuilder::new(), 0o700)
            .create(&staging)
            .with_context(|| format!("creating {}", staging.display()))?;
        let c = copy::copy_set(node, &staging)?;
        crate::walk::failpoint("recover-copied");
        crate::recover::files::publish_staged(&staging, dest)?;
        c
    };
    let manifest = RecoverManifest {
        format: MANIFEST_FORMAT.into(),
        version: MANIFEST_VERSION,
        created_utc: crate::time::rfc3339(crate::records::now_unix()),
        lnraid_version: env!("CARGO_PKG_VERSION").into(),
        array: info,
        source_dir: name.to_string(),
        mount: MountInfo {
            kind: if array.existing.is_some() {
                MountKind::Existing
            } else {
                MountKind::Temporary
            },
            options: if array.existing.is_some() {
                "bind,ro".into()
            } else {
                mount::DEGRADED_OPTIONS.into()
            },
            existing_mountpoint: array
                .existing
                .as_ref()
                .map(|e| e.mountpoint.to_string_lossy().into_owned()),
        },
        all,
        database: copied.database.clone(),
        files: copied.files.clone(),
        not_copied: copied.not_copied.clone(),
    };
    write_manifest(dest, &manifest, node)?;
    Ok((copied, manifest))
}

/// Mounts the array read-only (see `mount`), printing what it runs.
fn mount_array<'r>(array: &ArrayFound, runner: &'r dyn Runner) -> Result<ReadOnlyMount<'r>> {
    match &array.existing {
        Some(ex) => ReadOnlyMount::new(runner, |mp| mount::bind_ro_cmd(&ex.mountpoint, mp))
            .context("bind-mounting the existing mount read-only"),
        None => {
            println!("{}", report::LOG_REPLAY_NOTE);
            for m in &array.choice.members {
                let cmd = mount::scan_cmd(&m.path);
                tracing::info!("  $ {cmd}");
                runner.run_ok(&cmd)?;
            }
            ReadOnlyMount::new(runner, |mp| mount::mount_degraded_cmd(&array.survivor.path, mp))
                .with_context(|| {
                    format!(
                        "mounting {} read-only, degraded (is another member missing too? `btrfs filesystem show` lists the members)",
                        array.survivor.path
                    )
                })
        }
    }
}

/// Devids of the survivors and of the missing members, from `btrfs filesystem show` on the
/// read-only mount. Without it, the survivors are still named, without devids.
fn array_info(runner: &dyn Runner, mp: &Path, array: &ArrayFound) -> ArrayInfo {
    let sub = |p: &str| {
        array
            .choice
            .members
            .iter()
            .find(|m| m.path.to_string() == p)
            .and_then(|m| m.uuid_sub.clone())
    };
    let mut info = ArrayInfo {
        fs_uuid: array.choice.uuid.clone(),
        label: array.choice.label.clone(),
        total_devices: None,
        survivors: array
            .choice
            .members
            .iter()
            .map(|m| Member {
                devid: None,
                path: m.path.to_string(),
                uuid_sub: m.uuid_sub.clone(),
            })
            .collect(),
        missing_devids: Vec::new(),
    };
    match probe_show(runner, mp) {
        Ok(all) => {
            if let Some(fs) = all.into_iter().find(|f| f.uuid == array.choice.uuid) {
                info.total_devices = Some(fs.total_devices);
                info.missing_devids = fs.missing_devids();
                info.survivors = fs
                    .devices
                    .iter()
                    .filter(|d| !d.missing)
                    .filter_map(|d| {
                        d.path.as_ref().map(|p| Member {
                            devid: Some(d.devid),
                            path: p.to_string(),
                            uuid_sub: sub(&p.to_string()),
                        })
                    })
                    .collect();
            }
        }
        Err(e) => {
            tracing::warn!("devids unknown ({e}); the MANIFEST names the survivors without them")
        }
    }
    match info.missing_devids.as_slice() {
        [] => println!("No member is missing: the array is not degraded (copying anyway)."),
        ids => println!(
            "Missing member(s): devid {}; reading from {}.",
            ids.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            info.survivors
                .iter()
                .map(|s| format!(
                    "{} (devid {})",
                    s.path,
                    s.devid.map_or("?".into(), |d| d.to_string())
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
    info
}

/// The node directory at the top of the mount.
fn node_dir(root: &Path, wanted: Option<&str>) -> Result<String> {
    let mut entries = Vec::new();
    for e in fs::read_dir(root).with_context(|| format!("listing {}", root.display()))? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        let is_dir = e.file_type()?.is_dir();
        let has =
            |f: &str| is_dir && fs::symlink_metadata(e.path().join(f)).is_ok_and(|m| m.is_file());
        entries.push(TopEntry {
            has_database: has(DATABASE),
            has_hsm_secret: has(HSM_SECRET),
            name,
            is_dir,
        });
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    choose_node_dir(&entries, wanted).map_err(|e| Refused(vec![sanitize(&e)]).into())
}

/// Before anything is mounted: a lightningd on the array's existing mount, or on the node
/// directory setup recorded for it, means the node is running — a copy would be torn, and
/// two copies could both be started as the node.
fn refuse_running_before_mount(array: &ArrayFound, state_dir: &Path) -> Result<()> {
    let mut dirs: Vec<std::path::PathBuf> = Vec::new();
    if let Some(ex) = &array.existing {
        dirs.push(ex.mountpoint.clone());
    }
    let rec = state_dir.join(format!("setup-{}-done.json", array.choice.uuid));
    if let Ok(text) = fs::read_to_string(&rec) {
        if let Some(d) = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| {
                v["request"]["lightning_dir"]
                    .as_str()
                    .map(std::path::PathBuf::from)
            })
        {
            dirs.push(d);
        }
    }
    let mut problems = Vec::new();
    for d in &dirs {
        let dir = fs::canonicalize(d).unwrap_or_else(|_| d.clone());
        for p in processes_using(&dir) {
            problems.push(format!(
                "{} (pid {}) is running on the array ({}): stop it first; nothing was mounted",
                p.name, p.pid, p.why
            ));
        }
    }
    problems.dedup();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Refused(problems).into())
    }
}

/// A lightningd writing to the (already mounted) node directory would make a torn copy.
fn refuse_if_running(array: &ArrayFound, name: &str) -> Result<()> {
    let Some(ex) = &array.existing else {
        return Ok(()); // mounted nowhere else: nothing can be using it
    };
    let dir =
        fs::canonicalize(ex.mountpoint.join(name)).unwrap_or_else(|_| ex.mountpoint.join(name));
    let running = processes_using(&dir);
    if running.is_empty() {
        return Ok(());
    }
    Err(Refused(
        running
            .iter()
            .map(|p| {
                format!(
                    "{} (pid {}) is running on the array ({}): stop it first; a database copied while it is written is torn",
                    p.name, p.pid, p.why
                )
            })
            .collect(),
    )
    .into())
}

/// `DEST/MANIFEST`: created with `O_EXCL`, 0600, owned like the node directory, fsynced, then
/// DEST is fsynced.
fn write_manifest(dest: &Path, m: &RecoverManifest, node: &Path) -> Result<()> {
    let path = dest.join(MANIFEST_NAME);
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(m.render().as_bytes())?;
    let owner = fs::metadata(node)?;
    fchown(&f, Some(owner.uid()), Some(owner.gid()))?;
    f.sync_all()?;
    fsync_dir(dest)
}

/// An md array lnraid manages: its device (when assembled), filesystem UUID, mountpoint.
type MdTarget = (
    Option<crate::types::DevPath>,
    Option<crate::types::FsUuid>,
    std::path::PathBuf,
);

/// The md array lnraid manages, when the fstab's lnraid line is on md.
fn md_array(runner: &dyn Runner) -> Result<Option<MdTarget>> {
    // recover has no --fstab: the fstab is the one status reads (LNRAID_FSTAB or /etc/fstab).
    let env = |k: &str, d: &str| {
        std::env::var_os(k)
            .map(Into::into)
            .unwrap_or_else(|| std::path::PathBuf::from(d))
    };
    let ctx = crate::status::gather::GatherCtx {
        fstab: env("LNRAID_FSTAB", "/etc/fstab"),
        state_dir: env("LNRAID_STATE_DIR", "/var/lib/lnraid"),
        sys_root: "/sys".into(),
        lightning_dir: None,
    };
    let list = crate::status::gather::targets(&ctx, None)?;
    let [t] = list.as_slice() else {
        return Ok(None);
    };
    Ok(match crate::backend::locate(runner, &ctx, t) {
        crate::backend::Located::Md { device, fs_uuid } => {
            Some((device, fs_uuid, t.mountpoint.clone()))
        }
        crate::backend::Located::Btrfs { .. } => None,
    })
}
