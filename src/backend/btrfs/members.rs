//! What lnraid last saw of each array's members: device UUID, devid, path and superblock
//! generation, and the members `lnraid replace` replaced out. Kept in the state dir so that
//! `lnraid recover`, in the worst hour, can refuse a disk that is older than the array it
//! belonged to (a stale copy can lose channel funds: penalty transactions).
//!
//! Layout: `<state_dir>/records/<fsuuid>/members.json`, one [`MembersRecord`] (format
//! `lnraid-members`, version [`VERSION`]), replaced atomically under `members.lock` (status,
//! monitor and replace may run at once; an update must never drop a replacement entry).
//!
//! Invariants: the recorded high-water `generation` never goes down (a stale disk mounted on
//! its own later must not erase the evidence that it is stale); replacement entries are only
//! ever added. Writers: `status` and `monitor` (hook [`observe_mounted`], best effort: a
//! non-root monitor cannot read devices and records nothing) and `replace`
//! ([`record_replacement`]). May not: start processes except through the `Runner`.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::config::atomic::write_atomic_no_backup;
use crate::exec::Runner;
use crate::probe::btrfs::superblock::{probe_superblock, Superblock};
use crate::types::FsUuid;

pub const FORMAT: &str = "lnraid-members";
pub const VERSION: u32 = 1;

/// One member as lnraid saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenMember {
    pub devid: u64,
    pub dev_uuid: String,
    pub path: String,
    pub generation: u64,
}

/// A member `lnraid replace` replaced. A disk that carries `dev_uuid` with a generation below
/// `generation` is the one replaced out (the replacement inherits devid and device UUID, so the
/// generation is what tells them apart).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplacedMember {
    pub devid: u64,
    pub dev_uuid: Option<String>,
    /// Its path when it was present at the replacement.
    pub old_path: Option<String>,
    pub new_path: String,
    /// RFC 3339 UTC.
    pub replaced_utc: String,
    /// The replacement's superblock generation right after the replacement finished.
    pub generation: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembersRecord {
    pub format: String,
    pub version: u32,
    pub fs_uuid: FsUuid,
    /// The highest superblock generation seen on any member. Never lowered.
    pub generation: u64,
    /// When that generation was seen (RFC 3339 UTC), and by which command.
    pub generation_seen_utc: String,
    pub updated_utc: String,
    pub updated_by: String,
    /// The members of the last observation.
    pub members: Vec<SeenMember>,
    #[serde(default)]
    pub replaced: Vec<ReplacedMember>,
}

/// Now, RFC 3339 UTC to the second.
pub fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| jiff::Timestamp::now().to_string())
}

pub fn record_path(state_dir: &Path, uuid: &FsUuid) -> PathBuf {
    state_dir
        .join("records")
        .join(uuid.as_str())
        .join("members.json")
}

/// The record of `uuid`, if any. A damaged record is an error, never "no record": recover
/// must not lose its protection to a torn file.
pub fn read(state_dir: &Path, uuid: &FsUuid) -> Result<Option<MembersRecord>> {
    let p = record_path(state_dir, uuid);
    let text = match fs::read_to_string(&p) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", p.display())),
    };
    let r: MembersRecord =
        serde_json::from_str(&text).with_context(|| format!("{} is damaged", p.display()))?;
    if r.format != FORMAT || r.version > VERSION {
        anyhow::bail!(
            "{} is format {:?} version {}, which this lnraid does not know (it reads {FORMAT} up to {VERSION})",
            p.display(),
            r.format,
            r.version
        );
    }
    Ok(Some(r))
}

/// `old` updated with an observation of `seen` (path, superblock) by `by` at `now`. Pure.
pub fn merge_observation(
    old: Option<MembersRecord>,
    uuid: &FsUuid,
    seen: &[(String, Superblock)],
    by: &str,
    now: &str,
) -> MembersRecord {
    let observed_max = seen.iter().map(|(_, s)| s.generation).max().unwrap_or(0);
    let mut r = old.unwrap_or_else(|| MembersRecord {
        format: FORMAT.into(),
        version: VERSION,
        fs_uuid: uuid.clone(),
        generation: 0,
        generation_seen_utc: now.into(),
        updated_utc: now.into(),
        updated_by: by.into(),
        members: Vec::new(),
        replaced: Vec::new(),
    });
    if observed_max >= r.generation {
        r.generation = observed_max;
        r.generation_seen_utc = now.into();
        r.members = seen
            .iter()
            .map(|(p, s)| SeenMember {
                devid: s.devid,
                dev_uuid: s.dev_uuid.clone(),
                path: p.clone(),
                generation: s.generation,
            })
            .collect();
        r.members.sort_by_key(|m| m.devid);
    }
    r.updated_utc = now.into();
    r.updated_by = by.into();
    r
}

