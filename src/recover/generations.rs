//! Which present members of the array `recover` may read: the newest consistent set, by
//! superblock generation, checked against what lnraid recorded (crate::members). Pure.
//!
//! Why: a disk replaced out while it was missing keeps the devid and device UUID of its
//! replacement and a valid superblock; mounted alone it is a perfectly readable, *stale*
//! array (copying its database and starting a node on it can lose channel funds). Beside the
//! real members, the kernel refuses to register it ("device scan failed … File exists").
//!
//! Rules, each naming the failure it prevents:
//! - a disk `lnraid replace` replaced out (its device UUID in the record's replacements, its
//!   generation below the replacement's) is never read;
//! - a disk whose generation is older than another present member's is ignored, with a note
//!   (it missed commits while it was away);
//! - if even the newest present generation is older than the one lnraid last recorded for the
//!   array, every present disk is stale: refuse, showing every generation;
//! - two present disks claiming one devid at the same generation: refuse (cannot tell).
//!
//! May not: do I/O, or guess — a refusal lists every candidate with its generation.

use std::collections::BTreeMap;

use crate::members::MembersRecord;
use crate::probe::btrfs::superblock::Superblock;
use crate::types::DevPath;

/// A present device of the chosen filesystem, with its superblock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub path: DevPath,
    pub sb: Superblock,
}

/// The members recover reads, and the present disks it leaves alone (with why).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSet {
    pub chosen: Vec<Seen>,
    pub ignored: Vec<(Seen, String)>,
}

/// One line per candidate: path, devid, device UUID, generation.
pub fn describe(s: &Seen) -> String {
    format!(
        "{}: devid {}, device UUID {}, generation {}",
        s.path, s.sb.devid, s.sb.dev_uuid, s.sb.generation
    )
}

fn table(all: &[Seen]) -> String {
    all.iter()
        .map(|s| format!("\n    {}", describe(s)))
        .collect()
}

/// The replacement in `record` that replaced `s` out, if any.
fn replaced_out<'r>(
    s: &Seen,
    record: Option<&'r MembersRecord>,
) -> Option<&'r crate::members::ReplacedMember> {
    record?.replaced.iter().find(|r| {
        let same = match &r.dev_uuid {
            Some(u) => *u == s.sb.dev_uuid,
            None => r.devid == s.sb.devid,
        };
        same && s.sb.generation < r.generation
    })
}

