//! `setup --backend mdadm` as a plan. Pure: identifiers (md UUID, filesystem UUID) are chosen
//! before, so the dry run shows the exact `mdadm --create`, the fstab line and the mdadm.conf
//! ARRAY line. After the array: the same copy / verify / publish / symlink / fstab / boot-safety
//! steps as btrfs (`plan::setup::node_steps`).
//!
//! The create line follows DESIGN.md §4: `--bitmap=internal` explicitly (mdadm 4.4 creates
//! none otherwise), `--metadata=1.2`, `--homehost`, `--name`, `--run` (no prompt over old
//! superblocks, which preflight already showed), `--size` a little below the smallest member;
//! never `--assume-clean` (the members' contents differ: a check would find mismatches
//! everywhere and a failed member would be rebuilt from garbage). USB flash members come after
//! `--write-mostly`, so reads go to the real disks.
//! The initial resync is not waited for unless `--wait`: status says "resyncing — not yet
//! redundant" until it is done.

use serde::{Deserialize, Serialize};

use super::{array_path, conf, FSTYPE};
use crate::config::fstab_edit::MARKER;
use crate::exec::Cmd;
use crate::plan::setup::{mountpoint_step, node_steps, SetupRequest};
use crate::plan::{Action, Allow, Check, Plan, Step, Tag};
use crate::types::DevPath;

/// What only an md setup has; chosen at preflight, journaled with the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MdSetup {
    /// `--uuid`, mdadm's colon form (`aaaaaaaa:bbbbbbbb:cccccccc:dddddddd`).
    pub md_uuid: String,
    /// `--name` (`lnraid`): the array appears as `/dev/md/<name>`.
    pub name: String,
    pub homehost: String,
    /// `--size` in KiB.
    pub size_kib: u64,
    /// Members that get `--write-mostly` (USB flash).
    pub write_mostly: Vec<DevPath>,
    pub conf: std::path::PathBuf,
    /// The PROGRAM line's program, when mdadm.conf has neither MAILADDR nor PROGRAM.
    pub program: String,
    /// `update-initramfs -u` or `dracut -f`, when present.
    pub initramfs: Option<Cmd>,
    /// `--wait`: wait for the initial resync before finishing.
    pub wait: bool,
}

/// The fstab line: by filesystem UUID, `nofail` so a missing array does not stop the boot.
pub fn fstab_line(r: &SetupRequest) -> String {
    format!(
        "UUID={} {} {FSTYPE} defaults,nofail,x-systemd.device-timeout=30s 0 2 {MARKER}",
        r.fs_uuid,
        r.mountpoint.display()
    )
}

/// `mdadm --create ...` exactly as run.
pub fn create_cmd(r: &SetupRequest, m: &MdSetup) -> Cmd {
    let n = r.devices.len().to_string();
    let mut cmd = Cmd::mutating(
        "mdadm",
        [
            "--create",
            &array_path(&m.name),
            "--run",
            "--level=1",
            &format!("--raid-devices={n}"),
            "--metadata=1.2",
            "--bitmap=internal",
            &format!("--homehost={}", m.homehost),
            &format!("--name={}", m.name),
            &format!("--uuid={}", m.md_uuid),
            &format!("--size={}", m.size_kib),
        ],
    );
    for d in r.devices.iter().filter(|d| !m.write_mostly.contains(d)) {
        cmd = cmd.arg(d.to_string());
    }
    if !m.write_mostly.is_empty() {
        cmd = cmd.arg("--write-mostly");
        for d in &m.write_mostly {
            cmd = cmd.arg(d.to_string());
        }
    }
    cmd
}

fn run(cmd: Cmd) -> Action {
    Action::Run { cmd }
}

