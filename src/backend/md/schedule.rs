//! `lnraid schedule` and md: Debian already schedules md checks (the `mdcheck_*` timers, or
//! `/etc/cron.d/mdadm` running checkarray with `AUTOCHECK=true`); a second schedule would run
//! two full checks a month and collide with the first (checkarray only starts on an idle
//! array, so lnraid's would be skipped half the time — or Debian's would). So an md array
//! whose checks the distribution schedules gets no lnraid job at all (its `balance` job does
//! nothing on md either), and the operator is told which schedule covers it.
//! Read-only (the detection in [`super::check`]).

use std::path::Path;

use super::check::{probe_distro_check, DistroCheck};
use crate::backend::{detect, DetectCtx, Located};
use crate::exec::Runner;
use crate::schedule::ScheduledArray;

/// `arrays` without the md ones the distribution already checks, and a note for each left
/// out. `fstab_text` decides the backend (its lines' types); `root` is `/` on a machine.
pub fn leave_to_distro(
    runner: &dyn Runner,
    arrays: Vec<ScheduledArray>,
    fstab_text: &str,
    root: &Path,
    systemd: bool,
) -> (Vec<ScheduledArray>, Vec<String>) {
    let ctx = DetectCtx {
        fstab_text: fstab_text.to_string(),
        sys_root: root.join("sys"),
    };
    let is_md = |a: &ScheduledArray| {
        matches!(
            detect(runner, &ctx, Some(&a.uuid), &a.mountpoint),
            Located::Md { .. }
        )
    };
    if !arrays.iter().any(is_md) {
        return (arrays, Vec::new());
    }
    let Some(distro) = probe_distro_check(runner, root, systemd) else {
        return (arrays, Vec::new());
    };
    let (md, kept): (Vec<_>, Vec<_>) = arrays.into_iter().partition(is_md);
    let notes = md.iter().map(|a| note(a, &distro)).collect();
    (kept, notes)
}

fn note(a: &ScheduledArray, d: &DistroCheck) -> String {
    format!(
        "md array {} ({}): the distribution already schedules its check — {}; lnraid adds no check job for it (a second one would collide). `lnraid status` still warns when the last check is stale.",
        a.mountpoint.display(),
        a.uuid,
        d.describe()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::FakeRunner;
    use crate::types::FsUuid;

    const U_MD: &str = "0b6c5f0e-7a38-4a5e-9b7f-4f3b0f2d9c11";
    const U_BTRFS: &str = "5d1e0f0a-1111-4222-8333-944445555666";

    fn arrays() -> Vec<ScheduledArray> {
        [(U_MD, "/mnt/md"), (U_BTRFS, "/mnt/b")]
            .iter()
            .map(|(u, m)| ScheduledArray {
                uuid: FsUuid::parse(u).unwrap(),
                mountpoint: (*m).into(),
            })
            .collect()
    }

    fn fstab() -> String {
        format!(
            "UUID={U_MD} /mnt/md ext4 defaults,nofail 0 2 # lnraid-managed\nUUID={U_BTRFS} /mnt/b btrfs defaults,nofail 0 0 # lnraid-managed\n"
        )
    }

    #[test]
    fn md_array_checked_by_debians_cron_gets_no_lnraid_job_btrfs_keeps_its_own() {
        let root = tempfile::tempdir().unwrap();
        let runner = FakeRunner::new();
        // No distribution schedule: both stay.
        let (kept, notes) = leave_to_distro(&runner, arrays(), &fstab(), root.path(), false);
        assert_eq!(kept.len(), 2);
        assert!(notes.is_empty());
        for (f, text) in [
            (
                "etc/cron.d/mdadm",
                include_str!("../../../fixtures/mdadm-distro/4.2-5-cron.d-mdadm.txt"),
            ),
            (
                "etc/default/mdadm",
                include_str!("../../../fixtures/mdadm-distro/4.2-5-default-mdadm.txt"),
            ),
        ] {
            let p = root.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let (kept, notes) = leave_to_distro(&runner, arrays(), &fstab(), root.path(), false);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].mountpoint, Path::new("/mnt/b"));
        assert_eq!(notes.len(), 1);
        assert!(
            notes[0].contains("/mnt/md") && notes[0].contains("checkarray"),
            "{}",
            notes[0]
        );
    }

    #[test]
    fn btrfs_only_machine_never_asks_about_md_schedules() {
        let root = tempfile::tempdir().unwrap();
        // A runner with no replies: any command would be an error, and none is run.
        let runner = FakeRunner::new();
        let only_btrfs: Vec<_> = arrays().into_iter().skip(1).collect();
        let (kept, _) = leave_to_distro(&runner, only_btrfs, &fstab(), root.path(), true);
        assert_eq!(kept.len(), 1);
        assert!(runner.lines().is_empty(), "{:?}", runner.lines());
    }
}
