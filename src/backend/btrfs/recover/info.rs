//! The MANIFEST's array facts from the read-only mount: `btrfs filesystem show` names each
//! survivor's devid and the missing members. Read-only; without it the survivors are still
//! named (without devids), never guessed.

use std::path::Path;

use crate::exec::Runner;
use crate::probe::btrfs::show::probe_show;
use crate::recover::manifest::{ArrayInfo, Member};

/// Refines `info` (survivors as found before mounting) from `btrfs filesystem show MP`, and
/// says which members are missing.
pub fn refine(runner: &dyn Runner, mp: &Path, info: &mut ArrayInfo) {
    let before = info.survivors.clone();
    let sub = |p: &str| {
        before
            .iter()
            .find(|m| m.path == p)
            .and_then(|m| m.uuid_sub.clone())
    };
    match probe_show(runner, mp) {
        Ok(all) => {
            if let Some(fs) = all
                .into_iter()
                .find(|f| f.uuid.as_str() == info.fs_uuid.as_str())
            {
                info.total_devices = Some(fs.total_devices);
                info.missing_devids = fs.missing_devids();
                info.survivors = fs
                    .devices
                    .iter()
                    .filter(|d| !d.missing)
                    .filter_map(|d| {
                        d.path.as_ref().map(|p| Member {
                            devid: Some(d.devid),
                            path: p.to_string(),
                            uuid_sub: sub(&p.to_string()),
                        })
                    })
                    .collect();
            }
        }
        Err(e) => {
            tracing::warn!("devids unknown ({e}); the MANIFEST names the survivors without them")
        }
    }
    println!("{}", missing_line(info));
}

/// "Missing member(s): devid 2; reading from /dev/sdb (devid 1)." Pure.
pub fn missing_line(info: &ArrayInfo) -> String {
    match info.missing_devids.as_slice() {
        [] => "No member is missing: the array is not degraded (copying anyway).".into(),
        ids => format!(
            "Missing member(s): devid {}; reading from {}.",
            ids.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            info.survivors
                .iter()
                .map(|s| format!(
                    "{} (devid {})",
                    s.path,
                    s.devid.map_or("?".into(), |d| d.to_string())
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}
