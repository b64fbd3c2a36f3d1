//! The read-only mount a killed `lnraid recover` left behind (SIGKILL, power cut of the
//! terminal, OOM: its guard never ran), found and removed on the next run.
//!
//! Ours means all of: a mountpoint directly in lnraid's run directory named `recover-*`, a
//! btrfs mounted read-only (`ro` among its options), and no other recover running (the caller
//! holds `lnraid.lock`, which every recover takes before mounting, so the one that mounted it
//! is dead) and no lightningd using it. Anything else there is left alone and named.
//! A dry run only says what the real run will do, with the exact commands.
//!
//! May not: unmount anything that is not ours, remove a mountpoint recursively, or remove it
//! before its unmount succeeded (STYLE rule 18).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Result};

use crate::exec::Runner;
use crate::probe::mounts::{read_mounts, Mount, PID1_MOUNTINFO};
use crate::probe::procs::processes_using;
use crate::recover::mountpoint::{run_base, umount_cmd};

/// A `recover-*` mount in the run directory.
#[derive(Debug, Clone)]
pub struct Leftover {
    pub mountpoint: PathBuf,
    /// Why it is not provably ours (then it is left alone).
    pub not_ours: Option<String>,
}

/// Pure: the `recover-*` mounts below `base` in `mounts`, each judged.
pub fn find_leftovers(mounts: &[Mount], base: &Path) -> Vec<Leftover> {
    let mut out: Vec<Leftover> = mounts
        .iter()
        .filter(|m| {
            m.mountpoint.parent() == Some(base)
                && m.mountpoint
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("recover-"))
        })
        .map(|m| {
            let ro = m.options.split(',').any(|o| o == "ro");
            let not_ours = if m.fstype != "btrfs" {
                Some(format!("it is {}, not btrfs", m.fstype))
            } else if !ro {
                Some("it is mounted read-write; recover only ever mounts read-only".to_string())
            } else {
                None
            };
            Leftover {
                mountpoint: m.mountpoint.clone(),
                not_ours,
            }
        })
        .collect();
    out.sort_by(|a, b| a.mountpoint.cmp(&b.mountpoint));
    out.dedup_by(|a, b| a.mountpoint == b.mountpoint);
    out
}

fn command(mp: &Path) -> String {
    format!(
        "{} && rmdir {}",
        umount_cmd(mp),
        crate::exec::shell_quote(&mp.to_string_lossy())
    )
}

/// Finds and (unless `dry_run`) removes the leftover mounts of killed recovers. Must be called
/// with `lnraid.lock` held when not a dry run.
pub fn clean_leftovers(runner: &dyn Runner, dry_run: bool) -> Result<()> {
    let mounts = read_mounts(Path::new(PID1_MOUNTINFO))?;
    for l in find_leftovers(&mounts, &run_base()) {
        let mp = &l.mountpoint;
        let cmd = command(mp);
        let users = processes_using(mp);
        let not_ours = l.not_ours.clone().or_else(|| {
            (!users.is_empty()).then(|| format!("lightningd (pid {}) uses it", users[0].pid))
        });
        if let Some(why) = not_ours {
            println!(
                "note: {} is mounted but not provably a leftover of lnraid recover ({why}): left alone; if it is, stop what uses it and run: {cmd}",
                mp.display()
            );
            continue;
        }
        if dry_run {
            println!(
                "A killed `lnraid recover` left its read-only mount {}; the real run unmounts it first:\n  $ {cmd}",
                mp.display()
            );
            continue;
        }
        println!(
            "A killed `lnraid recover` left its read-only mount {}: unmounting it (nothing was written through it).",
            mp.display()
        );
        unmount(runner, mp, &cmd)?;
    }
    Ok(())
}

fn unmount(runner: &dyn Runner, mp: &Path, by_hand: &str) -> Result<()> {
    let umount = umount_cmd(mp);
    tracing::info!("  $ {umount}");
    let mut last = None;
    for attempt in 1..=5u64 {
        match runner.run_ok(&umount) {
            Ok(_) => {
                last = None;
                break;
            }
            Err(e) => last = Some(e),
        }
        std::thread::sleep(Duration::from_millis(200 * attempt));
    }
    if let Some(e) = last {
        bail!(
            "could not unmount the leftover {} ({e}); it is read-only, nothing is at risk: run `{by_hand}`, then recover again",
            mp.display()
        );
    }
    std::fs::remove_dir(mp).map_err(|e| {
        anyhow::anyhow!(
            "unmounted {} but could not remove the directory ({e}): run `rmdir {}`",
            mp.display(),
            mp.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_read_only_btrfs_recover_mounts_are_ours() {
        let text = "\
36 25 0:33 / /run/lnraid/recover-Ab12Cd ro,relatime shared:1 - btrfs /dev/loop0 ro,degraded,space_cache=v2,subvolid=5,subvol=/
37 25 0:34 / /run/lnraid/recover-rw rw,relatime shared:1 - btrfs /dev/loop1 rw,space_cache=v2
38 25 0:35 / /run/lnraid/recover-tmp rw,relatime shared:1 - tmpfs tmpfs rw
39 25 0:36 / /run/lnraid/other ro,relatime shared:1 - btrfs /dev/loop2 ro
40 25 0:37 / /mnt/recover-x ro,relatime shared:1 - btrfs /dev/loop3 ro
";
        let mounts = crate::probe::mounts::parse_mountinfo(text).unwrap();
        let l = find_leftovers(&mounts, Path::new("/run/lnraid"));
        let names: Vec<String> = l
            .iter()
            .map(|x| x.mountpoint.display().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "/run/lnraid/recover-Ab12Cd",
                "/run/lnraid/recover-rw",
                "/run/lnraid/recover-tmp"
            ]
        );
        assert!(l[0].not_ours.is_none());
        assert!(l[1].not_ours.as_deref().unwrap().contains("read-write"));
        assert!(l[2].not_ours.as_deref().unwrap().contains("tmpfs"));
        assert_eq!(
            command(&l[0].mountpoint),
            "umount /run/lnraid/recover-Ab12Cd && rmdir /run/lnraid/recover-Ab12Cd"
        );
    }
}
