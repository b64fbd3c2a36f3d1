//! The answer to "if this disk died, or this machine burned, what would I still have?":
//! counts the strategies whose findings say they hold the latest channel state on another
//! disk, and on another machine. Pure over the other strategies' findings.

use super::sources::GUIDE_INTRO;
use super::{Finding, Severity, Strategy};

fn has(findings: &[Finding], s: Strategy, check: &str, sev: Severity) -> bool {
    findings
        .iter()
        .any(|f| f.strategy == s && f.check == check && f.severity == sev)
}

fn clean(findings: &[Finding], s: Strategy) -> bool {
    let mine: Vec<&Finding> = findings.iter().filter(|f| f.strategy == s).collect();
    !mine.is_empty() && mine.iter().all(|f| f.severity <= Severity::Info)
}

pub fn summarize(findings: &[Finding]) -> Finding {
    let mut disk = Vec::new();
    let mut machine = Vec::new();
    if has(findings, Strategy::Lnraid, "array_health", Severity::Ok) {
        disk.push("lnraid RAID-1");
    }
    let replica_ok = has(
        findings,
        Strategy::WalletReplica,
        "configured",
        Severity::Ok,
    ) && !findings
        .iter()
        .any(|f| f.strategy == Strategy::WalletReplica && f.severity >= Severity::High);
    if replica_ok {
        disk.push("--wallet replica");
        if has(findings, Strategy::WalletReplica, "storage", Severity::Ok) {
            machine.push("--wallet replica on NFSv4");
        }
    }
    if has(
        findings,
        Strategy::BackupPlugin,
        "target_device",
        Severity::Ok,
    ) && !findings
        .iter()
        .any(|f| f.strategy == Strategy::BackupPlugin && f.severity >= Severity::High)
    {
        disk.push("backup plugin");
    }
    if clean(findings, Strategy::Postgresql)
        && has(
            findings,
            Strategy::Postgresql,
            "pg_stat_replication",
            Severity::Ok,
        )
    {
        disk.push("PostgreSQL synchronous standby");
        machine.push("PostgreSQL synchronous standby");
    }
    let (sev, ev, fix) = if disk.is_empty() {
        (
            Severity::High,
            "no strategy keeps the latest channel state on another disk: if this disk dies, the channel funds are at the peers' mercy".to_string(),
            "use at least one: `lnraid setup` (RAID-1), or a --wallet replica on another disk (ideally NFSv4)",
        )
    } else if machine.is_empty() {
        (
            Severity::Info,
            format!(
                "a disk failure is covered ({}); a fire or theft of this machine is not",
                disk.join(", ")
            ),
            "add an off-machine copy: a --wallet replica on a remote NFSv4 mount",
        )
    } else {
        (
            Severity::Ok,
            format!(
                "another disk: {}; another machine: {}",
                disk.join(", "),
                machine.join(", ")
            ),
            "",
        )
    };
    Finding::new(Strategy::Summary, "coverage", sev, ev, fix, GUIDE_INTRO)
}
