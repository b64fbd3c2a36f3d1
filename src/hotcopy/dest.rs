//! The backup destination: one directory per backup, named by the RFC 3339 UTC time of the
//! point it holds, plus a `README` at DEST.
//!
//! Two layouts. On a btrfs DEST: a subvolume received from `btrfs send` (incremental from the
//! newest snapshot both sides have), read-only as received, with `<name>.MANIFEST` beside it.
//! Elsewhere: a verified file copy (`copy::copy_tree` + read-back `copy::verify`) with
//! `MANIFEST` and `README` inside, in which the database and `hsm_secret` carry the
//! `.lnraid-backup` suffix, so lightningd pointed at it finds no node (it must never start a
//! stale copy as the node: penalty transactions). `lnraid restore` undoes the renames.
//!
//! Invariants: a backup directory appears under its final name only after it was verified
//! by reading it back; lnraid deletes only directories with its names and a MANIFEST of its
//! format; the newest verified backup (the next incremental's parent) is never pruned.

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::retention::{plan_retention, Candidate, Policy};
use super::snapshot::DB_NAME;
use super::source::{Source, SourceKind};
use crate::copy::{copy_tree, verify, CopyOptions, EntryKind, Manifest};
use crate::exec::{Cmd, Runner};

pub const SUFFIX: &str = ".lnraid-backup";
pub const MANIFEST_NAME: &str = "MANIFEST";
pub const FORMAT: &str = "lnraid-backup";

