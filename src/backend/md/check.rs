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

/// Debian's md check timers (mdadm ≥ 4.1; `mdcheck_continue` resumes a check cut off by
/// `MDADM_CHECK_DURATION`).
pub const TIMERS: [&str; 2] = ["mdcheck_start.timer", "mdcheck_continue.timer"];
/// Debian's cron file that runs checkarray (the older way, still shipped by 4.2-5).
pub const CRON_D: &str = "etc/cron.d/mdadm";
/// Debian's settings file checkarray `--cron` sources (`AUTOCHECK`).
pub const DEFAULT_FILE: &str = "etc/default/mdadm";

/// How the distribution already schedules md checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DistroCheck {
    /// These of [`TIMERS`] are enabled.
    Timers(Vec<String>),
    /// `/etc/cron.d/mdadm` runs checkarray, and checkarray will act: `AUTOCHECK` is true in
    /// `/etc/default/mdadm`, or the line runs it without `--cron` (which ignores AUTOCHECK).
    Cron { line: String },
}

impl DistroCheck {
    pub fn describe(&self) -> String {
        match self {
            DistroCheck::Timers(t) => {
                format!("Debian's systemd timers {} are enabled", t.join(", "))
            }
            DistroCheck::Cron { .. } => {
                "/etc/cron.d/mdadm runs checkarray (AUTOCHECK=true in /etc/default/mdadm)".into()
            }
        }
    }
}

/// The active cron line of `/etc/cron.d/mdadm` (its text) that runs checkarray. Pure.
pub fn parse_cron_d(text: &str) -> Option<&str> {
    text.lines()
        .map(str::trim)
        .find(|l| !l.starts_with('#') && l.contains("checkarray"))
}

/// `AUTOCHECK` as checkarray reads it from `/etc/default/mdadm` (a shell file it sources):
/// the last assignment wins, quotes stripped, `yes|y|1|true|t` (either case of the first
/// letter) is true; unset is false (checkarray's `${AUTOCHECK:-false}`). Pure.
pub fn parse_autocheck(default_mdadm: Option<&str>) -> bool {
    let value = default_mdadm
        .into_iter()
        .flat_map(str::lines)
        .filter_map(|l| l.trim().strip_prefix("AUTOCHECK="))
        .next_back()
        .map(|v| {
            v.split('#')
                .next()
                .unwrap_or("")
                .trim()
                .trim_matches(['"', '\''])
        });
    matches!(
        value,
        Some("yes" | "Yes" | "y" | "Y" | "1" | "true" | "True" | "t" | "T")
    )
}

/// `systemctl is-enabled UNIT…` prints one state per unit, in order: the enabled ones.
/// Pure.
pub fn parse_is_enabled(stdout: &str, units: &[&str]) -> Vec<String> {
    stdout
        .lines()
        .zip(units)
        .filter(|(state, _)| matches!(state.trim(), "enabled" | "enabled-runtime"))
        .map(|(_, u)| u.to_string())
        .collect()
}

/// The verdict from what was read: enabled timers first (the modern way), else an active
/// cron line that will act. Pure.
pub fn judge(
    enabled_timers: Vec<String>,
    cron_d: Option<&str>,
    default_mdadm: Option<&str>,
) -> Option<DistroCheck> {
    if !enabled_timers.is_empty() {
        return Some(DistroCheck::Timers(enabled_timers));
    }
    let line = cron_d.and_then(parse_cron_d)?;
    // `checkarray --cron` exits at once unless AUTOCHECK is true; without --cron it checks.
    let acts = !line.contains("--cron") || parse_autocheck(default_mdadm);
    acts.then(|| DistroCheck::Cron { line: line.into() })
}

/// Timers enabled by an `[Install]` symlink under `root/etc/systemd/system/*.wants/` (how
/// `systemctl enable` records it; readable without a running systemd).
fn wanted_timers(root: &Path) -> Vec<String> {
    let dir = root.join("etc/systemd/system");
    let wants: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "wants"))
        .collect();
    TIMERS
        .iter()
        .filter(|t| wants.iter().any(|w| w.join(t).exists()))
        .map(|t| t.to_string())
        .collect()
}

/// Reads the distribution's md check schedule under `root` (`/` on a real machine): the
/// timers as `systemctl is-enabled` reports them when `systemd` runs (else by their
/// `.wants` links), `/etc/cron.d/mdadm`, `/etc/default/mdadm`. Read-only.
pub fn probe_distro_check(
    runner: &dyn crate::exec::Runner,
    root: &Path,
    systemd: bool,
) -> Option<DistroCheck> {
    let timers = if systemd {
        let cmd = crate::exec::Cmd::read_only("systemctl", ["is-enabled"]).args_from(TIMERS);
        // Exits non-zero when none is enabled (or a unit is unknown): the states still print.
        runner
            .output(&cmd)
            .map(|o| parse_is_enabled(&o.stdout, &TIMERS))
            .unwrap_or_default()
    } else {
        wanted_timers(root)
    };
    let cron = std::fs::read_to_string(root.join(CRON_D)).ok();
    let default = std::fs::read_to_string(root.join(DEFAULT_FILE)).ok();
    judge(timers, cron.as_deref(), default.as_deref())
}

