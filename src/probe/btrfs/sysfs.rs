//! `/sys/fs/btrfs/<fsuuid>/`: the kernel's own view of one mounted btrfs — its present
//! members (`devices/<kname>`), every devid with its `missing`/`writeable`/`replace_target`
//! flags and `error_stats` (`devinfo/<devid>/`), the label, and the exclusive operation running
//! (`exclusive_operation`: none, balance, device replace...).
//!
//! Role: membership by filesystem UUID (mountinfo names only one member, DESIGN §4) and the
//! devid of a missing member without running btrfs-progs. A degraded mount keeps
//! `devinfo/<devid>` for the missing member with `missing` = 1 but drops it from `devices/`.
//! May not: write (the scrub limit knob lives here; setting it is a mutation done elsewhere).
//! Invariants: the root is a parameter (tests build a tree in a temp dir); an absent
//! directory means "not mounted" (`Ok(None)`); a present but unreadable or malformed file is an
//! error, never a default. Files written by older kernels may be absent: those fields are
//! `Option`.

use std::fs;
use std::io;
use std::path::Path;

use serde::Serialize;

use super::BtrfsError;
use crate::probe::ParseError;
use crate::types::{Bytes, FsUuid};

const WHAT: &str = "/sys/fs/btrfs";

/// One entry of `devinfo/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SysDevInfo {
    pub devid: u64,
    pub missing: bool,
    pub writeable: Option<bool>,
    pub replace_target: Option<bool>,
    /// `scrub_speed_max` in bytes/s, 0 = unlimited (kernel 5.14+).
    pub scrub_speed_max: Option<Bytes>,
    /// `error_stats` as `(name, count)` pairs (kernel 5.14+).
    pub error_stats: Option<Vec<(String, u64)>>,
}

/// What sysfs says about one mounted btrfs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BtrfsSysfs {
    pub uuid: FsUuid,
    pub label: String,
    /// Kernel names of the present members (`loop0`, `sdb1`), sorted.
    pub members: Vec<String>,
    /// Sorted by devid.
    pub devinfo: Vec<SysDevInfo>,
    pub exclusive_operation: Option<String>,
}

impl BtrfsSysfs {
    pub fn missing_devids(&self) -> Vec<u64> {
        self.devinfo
            .iter()
            .filter(|d| d.missing)
            .map(|d| d.devid)
            .collect()
    }
}

/// Reads `<sys_root>/fs/btrfs/<uuid>/`. `sys_root` is `/sys` in production.
pub fn read_btrfs_sysfs(sys_root: &Path, uuid: &FsUuid) -> Result<Option<BtrfsSysfs>, BtrfsError> {
    let dir = sys_root.join("fs/btrfs").join(uuid.as_str());
    if !dir.is_dir() {
        return Ok(None);
    }
    let label = read(&dir.join("label"))?.ok_or_else(|| io_err(&dir.join("label"), "absent"))?;
    let mut devinfo = Vec::new();
    for name in list(&dir.join("devinfo"))? {
        let devid = name.parse::<u64>().map_err(|_| {
            BtrfsError::Parse(ParseError::new(
                WHAT,
                format!("devinfo entry {name:?} is not a devid"),
            ))
        })?;
        devinfo.push(read_devinfo(&dir.join("devinfo").join(&name), devid)?);
    }
    devinfo.sort_by_key(|d| d.devid);
    Ok(Some(BtrfsSysfs {
        uuid: uuid.clone(),
        label: label.trim_end_matches('\n').to_string(),
        members: list(&dir.join("devices"))?,
        devinfo,
        exclusive_operation: read(&dir.join("exclusive_operation"))?.map(|s| s.trim().to_string()),
    }))
}

fn read_devinfo(dir: &Path, devid: u64) -> Result<SysDevInfo, BtrfsError> {
    let flag = |f: &str| -> Result<Option<bool>, BtrfsError> {
        match read(&dir.join(f))? {
            None => Ok(None),
            Some(s) => parse_flag(s.trim()).map(Some).ok_or_else(|| {
                BtrfsError::Parse(ParseError::new(
                    WHAT,
                    format!("{}/{f}: not 0 or 1", dir.display()),
                ))
            }),
        }
    };
    let speed = match read(&dir.join("scrub_speed_max"))? {
        None => None,
        Some(s) => Some(Bytes(s.trim().parse().map_err(|_| {
            BtrfsError::Parse(ParseError::new(
                WHAT,
                format!("{}/scrub_speed_max: not a number", dir.display()),
            ))
        })?)),
    };
    let error_stats = match read(&dir.join("error_stats"))? {
        None => None,
        Some(s) => Some(parse_error_stats(&s).map_err(BtrfsError::Parse)?),
    };
    Ok(SysDevInfo {
        devid,
        missing: flag("missing")?.ok_or_else(|| io_err(&dir.join("missing"), "absent"))?,
        writeable: flag("writeable")?,
        replace_target: flag("replace_target")?,
        scrub_speed_max: speed,
        error_stats,
    })
}

