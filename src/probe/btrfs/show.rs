//! `btrfs filesystem show --raw <mountpoint|device>`: the filesystems, their members, and which
//! members are missing.
//!
//! Role: tell status and replace which devid is gone. A mounted degraded filesystem lists the
//! missing member as `devid 2 size 0 used 0 path  MISSING` (6.x; older progs: `<missing disk>`);
//! an unmounted one omits it and ends with `*** Some devices missing`, after progs printed
//! `warning, device 2 is missing` on stdout. May not: infer membership for policy decisions
//! (that is sysfs/blkid by filesystem UUID, DESIGN §4). Invariants: every block's device lines
//! agree with its `Total devices` count unless the block says devices are missing; a block
//! cut short is an error. During a replace the target appears as `devid 0`, counted in
//! `Total devices` (a healthy two-member array shows 3). Labels are arbitrary bytes (quotes, spaces): the label regex is
//! greedy and anchored on the `'  uuid: <uuid>` tail, and uuids must be unique.

use std::path::Path;

use serde::Serialize;

use super::{btrfs_cmd, complete_lines, lazy_regex, num, size, BtrfsError};
use crate::exec::{Cmd, Runner};
use crate::probe::{excerpt, ParseError};
use crate::types::{Bytes, DevPath, FsUuid};

const WHAT: &str = "`btrfs filesystem show` output";

/// `btrfs filesystem show --raw <target>` (one target: progs refuses more).
pub fn show_cmd(target: &Path) -> Cmd {
    btrfs_cmd(&["filesystem", "show", "--raw"], target)
}

/// One filesystem block of the output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShowFs {
    /// `None` for `Label: none`.
    pub label: Option<String>,
    pub uuid: FsUuid,
    pub total_devices: u64,
    pub bytes_used: Bytes,
    pub devices: Vec<ShowDevice>,
    /// `*** Some devices missing` was printed (unmounted filesystem with absent members).
    pub some_missing: bool,
    /// Devids named by `warning, device N is missing` lines printed before this block.
    pub warned_missing: Vec<u64>,
    /// False when sizes came from the human form (`3.00GiB`) and are rounded.
    pub sizes_exact: bool,
}

/// One `devid` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShowDevice {
    pub devid: u64,
    pub size: Bytes,
    pub used: Bytes,
    /// `None` when the member is missing and progs printed no path.
    pub path: Option<DevPath>,
    pub missing: bool,
}