/// Files renamed in a file backup (name in the backup → name in a node directory).
pub fn renames() -> Vec<(String, String)> {
    [
        "lightningd.sqlite3",
        "lightningd.sqlite3-journal",
        "lightningd.sqlite3-wal",
        "hsm_secret",
    ]
    .iter()
    .map(|n| {
        let backup = match n.strip_prefix(DB_NAME) {
            Some(rest) => format!("{DB_NAME}{SUFFIX}{rest}"),
            None => format!("{n}{SUFFIX}"),
        };
        (backup, n.to_string())
    })
    .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    Files,
    BtrfsReceive,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileHash {
    pub path: String,
    pub size: u64,
    pub mode: String,
    pub blake3: String,
    /// BLAKE3 of the `.age` file in DEST (encrypted backups only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ciphertext_blake3: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupManifest {
    pub format: String,
    pub version: u32,
    /// RFC 3339 UTC: the point in time the backup holds.
    pub name: String,
    pub layout: Layout,
    /// When it was verified.
    pub verified_utc: String,
    pub source: String,
    /// `snapshot`, `reflink` or `locked-copy`.
    pub taken_by: String,
    pub lock_ms: f64,
    pub integrity_check: String,
    pub hot_journal: bool,
    /// Name in the backup → name in a node directory (file layout).
    pub renamed: Vec<(String, String)>,
    /// The snapshot the `btrfs send` stream was relative to.
    pub parent: Option<String>,
    /// Bytes written to DEST by this run (the send stream, or the files).
    pub transferred: u64,
    pub files: Vec<FileHash>,
    /// Files are stored as `<path>.age`, encrypted to age x25519 recipients.
    #[serde(default)]
    pub encrypted: bool,
    /// Symbolic links of an encrypted backup (path, target), recreated by restore.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<(String, String)>,
    /// Directories of an encrypted backup (path, mode), recreated by restore.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dirs: Vec<(String, String)>,
}

impl BackupManifest {
    pub(crate) fn new(src: &Source, layout: Layout, m: &Manifest) -> BackupManifest {
        BackupManifest {
            format: FORMAT.into(),
            version: 1,
            name: src.name.clone(),
            layout,
            verified_utc: super::snapshot::snapshot_name(Timestamp::now()),
            source: src.path.display().to_string(),
            taken_by: match src.kind {
                SourceKind::Snapshot => "snapshot",
                SourceKind::Reflinked => "reflink",
                SourceKind::LockedCopy => "locked-copy",
            }
            .into(),
            lock_ms: src.lock_ms,
            integrity_check: src.integrity.clone(),
            hot_journal: src.hot_journal,
            renamed: Vec::new(),
            parent: None,
            transferred: m.bytes(),
            files: m
                .entries
                .iter()
                .filter(|e| e.kind == EntryKind::File)
                .map(|e| FileHash {
                    path: e.rel.display().to_string(),
                    size: e.size,
                    mode: format!("{:04o}", e.mode),
                    blake3: e.hash.clone().unwrap_or_default(),
                    ciphertext_blake3: None,
                })
                .collect(),
            encrypted: false,
            links: Vec::new(),
            dirs: Vec::new(),
        }
    }
}

pub fn readme() -> String {
    format!(
        "This directory holds BACKUPS of a Core Lightning node made by lnraid. It is not a node.\n\
         \n\
         Do NOT point lightningd at it or at any directory in it. A backup is a past state: \n\
         starting it as the node can make peers treat old channel states as fraud and take\n\
         the channel funds (penalty transactions). In file backups the database and\n\
         hsm_secret are stored as lightningd.sqlite3{SUFFIX} and hsm_secret{SUFFIX} so that\n\
         lightningd finds no node here; btrfs backups are read-only subvolumes.\n\
         \n\
         Restoring is the last resort (Core Lightning's backup guide): first try the RAID-1\n\
         itself (`lnraid recover`) or the --wallet replica. If you must, stop lightningd and run\n\
         \n    lnraid restore --from THIS_DIR/<time> --lightning-dir $LIGHTNINGDIR\n\n\
         which checks the copy, moves the current directory aside (never deletes it) and undoes\n\
         the renames. Then close all channels. Each backup's MANIFEST lists every file with its\n\
         BLAKE3 hash.\n"
    )
}

/// Statfs type of `p`: is it btrfs?
pub fn is_btrfs(p: &Path) -> Result<bool> {
    let st = nix::sys::statfs::statfs(p).with_context(|| format!("statfs {}", p.display()))?;
    Ok(st.filesystem_type() == nix::sys::statfs::BTRFS_SUPER_MAGIC)
}

pub(crate) fn write_file(path: &Path, content: &str, mode: u32) -> Result<()> {
    crate::config::atomic::write_atomic_no_backup(path, content.as_bytes(), mode)
}

pub(crate) fn sync_dir(p: &Path) -> Result<()> {
    let d = fs::File::open(p).with_context(|| format!("opening {}", p.display()))?;
    nix::unistd::syncfs(std::os::fd::AsRawFd::as_raw_fd(&d)).context("syncing DEST")?;
    Ok(())
}

/// A verified file copy of `src` into `dest/<name>`.
pub fn files_backup(src: &Source, dest: &Path) -> Result<BackupManifest> {
    let partial = dest.join(format!(".lnraid-partial-{}", src.name));
    let fin = dest.join(&src.name);
    if fs::symlink_metadata(&fin).is_ok() {
        bail!("{} already exists", fin.display());
    }
    let mut manifest = copy_tree(&src.path, &partial, &CopyOptions::default(), &mut |_| {})?;
    let mut renamed = Vec::new();
    for (backup, node) in renames() {
        let (from, to) = (partial.join(&node), partial.join(&backup));
        if from.is_file() {
            fs::rename(&from, &to).with_context(|| format!("renaming {}", from.display()))?;
            for e in manifest
                .entries
                .iter_mut()
                .filter(|e| e.rel == Path::new(&node))
            {
                e.rel = PathBuf::from(&backup);
            }
            renamed.push((backup, node));
        }
    }
    reset_root_times(&partial, &manifest)?;
    verify(&manifest, &partial, &mut |_| {})?.into_result()?;
    let scratch = dest.join(format!(".lnraid-scratch-{}", src.name));
    let db = partial.join(format!("{DB_NAME}{SUFFIX}"));
    if db.is_file() {
        let i = crate::sqlite::integrity_check(&db, &scratch)?;
        if !i.ok {
            bail!(
                "the copy's database failed its integrity check: {}",
                i.problems.join("; ")
            );
        }
    }
    let mut doc = BackupManifest::new(src, Layout::Files, &manifest);
    doc.renamed = renamed;
    write_file(
        &partial.join(MANIFEST_NAME),
        &(serde_json::to_string_pretty(&doc)? + "\n"),
        0o600,
    )?;
    write_file(&partial.join("README"), &readme(), 0o644)?;
    sync_dir(&partial)?;
    fs::rename(&partial, &fin).with_context(|| format!("publishing {}", fin.display()))?;
    fs::File::open(dest)?.sync_all()?;
    Ok(doc)
}

/// Renaming files in the copy's root changed its mtime: put back the source's, which the
/// manifest recorded (the read-back compares it).
pub fn reset_root_times(root: &Path, m: &Manifest) -> Result<()> {
    let Some(e) = m.entries.iter().find(|e| e.rel.as_os_str().is_empty()) else {
        return Ok(());
    };
    let t = nix::sys::time::TimeSpec::new(e.mtime_sec, e.mtime_nsec);
    nix::sys::stat::utimensat(
        None,
        root,
        &t,
        &t,
        nix::sys::stat::UtimensatFlags::NoFollowSymlink,
    )
    .with_context(|| format!("setting times of {}", root.display()))
}

/// `btrfs send [-p parent] | btrfs receive` through a stream file in DEST (its size is what
/// the run transferred), then the received subvolume verified against the snapshot.
pub fn btrfs_backup(
    runner: &dyn Runner,
    src: &Source,
    snapshots: &[String],
    dest: &Path,
) -> Result<BackupManifest> {
    if src.kind != SourceKind::Snapshot {
        bail!("btrfs send needs a snapshot source");
    }
    let parent = snapshots
        .iter()
        .rev()
        .filter(|n| **n != src.name)
        .find(|n| dest.join(n).is_dir() && dest.join(format!("{n}.{MANIFEST_NAME}")).is_file())
        .cloned();
    let stream = dest.join(format!(".lnraid-stream-{}", src.name));
    let s = stream.display().to_string();
    let mut send = Cmd::mutating("btrfs", ["send", "-q", "-f", s.as_str()]);
    if let Some(p) = &parent {
        let pp = src.path.with_file_name(p).display().to_string();
        send = send.args_from(["-p", pp.as_str()]);
    }
    send = send.arg(src.path.display().to_string());
    let recv = Cmd::mutating(
        "btrfs",
        [
            "receive",
            "-q",
            "-f",
            s.as_str(),
            &dest.display().to_string(),
        ],
    );
    let result = (|| {
        runner.run_ok(&send)?;
        let bytes = fs::metadata(&stream)?.len();
        runner.run_ok(&recv)?;
        Ok::<u64, anyhow::Error>(bytes)
    })();
    let _ = fs::remove_file(&stream);
    let bytes = result?;
    let received = dest.join(&src.name);
    let manifest = super::tree::manifest_of(&src.path)?;
    let report = verify(&manifest, &received, &mut |_| {})?;
    let specials: Vec<&Path> = manifest.skipped.iter().map(|s| s.rel.as_path()).collect();
    let mut report = report;
    report
        .mismatches
        .retain(|m| !specials.contains(&m.rel.as_path()));
    report.into_result()?;
    let mut doc = BackupManifest::new(src, Layout::BtrfsReceive, &manifest);
    doc.parent = parent;
    doc.transferred = bytes;
    let side = dest.join(format!("{}.{MANIFEST_NAME}", src.name));
    write_file(&side, &(serde_json::to_string_pretty(&doc)? + "\n"), 0o600)?;
    Ok(doc)
}

/// A backup found in DEST.
#[derive(Debug, Clone)]
pub struct Found {
    pub name: String,
    pub time: Timestamp,
    pub path: PathBuf,
    pub manifest: Option<BackupManifest>,
}

pub fn manifest_path(dest: &Path, name: &str) -> [PathBuf; 2] {
    [
        dest.join(name).join(MANIFEST_NAME),
        dest.join(format!("{name}.{MANIFEST_NAME}")),
    ]
}

pub fn read_manifest(dest: &Path, name: &str) -> Option<BackupManifest> {
    manifest_path(dest, name).iter().find_map(|p| {
        let m: BackupManifest = serde_json::from_str(&fs::read_to_string(p).ok()?).ok()?;
        (m.format == FORMAT).then_some(m)
    })
}

pub fn list(dest: &Path) -> Result<Vec<Found>> {
    let mut out = Vec::new();
    for e in fs::read_dir(dest).with_context(|| format!("listing {}", dest.display()))? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        let Ok(time) = name.parse::<Timestamp>() else {
            continue;
        };
        if e.file_type()?.is_dir() {
            let manifest = read_manifest(dest, &name);
            out.push(Found {
                name,
                time,
                path: e.path(),
                manifest,
            });
        }
    }
    out.sort_by_key(|f| f.time);
    Ok(out)
}

