//! The executor's mechanics of the md backend's actions ([`MdAction`]). Each one first looks
//! (read-only `mdadm --detail --export` / `mdadm --examine`) and acts only on what is
//! provably lnraid's own array, so repeating it is safe: a stopped array is not stopped
//! again, a zeroed member is left, an assembled array is not assembled twice. Nothing here
//! decides whether a step may run — the step's checks (re-proof of the members) did.

use std::path::Path;

use anyhow::{bail, Result};

use super::Walker;
use crate::backend::md::action::{assemble_cmd, stop_cmd, zero_cmd, MdAction};
use crate::backend::md::probe::list_arrays;
use crate::exec::Runner;
use crate::probe::mdadm::{detail_export_cmd, examine_cmd, parse_detail_export, parse_examine};
use crate::types::DevPath;

pub fn apply(w: &Walker, a: &MdAction) -> Result<()> {
    match a {
        MdAction::Stop { array, md_uuid } => {
            for dev in running_with(w.runner, array, Path::new("/sys"), md_uuid) {
                w.runner.run_ok(&stop_cmd(&dev.to_string()))?;
                say(&format!("stopped md array {dev} (UUID {md_uuid})"));
            }
        }
        MdAction::ZeroOwn { device, md_uuid } => zero_own(w.runner, device, md_uuid)?,
        MdAction::Assemble {
            array,
            md_uuid,
            members,
        } => {
            if running_with(w.runner, array, Path::new("/sys"), md_uuid).is_empty() {
                w.runner.run_ok(&assemble_cmd(array, md_uuid, members))?;
                say(&format!("assembled {array} (UUID {md_uuid})"));
            }
        }
        MdAction::ConfRemove {
            path,
            lines,
            md_uuid,
        } => crate::backend::md::conf::apply_remove(path, lines, md_uuid)?,
    }
    Ok(())
}

fn same_uuid(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// The assembled md arrays whose md UUID is `md_uuid`: `array` (`/dev/md/lnraid`, the name
/// setup gave it) and every array sysfs lists (`/dev/md127`: a reboot may have assembled it
/// under another name), each asked `mdadm --detail --export` — by UUID, never by name alone.
pub fn running_with(
    runner: &dyn Runner,
    array: &str,
    sys_root: &Path,
    md_uuid: &str,
) -> Vec<DevPath> {
    let named = DevPath::new(array);
    let by_name = std::fs::canonicalize(named.as_path()).ok();
    let mut candidates = vec![named.clone()];
    candidates.extend(
        list_arrays(sys_root)
            .into_iter()
            .map(|k| DevPath::new(format!("/dev/{k}")))
            // The named link resolves to one of these: ask once.
            .filter(|d| by_name.as_deref() != Some(d.as_path())),
    );
    candidates
        .into_iter()
        .filter(|dev| {
            runner
                .output(&detail_export_cmd(dev))
                .ok()
                .filter(|o| o.status.success())
                .and_then(|o| parse_detail_export(&o.stdout).ok())
                .and_then(|e| e.uuid)
                .is_some_and(|u| same_uuid(&u, md_uuid))
        })
        .collect()
}

/// Zeroes `device`'s md superblock only while it belongs to `md_uuid`; a device without an
/// md superblock is done; another array's member is refused.
fn zero_own(runner: &dyn Runner, device: &DevPath, md_uuid: &str) -> Result<()> {
    let out = runner.output(&examine_cmd(device))?;
    // `mdadm --examine` exits 1 with "No md superblock detected" on a blank device.
    let Ok(e) = parse_examine(&out.stdout) else {
        if out.status.success() {
            bail!(
                "{device}: `mdadm --examine` printed something lnraid cannot read; left untouched"
            );
        }
        return Ok(());
    };
    if !same_uuid(&e.array_uuid, md_uuid) {
        bail!(
            "{device}: carries an md superblock of array {}, not lnraid's {md_uuid} — left untouched",
            e.array_uuid
        );
    }
    runner.run_ok(&zero_cmd(device))?;
    say(&format!(
        "zeroed the md superblock of array {md_uuid} on {device} (it held only a copy)"
    ));
    Ok(())
}

fn say(s: &str) {
    tracing::info!("  {}", crate::ui::sanitize(s));
}
