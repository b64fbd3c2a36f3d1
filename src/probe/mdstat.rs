//! `/proc/mdstat`: the kernel's one-screen view of every md array — members and their flags,
//! the `[2/1] [U_]` health map, and resync/recovery/check/reshape progress.
//!
//! Pure: [`parse_mdstat`] takes the text; reading the file is the caller's business. It never
//! guesses and never panics on input: an array line, size line, progress line or bitmap line
//! that does not have its known shape is a [`ParseError`] with the line number, and so is any
//! line this parser does not know (a new kernel format must be looked at, not skipped).
//! Invariants of a parsed [`Mdstat`]: every active array has a size line; a health map is as
//! long as its raid-disk count; percentages lie in 0..=100. Truncation inside a line or right
//! after an array line is caught this way; a file cut cleanly between two lines cannot always
//! be, which is why the `unused devices` line is not required (real captures lack it).
//! Member numbers in brackets are md's descriptor numbers, NOT raid slots (`vdb[3](R)`
//! replaces slot 0): slots come from `mdadm --detail`.

mod lines;

use serde::Serialize;

use super::ParseError;
use crate::types::Bytes;
use lines::{finish_array, group, parse_detail_line, parse_header, HEADER};

const WHAT: &str = "/proc/mdstat";

/// The whole file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mdstat {
    /// `Personalities : [raid1] [raid0]` → `["raid1", "raid0"]`.
    pub personalities: Vec<String>,
    pub arrays: Vec<MdArray>,
    /// `unused devices: <none>` → `Some([])`; `None` when the line is absent.
    pub unused_devices: Option<Vec<String>>,
}

impl Mdstat {
    /// The array named `name` (`md127`).
    pub fn array(&self, name: &str) -> Option<&MdArray> {
        self.arrays.iter().find(|a| a.name == name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunState {
    Active,
    /// Assembled but not started (too few members, or a container): nothing can use it.
    Inactive,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    ReadWrite,
    /// `(read-only)`: set by an operator (`mdadm --readonly`).
    ReadOnly,
    /// `(auto-read-only)`: switches to read-write on the first write; a pending resync waits
    /// until then (Debian sets `md_mod start_ro=1`).
    AutoReadOnly,
}

/// One array, e.g. `md127 : active raid1 vdb[1](F) vda[0]` and the indented lines below it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MdArray {
    pub name: String,
    pub state: RunState,
    pub access: Access,
    /// `raid1`, `raid0`, `linear`...; absent for most inactive arrays.
    pub level: Option<String>,
    pub members: Vec<Member>,
    /// Array size in 1 KiB blocks; `None` only for an inactive array without members.
    pub blocks: Option<u64>,
    /// `super 1.2` → `1.2`; `external:imsm`; `None` for 0.90 metadata (the kernel prints none).
    pub superblock: Option<String>,
    /// Personality details between size and health map: `512k chunks`, `level 6, 4k chunk,
    /// algorithm 2`, `64k rounding`.
    pub layout: Option<String>,
    /// The chunk size from the layout words (`512K chunks`, `512k chunk`), KiB.
    pub chunk_kib: Option<u64>,
    /// `[2/1]`: raid disks the array should have, and how many are working.
    pub raid_disks: Option<u32>,
    pub working_disks: Option<u32>,
    /// `[U_]`: one `true` per slot that is in sync.
    pub in_sync: Option<Vec<bool>>,
    pub sync: Option<SyncState>,
    pub bitmap: Option<Bitmap>,
}

/// One member token, `vdb[3](W)(F)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Member {
    /// Kernel device name (`vdb`, `sda1`, `dm-14`).
    pub device: String,
    /// md's descriptor number (the `Number` column of `mdadm --detail`), not the slot.
    pub number: u32,
    /// `(F)`: failed; still listed until `mdadm --remove`.
    pub faulty: bool,
    /// `(S)`: not in a slot: a hot spare, or every member of an inactive array.
    pub spare: bool,
    /// `(W)`: write-mostly (reads avoid it).
    pub write_mostly: bool,
    /// `(R)`: the target of `mdadm --replace` being rebuilt next to the member it replaces.
    pub replacement: bool,
    /// `(J)`: raid4/5/6 journal device.
    pub journal: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SyncKind {
    /// First sync after creation, or after an unclean shutdown.
    Resync,
    /// Rebuilding a new or re-added member (also the target of a replace).
    Recovery,
    /// `echo check > sync_action`: read and compare, repair nothing.
    Check,
    Repair,
    Reshape,
}

/// A running operation: `[=>....]  resync =  5.5% (3840/64512) finish=0.7min speed=1280K/sec`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncProgress {
    pub kind: SyncKind,
    pub percent: f64,
    /// Done and total, in 1 KiB blocks.
    pub done_blocks: u64,
    pub total_blocks: u64,
    pub finish_minutes: f64,
    pub speed_kib_per_sec: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SyncState {
    Running(SyncProgress),
    /// `resync=DELAYED`: waits for another array that shares a physical disk.
    Delayed,
    /// `resync=PENDING`: needed but not started (read-only, auto-read-only or frozen).
    Pending,
    /// `resync=REMOTE`: another cluster node resyncs (md-cluster).
    Remote,
}

/// `bitmap: 1/1 pages [4KB], 65536KB chunk[, file: /path]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bitmap {
    pub pages_used: u64,
    pub pages_total: u64,
    pub memory_kib: u64,
    pub chunk_kib: u64,
    /// An external bitmap file; `None` for the internal bitmap.
    pub file: Option<String>,
}

impl MdArray {
    /// Fewer working disks than the array should have (`[2/1] [U_]`). Arrays whose
    /// personality prints no health map (raid0, linear) are never reported degraded here.
    pub fn is_degraded(&self) -> bool {
        match (self.raid_disks, self.working_disks) {
            (Some(n), Some(w)) if w < n => true,
            _ => self.in_sync.as_ref().is_some_and(|m| m.contains(&false)),
        }
    }