/// Applies the retention policy at DEST; returns the names deleted.
pub fn prune(runner: &dyn Runner, dest: &Path, policy: Policy) -> Result<Vec<String>> {
    let all = list(dest)?;
    let cands: Vec<Candidate> = all
        .iter()
        .map(|f| Candidate {
            name: f.name.clone(),
            time: f.time,
            verified: f.manifest.is_some(),
        })
        .collect();
    let mut deleted = Vec::new();
    for (f, keep) in all.iter().zip(plan_retention(&cands, policy)) {
        let Some(m) = (keep.is_none()).then_some(()).and(f.manifest.as_ref()) else {
            continue;
        };
        match m.layout {
            Layout::BtrfsReceive => {
                runner.run_ok(&Cmd::mutating(
                    "btrfs",
                    [
                        "subvolume".to_string(),
                        "delete".into(),
                        f.path.display().to_string(),
                    ],
                ))?;
                let _ = fs::remove_file(dest.join(format!("{}.{MANIFEST_NAME}", f.name)));
            }
            Layout::Files => fs::remove_dir_all(&f.path)
                .with_context(|| format!("removing {}", f.path.display()))?,
        }
        deleted.push(f.name.clone());
    }
    Ok(deleted)
}

/// Creates DEST's README (idempotent).
pub fn ensure_readme(dest: &Path) -> Result<()> {
    let p = dest.join("README");
    if fs::read_to_string(&p).ok().as_deref() != Some(readme().as_str()) {
        write_file(&p, &readme(), 0o644)?;
    }
    Ok(())
}

/// Creates DEST (0700) if missing.
pub fn ensure_dest(dest: &Path) -> Result<()> {
    if !dest.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dest)
            .with_context(|| format!("creating {}", dest.display()))?;
    }
    if !dest.is_dir() {
        bail!("{} is not a directory", dest.display());
    }
    Ok(())
}