impl ShowFs {
    /// Devids known to be missing: marked `MISSING`, or named in a warning.
    pub fn missing_devids(&self) -> Vec<u64> {
        let mut v: Vec<u64> = self
            .devices
            .iter()
            .filter(|d| d.missing)
            .map(|d| d.devid)
            .chain(self.warned_missing.iter().copied())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// How many members are absent, whether or not their devids are known. A replace target
    /// (devid 0) is counted in `Total devices` and listed, so it cancels out.
    pub fn missing_count(&self) -> u64 {
        let present = self.members().filter(|d| !d.missing).count();
        self.member_count()
            .saturating_sub(u64::try_from(present).unwrap_or(u64::MAX))
    }

    /// Members the filesystem should have: `Total devices`, less a replace target when the
    /// count includes it (as 6.x kernels report it).
    pub fn member_count(&self) -> u64 {
        let lines = u64::try_from(self.devices.len()).unwrap_or(u64::MAX);
        match self.replace_target() {
            Some(_) if lines >= self.total_devices => self.total_devices.saturating_sub(1),
            _ => self.total_devices,
        }
    }

    /// The members proper: every listed device except a replace target (devid 0).
    pub fn members(&self) -> impl Iterator<Item = &ShowDevice> {
        self.devices.iter().filter(|d| d.devid != 0)
    }

    /// The target of a running replace (listed as devid 0), if any.
    pub fn replace_target(&self) -> Option<&ShowDevice> {
        self.devices.iter().find(|d| d.devid == 0)
    }

    pub fn is_degraded(&self) -> bool {
        self.some_missing || self.missing_count() > 0
    }
}

lazy_regex!(LABEL, r"^Label: (?:'(.*)'|none)  uuid: ([0-9a-fA-F-]{36})$");
lazy_regex!(TOTAL, r"^\tTotal devices (\d+) FS bytes used (\S+)$");
lazy_regex!(DEVID, r"^\tdevid +(\d+) size (\S+) used (\S+) path (.*)$");
lazy_regex!(WARN_MISSING, r"^warning, device (\d+) is missing$");
lazy_regex!(TRAILER, r"^(?:Btrfs|btrfs-progs) v\S+$");

/// Parses the whole output; an empty output is an empty list.
pub fn parse_show(text: &str) -> Result<Vec<ShowFs>, ParseError> {
    let mut out: Vec<ShowFs> = Vec::new();
    let mut cur: Option<(usize, ShowFs)> = None;
    let mut warned: Vec<u64> = Vec::new();
    let mut saw_total = false;
    for (n, line) in complete_lines(WHAT, text)? {
        if let Some(c) = LABEL.captures(line) {
            if let Some((start, fs)) = cur.take() {
                out.push(finish(start, fs, saw_total)?);
            }
            let uuid = FsUuid::parse(&c[2])
                .ok_or_else(|| ParseError::at(WHAT, n, format!("bad uuid {:?}", &c[2])))?;
            let fs = ShowFs {
                label: c.get(1).map(|m| m.as_str().to_string()),
                uuid,
                total_devices: 0,
                bytes_used: Bytes(0),
                devices: Vec::new(),
                some_missing: false,
                warned_missing: std::mem::take(&mut warned),
                sizes_exact: true,
            };
            cur = Some((n, fs));
            saw_total = false;
        } else if let Some(c) = WARN_MISSING.captures(line) {
            let devid = num(WHAT, n, &c[1])?;
            if let Some((start, fs)) = cur.take() {
                out.push(finish(start, fs, saw_total)?);
            }
            warned.push(devid);
        } else if line.is_empty() || TRAILER.is_match(line) {
            if let Some((start, fs)) = cur.take() {
                out.push(finish(start, fs, saw_total)?);
            }
        } else {
            let Some((_, fs)) = cur.as_mut() else {
                return Err(ParseError::at(
                    WHAT,
                    n,
                    format!("unexpected {:?}", excerpt(line)),
                ));
            };
            body_line(fs, n, line, &mut saw_total)?;
        }
    }
    if let Some((start, fs)) = cur.take() {
        out.push(finish(start, fs, saw_total)?);
    }
    if !warned.is_empty() {
        return Err(ParseError::new(
            WHAT,
            "missing-device warning without a filesystem",
        ));
    }
    let mut uuids: Vec<&FsUuid> = out.iter().map(|f| &f.uuid).collect();
    uuids.sort();
    if uuids.windows(2).any(|w| w[0] == w[1]) {
        return Err(ParseError::new(
            WHAT,
            "the same filesystem uuid appears twice",
        ));
    }
    Ok(out)
}

fn body_line(
    fs: &mut ShowFs,
    n: usize,
    line: &str,
    saw_total: &mut bool,
) -> Result<(), ParseError> {
    if let Some(c) = TOTAL.captures(line) {
        if *saw_total || !fs.devices.is_empty() {
            return Err(ParseError::at(WHAT, n, "repeated Total devices line"));
        }
        fs.total_devices = num(WHAT, n, &c[1])?;
        let (used, exact) = size(WHAT, n, &c[2])?;
        fs.bytes_used = used;
        fs.sizes_exact &= exact;
        *saw_total = true;
    } else if let Some(c) = DEVID.captures(line) {
        if !*saw_total || fs.some_missing {
            return Err(ParseError::at(WHAT, n, "devid line out of place"));
        }
        let dev = device(&mut fs.sizes_exact, n, &c[1], &c[2], &c[3], &c[4])?;
        fs.devices.push(dev);
    } else if line == "\t*** Some devices missing" {
        if !*saw_total {
            return Err(ParseError::at(WHAT, n, "missing-devices note out of place"));
        }
        fs.some_missing = true;
    } else {
        return Err(ParseError::at(
            WHAT,
            n,
            format!("unexpected {:?}", excerpt(line)),
        ));
    }
    Ok(())
}

fn device(
    exact: &mut bool,
    n: usize,
    devid: &str,
    sz: &str,
    used: &str,
    path: &str,
) -> Result<ShowDevice, ParseError> {
    let devid = num(WHAT, n, devid)?;
    let (dev_size, e1) = size(WHAT, n, sz)?;
    let (used, e2) = size(WHAT, n, used)?;
    *exact &= e1 && e2;
    // 6.x: `path  MISSING` (empty path); older: `path <missing disk>` (+ ` MISSING`).
    let (path, missing) = match path.strip_suffix(" MISSING") {
        Some(p) => (p.trim(), true),
        None => (path, false),
    };
    let missing = missing || path == "<missing disk>";
    let path = (!path.is_empty() && path != "<missing disk>").then(|| DevPath::new(path));
    if !missing && path.is_none() {
        return Err(ParseError::at(WHAT, n, "device without a path"));
    }
    Ok(ShowDevice {
        devid,
        size: dev_size,
        used,
        path,
        missing,
    })
}

/// Closes a block: it must have its Total line and as many device lines as it announced, or
/// say that some are missing.
fn finish(start: usize, fs: ShowFs, saw_total: bool) -> Result<ShowFs, ParseError> {
    if !saw_total {
        return Err(ParseError::at(
            WHAT,
            start,
            "filesystem without a Total devices line",
        ));
    }
    // During a replace the target is listed as devid 0 and counted in `Total devices`
    // (captured: fixtures/btrfs-filesystem-show/*-raid1-replacing*.txt), so every line counts.
    // Older kernels may leave it out of the count: then it is one line on top.
    let target = u64::from(fs.devices.iter().any(|d| d.devid == 0));
    let listed = u64::try_from(fs.devices.len()).unwrap_or(u64::MAX);
    let listed = if listed > fs.total_devices {
        listed - target
    } else {
        listed
    };
    if listed > fs.total_devices {
        return Err(ParseError::at(
            WHAT,
            start,
            "more device lines than Total devices",
        ));
    }
    if listed < fs.total_devices && !fs.some_missing {
        return Err(ParseError::at(
            WHAT,
            start,
            format!(
                "{listed} of {} device lines and no missing-devices note (truncated?)",
                fs.total_devices
            ),
        ));
    }
    let mut ids: Vec<u64> = fs.devices.iter().map(|d| d.devid).collect();
    ids.sort_unstable();
    if ids.windows(2).any(|w| w[0] == w[1]) {
        return Err(ParseError::at(WHAT, start, "a devid appears twice"));
    }
    Ok(fs)
}

/// Runs [`show_cmd`] and parses it.
pub fn probe_show(runner: &dyn Runner, target: &Path) -> Result<Vec<ShowFs>, BtrfsError> {
    let out = runner.run_ok(&show_cmd(target))?;
    Ok(parse_show(&out.stdout)?)
}

#[cfg(test)]
#[path = "show_tests.rs"]
mod tests;
