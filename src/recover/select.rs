//! Pure choices for `lnraid recover`: which array among the btrfs devices present, which node
//! directory on it, and which files leave it. No I/O: callers probe and pass what they found.
//!
//! Choosing wrong here means copying the wrong node's state (or a stale array's), so nothing
//! is guessed: several candidates are a refusal that lists them, never "the first one".

use std::collections::BTreeMap;
use std::fmt;

use crate::types::{DevPath, FsUuid};

/// The node's database. Its `-journal` (rollback mode, lightningd's default) or `-wal` must
/// travel with it: a hot journal holds the pages to roll an interrupted transaction back.
pub const DATABASE: &str = "lightningd.sqlite3";

/// The node's seed. Copied with mode 0400 from the first byte, never printed or logged.
pub const HSM_SECRET: &str = "hsm_secret";

/// What `lnraid recover` copies without `--all`, in this order. `-shm` is deliberately absent:
/// SQLite rebuilds it and ignores its content (Core Lightning's backup guide).
pub const COPY_SET: &[&str] = &[
    DATABASE,
    "lightningd.sqlite3-journal",
    "lightningd.sqlite3-wal",
    HSM_SECRET,
    "emergency.recover",
    "config",
];

/// True for names in [`COPY_SET`] whose absence the operator must hear about: without the
/// database the channel state is not here, without `hsm_secret` the funds cannot be signed for.
pub fn is_essential(name: &str) -> bool {
    name == DATABASE || name == HSM_SECRET
}

/// A present block device carrying a btrfs signature, as `blkid -p` read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub path: DevPath,
    pub uuid: FsUuid,
    pub uuid_sub: Option<String>,
    pub label: Option<String>,
}

/// The array chosen: its filesystem UUID and every present member, sorted by path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrayChoice {
    pub uuid: FsUuid,
    pub label: Option<String>,
    pub members: Vec<Candidate>,
}

/// Why no single array could be chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectError {
    /// Nothing matched; `others` lists the btrfs filesystems that were present, for the hint.
    NotFound {
        wanted: String,
        others: Vec<(FsUuid, Option<String>)>,
    },
    /// Several filesystems matched: the operator must name one with `--uuid`.
    Ambiguous(Vec<(FsUuid, Vec<DevPath>)>),
}

impl fmt::Display for SelectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SelectError::NotFound { wanted, others } => {
                write!(f, "no present device carries {wanted}")?;
                if others.is_empty() {
                    write!(
                        f,
                        " (no btrfs device is present at all: is the survivor connected?)"
                    )
                } else {
                    let list: Vec<String> = others
                        .iter()
                        .map(|(u, l)| format!("{u} (label {})", l.as_deref().unwrap_or("none")))
                        .collect();
                    write!(
                        f,
                        "; btrfs filesystems present: {} — pick one with --uuid",
                        list.join(", ")
                    )
                }
            }
            SelectError::Ambiguous(found) => {
                let list: Vec<String> = found
                    .iter()
                    .map(|(u, devs)| {
                        let d: Vec<String> = devs.iter().map(ToString::to_string).collect();
                        format!("{u} on {}", d.join(", "))
                    })
                    .collect();
                write!(
                    f,
                    "several filesystems match: {}; name the array with --uuid (or the survivor with --device)",
                    list.join("; ")
                )
            }
        }
    }
}

/// Chooses the array: the filesystem with UUID `uuid` when given (whatever its label),
/// otherwise the one filesystem labelled `label`.
pub fn choose_array(
    candidates: &[Candidate],
    uuid: Option<&FsUuid>,
    label: &str,
) -> Result<ArrayChoice, SelectError> {
    let mut by_uuid: BTreeMap<&FsUuid, Vec<&Candidate>> = BTreeMap::new();
    for c in candidates {
        let wanted = match uuid {
            Some(u) => &c.uuid == u,
            None => c.label.as_deref() == Some(label),
        };
        if wanted {
            by_uuid.entry(&c.uuid).or_default().push(c);
        }
    }
    match by_uuid.len() {
        0 => {
            let mut others: Vec<(FsUuid, Option<String>)> = candidates
                .iter()
                .map(|c| (c.uuid.clone(), c.label.clone()))
                .collect();
            others.sort();
            others.dedup();
            Err(SelectError::NotFound {
                wanted: match uuid {
                    Some(u) => format!("the btrfs filesystem {u}"),
                    None => format!("a btrfs filesystem labelled {label:?}"),
                },
                others,
            })
        }
        1 => {
            let (u, members) = by_uuid.into_iter().next().expect("one entry");
            let mut members: Vec<Candidate> = members.into_iter().cloned().collect();
            members.sort_by(|a, b| a.path.cmp(&b.path));
            members.dedup_by(|a, b| a.path == b.path);
            Ok(ArrayChoice {
                uuid: u.clone(),
                label: members.iter().find_map(|m| m.label.clone()),
                members,
            })
        }
        _ => Err(SelectError::Ambiguous(
            by_uuid
                .into_iter()
                .map(|(u, m)| (u.clone(), m.iter().map(|c| c.path.clone()).collect()))
                .collect(),
        )),
    }
}

/// One top-level entry of the array's filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopEntry {
    pub name: String,
    /// A real directory (not a symlink: a link on the array could point anywhere on this
    /// machine, and its target would not be the array's data).
    pub is_dir: bool,
    pub has_database: bool,
    pub has_hsm_secret: bool,
}

impl TopEntry {
    fn is_node_dir(&self) -> bool {
        self.is_dir && (self.has_database || self.has_hsm_secret)
    }
}

/// Checks a `--lightning-dir-name`: one plain path component.
pub fn validate_dir_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err(format!(
            "--lightning-dir-name {name:?} must be the name of one directory at the top of the array (e.g. bitcoin), not a path"
        ));
    }
    Ok(())
}