/// The whole md setup plan.
pub fn plan_create(r: &SetupRequest, m: &MdSetup, fstab_diff: &str) -> Plan {
    let devs: Vec<String> = r.devices.iter().map(|d| d.to_string()).collect();
    let md = array_path(&m.name);
    let mp = r.mountpoint.to_string_lossy().into_owned();
    let mut steps = Vec::new();
    // Re-proven by the executor right before each destructive step: still the devices the
    // operator confirmed, still eligible, nothing new on them.
    let targets = Check::Targets {
        devices: r.devices.clone(),
        allow: Allow::Confirmed,
    };
    if r.wipe {
        steps.push(
            Step::new(
                "wipe",
                Tag::Destructive,
                format!(
                    "erase every signature (old md superblocks too) on {}",
                    devs.join(", ")
                ),
                devs.iter()
                    .map(|d| run(Cmd::mutating("wipefs", ["--all", d.as_str()])))
                    .collect(),
            )
            .check(targets.clone()),
        );
    }
    steps.push(Step::new(
        "md-create",
        Tag::Destructive,
        format!(
            "create the md RAID-1 {md} (UUID {}) of {}; NOTE: md does not checksum — a bit flipped on one mirror goes unnoticed (btrfs, the default backend, would detect and repair it)",
            m.md_uuid,
            devs.join(", ")
        ),
        vec![
            run(create_cmd(r, m)),
            run(Cmd::read_only("mdadm", ["--detail", "--brief", md.as_str()])),
        ],
    )
    .check(targets.clone()));
    steps.push(Step::new(
        "mkfs-ext4",
        // Safe: it formats the array created one step before, which holds nothing yet.
        Tag::Safe,
        format!("create ext4 (UUID {}) on the new, empty {md}", r.fs_uuid),
        vec![run(Cmd::mutating(
            "mkfs.ext4",
            ["-q", "-U", r.fs_uuid.as_str(), "-L", &r.label, md.as_str()],
        ))],
    ));
    steps.push(Step::new(
        "mdadm-conf",
        Tag::Safe,
        format!(
            "record the array in {} so it assembles under its name at boot",
            m.conf.display()
        ),
        conf_actions(m, &md),
    ));
    steps.push(mountpoint_step(r));
    steps.push(Step::new(
        "mount",
        Tag::Safe,
        format!("mount the new array on {mp}"),
        vec![run(Cmd::mutating(
            "mount",
            ["-t", FSTYPE, md.as_str(), mp.as_str()],
        ))],
    ));
    steps.extend(node_steps(r, fstab_line(r), fstab_diff));
    if m.wait {
        steps.push(Step::new(
            "wait-resync",
            Tag::Long,
            "wait for the initial resync: until it ends the array is not yet redundant",
            vec![Action::Try {
                // As long as the resync takes (hours on big disks): no read-only time limit.
                cmd: Cmd::read_only("mdadm", ["--wait", md.as_str()]).untimed(),
            }],
        ));
    }
    let title = format!(
        "lnraid setup: {} onto an md RAID-1 ({md}, ext4) of {} devices, mounted at {mp}",
        r.lightning_dir.display(),
        r.devices.len()
    );
    Plan {
        targets: r.targets.clone(),
        protect: Some(r.lightning_dir.clone()),
        // What `blkid -p` shows on the members once the array exists: the re-proof of a
        // resumed or aborting step accepts a device carrying it as lnraid's own.
        own_fs: super::blkid_uuid(&m.md_uuid),
        ..Plan::new(title, steps)
    }
}

/// The lines setup appends to mdadm.conf (each only if missing) and abort removes again.
pub fn conf_lines(m: &MdSetup, md: &str) -> Vec<String> {
    vec![
        format!("HOMEHOST {}", m.homehost),
        format!("PROGRAM {}", m.program),
        conf::array_line(md, &format!("{}:{}", m.homehost, m.name), &m.md_uuid),
    ]
}

fn conf_actions(m: &MdSetup, md: &str) -> Vec<Action> {
    let mut actions = vec![Action::ConfAppend {
        path: m.conf.clone(),
        lines: conf_lines(m, md),
        md_uuid: m.md_uuid.clone(),
    }];
    if let Some(cmd) = &m.initramfs {
        actions.push(run(cmd.clone()));
    }
    actions
}
