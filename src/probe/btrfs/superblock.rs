//! `btrfs inspect-internal dump-super <device>`: the identity and age of one member, read
//! from its primary superblock.
//!
//! Role: `lnraid recover` picks the newest consistent set of members by the superblock
//! `generation` (the transaction id of the last commit written to that device), and `status`,
//! `monitor` and `replace` record it (crate::members). A disk replaced out while missing
//! keeps the devid and `dev_item.uuid` of its replacement (the replacement inherits both: see
//! `fixtures/btrfs-dump-super/6.2-{stale-ex-member,replacement}.txt`), so only the generation
//! tells the stale one apart. May not: take `dev_item.generation` (always 0 on real disks) for
//! the filesystem generation, or accept a superblock whose magic or checksum does not match.
//! Invariants: `fsid`, `generation`, `dev_item.uuid` and `dev_item.devid` are all present.

use std::path::Path;

use serde::Serialize;

use super::{btrfs_cmd, complete_lines, lazy_regex, num, BtrfsError};
use crate::exec::{Cmd, Runner};
use crate::probe::{excerpt, ParseError};
use crate::types::FsUuid;

const WHAT: &str = "`btrfs inspect-internal dump-super` output";

/// `btrfs inspect-internal dump-super <dev>` (reads the device; works on mounted members).
pub fn dump_super_cmd(dev: &Path) -> Cmd {
    btrfs_cmd(&["inspect-internal", "dump-super"], dev)
}

/// What lnraid needs of one member's superblock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Superblock {
    pub fsid: FsUuid,
    /// The last committed transaction this device took part in.
    pub generation: u64,
    pub num_devices: u64,
    /// The member's device UUID (`UUID_SUB` in blkid).
    pub dev_uuid: String,
    pub devid: u64,
    pub label: Option<String>,
}

lazy_regex!(FIELD, r"^([a-z_.]+(?: \(deprecated\))?)\t+(.*)$");
lazy_regex!(
    UUID,
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
);

pub fn parse_dump_super(text: &str) -> Result<Superblock, ParseError> {
    let mut lines = complete_lines(WHAT, text)?;
    match lines.next() {
        Some((_, l)) if l.starts_with("superblock: bytenr=") => {}
        Some((n, l)) => {
            return Err(ParseError::at(
                WHAT,
                n,
                format!("unexpected {:?}", excerpt(l)),
            ))
        }
        None => return Err(ParseError::new(WHAT, "empty output")),
    }
    let mut fields: Vec<(usize, &str, &str)> = Vec::new();
    for (n, l) in lines {
        if let Some(c) = FIELD.captures(l) {
            let (k, v) = (
                c.get(1).map_or("", |m| m.as_str()),
                c.get(2).map_or("", |m| m.as_str()),
            );
            fields.push((n, k, v));
        }
    }
    let get = |key: &str| fields.iter().find(|(_, k, _)| *k == key).copied();
    let need = |key: &'static str| {
        get(key).ok_or_else(|| {
            ParseError::new(
                WHAT,
                format!("no {key} line (not a btrfs superblock, or cut off)"),
            )
        })
    };
    for key in ["magic", "csum"] {
        let (n, _, v) = need(key)?;
        if !v.ends_with("[match]") {
            return Err(ParseError::at(
                WHAT,
                n,
                format!("{key} does not match: {}", excerpt(v)),
            ));
        }
    }
    let uuid = |key: &'static str| -> Result<String, ParseError> {
        let (n, _, v) = need(key)?;
        let v = v.split_whitespace().next().unwrap_or("");
        if UUID.is_match(v) {
            Ok(v.to_string())
        } else {
            Err(ParseError::at(
                WHAT,
                n,
                format!("{key} {:?} is not a UUID", excerpt(v)),
            ))
        }
    };
    let number = |key: &'static str| -> Result<u64, ParseError> {
        let (n, _, v) = need(key)?;
        num(WHAT, n, v.trim())
    };
    let fsid = uuid("fsid")?;
    let label = get("label").map(|(_, _, v)| v.to_string());
    Ok(Superblock {
        fsid: FsUuid::parse(&fsid).ok_or_else(|| ParseError::new(WHAT, "bad fsid"))?,
        generation: number("generation")?,
        num_devices: number("num_devices")?,
        dev_uuid: uuid("dev_item.uuid")?,
        devid: number("dev_item.devid")?,
        label: label.filter(|l| !l.is_empty()),
    })
}

/// Runs [`dump_super_cmd`] and parses it.
pub fn probe_superblock(runner: &dyn Runner, dev: &Path) -> Result<Superblock, BtrfsError> {
    let out = runner.run_ok(&dump_super_cmd(dev))?;
    Ok(parse_dump_super(&out.stdout)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! fx {
        ($name:literal) => {
            include_str!(concat!("../../../fixtures/btrfs-dump-super/", $name))
        };
    }

    #[test]
    fn stale_ex_member_differs_only_by_generation() {
        let stale = parse_dump_super(fx!("6.2-stale-ex-member.txt")).unwrap();
        let new = parse_dump_super(fx!("6.2-replacement.txt")).unwrap();
        let before = parse_dump_super(fx!("6.2-member.txt")).unwrap();
        assert_eq!((stale.devid, new.devid), (2, 2));
        assert_eq!(stale.dev_uuid, new.dev_uuid);
        assert_eq!(stale.fsid, new.fsid);
        assert!(stale.generation < new.generation, "{stale:?} {new:?}");
        assert_eq!(stale, before, "the disk did not change while it was away");
        assert_eq!(new.num_devices, 2);
        assert_eq!(new.label.as_deref(), Some("lnraid-fixcap"));
    }

    #[test]
    fn not_btrfs_or_cut_refused() {
        assert!(parse_dump_super(fx!("6.2-not-btrfs.txt")).is_err());
        let good = fx!("6.2-member.txt");
        let cut = &good[..good.find("dev_item.uuid").unwrap()];
        assert!(parse_dump_super(cut).is_err());
        let bad_magic = good.replace("_BHRfS_M [match]", "_BHRfS_M [DON'T MATCH]");
        assert!(parse_dump_super(&bad_magic).is_err());
        let bad_csum = good.replacen("[match]", "[DON'T MATCH]", 1);
        assert!(parse_dump_super(&bad_csum).is_err());
        assert!(parse_dump_super("").is_err());
        assert!(parse_dump_super("hello\n").is_err());
        let bad_gen = good.replace("generation\t\t7\n", "generation\t\tseven\n");
        assert!(parse_dump_super(&bad_gen).is_err());
    }
}
