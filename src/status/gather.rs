//! The facts of each array that do not depend on its backend: which arrays lnraid manages
//! (its fstab lines), lnraid's records and journals, the fstab check, where the node's
//! directory points. Each backend probes its own part first (btrfs: `backend::btrfs::gather`;
//! md: `backend::md::status`). Read-only. A probe that fails becomes an entry in `errors`
//! (verdict unknown), never a guess.

use std::fs;
use std::path::{Path, PathBuf};

use super::fstab_check::{check_fstab_for, normalize_mountpoint};
use crate::backend::Backend;
use crate::config::fstab_edit::managed_arrays;
use crate::exec::{Cmd, Runner};
use crate::probe::btrfs::Profile;
use crate::records::{read_record, Job, Outcome};
use crate::types::FsUuid;

use super::ArrayFacts;

/// btrfs's gatherer, for the btrfs-only callers that predate the seam (maintain's and
/// replace's btrfs paths). New code asks `backend::array_status`.
pub use crate::backend::btrfs::gather::gather;

/// What to look at, and where lnraid's files are.
#[derive(Debug, Clone)]
pub struct GatherCtx {
    pub fstab: PathBuf,
    pub state_dir: PathBuf,
    pub sys_root: PathBuf,
    /// Overrides the node directory recorded by setup.
    pub lightning_dir: Option<PathBuf>,
}

/// One array to report on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub uuid: Option<FsUuid>,
    pub mountpoint: PathBuf,
}

/// The arrays lnraid manages (its fstab lines), or the one mounted at `given`.
///
/// An fstab that cannot be read is an error, never "no array": a mistyped `--fstab` must not
/// read as a machine without lnraid arrays. With a mountpoint given, an unreadable fstab is
/// left to [`gather`] (it becomes the array's `fstab_unreadable` problem).
pub fn targets(ctx: &GatherCtx, given: Option<&Path>) -> anyhow::Result<Vec<Target>> {
    let text = match (fs::read_to_string(&ctx.fstab), given) {
        (Ok(t), _) => t,
        (Err(_), Some(_)) => String::new(),
        (Err(e), None) => {
            return Err(anyhow::Error::new(e)
                .context(format!("cannot read the fstab {}", ctx.fstab.display())))
        }
    };
    let managed = managed_arrays(&text)?;
    Ok(match given {
        Some(mp) => {
            let mp = normalize_mountpoint(mp);
            let uuid = managed
                .iter()
                .find(|a| normalize_mountpoint(&a.mountpoint) == mp)
                .map(|a| a.uuid.clone());
            vec![Target {
                uuid,
                mountpoint: mp,
            }]
        }
        None => managed
            .into_iter()
            .map(|a| Target {
                uuid: Some(a.uuid),
                mountpoint: normalize_mountpoint(&a.mountpoint),
            })
            .collect(),
    })
}

/// Per-mount options, then the filesystem's, each once: `rw,relatime` + `rw,space_cache=v2`
/// → `rw,relatime,space_cache=v2` (mountinfo repeats `rw`).
pub fn merge_options(per_mount: &str, super_opts: &str) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for o in per_mount.split(',').chain(super_opts.split(',')) {
        if !o.is_empty() && !seen.contains(&o) {
            seen.push(o);
        }
    }
    seen.join(",")
}

/// The backend-neutral facts of one array, after its backend probed it: lnraid's records
/// (scrub/balance), unfinished runs, the setup record, the fstab line (of `backend`'s type),
/// and where the node's directory points. The btrfs gatherer
/// ([`crate::backend::btrfs::gather`]) calls it last.
pub fn complete(ctx: &GatherCtx, t: &Target, backend: Backend, f: &mut ArrayFacts) {
    let Some(uuid) = f.uuid.clone() else { return };
    records(ctx, &uuid, f);
    unfinished(ctx, &uuid, f);
    setup_record(ctx, &uuid, f);
    let check = match fs::read_to_string(&ctx.fstab) {
        Ok(text) => check_fstab_for(&text, &uuid, &t.mountpoint, backend),
        Err(e) => super::fstab_check::FstabCheck {
            state: super::doc::FstabState::Unreadable,
            lines: vec![],
            options: None,
            detail: Some(e.to_string()),
        },
    };
    f.fstab_line = match check.state {
        super::doc::FstabState::Unreadable => None,
        super::doc::FstabState::Missing => Some(false),
        _ => Some(!check.lines.is_empty()),
    };
    f.fstab = Some(check);
    if let Some(d) = ctx.lightning_dir.clone().or(f.lightning_dir.clone()) {
        f.lightning_dir_on_array = Some(resolves_into(&d, &t.mountpoint));
        // The link may name a path on the array that does not exist (the array is mounted
        // elsewhere, or not at all): that is not "on the array" for the node.
        f.lightning_dir_dangling = fs::symlink_metadata(&d).is_ok() && fs::metadata(&d).is_err();
        f.lightning_dir = Some(d);
    }
    // hotcopy: snapshot/backup ages and job outcomes.
    f.hot = super::hotcopy::gather(&ctx.state_dir, f.lightning_dir.as_deref());
}