/// The distribution's own md check schedule under `root`, in words, from files only (the
/// `.wants` links, cron.d, default): what `maintain check` notes.
pub fn distro_schedule(root: &Path) -> Option<String> {
    let cron = std::fs::read_to_string(root.join(CRON_D)).ok();
    let default = std::fs::read_to_string(root.join(DEFAULT_FILE)).ok();
    judge(wanted_timers(root), cron.as_deref(), default.as_deref()).map(|d| d.describe())
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

    const CRON_D_4_2: &str = include_str!("../../../fixtures/mdadm-distro/4.2-5-cron.d-mdadm.txt");
    const DEFAULT_4_2: &str =
        include_str!("../../../fixtures/mdadm-distro/4.2-5-default-mdadm.txt");

    #[test]
    fn debians_cron_d_with_autocheck_true_schedules_checks() {
        let line = parse_cron_d(CRON_D_4_2).expect("the checkarray line");
        assert!(line.starts_with("57 0 * * 0 root if [ -x /usr/share/mdadm/checkarray ]"));
        assert!(parse_autocheck(Some(DEFAULT_4_2)));
        assert!(matches!(
            judge(vec![], Some(CRON_D_4_2), Some(DEFAULT_4_2)),
            Some(DistroCheck::Cron { .. })
        ));
    }

    #[test]
    fn autocheck_false_or_missing_means_checkarray_cron_does_nothing() {
        let off = DEFAULT_4_2.replace("AUTOCHECK=true", "AUTOCHECK=false");
        assert!(!parse_autocheck(Some(&off)));
        assert_eq!(judge(vec![], Some(CRON_D_4_2), Some(&off)), None);
        // checkarray's `${AUTOCHECK:-false}`: no file, no check.
        assert_eq!(judge(vec![], Some(CRON_D_4_2), None), None);
        // Quoted, and the last assignment wins (the file is sourced).
        assert!(parse_autocheck(Some(
            "AUTOCHECK=false\nAUTOCHECK=\"yes\"\n"
        )));
        assert!(!parse_autocheck(Some("#AUTOCHECK=true\n")));
        // Without --cron, checkarray ignores AUTOCHECK and checks.
        let plain = "0 1 * * 0 root /usr/share/mdadm/checkarray --all --idle\n";
        assert!(judge(vec![], Some(plain), Some(&off)).is_some());
        // A commented-out line schedules nothing.
        let commented: String = CRON_D_4_2
            .lines()
            .map(|l| {
                if l.starts_with("57") {
                    format!("#{l}")
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(parse_cron_d(&commented), None);
    }

    #[test]
    fn enabled_mdcheck_timers_win_over_cron() {
        let out = "enabled\nenabled\n";
        let t = parse_is_enabled(out, &TIMERS);
        assert_eq!(t, vec!["mdcheck_start.timer", "mdcheck_continue.timer"]);
        assert!(parse_is_enabled("disabled\ndisabled\n", &TIMERS).is_empty());
        assert_eq!(
            parse_is_enabled("enabled\ndisabled\n", &TIMERS),
            vec!["mdcheck_start.timer"]
        );
        assert!(matches!(
            judge(t, Some(CRON_D_4_2), None),
            Some(DistroCheck::Timers(_))
        ));
    }

    #[test]
    fn files_under_a_root_are_read_and_a_wants_link_counts_as_enabled() {
        let d = tempfile::tempdir().unwrap();
        let runner = crate::exec::FakeRunner::new();
        assert_eq!(probe_distro_check(&runner, d.path(), false), None);
        std::fs::create_dir_all(d.path().join("etc/cron.d")).unwrap();
        std::fs::create_dir_all(d.path().join("etc/default")).unwrap();
        std::fs::write(d.path().join(CRON_D), CRON_D_4_2).unwrap();
        assert_eq!(probe_distro_check(&runner, d.path(), false), None);
        std::fs::write(d.path().join(DEFAULT_FILE), DEFAULT_4_2).unwrap();
        assert!(distro_schedule(d.path()).unwrap().contains("checkarray"));
        let wants = d.path().join("etc/systemd/system/mdmonitor.service.wants");
        std::fs::create_dir_all(&wants).unwrap();
        std::os::unix::fs::symlink(
            "/lib/systemd/system/mdcheck_start.timer",
            wants.join("mdcheck_start.timer"),
        )
        .unwrap();
        assert_eq!(
            probe_distro_check(&runner, d.path(), false),
            Some(DistroCheck::Timers(vec!["mdcheck_start.timer".into()]))
        );
    }

    #[test]
    fn systemctl_is_enabled_is_asked_when_systemd_runs() {
        let d = tempfile::tempdir().unwrap();
        let runner = crate::exec::FakeRunner::new();
        runner.reply_line(
            "systemctl is-enabled mdcheck_start.timer mdcheck_continue.timer",
            "enabled\nenabled\n",
        );
        assert!(matches!(
            probe_distro_check(&runner, d.path(), true),
            Some(DistroCheck::Timers(t)) if t.len() == 2
        ));
    }
}
