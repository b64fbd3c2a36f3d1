//! btrfs-progs outputs and the kernel's `/sys/fs/btrfs` view, as typed data.
//!
//! One submodule per output: `show` (`filesystem show`), `stats` (`device stats`), `df`
//! (`filesystem df`), `usage` (`filesystem usage`), `scrub`, `replace` and `balance` status, `sysfs`
//! (membership and per-device flags from `/sys/fs/btrfs/<fsuuid>/`). Each has a `*_cmd`
//! building the exact read-only command, a pure `parse_*` over its text, and a `probe_*` that
//! runs the command through a [`Runner`] and parses it.
//!
//! May not: start processes (only through `Runner`), mutate anything, or guess. Every parser is
//! total: garbled or truncated text is a [`ParseError`], never a panic, never a partial value
//! taken for a whole one. Texts are parsed under `LC_ALL=C` (the real runner sets it) with
//! anchored regexes compiled once. Fixtures: `fixtures/btrfs-*/<version>-<scenario>.txt`,
//! captured by `scripts/capture-btrfs-fixtures` from btrfs-progs 6.2 and 6.14.

pub mod balance;
pub mod devitems;
pub mod df;
pub mod replace;
pub mod scrub;
pub mod show;
pub mod stats;
pub mod superblock;
pub mod sysfs;
pub mod usage;

use std::fmt;
use std::path::Path;

use serde::Serialize;

use super::ParseError;
use crate::exec::{Cmd, CmdError};
use crate::types::Bytes;

#[cfg(doc)]
use crate::exec::Runner;

/// The program every command here runs.
pub const BTRFS: &str = "btrfs";

/// Why a btrfs probe produced no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BtrfsError {
    #[error(transparent)]
    Cmd(#[from] CmdError),
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error("reading {path}: {reason}")]
    Io { path: String, reason: String },
}

/// A read-only `btrfs <args...> <path>` command.
pub(crate) fn btrfs_cmd(args: &[&str], path: &Path) -> Cmd {
    Cmd::read_only(BTRFS, args.iter().copied()).arg(path.to_string_lossy().into_owned())
}

/// A block-group profile as btrfs names it (`single`, `DUP`, `RAID1`, `RAID1C3`...).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    Single,
    Dup,
    Raid0,
    Raid1,
    Raid1c3,
    Raid1c4,
    Raid10,
    Raid5,
    Raid6,
    /// A name this build does not know: never equal to an expected profile.
    Other(String),
}

impl Profile {
    /// Case-insensitive, as `df` prints `single` and `RAID1` and the JSON form may differ.
    pub fn parse(s: &str) -> Profile {
        match s.to_ascii_lowercase().as_str() {
            "single" => Profile::Single,
            "dup" => Profile::Dup,
            "raid0" => Profile::Raid0,
            "raid1" => Profile::Raid1,
            "raid1c3" => Profile::Raid1c3,
            "raid1c4" => Profile::Raid1c4,
            "raid10" => Profile::Raid10,
            "raid5" => Profile::Raid5,
            "raid6" => Profile::Raid6,
            _ => Profile::Other(s.to_string()),
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Profile::Single => "single",
            Profile::Dup => "DUP",
            Profile::Raid0 => "RAID0",
            Profile::Raid1 => "RAID1",
            Profile::Raid1c3 => "RAID1C3",
            Profile::Raid1c4 => "RAID1C4",
            Profile::Raid10 => "RAID10",
            Profile::Raid5 => "RAID5",
            Profile::Raid6 => "RAID6",
            Profile::Other(s) => s,
        };
        f.write_str(s)
    }
}

/// What a block group holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum BgType {
    Data,
    Metadata,
    System,
    /// `Data+Metadata` (mixed block groups, small filesystems).
    Mixed,
    /// Reserved metadata space; always `single`, not a chunk profile.
    GlobalReserve,
    Other(String),
}

impl BgType {
    pub fn parse(s: &str) -> BgType {
        match s {
            "Data" => BgType::Data,
            "Metadata" => BgType::Metadata,
            "System" => BgType::System,
            "Data+Metadata" => BgType::Mixed,
            "GlobalReserve" => BgType::GlobalReserve,
            _ => BgType::Other(s.to_string()),
        }
    }
}

/// A percentage with two decimals, kept as hundredths so results stay `Eq`: 12.56% is
/// `Percent(1256)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Percent(pub u32);

impl Percent {
    /// `"12.56"`, `"8.6"`, `"75"` (no `%`). At most two decimals; at most 100.00.
    pub fn parse(s: &str) -> Option<Percent> {
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        if int.is_empty() || int.len() > 3 || frac.len() > 2 {
            return None;
        }
        if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let i: u32 = int.parse().ok()?;
        let f: u32 = if frac.is_empty() {
            0
        } else {
            frac.parse::<u32>().ok()? * if frac.len() == 1 { 10 } else { 1 }
        };
        let v = i.checked_mul(100)?.checked_add(f)?;
        (v <= 10_000).then_some(Percent(v))
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}%", self.0 / 100, self.0 % 100)
    }
}

