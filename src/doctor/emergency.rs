//! `emergency.recover`: the static channel backup lightningd (>= 0.12) keeps in
//! `$LIGHTNINGDIR` and rewrites on every channel change. Doctor checks it is there, not empty,
//! and not older than the database was created; it cannot know the last channel change
//! without reading the database, so freshness is reported by mtime only. Read-only.

use std::path::Path;

use super::discover::Node;
use super::sources::EMERGENCY_RECOVER;
use super::{Finding, Severity, Strategy};

fn f(check: &'static str, sev: Severity, ev: String, fix: &str) -> Finding {
    Finding::new(
        Strategy::EmergencyRecover,
        check,
        sev,
        ev,
        fix,
        EMERGENCY_RECOVER,
    )
}

fn age(p: &Path) -> Option<u64> {
    let m = std::fs::metadata(p).and_then(|m| m.modified()).ok()?;
    std::time::SystemTime::now()
        .duration_since(m)
        .ok()
        .map(|d| d.as_secs())
}

pub fn check(node: &Node) -> Vec<Finding> {
    let path = node.dir.join("emergency.recover");
    let channels = node.rpc.info.as_ref().map(|i| i.channels);
    let meta = match std::fs::metadata(&path) {
        Ok(m) => m,
        Err(_) => {
            let sev = if channels.unwrap_or(1) > 0 {
                Severity::Warn
            } else {
                Severity::Info
            };
            return vec![f(
                "present",
                sev,
                format!("{} is missing{}", path.display(), channels.map(|c| format!(" ({c} channels)")).unwrap_or_default()),
                "upgrade to lightningd >= 0.12 (it writes the file), and copy it off the machine after each channel open",
            )];
        }
    };
    if meta.len() == 0 {
        return vec![f(
            "present",
            Severity::Warn,
            format!("{} is empty", path.display()),
            "restart lightningd to rewrite it",
        )];
    }
    let mut out = vec![f(
        "present",
        Severity::Ok,
        format!(
            "{} ({} bytes, modified {} s ago)",
            path.display(),
            meta.len(),
            age(&path)
                .map(|a| a.to_string())
                .unwrap_or_else(|| "?".into())
        ),
        "",
    )];
    if node.rpc.info.as_ref().is_some_and(|i| i.channels > 0) {
        out.push(f(
            "offsite",
            Severity::Info,
            "doctor cannot see whether a copy of emergency.recover is kept off this machine".into(),
            "copy emergency.recover off the machine after every channel open",
        ));
    }
    out
}
