//! Human output of `lnraid status`: one verdict line, then per array its members, profiles,
//! operations and each problem with its action. Sanitized by the caller.

use std::fmt::Write as _;

use super::{expected_profile, ArrayStatus, Severity};
use crate::types::Bytes;

pub fn render(arrays: &[ArrayStatus], overall: Severity) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "lnraid status: {}", overall.word().to_uppercase());
    if arrays.is_empty() {
        let _ = writeln!(o, "no lnraid array found (no `# lnraid-managed` line in the fstab); name a mountpoint to check one");
    }
    for a in arrays {
        let f = &a.facts;
        let uuid = f
            .uuid
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_else(|| "?".into());
        let _ = writeln!(
            o,
            "\n{} ({uuid}): {}",
            f.mountpoint.display(),
            a.verdict.word()
        );
        match &f.mounted_at {
            Some(at) => {
                let _ = writeln!(
                    o,
                    "  mounted at {} ({})",
                    at.display(),
                    f.mount_options.as_deref().unwrap_or("")
                );
            }
            None => {
                let _ = writeln!(o, "  not mounted");
            }
        }
        if let Some(show) = &f.show {
            for d in &show.devices {
                let errs = f
                    .stats
                    .iter()
                    .flatten()
                    .find(|s| {
                        s.devid == Some(d.devid) || (s.device.is_some() && s.device == d.path)
                    })
                    .map(|s| format!(", {} errors", s.total_errors()))
                    .unwrap_or_default();
                let path = d
                    .path
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_else(|| "-".into());
                let state = if d.missing { "MISSING" } else { "present" };
                let _ = writeln!(o, "  devid {} {path} {} {state}{errs}", d.devid, d.size);
            }
            for devid in show
                .missing_devids()
                .iter()
                .filter(|i| !show.devices.iter().any(|d| d.devid == **i))
            {
                let _ = writeln!(o, "  devid {devid} MISSING");
            }
        }
        if let Some(groups) = &f.df {
            let want = expected_profile(f)
                .map(|p| p.to_string())
                .unwrap_or_default();
            let list: Vec<String> = groups
                .iter()
                .map(|g| format!("{:?} {} {}", g.kind, g.profile, Bytes(g.total.0)))
                .collect();
            let _ = writeln!(o, "  profiles (want {want}): {}", list.join("; "));
        }
        if let Some(s) = &f.scrub {
            let pct = s.percent.map(|p| format!(" {p}")).unwrap_or_default();
            let _ = writeln!(
                o,
                "  scrub: {:?}{pct}, {} corrected, {} uncorrectable",
                s.state, s.errors.corrected, s.errors.uncorrectable
            );
        }
        if let Some(b) = f.balance.as_ref().filter(|b| b.is_active()) {
            let _ = writeln!(o, "  balance: {b:?}");
        }
        if let Some(r) = f.replace.as_ref().filter(|r| r.is_running()) {
            let _ = writeln!(o, "  replace: {:?}", r.state);
        }
        for p in &a.problems {
            let _ = writeln!(
                o,
                "  [{}] {}\n      -> {}",
                p.severity.word(),
                p.message,
                p.action
            );
        }
    }
    o
}
