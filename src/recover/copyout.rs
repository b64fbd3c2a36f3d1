//! The copy-out step of every recover plan (walked by src/walk/apply_recover.rs): find the node
//! directory on the read-only mount, refuse a running node, check DEST's space and names, copy
//! into DEST (the default set through a hidden 0700 staging directory, published only once
//! verified), read everything back from disk, integrity-check the database copy, write the
//! MANIFEST. A copy that fails is removed (or DEST marked incomplete, see [`super::partial`]).
//!
//! May not: write below the mount (it only reads there), remove anything it did not create,
//! or print `hsm_secret` (nor its hash).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{fchown, MetadataExt, OpenOptionsExt};
use std::path::Path;

use anyhow::{Context, Result};

use super::copy::{self, Copied};
use super::files::fsync_dir;
use super::manifest::{RecoverManifest, MANIFEST_FORMAT, MANIFEST_VERSION};
use super::select::{choose_node_dir, TopEntry};
use super::{partial, DATABASE, HSM_SECRET, MANIFEST_NAME};
use crate::app::Refused;
use crate::plan::recover::CopyOut;
use crate::probe::procs::processes_using;
use crate::ui::sanitize;

/// Runs the copy-out `c` (with `c.array` already refined by the backend).
pub fn run(c: &CopyOut) -> Result<()> {
    let mp = c.mountpoint.as_path();
    let dest = super::dest::Dest::new(&c.dest)?;
    let mount_dev = fs::metadata(mp)
        .with_context(|| format!("reading {}", mp.display()))?
        .dev();
    let dest_dev = fs::metadata(&dest.anchor)
        .with_context(|| format!("reading {}", dest.anchor.display()))?
        .dev();
    if dest.anchor.starts_with(mp) || dest_dev == mount_dev {
        return Err(Refused(vec![format!(
            "--to {} is on the array itself (filesystem {}): never write to the degraded filesystem; copy to new media",
            dest.path.display(),
            c.array.fs_uuid
        )])
        .into());
    }
    let name = node_dir(mp, c.dir_name.as_deref())?;
    let node = mp.join(&name);
    println!("Node directory on the array: {}", sanitize(&name));
    refuse_if_running(c.live_mount.as_deref(), &name)?;
    let names = dest_names(&node, c.all)?;
    if c.all {
        let taken: Vec<&str> = names.iter().map(String::as_str).collect();
        let problems = super::dest::names_taken(&dest, &taken);
        if !problems.is_empty() {
            return Err(Refused(problems).into());
        }
    }
    let (bytes, scratch) = copy::space_needed(&node, c.all)?;
    partial::check_space(&dest.path, &dest.anchor, bytes, scratch)?;
    let created = !dest.path.exists();
    copy::create_dest(&dest.path, &node)?;
    if let Err(e) = copy_and_record(c, &node, &name) {
        let cl = partial::clean_partial(&dest.path, created, &names);
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
        return Err(e.context(format!("{what}; {}", partial::report(&dest.path, &cl))));
    }
    Ok(())
}

/// The names recover may create in DEST: the copy-out set (or, with `--all`, the node
/// directory's top-level names) and the MANIFEST.
fn dest_names(node: &Path, all: bool) -> Result<Vec<String>> {
    let mut names: Vec<String> = if all {
        fs::read_dir(node)?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<std::io::Result<_>>()?
    } else {
        super::COPY_SET.iter().map(|s| s.to_string()).collect()
    };
    names.push(MANIFEST_NAME.into());
    Ok(names)
}

/// Copies, verifies and writes the MANIFEST. Any error leaves partial files for the caller
/// to remove.
fn copy_and_record(c: &CopyOut, node: &Path, name: &str) -> Result<(Copied, RecoverManifest)> {
    let dest = c.dest.as_path();
    let copied = if c.all {
        copy::copy_all(node, dest)?
    } else {
        // Into a hidden 0700 staging directory, published only once verified: a recover
        // killed mid-copy leaves no usable-looking database in DEST.
        let staging = copy::staging_dir(dest);
        std::os::unix::fs::DirBuilderExt::mode(&mut fs::DirBuilder::new(), 0o700)
            .create(&staging)
            .with_context(|| format!("creating {}", staging.display()))?;
        let done = copy::copy_set(node, &staging)?;
        crate::walk::failpoint("recover-copied");
        super::files::publish_staged(&staging, dest)?;
        done
    };
    let manifest = RecoverManifest {
        format: MANIFEST_FORMAT.into(),
        version: MANIFEST_VERSION,
        created_utc: crate::time::rfc3339(crate::records::now_unix()),
        lnraid_version: env!("CARGO_PKG_VERSION").into(),
        array: c.array.clone(),
        source_dir: name.to_string(),
        mount: c.mount.clone(),
        all: c.all,
        database: copied.database.clone(),
        files: copied.files.clone(),
        not_copied: copied.not_copied.clone(),
    };
    write_manifest(dest, &manifest, node)?;
    Ok((copied, manifest))
}

/// The node directory at the top of the mount.
pub fn node_dir(root: &Path, wanted: Option<&str>) -> Result<String> {
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
fn refuse_if_running(live: Option<&Path>, name: &str) -> Result<()> {
    let Some(live) = live else {
        return Ok(()); // mounted nowhere else: nothing can be using it
    };
    let dir = fs::canonicalize(live.join(name)).unwrap_or_else(|_| live.join(name));
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
pub fn write_manifest(dest: &Path, m: &RecoverManifest, node: &Path) -> Result<()> {
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

/// The MANIFEST a finished copy-out wrote, read back for the closing report.
pub fn read_manifest(dest: &Path) -> Result<RecoverManifest> {
    let p = dest.join(MANIFEST_NAME);
    let text = fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
    RecoverManifest::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))
}

/// What was copied, as the MANIFEST records it (for the closing report).
pub fn copied_of(m: &RecoverManifest) -> Copied {
    Copied {
        files: m.files.clone(),
        not_copied: m.not_copied.clone(),
        database: m.database.clone(),
        bytes: m.files.iter().map(|f| f.size).sum(),
    }
}
