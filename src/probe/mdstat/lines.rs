//! Line parsers of /proc/mdstat: one function per kind of line, each with its anchored
//! regex. Pure; every function returns a [`ParseError`] with the line number rather than
//! skip a line it does not know. See the parent module for the format's invariants.

use std::sync::LazyLock;

use regex::Regex;

use super::{
    Access, Bitmap, MdArray, Mdstat, Member, RunState, SyncKind, SyncProgress, SyncState, WHAT,
};
use crate::probe::{excerpt, ParseError};

fn re(pattern: &str) -> Regex {
    // Patterns are constants of this file, covered by the unit tests.
    Regex::new(pattern).expect("constant regex")
}

pub(super) static HEADER: LazyLock<Regex> = LazyLock::new(|| re(r"^(md[A-Za-z0-9_]+) : (.*)$"));
static MEMBER: LazyLock<Regex> =
    LazyLock::new(|| re(r"^([^\s\[\]()]+)\[([0-9]+)\]((?:\([A-Z]\))*)$"));
// Known personalities only: a member cut down to `sda` must not pass for a level.
static LEVEL: LazyLock<Regex> = LazyLock::new(|| re(r"^(raid[0-9]+|linear|multipath|faulty)$"));
static HEALTH: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(.*?)\s*\[([0-9]+)/([0-9]+)\] \[([U_]*)\]$"));
static SIZE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^([0-9]+) blocks(?: super ([0-9]+\.[0-9]+|external:\S+|non-persistent))?(?: ([A-Za-z0-9][A-Za-z0-9 ,.-]*[A-Za-z0-9]))?$",
    )
});
static PROGRESS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^\[[=>.]+\]\s+(resync|recovery|check|repair|reshape) =\s*([0-9]+\.[0-9])% \(([0-9]+)/([0-9]+)\) finish=([0-9]+\.[0-9])min speed=([0-9]+)K/sec$",
    )
});
static CHUNK: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:^|, |\s)([0-9]+)([kKmM]) chunks?(?:,|\s|$)"));
static WAITING: LazyLock<Regex> = LazyLock::new(|| re(r"^resync=(DELAYED|PENDING|REMOTE)$"));
static BITMAP: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^bitmap: ([0-9]+)/([0-9]+) pages \[([0-9]+)KB\], ([0-9]+)KB chunk(?:, file: (\S.*))?$")
});

/// Group `i` of a match as text; a group that did not take part is an empty string, which
/// every caller then rejects as a number.
pub(super) fn group<'t>(caps: &regex::Captures<'t>, i: usize) -> &'t str {
    caps.get(i).map_or("", |m| m.as_str())
}

fn num<T: std::str::FromStr>(s: &str, line: usize, what: &str) -> Result<T, ParseError> {
    s.parse()
        .map_err(|_| ParseError::at(WHAT, line, format!("bad {what} {:?}", excerpt(s))))
}

/// `active (auto-read-only) raid1 vdb[1] vda[0]` after `md127 : `.
pub(super) fn parse_header(n: usize, name: &str, rest: &str) -> Result<MdArray, ParseError> {
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
    let level = toks.next_if(|t| LEVEL.is_match(t)).map(str::to_string);
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
        chunk_kib: None,
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
        .ok_or_else(|| ParseError::at(WHAT, n, format!("bad member {:?}", excerpt(tok))))?;
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
                let msg = format!("unknown member flag ({other}) in {:?}", excerpt(tok));
                return Err(ParseError::at(WHAT, n, msg));
            }
        }
    }
    Ok(m)
}

/// One indented line under an array header.
pub(super) fn parse_detail_line(a: &mut MdArray, n: usize, body: &str) -> Result<(), ParseError> {
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
            return Err(ParseError::at(
                WHAT,
                n,
                format!("percentage {percent} out of range"),
            ));
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
    let msg = format!("unknown line under {}: {:?}", a.name, excerpt(body));
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
        .ok_or_else(|| ParseError::at(WHAT, n, format!("bad size line {:?}", excerpt(body))))?;
    a.blocks = Some(num(group(&caps, 1), n, "block count")?);
    a.superblock = caps.get(2).map(|m| m.as_str().to_string());
    a.layout = caps.get(3).map(|m| m.as_str().to_string());
    // `512k chunks` (raid0), `512K chunks 2 near-copies` (raid10: upper case), `level 5,
    // 512k chunk, algorithm 2` (raid5/6): the unit's case depends on the personality.
    a.chunk_kib = match a.layout.as_deref().and_then(|l| CHUNK.captures(l)) {
        Some(c) => {
            let n: u64 = num(group(&c, 1), n, "chunk size")?;
            let mult = if group(&c, 2).eq_ignore_ascii_case("m") {
                1024
            } else {
                1
            };
            Some(n.saturating_mul(mult))
        }
        None => None,
    };
    // `super 1` (a version cut short) must not pass for a personality's layout words.
    if a.layout.as_deref().is_some_and(|l| l.starts_with("super")) {
        let msg = format!("bad superblock version in {:?}", excerpt(body));
        return Err(ParseError::at(WHAT, n, msg));
    }
    Ok(())
}

/// Checks the array parsed last, once its lines are over.
pub(super) fn finish_array(stat: &Mdstat) -> Result<(), ParseError> {
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
        let msg = format!(
            "{} ({}) has no [n/m] health map (truncated?)",
            a.name,
            a.level.as_deref().unwrap_or("")
        );
        return Err(ParseError::new(WHAT, msg));
    }
    Ok(())
}