    /// The running resync/recovery/check/reshape, with its progress.
    pub fn operation(&self) -> Option<&SyncProgress> {
        match &self.sync {
            Some(SyncState::Running(p)) => Some(p),
            _ => None,
        }
    }

    pub fn size(&self) -> Option<Bytes> {
        self.blocks.and_then(|b| b.checked_mul(1024)).map(Bytes)
    }

    pub fn faulty_members(&self) -> impl Iterator<Item = &Member> {
        self.members.iter().filter(|m| m.faulty)
    }
}

/// An array whose lines this parser could not read (see [`parse_mdstat_per_array`]).
#[derive(Debug, Clone, PartialEq)]
pub struct UnreadableArray {
    pub name: String,
    pub error: ParseError,
}

/// [`parse_mdstat_per_array`]'s result: the arrays read, and those that could not be.
#[derive(Debug, Clone, PartialEq)]
pub struct MdstatReport {
    pub mdstat: Mdstat,
    pub unreadable: Vec<UnreadableArray>,
}

/// Parses `/proc/mdstat` array by array: an array whose lines do not have a known shape is
/// set aside in `unreadable` (with its error), and the others are still read — one odd array
/// on the machine must not hide lnraid's own. The file's frame (the `Personalities` line,
/// nothing after `unused devices`, no indented line before any array) is still required.
pub fn parse_mdstat_per_array(text: &str) -> Result<MdstatReport, ParseError> {
    parse_inner(text)
}

/// Parses the whole text of `/proc/mdstat`; any unreadable array is an error.
pub fn parse_mdstat(text: &str) -> Result<Mdstat, ParseError> {
    let mut r = parse_inner(text)?;
    match r.unreadable.is_empty() {
        true => Ok(r.mdstat),
        false => Err(r.unreadable.swap_remove(0).error),
    }
}

fn parse_inner(text: &str) -> Result<MdstatReport, ParseError> {
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    let personalities = loop {
        match lines.next() {
            None => return Err(ParseError::new(WHAT, "empty: no `Personalities` line")),
            Some((_, l)) if l.trim().is_empty() => continue,
            Some((n, l)) => break parse_personalities(n, l)?,
        }
    };
    let mut stat = Mdstat {
        personalities,
        arrays: Vec::new(),
        unused_devices: None,
    };
    let mut unreadable: Vec<UnreadableArray> = Vec::new();
    // The array being skipped after an error in its lines: its name.
    let mut skipping: Option<String> = None;
    for (n, line) in lines {
        let body = line.trim();
        if stat.unused_devices.is_some() && !body.is_empty() {
            return Err(ParseError::at(
                WHAT,
                n,
                "text after the `unused devices` line",
            ));
        }
        if body.is_empty() {
            continue;
        }
        if let Some(rest) = body.strip_prefix("unused devices:") {
            let devs = rest.split_whitespace().filter(|d| *d != "<none>");
            stat.unused_devices = Some(devs.map(str::to_string).collect());
            close_last(&mut stat, &mut unreadable, &mut skipping);
        } else if let Some(caps) = HEADER.captures(line) {
            close_last(&mut stat, &mut unreadable, &mut skipping);
            let name = group(&caps, 1);
            match parse_header(n, name, group(&caps, 2)) {
                Ok(a) => stat.arrays.push(a),
                Err(error) => {
                    unreadable.push(UnreadableArray {
                        name: name.to_string(),
                        error,
                    });
                    skipping = Some(name.to_string());
                }
            }
        } else if line.starts_with(char::is_whitespace) {
            if skipping.is_some() {
                continue;
            }
            let array = stat
                .arrays
                .last_mut()
                .ok_or_else(|| ParseError::at(WHAT, n, "indented line before any array"))?;
            if let Err(error) = parse_detail_line(array, n, body) {
                let a = stat.arrays.pop().expect("the array just borrowed");
                skipping = Some(a.name.clone());
                unreadable.push(UnreadableArray {
                    name: a.name,
                    error,
                });
            }
        } else {
            let msg = format!("unknown line {:?}", super::excerpt(line));
            return Err(ParseError::at(WHAT, n, msg));
        }
    }
    close_last(&mut stat, &mut unreadable, &mut skipping);
    Ok(MdstatReport {
        mdstat: stat,
        unreadable,
    })
}

/// Ends the last array's block: a complete array stays, a cut one moves to `unreadable`.
fn close_last(
    stat: &mut Mdstat,
    unreadable: &mut Vec<UnreadableArray>,
    skipping: &mut Option<String>,
) {
    if skipping.take().is_some() {
        return;
    }
    if let Err(error) = finish_array(stat) {
        let a = stat.arrays.pop().expect("finish_array failed on an array");
        unreadable.push(UnreadableArray {
            name: a.name,
            error,
        });
    }
}

fn parse_personalities(n: usize, line: &str) -> Result<Vec<String>, ParseError> {
    let rest = line
        .strip_prefix("Personalities :")
        .ok_or_else(|| ParseError::at(WHAT, n, "does not start with `Personalities :`"))?;
    rest.split_whitespace()
        .map(|tok| {
            tok.strip_prefix('[')
                .and_then(|t| t.strip_suffix(']'))
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .ok_or_else(|| {
                    ParseError::at(
                        WHAT,
                        n,
                        format!("bad personality {:?}", super::excerpt(tok)),
                    )
                })
        })
        .collect()
}

#[cfg(test)]
mod tests;