/// Read-modify-write of the record under its lock.
fn update(
    state_dir: &Path,
    uuid: &FsUuid,
    f: impl FnOnce(Option<MembersRecord>) -> MembersRecord,
) -> Result<()> {
    let p = record_path(state_dir, uuid);
    let dir = p.parent().expect("record path has a parent");
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let lock = File::create(dir.join("members.lock"))
        .with_context(|| format!("creating the lock in {}", dir.display()))?;
    let _held = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| e)
        .context("locking the member record")?;
    let r = f(read(state_dir, uuid)?);
    write_atomic_no_backup(&p, serde_json::to_string_pretty(&r)?.as_bytes(), 0o644)
}

/// Records the superblocks of `paths` (members of `uuid`). Devices whose superblock cannot be
/// read, or that belong to another filesystem, are left out; nothing readable, nothing written.
pub fn observe(
    runner: &dyn Runner,
    state_dir: &Path,
    uuid: &FsUuid,
    paths: &[String],
    by: &str,
) -> Result<()> {
    let seen: Vec<(String, Superblock)> = paths
        .iter()
        .filter_map(|p| {
            probe_superblock(runner, Path::new(p))
                .ok()
                .filter(|s| &s.fsid == uuid)
                .map(|s| (p.clone(), s))
        })
        .collect();
    if seen.is_empty() {
        anyhow::bail!("no member superblock of {uuid} could be read");
    }
    let now = now_rfc3339();
    update(state_dir, uuid, |old| {
        merge_observation(old, uuid, &seen, by, &now)
    })
}

/// The hook for `status` and `monitor`: records the members of the btrfs mounted at `mp`
/// (`btrfs filesystem show`, then each member's superblock). Best effort by design: errors
/// are logged at debug level and never change the caller's verdict.
pub fn observe_mounted(runner: &dyn Runner, state_dir: &Path, mp: &Path, by: &str) {
    let result = (|| -> Result<()> {
        // Only a btrfs mounted exactly there: `filesystem show` of a plain directory on a
        // btrfs root would describe the root filesystem.
        let mounts = crate::probe::mounts::read_mounts(Path::new("/proc/self/mountinfo"))?;
        if !super::mounts::mounted_at(&mounts, mp) {
            anyhow::bail!("no btrfs is mounted at {}", mp.display());
        }
        let fs = crate::probe::btrfs::show::probe_show(runner, mp)?;
        let [one] = fs.as_slice() else {
            anyhow::bail!(
                "`btrfs filesystem show {}` lists {} filesystems",
                mp.display(),
                fs.len()
            );
        };
        let paths: Vec<String> = one
            .devices
            .iter()
            .filter(|d| !d.missing)
            .filter_map(|d| d.path.as_ref().map(|p| p.to_string()))
            .collect();
        observe(runner, state_dir, &one.uuid, &paths, by)
    })();
    if let Err(e) = result {
        tracing::debug!(mountpoint = %mp.display(), error = %format!("{e:#}"), "member record not updated");
    }
}

/// [`observe_mounted`] for each of `mountpoints` (the hook `status` and `monitor` call).
pub fn observe_all<'a>(
    runner: &dyn Runner,
    state_dir: &Path,
    mountpoints: impl IntoIterator<Item = &'a Path>,
    by: &str,
) {
    for mp in mountpoints {
        observe_mounted(runner, state_dir, mp, by);
    }
}