/// Chooses the members to read. `given` is `--device`: it must be one of the chosen.
pub fn choose_members(
    present: &[Seen],
    record: Option<&MembersRecord>,
    given: Option<&DevPath>,
) -> Result<MemberSet, Vec<String>> {
    let mut ignored = Vec::new();
    let mut live = Vec::new();
    for s in present {
        match replaced_out(s, record) {
            Some(r) => ignored.push((
                s.clone(),
                format!(
                    "lnraid replaced devid {} out on {} (by {}, at generation {}); this disk (generation {}) is that old member",
                    r.devid, r.replaced_utc, r.new_path, r.generation, s.sb.generation
                ),
            )),
            None => live.push(s.clone()),
        }
    }
    let Some(newest) = live.iter().map(|s| s.sb.generation).max() else {
        return Err(vec![format!(
            "every present disk of the array is a member lnraid replaced out: its data is stale, do not use it:{}\n  Connect the current members (the replacements) instead.",
            table(present)
        )]);
    };
    if let Some(r) = record.filter(|r| newest < r.generation) {
        return Err(vec![format!(
            "every present disk of the array is older than the array lnraid last saw: generation {} was recorded on {} (by `lnraid {}`), the newest present is generation {newest}:{}\n  These disks missed commits (a member that was away or replaced): their node state is stale, and starting a node on it can lose funds. Connect the member(s) last seen: {}.",
            r.generation,
            r.generation_seen_utc,
            r.updated_by,
            table(present),
            r.members
                .iter()
                .map(|m| format!("devid {} device UUID {} (was {})", m.devid, m.dev_uuid, m.path))
                .collect::<Vec<_>>()
                .join(", ")
        )]);
    }
    let mut chosen = Vec::new();
    for s in live {
        if s.sb.generation < newest {
            let newer: Vec<String> = present
                .iter()
                .filter(|o| o.sb.generation == newest)
                .map(|o| o.path.to_string())
                .collect();
            let why = format!(
                "generation {} is older than {newest} on {}: a stale ex-member (it missed commits while away); ignored, never read or registered",
                s.sb.generation,
                newer.join(", ")
            );
            ignored.push((s, why));
        } else {
            chosen.push(s);
        }
    }
    let mut by_devid: BTreeMap<u64, Vec<&Seen>> = BTreeMap::new();
    for s in &chosen {
        by_devid.entry(s.sb.devid).or_default().push(s);
    }
    if let Some((devid, dup)) = by_devid.iter().find(|(_, v)| v.len() > 1) {
        return Err(vec![format!(
            "{} present disks claim devid {devid} at the same generation; lnraid cannot tell which is the member:{}\n  Disconnect the one that is not, then run recover again.",
            dup.len(),
            table(present)
        )]);
    }
    if let Some(g) = given {
        if !chosen.iter().any(|s| &s.path == g) {
            let why = ignored
                .iter()
                .find(|(s, _)| &s.path == g)
                .map(|(_, w)| w.clone())
                .unwrap_or_else(|| "it is not a present member".into());
            return Err(vec![format!(
                "--device {g}: {why}:{}\n  Name a current member with --device, or leave --device out.",
                table(present)
            )]);
        }
    }
    Ok(MemberSet { chosen, ignored })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::members::{ReplacedMember, SeenMember};
    use crate::types::FsUuid;

    fn seen(path: &str, gen: u64, devid: u64, u: &str) -> Seen {
        Seen {
            path: DevPath::new(path),
            sb: Superblock {
                fsid: FsUuid::parse("5d1c0e2a-1111-2222-3333-444455556666").unwrap(),
                generation: gen,
                num_devices: 2,
                dev_uuid: u.into(),
                devid,
                label: None,
            },
        }
    }

    fn record(gen: u64, replaced: Option<u64>) -> MembersRecord {
        MembersRecord {
            format: crate::members::FORMAT.into(),
            version: 1,
            fs_uuid: FsUuid::parse("5d1c0e2a-1111-2222-3333-444455556666").unwrap(),
            generation: gen,
            generation_seen_utc: "2026-12-01T10:00:00Z".into(),
            updated_utc: "2026-12-01T10:00:00Z".into(),
            updated_by: "monitor".into(),
            members: vec![SeenMember {
                devid: 1,
                dev_uuid: "u1".into(),
                path: "/dev/a".into(),
                generation: gen,
            }],
            replaced: replaced
                .map(|g| ReplacedMember {
                    devid: 2,
                    dev_uuid: Some("u2".into()),
                    old_path: None,
                    new_path: "/dev/c".into(),
                    replaced_utc: "2026-11-30T10:00:00Z".into(),
                    generation: g,
                })
                .into_iter()
                .collect(),
        }
    }

    #[test]
    fn stale_beside_members_is_ignored_with_a_note() {
        let (a, b, c) = (
            seen("/dev/a", 11, 1, "u1"),
            seen("/dev/b", 7, 2, "u2"),
            seen("/dev/c", 11, 2, "u2"),
        );
        let set = choose_members(&[a.clone(), b.clone(), c.clone()], None, None).unwrap();
        assert_eq!(set.chosen, [a, c]);
        assert_eq!(set.ignored.len(), 1);
        assert!(
            set.ignored[0].1.contains("generation 7 is older than 11"),
            "{:?}",
            set.ignored
        );
        // Named as --device: refused, with the reason.
        let e = choose_members(
            &[seen("/dev/a", 11, 1, "u1"), b.clone()],
            None,
            Some(&b.path),
        )
        .unwrap_err();
        assert!(
            e[0].contains("--device /dev/b") && e[0].contains("generation 7"),
            "{e:?}"
        );
    }

    #[test]
    fn stale_alone_refused_by_the_record_with_generations() {
        let b = seen("/dev/b", 7, 2, "u2");
        assert!(
            choose_members(std::slice::from_ref(&b), None, None).is_ok(),
            "no record: nothing to compare"
        );
        let e =
            choose_members(std::slice::from_ref(&b), Some(&record(11, None)), None).unwrap_err();
        assert!(
            e[0].contains("generation 11 was recorded") && e[0].contains("generation 7"),
            "{e:?}"
        );
        let e = choose_members(&[b], Some(&record(11, Some(9))), None).unwrap_err();
        assert!(e[0].contains("replaced out"), "{e:?}");
        assert!(e[0].contains("device UUID u2, generation 7"), "{e:?}");
    }

    #[test]
    fn survivor_newer_than_record_and_replacement_itself_pass() {
        let a = seen("/dev/a", 40, 1, "u1");
        let c = seen("/dev/c", 40, 2, "u2");
        let set = choose_members(
            &[a.clone(), c.clone()],
            Some(&record(11, Some(9))),
            Some(&c.path),
        )
        .unwrap();
        assert_eq!(set.chosen, [a.clone(), c]);
        assert!(
            choose_members(&[a], Some(&record(40, None)), None).is_ok(),
            "equal generation is current"
        );
    }

    #[test]
    fn same_devid_same_generation_refused() {
        let e = choose_members(
            &[seen("/dev/b", 9, 2, "u2"), seen("/dev/c", 9, 2, "u2")],
            None,
            None,
        )
        .unwrap_err();
        assert!(e[0].contains("claim devid 2"), "{e:?}");
    }
}
