//! Reading one md array: `mdadm --detail --export` and `mdadm --detail` (through the runner),
//! `/proc/mdstat` and the array's sysfs `md/` directory. Read-only; every part that cannot be
//! read becomes an entry in `errors`, never a guess.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::exec::Runner;
use crate::probe::mdadm::{detail_cmd, detail_export_cmd, parse_detail_export, DetailExport};
use crate::probe::mdadm::{parse_detail, Detail};
use crate::probe::mdstat::{parse_mdstat, MdArray};
use crate::types::DevPath;

/// sysfs `md/` of one array (`/sys/block/md127/md/`), attributes as the kernel prints them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MdSysfs {
    pub array_state: Option<String>,
    /// Number of missing/failed slots.
    pub degraded: Option<u32>,
    /// `idle`, `resync`, `recover`, `check`, `repair`, `frozen`, `reshape`.
    pub sync_action: Option<String>,
    /// `none` or `done / total` sectors.
    pub sync_completed: Option<String>,
    pub last_sync_action: Option<String>,
    /// Sectors found different by the last check/repair.
    pub mismatch_cnt: Option<u64>,
    /// `md/bitmap/location`: `+8` (internal), `none`, or a file.
    pub bitmap_location: Option<String>,
    /// `sync_speed_max` (KB/s) as printed (`200000 (system)`).
    pub sync_speed_max: Option<String>,
    /// (`dev-vda`, `in_sync`) for each member directory.
    pub dev_states: Vec<(String, String)>,
}

/// Everything probed about one md array.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MdSnapshot {
    /// The node, resolved (`/dev/md127`).
    pub device: Option<DevPath>,
    pub export: Option<DetailExport>,
    pub detail: Option<Detail>,
    pub mdstat: Option<MdArray>,
    pub sysfs: MdSysfs,
    pub errors: Vec<String>,
}

fn read_attr(dir: &Path, name: &str) -> Option<String> {
    fs::read_to_string(dir.join(name))
        .ok()
        .map(|s| s.trim().to_string())
}

/// Reads `<sys_root>/block/<kname>/md/`. Missing attributes stay `None`.
pub fn read_md_sysfs(sys_root: &Path, kname: &str) -> MdSysfs {
    let dir = sys_root.join("block").join(kname).join("md");
    let mut dev_states: Vec<(String, String)> = fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let state = read_attr(&e.path(), "state")?;
            name.starts_with("dev-").then_some((name, state))
        })
        .collect();
    dev_states.sort();
    MdSysfs {
        array_state: read_attr(&dir, "array_state"),
        degraded: read_attr(&dir, "degraded").and_then(|s| s.parse().ok()),
        sync_action: read_attr(&dir, "sync_action"),
        sync_completed: read_attr(&dir, "sync_completed"),
        last_sync_action: read_attr(&dir, "last_sync_action"),
        mismatch_cnt: read_attr(&dir, "mismatch_cnt").and_then(|s| s.parse().ok()),
        bitmap_location: read_attr(&dir, "bitmap/location"),
        sync_speed_max: read_attr(&dir, "sync_speed_max"),
        dev_states,
    }
}

/// `/dev/md/lnraid` → `/dev/md127` (the kernel name sysfs and /proc/mdstat use).
pub fn resolve(dev: &Path) -> PathBuf {
    fs::canonicalize(dev).unwrap_or_else(|_| dev.to_path_buf())
}

/// Probes the array at `dev` (`/dev/md/lnraid` or `/dev/md127`).
pub fn probe_array(
    runner: &dyn Runner,
    dev: &DevPath,
    sys_root: &Path,
    proc_mdstat: &Path,
) -> MdSnapshot {
    let node = DevPath::new(resolve(dev.as_path()));
    let mut s = MdSnapshot {
        device: Some(node.clone()),
        ..MdSnapshot::default()
    };
    match runner.run_ok(&detail_export_cmd(&node)) {
        Ok(out) => match parse_detail_export(&out.stdout) {
            Ok(e) => s.export = Some(e),
            Err(e) => s.errors.push(e.to_string()),
        },
        Err(e) => s.errors.push(e.to_string()),
    }
    match runner.run_ok(&detail_cmd(&node)) {
        Ok(out) => match parse_detail(&out.stdout) {
            Ok(d) => s.detail = Some(d),
            Err(e) => s.errors.push(e.to_string()),
        },
        Err(e) => s.errors.push(e.to_string()),
    }
    let kname = node.kname().unwrap_or_default().to_string();
    match fs::read_to_string(proc_mdstat) {
        Ok(text) => match parse_mdstat(&text) {
            Ok(m) => s.mdstat = m.array(&kname).cloned(),
            Err(e) => s.errors.push(e.to_string()),
        },
        Err(e) => s.errors.push(format!(
            "cannot read {}: {e} (is the md driver loaded?)",
            proc_mdstat.display()
        )),
    }
    s.sysfs = read_md_sysfs(sys_root, &kname);
    s
}

/// Kernel names of every md array the kernel knows (`md127`), from sysfs.
pub fn list_arrays(sys_root: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(sys_root.join("block"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.starts_with("md") && n[2..].chars().all(|c| c.is_ascii_digit()) && n.len() > 2
        })
        .collect();
    v.sort();
    v
}