/// A size as btrfs prints it: raw bytes (`--raw`: `3221225472`) or its rounded human form
/// (`3.00GiB`, `144.00KiB`, `0.00B`, `0`). Returns the bytes and whether they are exact.
pub fn parse_size(s: &str) -> Option<(Bytes, bool)> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<u64>().ok().map(|v| (Bytes(v), true));
    }
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (num, unit) = s.split_at(split);
    let shift = match unit {
        "B" => 0,
        "KiB" => 10,
        "MiB" => 20,
        "GiB" => 30,
        "TiB" => 40,
        "PiB" => 50,
        "EiB" => 60,
        _ => return None,
    };
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if int.is_empty() || frac.len() > 2 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let int: u64 = int.parse().ok()?;
    let hundredths: u64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<u64>().ok()? * 10,
        _ => frac.parse().ok()?,
    };
    let unit_bytes: u64 = 1u64.checked_shl(shift)?;
    let whole = int.checked_mul(unit_bytes)?;
    let part = u64::try_from(u128::from(hundredths) * u128::from(unit_bytes) / 100).ok()?;
    Some((
        Bytes(whole.checked_add(part)?),
        shift == 0 && frac.bytes().all(|b| b == b'0'),
    ))
}

/// Lines of a complete output, numbered from 1. btrfs-progs ends every line with `\n`: text
/// that stops mid-line was cut, and is refused here rather than half-parsed.
pub(crate) fn complete_lines<'a>(
    what: &'static str,
    text: &'a str,
) -> Result<impl Iterator<Item = (usize, &'a str)>, ParseError> {
    if !text.is_empty() && !text.ends_with('\n') {
        return Err(ParseError::new(
            what,
            "output ends inside a line (truncated)",
        ));
    }
    Ok(text.lines().enumerate().map(|(i, l)| (i + 1, l)))
}

/// A decimal `u64` from a regex capture, or a located error.
pub(crate) fn num(what: &'static str, line: usize, s: &str) -> Result<u64, ParseError> {
    s.parse::<u64>().map_err(|_| {
        ParseError::at(
            what,
            line,
            format!("{:?} is not a number", super::excerpt(s)),
        )
    })
}

/// A size from a regex capture, or a located error.
pub(crate) fn size(what: &'static str, line: usize, s: &str) -> Result<(Bytes, bool), ParseError> {
    parse_size(s)
        .ok_or_else(|| ParseError::at(what, line, format!("{:?} is not a size", super::excerpt(s))))
}

/// Compiles an anchored pattern once. The patterns are literals checked by the tests, so a
/// failure here is a programming error, not an input error.
macro_rules! lazy_regex {
    ($name:ident, $re:expr) => {
        static $name: std::sync::LazyLock<regex::Regex> =
            std::sync::LazyLock::new(|| regex::Regex::new($re).expect("valid literal regex"));
    };
}
pub(crate) use lazy_regex;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_raw_and_human() {
        assert_eq!(parse_size("3221225472"), Some((Bytes(3221225472), true)));
        assert_eq!(parse_size("0"), Some((Bytes(0), true)));
        assert_eq!(parse_size("3.00GiB"), Some((Bytes(3 << 30), false)));
        assert_eq!(parse_size("144.00KiB"), Some((Bytes(144 << 10), false)));
        assert_eq!(parse_size("0.00B"), Some((Bytes(0), true)));
        assert_eq!(parse_size("1.5MiB"), Some((Bytes(3 << 19), false)));
        for bad in [
            "",
            "GiB",
            "1.234GiB",
            "1.0XiB",
            "-1",
            "1e9",
            "99999999999999999999",
            "16.00EiB",
        ] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
    }

    #[test]
    fn percents() {
        assert_eq!(Percent::parse("12.56"), Some(Percent(1256)));
        assert_eq!(Percent::parse("8.6"), Some(Percent(860)));
        assert_eq!(Percent::parse("75"), Some(Percent(7500)));
        assert_eq!(Percent::parse("100.00"), Some(Percent(10000)));
        for bad in ["", ".5", "100.01", "1.234", "x", "-1", "4294967295"] {
            assert_eq!(Percent::parse(bad), None, "{bad}");
        }
        assert_eq!(Percent(860).to_string(), "8.60%");
    }

    #[test]
    fn profiles_case_insensitive() {
        assert_eq!(Profile::parse("RAID1"), Profile::Raid1);
        assert_eq!(Profile::parse("raid1c3"), Profile::Raid1c3);
        assert_eq!(Profile::parse("single"), Profile::Single);
        assert_eq!(Profile::parse("DUP"), Profile::Dup);
        assert_eq!(
            Profile::parse("raid-stripe"),
            Profile::Other("raid-stripe".into())
        );
    }

    #[test]
    fn truncated_line_refused() {
        assert!(complete_lines("x", "a\nb").is_err());
        assert_eq!(complete_lines("x", "a\nb\n").unwrap().count(), 2);
        assert_eq!(complete_lines("x", "").unwrap().count(), 0);
    }
}
