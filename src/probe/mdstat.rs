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

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use super::ParseError;
use crate::types::Bytes;

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

fn re(pattern: &str) -> Regex {
    // Patterns are constants of this file, covered by the unit tests.
    Regex::new(pattern).expect("constant regex")
}

static HEADER: LazyLock<Regex> = LazyLock::new(|| re(r"^(md[A-Za-z0-9_]+) : (.*)$"));
static MEMBER: LazyLock<Regex> =
    LazyLock::new(|| re(r"^([^\s\[\]()]+)\[([0-9]+)\]((?:\([A-Z]\))*)$"));
// Known personalities only: a member cut down to `sda` must not pass for a level.
static LEVEL: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(raid[0-9]+|linear|multipath|faulty)$"));
static HEALTH: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(.*?)\s*\[([0-9]+)/([0-9]+)\] \[([U_]*)\]$"));
static SIZE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^([0-9]+) blocks(?: super ([0-9]+\.[0-9]+|external:\S+|non-persistent))?(?: ([a-z0-9][a-z0-9 ,.-]*[a-z0-9]))?$")
});
static PROGRESS: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^\[[=>.]+\]\s+(resync|recovery|check|repair|reshape) =\s*([0-9]+\.[0-9])% \(([0-9]+)/([0-9]+)\) finish=([0-9]+\.[0-9])min speed=([0-9]+)K/sec$")
});
static WAITING: LazyLock<Regex> = LazyLock::new(|| re(r"^resync=(DELAYED|PENDING|REMOTE)$"));
static BITMAP: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^bitmap: ([0-9]+)/([0-9]+) pages \[([0-9]+)KB\], ([0-9]+)KB chunk(?:, file: (\S.*))?$")
});

/// Group `i` of a match as text; a group that did not take part is an empty string, which
/// every caller then rejects as a number.
fn group<'t>(caps: &regex::Captures<'t>, i: usize) -> &'t str {
    caps.get(i).map_or("", |m| m.as_str())
}

fn num<T: std::str::FromStr>(s: &str, line: usize, what: &str) -> Result<T, ParseError> {
    s.parse()
        .map_err(|_| ParseError::at(WHAT, line, format!("bad {what} {:?}", super::excerpt(s))))
}

/// Parses the whole text of `/proc/mdstat`.
pub fn parse_mdstat(text: &str) -> Result<Mdstat, ParseError> {
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
    for (n, line) in lines {
        let body = line.trim();
        if stat.unused_devices.is_some() && !body.is_empty() {
            return Err(ParseError::at(WHAT, n, "text after the `unused devices` line"));
        }
        if body.is_empty() {
            continue;
        }
        if let Some(rest) = body.strip_prefix("unused devices:") {
            let devs = rest.split_whitespace().filter(|d| *d != "<none>");
            stat.unused_devices = Some(devs.map(str::to_string).collect());
            finish_array(&stat)?;
        } else if let Some(caps) = HEADER.captures(line) {
            finish_array(&stat)?;
            stat.arrays
                .push(parse_header(n, group(&caps, 1), group(&caps, 2))?);
        } else if line.starts_with(char::is_whitespace) {
            let array = stat.arrays.last_mut().ok_or_else(|| {
                ParseError::at(WHAT, n, "indented line before any array")
            })?;
            parse_detail_line(array, n, body)?;
        } else {
            let msg = format!("unknown line {:?}", super::excerpt(line));
            return Err(ParseError::at(WHAT, n, msg));
        }
    }
    finish_array(&stat)?;
    Ok(stat)
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
                    ParseError::at(WHAT, n, format!("bad personality {:?}", super::excerpt(tok)))
                })
        })
        .collect()
}

/// `active (auto-read-only) raid1 vdb[1] vda[0]` after `md127 : `.
fn parse_header(n: usize, name: &str, rest: &str) -> Result<MdArray, ParseError> {
    let mut toks = rest.split_whitespace().peekable();
    let state = match toks.next() {
        Some("active") => RunState::Active,
        Some("inactive") => RunState::Inactive,
        other => {
            let msg = format!("expected active/inactive, got {:?}", other.unwrap_or(""));
            return Err(ParseError::at(WHAT, n, msg));
        }
    };
    let access = match toks.peek() {
        Some(&"(read-only)") => Access::ReadOnly,
        Some(&"(auto-read-only)") => Access::AutoReadOnly,
        _ => Access::ReadWrite,
    };
    if access != Access::ReadWrite {
        toks.next();
    }
    let level = toks
        .next_if(|t| LEVEL.is_match(t))
        .map(str::to_string);
    let members = toks
        .map(|t| parse_member(n, t))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(MdArray {
        name: name.to_string(),
        state,
        access,
        level,
        members,
        blocks: None,
        superblock: None,
        layout: None,
        raid_disks: None,
        working_disks: None,
        in_sync: None,
        sync: None,
        bitmap: None,
    })
}

fn parse_member(n: usize, tok: &str) -> Result<Member, ParseError> {
    let caps = MEMBER
        .captures(tok)
        .ok_or_else(|| ParseError::at(WHAT, n, format!("bad member {:?}", super::excerpt(tok))))?;
    let flags = group(&caps, 3);
    let mut m = Member {
        device: group(&caps, 1).to_string(),
        number: num(group(&caps, 2), n, "member number")?,
        faulty: false,
        spare: false,
        write_mostly: false,
        replacement: false,
        journal: false,
    };
    // Flags come as "(W)(F)": every second char is the letter.
    for letter in flags.chars().filter(char::is_ascii_uppercase) {
        match letter {
            'F' => m.faulty = true,
            'S' => m.spare = true,
            'W' => m.write_mostly = true,
            'R' => m.replacement = true,
            'J' => m.journal = true,
            other => {
                let msg = format!("unknown member flag ({other}) in {:?}", super::excerpt(tok));
                return Err(ParseError::at(WHAT, n, msg));
            }
        }
    }
    Ok(m)
}

