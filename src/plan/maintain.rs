//! The plans of `lnraid maintain`: a btrfs scrub, a btrfs balance, an md check. Pure: the
//! caller probes the array, decides (under the maintenance locks) whether the job may run at
//! all — degraded, unmounted or busy arrays are skipped and alerted, never planned — and walks
//! the plan built here; `--dry-run` prints the same value.
//!
//! Each plan is one long step: untimed (a scrub of a big array takes hours) but observable
//! (the executor polls the job's status for progress). Nothing here judges the outcome: the
//! executor keeps the command's output in the journal and the caller reads it.

use std::path::{Path, PathBuf};

use super::{Action, Plan, Step, Tag};
use crate::cli::BalanceRecipe;
use crate::exec::Cmd;
use crate::types::FsUuid;

/// The two locks every maintenance job holds while its plan is walked (lnraid's and
/// btrfsmaintenance's per-filesystem lock), for the plan's title.
#[derive(Debug, Clone)]
pub struct Locks {
    pub ours: PathBuf,
    pub btrfsmaintenance: PathBuf,
}

impl Locks {
    fn describe(&self) -> String {
        format!(
            "holding the locks {} and {}",
            crate::exec::quote_path(&self.ours),
            crate::exec::quote_path(&self.btrfsmaintenance)
        )
    }
}

/// `btrfs scrub start -B MOUNTPOINT` (foreground: its exit status tells the outcome).
pub fn scrub_cmd(mp: &Path) -> Cmd {
    Cmd::mutating("btrfs", ["scrub", "start", "-B"]).arg(mp.to_string_lossy())
}

/// The balance: data only with usage filters by default; the guide's exact line with
/// `--recipe cln-guide`.
pub fn balance_cmd(mp: &Path, recipe: BalanceRecipe) -> Cmd {
    let filters: &[&str] = match recipe {
        BalanceRecipe::Default => &["-dusage=50", "-dlimit=2"],
        BalanceRecipe::ClnGuide => &["-dusage=50", "-dlimit=2", "-musage=50", "-mlimit=4"],
    };
    Cmd::mutating("btrfs", ["balance", "start"])
        .args_from(filters.iter().copied())
        .arg(mp.to_string_lossy())
}

/// Scrub the btrfs at `mp`; `limit` in bytes/s per device; `estimate`: bytes it will read.
pub fn plan_scrub(
    mp: &Path,
    uuid: &FsUuid,
    limit: Option<u64>,
    estimate: u64,
    locks: &Locks,
) -> Plan {
    let step = Step::new(
        "scrub",
        Tag::Long,
        format!(
            "scrub {}: read every copy of every block, rewrite bad copies from the good mirror",
            mp.display()
        ),
        vec![Action::BtrfsScrub {
            cmd: scrub_cmd(mp),
            mountpoint: mp.to_path_buf(),
            fs_uuid: uuid.to_string(),
            limit,
            estimate,
        }],
    );
    Plan::new(
        format!(
            "lnraid maintain scrub of {} ({uuid}), {}",
            mp.display(),
            locks.describe()
        ),
        vec![step],
    )
}

pub fn plan_balance(mp: &Path, uuid: &FsUuid, recipe: BalanceRecipe, locks: &Locks) -> Plan {
    let step = Step::new(
        "balance",
        Tag::Long,
        format!(
            "balance {}: compact half-empty data chunks so btrfs keeps unallocated space",
            mp.display()
        ),
        vec![Action::BtrfsBalance {
            cmd: balance_cmd(mp, recipe),
            mountpoint: mp.to_path_buf(),
        }],
    );
    Plan::new(
        format!(
            "lnraid maintain balance of {} ({uuid}), {}",
            mp.display(),
            locks.describe()
        ),
        vec![step],
    )
}

/// md's check of `array` (`/dev/md127`) through `sysfs` (`/sys/block/md127/md`).
pub fn plan_md_check(array: &str, sysfs: &Path, speed_max_kib: Option<u64>, mp: &Path) -> Plan {
    let step = Step::new(
        "check",
        Tag::Long,
        format!(
            "check {array} (at {}): compare the mirrors; md repairs nothing (it cannot tell which copy is right)",
            mp.display()
        ),
        vec![Action::MdCheck {
            sysfs: sysfs.to_path_buf(),
            array: array.to_string(),
            speed_max_kib,
        }],
    );
    Plan::new(
        format!("lnraid maintain check of {array} ({})", mp.display()),
        vec![step],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locks() -> Locks {
        Locks {
            ours: "/run/lock/lnraid-maintain.x.lock".into(),
            btrfsmaintenance: "/run/btrfs-maintenance-running.x".into(),
        }
    }

    #[test]
    fn recipes_and_commands() {
        assert_eq!(
            balance_cmd(Path::new("/mnt/l"), BalanceRecipe::Default).to_string(),
            "btrfs balance start -dusage=50 -dlimit=2 /mnt/l"
        );
        assert_eq!(
            balance_cmd(Path::new("/mnt/l"), BalanceRecipe::ClnGuide).to_string(),
            "btrfs balance start -dusage=50 -dlimit=2 -musage=50 -mlimit=4 /mnt/l"
        );
        let u = FsUuid::parse("5d1c0e2a-1111-2222-3333-444455556666").unwrap();
        let p = plan_scrub(Path::new("/mnt/l"), &u, Some(4 << 20), 1, &locks());
        let lines: Vec<String> = p.commands().iter().map(ToString::to_string).collect();
        assert_eq!(lines, ["btrfs scrub start -B /mnt/l"]);
        assert!(p.steps.iter().all(|s| s.tag == Tag::Long));
        let text = super::super::render_plan(&p);
        assert!(text.contains("$ btrfs scrub start -B /mnt/l"), "{text}");
        assert!(text.contains("scrub_speed_max to 4.0 MiB/s"), "{text}");
        assert!(text.contains("btrfs-maintenance-running.x"), "{text}");
        let m = plan_md_check(
            "/dev/md127",
            Path::new("/sys/block/md127/md"),
            None,
            Path::new("/mnt/l"),
        );
        assert!(
            m.commands().is_empty(),
            "md's check writes sysfs, runs no command"
        );
        assert!(super::super::render_plan(&m).contains("never `repair`"));
    }
}
