//! The `lnraid setup` plan. Pure: everything it needs — including the filesystem UUID and the
//! timestamp, chosen by the caller — is in the [`SetupRequest`], so the dry run shows the
//! exact fstab line and paths execution will use.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Action, Allow, Check, Plan, Resume, Step, Tag, Target};
use crate::config::fstab_edit::{entry_line, mount_options};
use crate::exec::Cmd;
use crate::types::{DevPath, FsUuid};

/// The btrfs block-group profile for data and metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Two copies (any number of devices ≥ 2).
    Raid1,
    /// Three copies (≥ 3 devices; kernel ≥ 5.5).
    Raid1c3,
    /// Four copies (≥ 4 devices; kernel ≥ 5.5).
    Raid1c4,
}

impl Profile {
    pub fn name(self) -> &'static str {
        match self {
            Profile::Raid1 => "raid1",
            Profile::Raid1c3 => "raid1c3",
            Profile::Raid1c4 => "raid1c4",
        }
    }

    pub fn copies(self) -> usize {
        match self {
            Profile::Raid1 => 2,
            Profile::Raid1c3 => 3,
            Profile::Raid1c4 => 4,
        }
    }

    /// The most redundant profile for `n` devices (2 → raid1, 3 → raid1c3, 4+ → raid1c4).
    pub fn for_devices(n: usize) -> Profile {
        match n {
            0..=2 => Profile::Raid1,
            3 => Profile::Raid1c3,
            _ => Profile::Raid1c4,
        }
    }
}

/// The identity of a device at plan time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceIdentity {
    pub path: DevPath,
    pub size: u64,
    pub model: Option<String>,
    pub serial: Option<String>,
}

/// A validated setup request (every path canonical, devices resolved, choices made).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupRequest {
    pub lightning_dir: PathBuf,
    pub devices: Vec<DevPath>,
    /// What each device was when the operator confirmed (identity and contents): re-proven
    /// before every destructive step, so a disk that re-enumerated under the same path, or
    /// another disk at the recorded name, is never the one destroyed.
    pub targets: Vec<Target>,
    pub profile: Profile,
    pub mountpoint: PathBuf,
    /// The mountpoint directory existed before setup (then abort leaves the directory).
    pub mountpoint_existed: bool,
    pub label: String,
    pub fs_uuid: FsUuid,
    pub owner: Option<(u32, u32)>,
    pub wipe: bool,
    pub autodefrag: bool,
    pub fstab: PathBuf,
    /// Where to write the lightningd drop-in; `None` when there is no systemd.
    pub dropin: Option<PathBuf>,
    /// Run `systemctl daemon-reload` after writing the drop-in (the real unit dir only).
    pub daemon_reload: bool,
    /// UTC, `YYYYmmddTHHMMSSZ`: names the original's new place.
    pub timestamp: String,
    /// Whether the directory holds `lightningd.sqlite3` (then it is integrity-checked).
    pub has_database: bool,
    /// `--schedule`: the maintenance schedule's files (those of `lnraid schedule install`).
    #[serde(default)]
    pub schedule: Option<crate::schedule::SetupSchedule>,
    /// `--backend`; journals written before the seam are btrfs.
    #[serde(default)]
    pub backend: crate::backend::Backend,
    /// What only an md setup has (array UUID, --size, mdadm.conf...).
    #[serde(default)]
    pub md: Option<crate::backend::md::setup::MdSetup>,
}

impl SetupRequest {
    fn dir_name(&self) -> String {
        self.lightning_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "lightning".into())
    }

    /// Where the node's data lives once setup is done.
    pub fn new_home(&self) -> PathBuf {
        self.mountpoint.join(self.dir_name())
    }

    /// Where the copy is written until verified: a name no node would ever use.
    pub fn partial(&self) -> PathBuf {
        self.mountpoint
            .join(format!(".lnraid-partial-{}", self.dir_name()))
    }

    /// Where the original directory is kept (never deleted by lnraid).
    pub fn aside(&self) -> PathBuf {
        let mut p = self.lightning_dir.clone().into_os_string();
        p.push(format!(".pre-lnraid-{}", self.timestamp));
        PathBuf::from(p)
    }

    pub fn fstab_line(&self) -> String {
        if self.md.is_some() {
            return crate::backend::md::setup::fstab_line(self);
        }
        entry_line(
            &self.fs_uuid,
            &self.mountpoint,
            &mount_options(self.autodefrag),
        )
    }
}

