//! `lnraid doctor`: a read-only audit of every backup strategy in Core Lightning's backup
//! guide (the `--wallet` replica, the `backup` plugin, filesystem redundancy via lnraid,
//! PostgreSQL replication, Litestream, file copies) plus `hsm_secret` and `emergency.recover`.
//!
//! Each strategy lives in its own file and turns facts into [`Finding`]s; `app::doctor`
//! gathers and prints them. What this module may not do: change anything, or open the live
//! database or the `--wallet` replica with SQLite (a viewer on the replica crashed lightningd:
//! lightning#5380; any SHARED lock blocks its commits). Database facts come from a plain read
//! of the 100-byte header ([`header`]), never from SQLite. Processes (lightning-cli, psql,
//! lightning-hsmtool) start only through `exec::Runner`, each under a timeout.

pub mod backup_plugin;
pub mod confile;
pub mod discover;
pub mod disks;
pub mod emergency;
pub mod files;
pub mod header;
pub mod hsm;
pub mod litestream;
pub mod lnraid;
pub mod postgres;
pub mod render;
pub mod rpc;
pub mod sources;
pub mod summary;
pub mod wallet;

use serde::Serialize;

/// Version of the `doctor --json` document (schemas/doctor.schema.json); bumped on
/// incompatible changes.
pub const DOCTOR_JSON_VERSION: u32 = 1;

/// How bad a finding is. Ordered: the report's verdict is the maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Checked and fine.
    Ok,
    /// Worth knowing; nothing to fix.
    Info,
    /// A weakness: fix when convenient.
    Warn,
    /// A failure of one disk or one machine can lose channel funds, or a strategy is broken.
    High,
    /// Broken now (lightningd will fail or die), or doctor could not check.
    Error,
}

impl Severity {
    /// The exit code of `lnraid doctor` (README "lnraid doctor"): 0 ok/info, 1 warn,
    /// 2 high, 3 error.
    pub fn exit_code(self) -> i32 {
        match self {
            Severity::Ok | Severity::Info => 0,
            Severity::Warn => 1,
            Severity::High => 2,
            Severity::Error => 3,
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Severity::Ok => "ok",
            Severity::Info => "info",
            Severity::Warn => "warn",
            Severity::High => "high",
            Severity::Error => "error",
        }
    }
}

/// The strategies of the guide, plus the node's secrets. Output is grouped in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    Discovery,
    Lnraid,
    WalletReplica,
    BackupPlugin,
    Postgresql,
    Litestream,
    HsmSecret,
    EmergencyRecover,
    FileBackups,
    Summary,
}

impl Strategy {
    pub fn title(self) -> &'static str {
        match self {
            Strategy::Discovery => "discovery",
            Strategy::Lnraid => "filesystem redundancy (lnraid)",
            Strategy::WalletReplica => "--wallet replica",
            Strategy::BackupPlugin => "backup plugin",
            Strategy::Postgresql => "PostgreSQL replication",
            Strategy::Litestream => "Litestream",
            Strategy::HsmSecret => "hsm_secret",
            Strategy::EmergencyRecover => "emergency.recover",
            Strategy::FileBackups => "file backups",
            Strategy::Summary => "summary",
        }
    }
}

/// One checked fact: what, how bad, the evidence seen, what to do, and why (the guide
/// section or upstream issue behind it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub strategy: Strategy,
    /// Stable identifier within the strategy (`same_disk`, `no_lock`, ...).
    pub check: &'static str,
    pub severity: Severity,
    pub evidence: String,
    /// Empty when there is nothing to do.
    pub fix: String,
    pub source: &'static str,
}

impl Finding {
    pub fn new(
        strategy: Strategy,
        check: &'static str,
        severity: Severity,
        evidence: impl Into<String>,
        fix: impl Into<String>,
        source: &'static str,
    ) -> Finding {
        Finding {
            strategy,
            check,
            severity,
            evidence: evidence.into(),
            fix: fix.into(),
            source,
        }
    }
}

/// The highest severity among `findings` (ok when there are none).
pub fn verdict(findings: &[Finding]) -> Severity {
    findings
        .iter()
        .map(|f| f.severity)
        .max()
        .unwrap_or(Severity::Ok)
}

/// Findings sorted by strategy (stable within one strategy: the order checks ran).
pub fn grouped(mut findings: Vec<Finding>) -> Vec<Finding> {
    findings.sort_by_key(|f| f.strategy);
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_is_the_maximum_and_exit_codes_follow() {
        let f = |s| Finding::new(Strategy::Summary, "x", s, "", "", sources::GUIDE_INTRO);
        assert_eq!(verdict(&[]), Severity::Ok);
        assert_eq!(
            verdict(&[f(Severity::Info), f(Severity::Ok)]).exit_code(),
            0
        );
        assert_eq!(
            verdict(&[f(Severity::Warn), f(Severity::Info)]).exit_code(),
            1
        );
        assert_eq!(
            verdict(&[f(Severity::High), f(Severity::Warn)]).exit_code(),
            2
        );
        assert_eq!(
            verdict(&[f(Severity::High), f(Severity::Error)]).exit_code(),
            3
        );
    }
}