/// One indented line under an array header.
fn parse_detail_line(a: &mut MdArray, n: usize, body: &str) -> Result<(), ParseError> {
    if let Some(caps) = PROGRESS.captures(body) {
        let kind = match group(&caps, 1) {
            "resync" => SyncKind::Resync,
            "recovery" => SyncKind::Recovery,
            "check" => SyncKind::Check,
            "repair" => SyncKind::Repair,
            _ => SyncKind::Reshape,
        };
        let percent: f64 = num(group(&caps, 2), n, "percentage")?;
        if !(0.0..=100.0).contains(&percent) {
            return Err(ParseError::at(WHAT, n, format!("percentage {percent} out of range")));
        }
        let p = SyncProgress {
            kind,
            percent,
            done_blocks: num(group(&caps, 3), n, "progress")?,
            total_blocks: num(group(&caps, 4), n, "progress total")?,
            finish_minutes: num(group(&caps, 5), n, "finish time")?,
            speed_kib_per_sec: num(group(&caps, 6), n, "speed")?,
        };
        return set_sync(a, n, SyncState::Running(p));
    }
    if let Some(caps) = WAITING.captures(body) {
        let state = match group(&caps, 1) {
            "DELAYED" => SyncState::Delayed,
            "PENDING" => SyncState::Pending,
            _ => SyncState::Remote,
        };
        return set_sync(a, n, state);
    }
    if let Some(caps) = BITMAP.captures(body) {
        if a.bitmap.is_some() {
            return Err(ParseError::at(WHAT, n, "second bitmap line"));
        }
        a.bitmap = Some(Bitmap {
            pages_used: num(group(&caps, 1), n, "bitmap pages")?,
            pages_total: num(group(&caps, 2), n, "bitmap pages")?,
            memory_kib: num(group(&caps, 3), n, "bitmap size")?,
            chunk_kib: num(group(&caps, 4), n, "bitmap chunk")?,
            file: caps.get(5).map(|m| m.as_str().to_string()),
        });
        return Ok(());
    }
    if body.contains(" blocks") && a.blocks.is_none() {
        return parse_size_line(a, n, body);
    }
    let msg = format!("unknown line under {}: {:?}", a.name, super::excerpt(body));
    Err(ParseError::at(WHAT, n, msg))
}

fn set_sync(a: &mut MdArray, n: usize, s: SyncState) -> Result<(), ParseError> {
    if a.blocks.is_none() {
        return Err(ParseError::at(WHAT, n, "sync status before the size line"));
    }
    if a.sync.is_some() {
        return Err(ParseError::at(WHAT, n, "second sync status line"));
    }
    a.sync = Some(s);
    Ok(())
}

/// `64512 blocks super 1.2 [2/1] [U_]`, `8386560 blocks super 1.1 512k chunks`.
fn parse_size_line(a: &mut MdArray, n: usize, body: &str) -> Result<(), ParseError> {
    let head = match HEALTH.captures(body) {
        Some(caps) => {
            let disks: u32 = num(group(&caps, 2), n, "raid disk count")?;
            let working: u32 = num(group(&caps, 3), n, "working disk count")?;
            let map = group(&caps, 4);
            // The map has one character per raid disk: a shorter one means a cut line.
            if map.chars().count() != disks as usize || working > disks {
                let msg = format!("[{disks}/{working}] does not fit the map [{map}]");
                return Err(ParseError::at(WHAT, n, msg));
            }
            a.raid_disks = Some(disks);
            a.working_disks = Some(working);
            a.in_sync = Some(map.chars().map(|c| c == 'U').collect());
            caps.get(1).map_or("", |m| m.as_str())
        }
        None => body,
    };
    let caps = SIZE
        .captures(head)
        .ok_or_else(|| ParseError::at(WHAT, n, format!("bad size line {:?}", super::excerpt(body))))?;
    a.blocks = Some(num(group(&caps, 1), n, "block count")?);
    a.superblock = caps.get(2).map(|m| m.as_str().to_string());
    a.layout = caps.get(3).map(|m| m.as_str().to_string());
    // `super 1` (a version cut short) must not pass for a personality's layout words.
    if a.layout.as_deref().is_some_and(|l| l.starts_with("super")) {
        let msg = format!("bad superblock version in {:?}", super::excerpt(body));
        return Err(ParseError::at(WHAT, n, msg));
    }
    Ok(())
}

/// Checks the array parsed last, once its lines are over.
fn finish_array(stat: &Mdstat) -> Result<(), ParseError> {
    let Some(a) = stat.arrays.last() else {
        return Ok(());
    };
    let has_size = a.blocks.is_some();
    if !has_size && (a.state == RunState::Active || !a.members.is_empty()) {
        let msg = format!("{} has no size line (truncated?)", a.name);
        return Err(ParseError::new(WHAT, msg));
    }
    // Redundant personalities always print the health map; without it the line was cut.
    let redundant = matches!(
        a.level.as_deref(),
        Some("raid1" | "raid4" | "raid5" | "raid6" | "raid10")
    );
    if a.state == RunState::Active && redundant && a.raid_disks.is_none() {
        let msg = format!("{} ({}) has no [n/m] health map (truncated?)", a.name, a.level.as_deref().unwrap_or(""));
        return Err(ParseError::new(WHAT, msg));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
