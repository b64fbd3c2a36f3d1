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
mod md;
mod mount;
mod report;

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
    // The backend holding the array decides how it is read (the one match is in backend::).
    if let Some((device, uuid, mp)) = md_array(runner)? {
        return md::run(args, runner, device, uuid, &mp, &dest);
    }
    let array = discover::discover(args, runner)?;
    dest::check_dest(&dest, &array, &dest::default_names())?;
    print_array(&array);
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
    dest::check_not_in_mount(&dest, mount.path(), &array.choice.uuid)?;
    let info = array_info(runner, mount.path(), &array);
    let name = node_dir(mount.path(), args.lightning_dir_name.as_deref())?;
    let node = mount.path().join(&name);
    println!("Node directory on the array: {}", sanitize(&name));
    refuse_if_running(&array, &name)?;
    if args.all {
        let top: Vec<String> = fs::read_dir(&node)?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<std::io::Result<_>>()?;
        let mut names: Vec<&str> = top.iter().map(String::as_str).collect();
        names.push(MANIFEST_NAME);
        dest::check_dest(&dest, &array, &names)?;
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
        array: info,
        source_dir: name.clone(),
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
        all: args.all,
        database: copied.database.clone(),
        files: copied.files.clone(),
        not_copied: copied.not_copied.clone(),
    };
    write_manifest(&dest.path, &manifest, &node)?;
    let mp = mount.unmount()?;
    print_result(&dest.path, &copied, &manifest, &mp, &array);
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
        eprintln!(
            "lnraid: error: the recovery is incomplete: {} could not be copied (see above); the node cannot be restored from {} alone",
            essential.join(" and "),
            dest.path.display()
        );
        return Ok(exit::FAILURE);
    }
    Ok(exit::OK)
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

fn print_array(array: &ArrayFound) {
    let members: Vec<String> = array
        .choice
        .members
        .iter()
        .map(|m| m.path.to_string())
        .collect();
    println!(
        "Array: btrfs {} (label {}), present member(s): {}",
        array.choice.uuid,
        sanitize(&format!(
            "{:?}",
            array.choice.label.as_deref().unwrap_or("none")
        )),
        members.join(", ")
    );
    match &array.existing {
        Some(ex) => println!(
            "Already mounted at {} ({}{}): lnraid reads it through a private read-only bind mount and\n  writes nothing to it, not even access times.",
            sanitize(&ex.mountpoint.to_string_lossy()),
            sanitize(&ex.options),
            if ex.root == "/" {
                String::new()
            } else {
                format!(", subvolume {}", sanitize(&ex.root))
            }
        ),
        None => println!(
            "Not mounted: the survivor {} will be mounted read-only, degraded.",
            array.survivor.path
        ),
    }
    if let Some(ex) = array.existing.as_ref().filter(|ex| {
        ex.mountpoint.starts_with(mount::run_base())
            && ex
                .mountpoint
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("recover-"))
    }) {
        // A recover killed before its guard ran (Ctrl-C, SIGKILL) leaves its read-only mount.
        println!(
            "  It is the read-only mount of an interrupted `lnraid recover`; afterwards remove it:\n  umount {0} && rmdir {0}",
            sanitize(&crate::exec::quote_path(&ex.mountpoint))
        );
    }
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
                eprintln!("  $ {cmd}");
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
        Err(e) => eprintln!(
            "lnraid: warning: devids unknown ({e}); the MANIFEST names the survivors without them"
        ),
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

fn print_result(dest: &Path, c: &copy::Copied, m: &RecoverManifest, mp: &Path, array: &ArrayFound) {
    let mut out = format!(
        "\nCopied to {} and verified (read back from disk: BLAKE3 equal to the source), {}:\n",
        dest.display(),
        crate::types::Bytes(c.bytes)
    );
    let lines = copy::summary_lines(c);
    if m.all && lines.len() > 12 {
        out.push_str(&format!(
            "  {} files (all of the node directory); see MANIFEST\n",
            lines.len()
        ));
    } else {
        for l in lines {
            out.push_str(&format!("  {l}\n"));
        }
    }
    if let Some(db) = &c.database {
        out.push_str(&format!(
            "PRAGMA integrity_check on the copied {}: {}",
            db.path, db.integrity_check
        ));
        if db.hot_journal {
            out.push_str(
                "\n  A hot -journal is next to it (lightningd was interrupted mid-transaction): keep the two\n  together; lightningd rolls the journal back on start, to the last committed state.",
            );
        }
        out.push('\n');
    }
    for n in &c.not_copied {
        let warn = n.path == DATABASE || n.path == HSM_SECRET;
        out.push_str(&format!(
            "{}{}: {}\n",
            if warn {
                "WARNING: not copied: "
            } else {
                "not copied: "
            },
            n.path,
            n.reason
        ));
    }
    out.push_str(&format!(
        "MANIFEST: {}\n",
        dest.join(MANIFEST_NAME).display()
    ));
    match &array.existing {
        Some(ex) => out.push_str(&format!(
            "Removed the read-only bind mount {}; the array stays mounted at {}.\n",
            mp.display(),
            ex.mountpoint.display()
        )),
        None => out.push_str(&format!(
            "Unmounted and removed {}. The array was only ever mounted read-only.\n",
            mp.display()
        )),
    }
    print!("{}", sanitize_multiline(&out));
}