/// Chooses the node directory: `wanted` when given (it must be a real directory), otherwise
/// the single top-level directory holding `lightningd.sqlite3` or `hsm_secret`.
pub fn choose_node_dir(entries: &[TopEntry], wanted: Option<&str>) -> Result<String, String> {
    if let Some(w) = wanted {
        return match entries.iter().find(|e| e.name == w) {
            Some(e) if e.is_dir => Ok(e.name.clone()),
            Some(_) => Err(format!(
                "{w:?} on the array is not a directory (a symlink or a file): refusing to follow it"
            )),
            None => Err(format!(
                "the array has no top-level directory {w:?}; it holds: {}",
                listing(entries)
            )),
        };
    }
    let found: Vec<&TopEntry> = entries.iter().filter(|e| e.is_node_dir()).collect();
    match found.as_slice() {
        [one] => Ok(one.name.clone()),
        [] => Err(format!(
            "no top-level directory of the array holds {DATABASE} or {HSM_SECRET}; it holds: {}; name the node directory with --lightning-dir-name",
            listing(entries)
        )),
        many => Err(format!(
            "several node directories on the array: {}; choose one with --lightning-dir-name",
            many.iter()
                .map(|e| e.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn listing(entries: &[TopEntry]) -> String {
    if entries.is_empty() {
        return "nothing".into();
    }
    entries
        .iter()
        .map(|e| {
            if e.is_dir {
                format!("{}/", e.name)
            } else {
                e.name.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(path: &str, uuid: &str, label: Option<&str>) -> Candidate {
        Candidate {
            path: DevPath::new(path),
            uuid: FsUuid::parse(uuid).unwrap(),
            uuid_sub: None,
            label: label.map(String::from),
        }
    }

    const U1: &str = "11111111-1111-4111-8111-111111111111";
    const U2: &str = "22222222-2222-4222-8222-222222222222";

    #[test]
    fn one_labelled_array_with_its_members() {
        let c = [
            cand("/dev/sdc", U1, Some("lnraid")),
            cand("/dev/sdb", U1, Some("lnraid")),
            cand("/dev/sdd", U2, Some("photos")),
        ];
        let a = choose_array(&c, None, "lnraid").unwrap();
        assert_eq!(a.uuid.as_str(), U1);
        assert_eq!(
            a.members
                .iter()
                .map(|m| m.path.to_string())
                .collect::<Vec<_>>(),
            ["/dev/sdb", "/dev/sdc"]
        );
        assert_eq!(a.label.as_deref(), Some("lnraid"));
    }

    #[test]
    fn two_labelled_arrays_are_ambiguous_until_uuid_given() {
        let c = [
            cand("/dev/sdb", U1, Some("lnraid")),
            cand("/dev/sdc", U2, Some("lnraid")),
        ];
        let e = choose_array(&c, None, "lnraid").unwrap_err();
        assert!(matches!(&e, SelectError::Ambiguous(v) if v.len() == 2));
        assert!(e.to_string().contains("--uuid"), "{e}");
        let u2 = FsUuid::parse(U2).unwrap();
        assert_eq!(choose_array(&c, Some(&u2), "lnraid").unwrap().uuid, u2);
    }

    #[test]
    fn uuid_ignores_label_and_not_found_lists_others() {
        let c = [cand("/dev/sdb", U1, Some("custom"))];
        let u1 = FsUuid::parse(U1).unwrap();
        assert_eq!(
            choose_array(&c, Some(&u1), "lnraid").unwrap().members.len(),
            1
        );
        let e = choose_array(&c, None, "lnraid").unwrap_err();
        assert!(
            e.to_string().contains(U1) && e.to_string().contains("custom"),
            "{e}"
        );
        let e = choose_array(&[], None, "lnraid").unwrap_err();
        assert!(e.to_string().contains("is the survivor connected"), "{e}");
    }

    fn top(name: &str, is_dir: bool, db: bool, hsm: bool) -> TopEntry {
        TopEntry {
            name: name.into(),
            is_dir,
            has_database: db,
            has_hsm_secret: hsm,
        }
    }

    #[test]
    fn node_dir_default_and_named() {
        let e = [
            top("bitcoin", true, true, true),
            top("lost+found", true, false, false),
            top("notes.txt", false, false, false),
        ];
        assert_eq!(choose_node_dir(&e, None).unwrap(), "bitcoin");
        assert_eq!(
            choose_node_dir(&e, Some("lost+found")).unwrap(),
            "lost+found"
        );
        assert!(choose_node_dir(&e, Some("notes.txt")).is_err());
        assert!(choose_node_dir(&e, Some("testnet"))
            .unwrap_err()
            .contains("bitcoin/, lost+found/, notes.txt"));
        let two = [
            top("bitcoin", true, true, true),
            top("testnet", true, false, true),
        ];
        assert!(choose_node_dir(&two, None)
            .unwrap_err()
            .contains("bitcoin, testnet"));
        assert!(choose_node_dir(&[], None).unwrap_err().contains("nothing"));
        // A symlink that happens to point at a node dir is never chosen by default.
        assert!(choose_node_dir(&[top("bitcoin", false, true, true)], None).is_err());
    }

    #[test]
    fn dir_names_are_single_components() {
        assert!(validate_dir_name("bitcoin").is_ok());
        for bad in ["", ".", "..", "a/b", "/bitcoin"] {
            assert!(validate_dir_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn copy_set_never_holds_shm() {
        assert!(!COPY_SET.iter().any(|n| n.ends_with("-shm")));
        assert!(is_essential(DATABASE) && is_essential(HSM_SECRET) && !is_essential("config"));
    }
}