/// The hook `lnraid replace` calls when a replacement finished: devid `old_devid` of the array
/// mounted at `mp` was replaced by `new_path`. Reads the replacement's superblock (its device
/// UUID is the old member's, its generation is the line below which a disk carrying that UUID
/// is the one replaced out) and the members now present.
pub fn replaced(
    runner: &dyn Runner,
    state_dir: &Path,
    mp: &Path,
    old_devid: u64,
    old_path: Option<String>,
    new_path: &str,
) -> Result<()> {
    let sb = probe_superblock(runner, Path::new(new_path))
        .with_context(|| format!("reading the superblock of {new_path}"))?;
    let fs = crate::probe::btrfs::show::probe_show(runner, mp)?;
    let members: Vec<String> = fs
        .iter()
        .filter(|f| f.uuid == sb.fsid)
        .flat_map(|f| f.devices.iter())
        .filter(|d| !d.missing)
        .filter_map(|d| d.path.as_ref().map(|p| p.to_string()))
        .collect();
    let entry = ReplacedMember {
        devid: old_devid,
        dev_uuid: Some(sb.dev_uuid.clone()),
        old_path,
        new_path: new_path.to_string(),
        replaced_utc: now_rfc3339(),
        generation: sb.generation,
    };
    record_replacement(runner, state_dir, &sb.fsid, entry, &members)
}

/// Adds a replacement (and the members seen right after it) to the record.
pub fn record_replacement(
    runner: &dyn Runner,
    state_dir: &Path,
    uuid: &FsUuid,
    entry: ReplacedMember,
    members: &[String],
) -> Result<()> {
    let seen: Vec<(String, Superblock)> = members
        .iter()
        .filter_map(|p| {
            probe_superblock(runner, Path::new(p))
                .ok()
                .filter(|s| &s.fsid == uuid)
                .map(|s| (p.clone(), s))
        })
        .collect();
    let now = now_rfc3339();
    update(state_dir, uuid, |old| {
        let mut r = merge_observation(old, uuid, &seen, "replace", &now);
        r.generation = r.generation.max(entry.generation);
        r.replaced.push(entry);
        r
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sb(gen: u64, devid: u64, dev_uuid: &str) -> Superblock {
        Superblock {
            fsid: FsUuid::parse("5d1c0e2a-1111-2222-3333-444455556666").unwrap(),
            generation: gen,
            num_devices: 2,
            dev_uuid: dev_uuid.into(),
            devid,
            label: Some("lnraid".into()),
        }
    }

    #[test]
    fn generation_never_goes_down_and_replacements_stay() {
        let t = tempfile::tempdir().unwrap();
        let uuid = FsUuid::parse("5d1c0e2a-1111-2222-3333-444455556666").unwrap();
        assert!(read(t.path(), &uuid).unwrap().is_none());
        let both = [
            ("/dev/a".to_string(), sb(11, 1, "u1")),
            ("/dev/c".to_string(), sb(11, 2, "u2")),
        ];
        update(t.path(), &uuid, |o| {
            merge_observation(o, &uuid, &both, "status", "T1")
        })
        .unwrap();
        update(t.path(), &uuid, |o| {
            let mut r = o.unwrap();
            r.replaced.push(ReplacedMember {
                devid: 2,
                dev_uuid: Some("u2".into()),
                old_path: None,
                new_path: "/dev/c".into(),
                replaced_utc: "T0".into(),
                generation: 9,
            });
            r
        })
        .unwrap();
        // The stale disk mounted alone later: observed, but the high water mark stays.
        let stale = [("/dev/b".to_string(), sb(7, 2, "u2"))];
        update(t.path(), &uuid, |o| {
            merge_observation(o, &uuid, &stale, "monitor", "T2")
        })
        .unwrap();
        let r = read(t.path(), &uuid).unwrap().unwrap();
        assert_eq!((r.generation, r.generation_seen_utc.as_str()), (11, "T1"));
        assert_eq!(r.members.len(), 2);
        assert_eq!(r.replaced.len(), 1);
        assert_eq!(
            (r.updated_by.as_str(), r.format.as_str()),
            ("monitor", FORMAT)
        );
        fs::write(record_path(t.path(), &uuid), "{").unwrap();
        assert!(
            read(t.path(), &uuid).is_err(),
            "damaged is an error, not 'no record'"
        );
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let s = now_rfc3339();
        assert!(s.ends_with('Z') && s.len() == 20, "{s}");
        assert!(s.parse::<jiff::Timestamp>().is_ok());
    }
}