fn path_arg(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// The content of the systemd drop-in that keeps lightningd from starting on a bare
/// mountpoint (and so from creating a fresh node on the root disk after a failed mount).
pub fn dropin_content(mountpoint: &Path) -> String {
    format!(
        "# Written by lnraid: lightningd must not start unless its data directory's array is mounted.\n\
         [Unit]\nRequiresMountsFor={}\n",
        crate::config::unit_value::path_list_item(mountpoint)
    )
}

/// Plans the setup. `fstab_diff` is the diff against the fstab as it is now (for display).
pub fn plan_setup(r: &SetupRequest, fstab_diff: &str) -> Plan {
    if let Some(plan) = crate::backend::plan_create(r, fstab_diff) {
        return plan;
    }
    let devs: Vec<String> = r.devices.iter().map(|d| d.to_string()).collect();
    let targets = Check::Targets {
        devices: r.devices.clone(),
        allow: Allow::Confirmed,
    };
    let mut steps = Vec::new();
    if r.wipe {
        steps.push(
            Step::new(
                "wipe",
                Tag::Destructive,
                format!(
                    "erase the signatures shown at confirmation on {}",
                    devs.join(", ")
                ),
                r.devices
                    .iter()
                    .map(|d| Action::Run {
                        cmd: super::wipe_cmd(d),
                    })
                    .collect(),
            )
            .check(targets.clone()),
        );
    }
    let p = r.profile.name();
    let mkfs = Cmd::mutating(
        "mkfs.btrfs",
        ["-U", r.fs_uuid.as_str(), "-L", &r.label, "-m", p, "-d", p],
    )
    .args_from(devs.iter().map(String::as_str));
    steps.push(
        Step::new(
            "mkfs",
            Tag::Destructive,
            format!(
                "create a btrfs {p} filesystem (UUID {}) on {}",
                r.fs_uuid,
                devs.join(", ")
            ),
            vec![Action::Run { cmd: mkfs }],
        )
        .check(targets)
        .resume(Resume::Replan),
    );
    steps.push(Step::new(
        "scan",
        Tag::Safe,
        "register the members with the kernel (udev would; lnraid does not rely on it)",
        vec![Action::Run {
            cmd: Cmd::mutating("btrfs", ["device", "scan"])
                .args_from(devs.iter().map(String::as_str)),
        }],
    ));
    let mp = path_arg(&r.mountpoint);
    steps.push(mountpoint_step(r));
    let opts = if r.autodefrag {
        "autodefrag"
    } else {
        "defaults"
    };
    steps.push(Step::new(
        "mount",
        Tag::Safe,
        format!("mount the new array on {mp} (by a member blkid -p shows carrying it)"),
        vec![Action::Mount {
            fs_uuid: r.fs_uuid.to_string(),
            members: r.devices.clone(),
            mountpoint: r.mountpoint.clone(),
            options: opts.to_string(),
        }],
    ));
    steps.push(super::hotcopy::subvolume_step(r));
    steps.extend(node_steps(r, r.fstab_line(), fstab_diff));
    let title = format!(
        "lnraid setup: {} onto a btrfs {p} of {} devices, mounted at {mp}",
        r.lightning_dir.display(),
        r.devices.len()
    );
    Plan {
        targets: r.targets.clone(),
        protect: Some(r.lightning_dir.clone()),
        own_fs: Some(r.fs_uuid.to_string()),
        ..Plan::new(title, steps)
    }
}

/// Creates the mountpoint and makes the bare directory immutable (every backend).
pub fn mountpoint_step(r: &SetupRequest) -> Step {
    let mp = path_arg(&r.mountpoint);
    Step::new(
        "mountpoint",
        Tag::Safe,
        format!("create {mp} and make the bare directory immutable, so nothing writes to the root disk there when the array is not mounted"),
        vec![Action::MakeDir { path: r.mountpoint.clone(), mode: 0o755 }, Action::Run { cmd: Cmd::mutating("chattr", ["+i", mp.as_str()]) }],
    )
}

/// The steps every backend shares once the new filesystem is mounted at `r.mountpoint`: the
/// verified copy, publishing it, moving the original aside, the symlink (each with the
/// executor's freshness checks), the fstab line (`fstab_line`, the backend's), boot safety
/// and the schedule.
pub fn node_steps(r: &SetupRequest, fstab_line: String, fstab_diff: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    let dir = r.lightning_dir.clone();
    steps.push(
        Step::new(
            "copy",
            Tag::Long,
            format!(
                "copy {} onto the array{}",
                r.lightning_dir.display(),
                if r.owner.is_some() {
                    ", giving every path to the node's user"
                } else {
                    ", keeping owners"
                }
            ),
            vec![Action::Copy {
                src: r.lightning_dir.clone(),
                dst: r.partial(),
                owner: r.owner,
            }],
        )
        .check(Check::NodeStopped { dir: dir.clone() }),
    );
    steps.push(Step::new(
        "verify",
        Tag::Long,
        "verify the copy byte for byte, read back from the disk",
        vec![Action::Verify {
            dst: r.partial(),
            database: r.has_database.then(|| "lightningd.sqlite3".to_string()),
        }],
    ));
    steps.push(
        Step::new(
            "publish",
            Tag::Safe,
            format!("give the verified copy its name {}", r.new_home().display()),
            vec![Action::Rename {
                from: r.partial(),
                to: r.new_home(),
            }],
        )
        .check(Check::SourceUnchanged { dir: dir.clone() })
        .resume(Resume::SkipIfDone),
    );
    steps.push(
        Step::new(
            "move-aside",
            Tag::Safe,
            format!(
                "keep the original as {} (lnraid never deletes it)",
                r.aside().display()
            ),
            vec![Action::Rename {
                from: r.lightning_dir.clone(),
                to: r.aside(),
            }],
        )
        .check(Check::SourceUnchanged { dir: dir.clone() })
        .resume(Resume::SkipIfDone),
    );
    steps.push(
        Step::new(
            "symlink",
            Tag::Safe,
            format!("point {} at its new home", r.lightning_dir.display()),
            vec![Action::Symlink {
                link: r.lightning_dir.clone(),
                target: r.new_home(),
            }],
        )
        .check(Check::NodeStopped { dir: dir.clone() })
        .check(Check::SourceUnchanged { dir: r.aside() })
        .resume(Resume::SkipIfDone),
    );
    steps.push(Step::new(
        "fstab",
        Tag::Safe,
        format!(
            "mount the array at boot by filesystem UUID ({})",
            r.fstab.display()
        ),
        vec![Action::FstabAdd {
            path: r.fstab.clone(),
            line: fstab_line,
            uuid: r.fs_uuid.to_string(),
            mountpoint: r.mountpoint.clone(),
            diff: fstab_diff.to_string(),
        }],
    ));
    if let Some(dropin) = &r.dropin {
        let mut actions = vec![Action::WriteFile {
            path: dropin.clone(),
            content: dropin_content(&r.mountpoint),
            mode: 0o644,
        }];
        if r.daemon_reload {
            actions.push(Action::Run {
                cmd: Cmd::mutating("systemctl", ["daemon-reload"]),
            });
        }
        steps.push(Step::new(
            "boot-safety",
            Tag::Safe,
            "lightningd starts only when the array is mounted",
            actions,
        ));
    }
    if let Some(s) = &r.schedule {
        steps.push(crate::schedule::setup_step(s));
    }
    steps
}
