//! Is the array's fstab line right? Pure: takes the fstab text, the filesystem UUID and the
//! mountpoint lnraid expects, and says ok / missing / wrong / duplicated with the line numbers.
//!
//! Mountpoints are compared as paths, so `/mnt/lnraid/`, `/mnt//lnraid` and `/mnt/lnraid` are
//! one mountpoint (mount(8) and systemd treat them so; two such lines make two conflicting
//! mount units). A line that names the array by a member device instead of `UUID=` is wrong:
//! device names change between boots (DESIGN §4). May not: edit anything.

use std::path::{Component, Path, PathBuf};

use crate::backend::Backend;
use crate::config::fstab::parse_fstab;
use crate::types::FsUuid;

use super::doc::FstabState;

/// The verdict on the fstab for one array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FstabCheck {
    pub state: FstabState,
    /// 1-based line numbers of the lines that concern the array.
    pub lines: Vec<u64>,
    /// The options of the array's line, when there is exactly one.
    pub options: Option<String>,
    pub detail: Option<String>,
}

/// `/mnt//lnraid/` → `/mnt/lnraid`: the path as mount(8) resolves it textually.
pub fn normalize_mountpoint(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Checks `text` (an fstab) for the btrfs array `uuid` expected at `mountpoint`.
pub fn check_fstab(text: &str, uuid: &FsUuid, mountpoint: &Path) -> FstabCheck {
    check_fstab_for(text, uuid, mountpoint, Backend::Btrfs)
}

/// Checks `text` for the array `uuid` of `backend` expected at `mountpoint`: its line must
/// carry a filesystem type of that backend (btrfs; ext4/xfs on md).
pub fn check_fstab_for(
    text: &str,
    uuid: &FsUuid,
    mountpoint: &Path,
    backend: Backend,
) -> FstabCheck {
    let tab = match parse_fstab(text) {
        Ok(t) => t,
        Err(e) => {
            return FstabCheck {
                state: FstabState::Unreadable,
                lines: vec![],
                options: None,
                detail: Some(e.to_string()),
            }
        }
    };
    let want = normalize_mountpoint(mountpoint);
    let mut ours = Vec::new(); // (line, entry) naming this filesystem
    let mut here = Vec::new(); // (line, entry) mounting something at the mountpoint
    let mut n = 0u64;
    for l in &tab.lines {
        n += 1;
        let crate::config::fstab::Line::Entry(e) = l else {
            continue;
        };
        let spec_uuid = e
            .spec
            .strip_prefix("UUID=")
            .map(|u| u.trim_matches('"').eq_ignore_ascii_case(uuid.as_str()));
        if spec_uuid == Some(true) {
            ours.push((n, e));
        }
        if normalize_mountpoint(Path::new(&e.file)) == want {
            here.push((n, e));
        }
    }
    let mut lines: Vec<u64> = ours.iter().chain(here.iter()).map(|(n, _)| *n).collect();
    lines.sort_unstable();
    lines.dedup();
    let result = |state, detail: Option<String>, options| FstabCheck {
        state,
        lines: lines.clone(),
        options,
        detail,
    };
    if ours.len() > 1 || here.len() > 1 {
        let which = if ours.len() > 1 {
            format!("{} lines mount filesystem {uuid}", ours.len())
        } else {
            format!("{} lines mount something at {}", here.len(), want.display())
        };
        return result(FstabState::Duplicated, Some(which), None);
    }
    match (ours.first(), here.first()) {
        (None, None) => result(FstabState::Missing, None, None),
        (None, Some((_, e))) => result(
            FstabState::Wrong,
            Some(format!(
                "the line for {} mounts `{}`, not UUID={uuid}",
                want.display(),
                e.spec
            )),
            None,
        ),
        (Some((_, e)), _) => {
            let opts = Some(e.options.clone());
            let at = normalize_mountpoint(Path::new(&e.file));
            if at != want {
                let d = format!(
                    "the line for UUID={uuid} mounts it at {}, not {}",
                    at.display(),
                    want.display()
                );
                result(FstabState::Wrong, Some(d), opts)
            } else if Backend::for_fstype(&e.vfstype) != Some(backend) {
                let d = format!(
                    "the line says type `{}`, not {}",
                    e.vfstype,
                    backend.fstype()
                );
                result(FstabState::Wrong, Some(d), opts)
            } else if e.options.split(',').any(|o| o == "degraded") {
                let d = "the line has `degraded`: a boot with a missing member still fails, and it invites split brain".to_string();
                result(FstabState::Wrong, Some(d), opts)
            } else {
                result(FstabState::Ok, None, opts)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const U: &str = "5d1c0e2a-1111-2222-3333-444455556666";

    fn check(text: &str) -> FstabCheck {
        check_fstab(text, &FsUuid::parse(U).unwrap(), Path::new("/mnt/lnraid"))
    }

    #[test]
    fn ok_and_spellings_of_one_mountpoint() {
        for mp in [
            "/mnt/lnraid",
            "/mnt/lnraid/",
            "/mnt//lnraid",
            "/mnt/./lnraid",
        ] {
            let c = check(&format!(
                "# x\nUUID={U} {mp} btrfs defaults,nofail 0 0 # lnraid-managed\n"
            ));
            assert_eq!(c.state, FstabState::Ok, "{mp}: {c:?}");
            assert_eq!(c.lines, vec![2]);
            assert_eq!(c.options.as_deref(), Some("defaults,nofail"));
        }
    }

    #[test]
    fn duplicated_by_trailing_slash_or_double_slash() {
        let c = check(&format!(
            "UUID={U} /mnt/lnraid btrfs defaults 0 0\n/dev/sdb /mnt//lnraid/ btrfs defaults 0 0\n"
        ));
        assert_eq!(c.state, FstabState::Duplicated, "{c:?}");
        assert_eq!(c.lines, vec![1, 2]);
        let c = check(&format!(
            "UUID={U} /mnt/lnraid btrfs defaults 0 0\nUUID={U} /srv/x btrfs defaults 0 0\n"
        ));
        assert_eq!(c.state, FstabState::Duplicated);
    }

    #[test]
    fn missing_and_wrong() {
        assert_eq!(
            check("/dev/sda1 / ext4 defaults 0 1\n").state,
            FstabState::Missing
        );
        let c = check("/dev/loop0 /mnt/lnraid btrfs defaults 0 0\n");
        assert_eq!(c.state, FstabState::Wrong);
        assert!(c.detail.unwrap().contains("/dev/loop0"));
        let c = check(&format!("UUID={U} /mnt/other btrfs defaults 0 0\n"));
        assert_eq!(c.state, FstabState::Wrong);
        assert!(c.detail.unwrap().contains("/mnt/other"));
        let c = check(&format!(
            "UUID={U} /mnt/lnraid btrfs defaults,degraded 0 0\n"
        ));
        assert_eq!(c.state, FstabState::Wrong);
        let c = check(&format!("UUID={U} /mnt/lnraid ext4 defaults 0 0\n"));
        assert_eq!(c.state, FstabState::Wrong);
    }
}