fn parse_flag(s: &str) -> Option<bool> {
    match s {
        "0" => Some(false),
        "1" => Some(true),
        _ => None,
    }
}

/// `error_stats`: lines `write_errs 0`, `read_errs 0`, ... in kernel order.
pub fn parse_error_stats(text: &str) -> Result<Vec<(String, u64)>, ParseError> {
    let what = "devinfo error_stats";
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let (k, v) = line
            .split_once(' ')
            .ok_or_else(|| ParseError::at(what, i + 1, "expected `name count`"))?;
        if k.is_empty() || !k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return Err(ParseError::at(what, i + 1, "bad counter name"));
        }
        let v = v
            .parse()
            .map_err(|_| ParseError::at(what, i + 1, "count is not a number"))?;
        out.push((k.to_string(), v));
    }
    Ok(out)
}

/// A file's content; `None` if it does not exist (older kernel).
fn read(p: &Path) -> Result<Option<String>, BtrfsError> {
    match fs::read_to_string(p) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(p, &e.to_string())),
    }
}

/// Sorted entry names of a directory; absent is empty.
fn list(dir: &Path) -> Result<Vec<String>, BtrfsError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(dir, &e.to_string())),
    };
    let mut names = Vec::new();
    for e in entries {
        let e = e.map_err(|e| io_err(dir, &e.to_string()))?;
        names.push(e.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

fn io_err(p: &Path, reason: &str) -> BtrfsError {
    BtrfsError::Io {
        path: p.display().to_string(),
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(p: &Path, s: &str) {
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, s).unwrap();
    }

    /// The tree a raid1 mounted `-o degraded` with devid 2 absent showed on kernel 6.18.
    fn degraded_tree(root: &Path, u: &str) {
        let d = root.join("fs/btrfs").join(u);
        write(&d.join("label"), "sys test\n");
        write(&d.join("exclusive_operation"), "none\n");
        fs::create_dir_all(d.join("devices/loop0")).unwrap();
        for (id, missing, w) in [(1, "0", "1"), (2, "1", "0")] {
            let i = d.join(format!("devinfo/{id}"));
            write(&i.join("missing"), &format!("{missing}\n"));
            write(&i.join("writeable"), &format!("{w}\n"));
            write(&i.join("replace_target"), "0\n");
            write(&i.join("scrub_speed_max"), "0\n");
            write(
                &i.join("error_stats"),
                "write_errs 0\nread_errs 0\nflush_errs 0\ncorruption_errs 16\ngeneration_errs 0\n",
            );
        }
    }

    #[test]
    fn degraded_mount_names_missing_devid() {
        let t = tempfile::tempdir().unwrap();
        let u = FsUuid::parse("0f1abbef-d10f-4e01-9fc0-ea214a2f19c8").unwrap();
        degraded_tree(t.path(), u.as_str());
        let s = read_btrfs_sysfs(t.path(), &u).unwrap().unwrap();
        assert_eq!(s.label, "sys test");
        assert_eq!(s.members, vec!["loop0"]);
        assert_eq!(s.missing_devids(), vec![2]);
        assert_eq!(s.devinfo[1].writeable, Some(false));
        assert_eq!(
            s.devinfo[0].error_stats.as_ref().unwrap()[3],
            ("corruption_errs".to_string(), 16)
        );
        assert_eq!(s.exclusive_operation.as_deref(), Some("none"));
    }

    #[test]
    fn absent_is_none_and_malformed_is_error() {
        let t = tempfile::tempdir().unwrap();
        let u = FsUuid::parse("0f1abbef-d10f-4e01-9fc0-ea214a2f19c8").unwrap();
        assert_eq!(read_btrfs_sysfs(t.path(), &u).unwrap(), None);
        degraded_tree(t.path(), u.as_str());
        let m = t
            .path()
            .join("fs/btrfs")
            .join(u.as_str())
            .join("devinfo/2/missing");
        fs::write(&m, "maybe\n").unwrap();
        assert!(read_btrfs_sysfs(t.path(), &u).is_err());
        assert!(parse_error_stats("write_errs x\n").is_err());
        assert!(parse_error_stats("write_errs\n").is_err());
    }
}
