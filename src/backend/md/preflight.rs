//! md specifics of setup's preflight. Read-only: `mdadm --examine` of each device (an old md
//! superblock is shown with its array UUID, name and events, so the operator knows what
//! `--wipe` erases), the sizes (`--size` a little below the smallest member), the tools on
//! PATH (mdadm itself, update-initramfs or dracut). Every problem is collected, none stops
//! the others from being found.

use std::path::{Path, PathBuf};

use super::setup::MdSetup;
use super::{size, ARRAY_NAME, DEFAULT_CONF};
use crate::exec::{Cmd, Runner};
use crate::probe::lsblk::BlockDev;
use crate::probe::mdadm::{examine_cmd, parse_examine};
use crate::types::{Bytes, DevPath};

/// The program mdadm.conf's PROGRAM line names when there is no MAILADDR/PROGRAM: `logger`
/// puts each md event into the system log, and `mdadm --monitor` has something to do.
pub const PROGRAM: &str = "/usr/bin/logger";

/// The first `name` on `$PATH`, found without starting a process.
pub fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// A fresh md UUID in mdadm's colon form.
pub fn random_md_uuid() -> String {
    let hex: String = crate::app::ids::random_fs_uuid()
        .as_str()
        .chars()
        .filter(|c| *c != '-')
        .collect();
    hex.as_bytes()
        .chunks(8)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(":")
}

/// What the operator asked for, for md.
pub struct MdAsk<'a> {
    pub devices: &'a [DevPath],
    pub targets: &'a [BlockDev],
    pub wipe: bool,
    pub conf: &'a Path,
    pub wait: bool,
}

/// Old md superblocks on the devices, in words (each one a refusal unless `--wipe`).
fn old_superblocks(runner: &dyn Runner, devices: &[DevPath]) -> Vec<String> {
    devices
        .iter()
        .filter_map(|d| {
            let out = runner.output(&examine_cmd(d)).ok()?;
            let e = parse_examine(&out.stdout).ok()?;
            Some(format!(
                "{d}: carries an md superblock of array {} (name {}, events {}, state {})",
                e.array_uuid,
                e.name.as_deref().unwrap_or("?"),
                e.events.as_deref().unwrap_or("?"),
                e.array_state
            ))
        })
        .collect()
}

/// The md part of the request, or every problem found.
pub fn preflight(runner: &dyn Runner, ask: &MdAsk) -> Result<MdSetup, Vec<String>> {
    let mut problems = Vec::new();
    if on_path("mdadm").is_none() {
        problems
            .push("mdadm is not installed: apt-get install --no-install-recommends mdadm".into());
    }
    for sb in old_superblocks(runner, ask.devices) {
        if ask.wipe {
            tracing::warn!("{sb}; --wipe erases it");
        } else {
            problems.push(format!(
                "{sb}: if that array is no longer needed, rerun with --wipe"
            ));
        }
    }
    let smallest = ask.targets.iter().map(|t| t.size).min().unwrap_or(Bytes(0));
    let size_kib = size::create_size_kib(smallest);
    if size_kib.is_none() {
        problems.push(format!(
            "the smallest device ({smallest}) is too small for an md array"
        ));
    }
    // The kernel's hostname, as mdadm reads it (uname), without a process or a nix feature.
    let homehost = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    if homehost.is_empty() || homehost == "(none)" {
        problems.push("the machine has no hostname: md would name the array \"(none):lnraid\"; set one with hostnamectl".into());
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let real_conf = ask.conf == Path::new(DEFAULT_CONF);
    let initramfs = real_conf
        .then(|| {
            if on_path("update-initramfs").is_some() {
                Some(Cmd::mutating("update-initramfs", ["-u"]))
            } else {
                on_path("dracut").map(|_| Cmd::mutating("dracut", ["-f"]))
            }
        })
        .flatten();
    Ok(MdSetup {
        md_uuid: random_md_uuid(),
        name: ARRAY_NAME.into(),
        homehost,
        size_kib: size_kib.unwrap_or(0),
        write_mostly: ask
            .targets
            .iter()
            .filter(|t| t.transport.as_deref() == Some("usb") && !t.rotational)
            .map(|t| t.path.clone())
            .collect(),
        conf: ask.conf.to_path_buf(),
        program: PROGRAM.into(),
        initramfs,
        wait: ask.wait,
    })
}