fn records(ctx: &GatherCtx, uuid: &FsUuid, f: &mut ArrayFacts) {
    match read_record(&ctx.state_dir, uuid, Job::Scrub) {
        Ok(r) => {
            if let Some(r) = r.as_ref().filter(|r| {
                matches!(
                    r.outcome,
                    Outcome::Ok | Outcome::Corrected | Outcome::Uncorrectable
                )
            }) {
                f.scrub_finished_at = Some(
                    f.scrub_finished_at
                        .map_or(r.finished, |t| t.max(r.finished)),
                );
            }
            f.last_scrub_record = r;
        }
        Err(e) => f.errors.push(format!("{e:#}")),
    }
    match read_record(&ctx.state_dir, uuid, Job::Balance) {
        Ok(r) => f.last_balance_record = r,
        Err(e) => f.errors.push(format!("{e:#}")),
    }
}

/// Journals of `replace` and `setup` still in the state dir belong to runs that did not finish.
fn unfinished(ctx: &GatherCtx, uuid: &FsUuid, f: &mut ArrayFacts) {
    let (found, errors) = crate::records::unfinished(&ctx.state_dir, uuid);
    f.unfinished
        .extend(found.into_iter().map(|u| (u.command.to_string(), u.step)));
    f.errors.extend(errors);
}

/// The archived setup journal (`setup-<uuid>-done.json`) names the profile and the node's
/// directory.
fn setup_record(ctx: &GatherCtx, uuid: &FsUuid, f: &mut ArrayFacts) {
    let r = match crate::records::setup_done(&ctx.state_dir, uuid) {
        Ok(Some(r)) => r,
        Ok(None) => return,
        Err(e) => return f.errors.push(format!("{e:#}")),
    };
    f.expected_profile = Some(Profile::parse(r.profile.name()));
    f.created_at = crate::app::ids::parse_timestamp(&r.timestamp);
    f.lightning_dir = Some(r.lightning_dir);
}

/// Whether `dir` is, or links to, a path below `mountpoint` (following links textually, so an
/// unmounted array's dangling link still counts).
pub fn resolves_into(dir: &Path, mountpoint: &Path) -> bool {
    if let Ok(c) = fs::canonicalize(dir) {
        if c.starts_with(mountpoint) {
            return true;
        }
    }
    let mut p = dir.to_path_buf();
    for _ in 0..16 {
        match fs::read_link(&p) {
            Ok(t) => {
                p = if t.is_absolute() {
                    t
                } else {
                    p.parent().unwrap_or(Path::new("/")).join(t)
                };
                if p.starts_with(mountpoint) {
                    return true;
                }
            }
            Err(_) => return false,
        }
    }
    false
}

/// `lsattr -d` of the bare (unmounted) mountpoint.
pub fn immutable(runner: &dyn Runner, mp: &Path) -> Option<bool> {
    let out = runner
        .run_ok(&Cmd::read_only("lsattr", ["-d"]).arg(mp.to_string_lossy()))
        .ok()?;
    out.stdout
        .split_whitespace()
        .next()
        .map(|flags| flags.contains('i'))
}

/// `Sat Nov 21 12:59:51 2026` (btrfs prints local time) → Unix seconds; see
/// [`crate::time::parse_btrfs_local_time`].
pub fn parse_btrfs_local_time(s: &str) -> Option<u64> {
    crate::time::parse_btrfs_local_time(s)
}
