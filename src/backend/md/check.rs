//! md's integrity check (its "scrub"), as rules. Pure.
//!
//! checkarray's rules (Debian's /usr/share/mdadm/checkarray): only when `sync_action` is
//! `idle`; never on an auto-read-only array (writing `check` would make it writable); skip
//! arrays younger than 14 days unless forced (the initial resync just compared every block).
//! Write `check`, wait, read `mismatch_cnt`. Never `repair` automatically on RAID-1: md would
//! copy one side over the other without knowing which is right (it does not checksum).
//! A distribution that already schedules checks (Debian's `mdcheck_start.timer`, older
//! `/etc/cron.d/mdadm` running checkarray) is reported, and lnraid adds no second schedule.

use std::path::Path;

use super::probe::MdSysfs;

/// Arrays younger than this are not checked unless forced (checkarray's rule).
pub const MIN_AGE_SECS: u64 = 14 * 86_400;

/// Why the check must not run now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// Critical: a check on a degraded array compares nothing and stresses the survivor.
    Degraded,
    Busy(String),
    AutoReadOnly,
    TooYoung {
        days: u64,
    },
}

impl Skip {
    pub fn describe(&self) -> String {
        match self {
            Skip::Degraded => "the array is degraded: a check compares nothing and only stresses the last copy".into(),
            Skip::Busy(a) => format!("md is busy ({a}); checkarray runs only when sync_action is idle"),
            Skip::AutoReadOnly => "the array is auto-read-only; writing `check` would switch it to read-write (checkarray skips it too)".into(),
            Skip::TooYoung { days } => format!("the array is {days} days old; its initial resync compared every block (checkarray skips arrays younger than 14 days; --force checks anyway)"),
        }
    }
}

/// checkarray's rules on the array as sysfs shows it.
pub fn should_skip(s: &MdSysfs, age_secs: Option<u64>, force: bool) -> Option<Skip> {
    if s.degraded.unwrap_or(0) > 0 {
        return Some(Skip::Degraded);
    }
    match s.sync_action.as_deref() {
        Some("idle") | None => {}
        Some(a) => return Some(Skip::Busy(a.into())),
    }
    if s.array_state.as_deref() == Some("read-auto") {
        return Some(Skip::AutoReadOnly);
    }
    match age_secs {
        Some(a) if a < MIN_AGE_SECS && !force => Some(Skip::TooYoung { days: a / 86_400 }),
        _ => None,
    }
}

/// The distribution's own md check schedule under `root` (`/` on a real machine), in words.
pub fn distro_schedule(root: &Path) -> Option<String> {
    for unit in [
        "lib/systemd/system/mdcheck_start.timer",
        "usr/lib/systemd/system/mdcheck_start.timer",
    ] {
        if root.join(unit).is_file() {
            return Some(format!("/{unit} (Debian's mdcheck timer)"));
        }
    }
    let cron = root.join("etc/cron.d/mdadm");
    let text = std::fs::read_to_string(&cron).ok()?;
    text.lines()
        .any(|l| !l.trim_start().starts_with('#') && l.contains("checkarray"))
        .then(|| "/etc/cron.d/mdadm (checkarray)".to_string())
}

/// `sync_speed_max` in KB/s from a `--limit` like `50M` (bytes per second).
pub fn speed_limit_kib(limit: &str) -> Option<u64> {
    crate::types::Bytes::parse_human(limit).map(|b| (b.0 / 1024).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idle() -> MdSysfs {
        MdSysfs {
            sync_action: Some("idle".into()),
            array_state: Some("clean".into()),
            degraded: Some(0),
            ..MdSysfs::default()
        }
    }

    #[test]
    fn checkarray_rules() {
        let old = Some(30 * 86_400);
        assert_eq!(should_skip(&idle(), old, false), None);
        assert_eq!(
            should_skip(&idle(), Some(86_400), false),
            Some(Skip::TooYoung { days: 1 })
        );
        assert_eq!(should_skip(&idle(), Some(86_400), true), None);
        let mut s = idle();
        s.sync_action = Some("resync".into());
        assert_eq!(
            should_skip(&s, old, true),
            Some(Skip::Busy("resync".into()))
        );
        let mut s = idle();
        s.array_state = Some("read-auto".into());
        assert_eq!(should_skip(&s, old, true), Some(Skip::AutoReadOnly));
        let mut s = idle();
        s.degraded = Some(1);
        assert_eq!(should_skip(&s, old, true), Some(Skip::Degraded));
        assert_eq!(speed_limit_kib("50M"), Some(51_200));
    }

    #[test]
    fn debian_schedules_are_detected() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(distro_schedule(d.path()), None);
        std::fs::create_dir_all(d.path().join("etc/cron.d")).unwrap();
        std::fs::write(
            d.path().join("etc/cron.d/mdadm"),
            "#57 0 * * 0 root checkarray --all\n",
        )
        .unwrap();
        assert_eq!(
            distro_schedule(d.path()),
            None,
            "a commented line schedules nothing"
        );
        std::fs::write(d.path().join("etc/cron.d/mdadm"), "57 0 * * 0 root if [ -x /usr/share/mdadm/checkarray ]; then /usr/share/mdadm/checkarray --cron --all; fi\n").unwrap();
        assert!(distro_schedule(d.path()).unwrap().contains("checkarray"));
        std::fs::create_dir_all(d.path().join("lib/systemd/system")).unwrap();
        std::fs::write(
            d.path().join("lib/systemd/system/mdcheck_start.timer"),
            "[Timer]\n",
        )
        .unwrap();
        assert!(distro_schedule(d.path()).unwrap().contains("mdcheck"));
    }
}
