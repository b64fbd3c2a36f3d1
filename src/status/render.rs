//! Human output of `lnraid status`: one verdict line, then per array its mount, members,
//! space, profiles, operations and each problem with its action. Rendered from the status
//! document ([`super::doc`]), so text and JSON never disagree and no Rust Debug name (or
//! hundredths of a percent) reaches a person. Sanitized by the caller.

use std::fmt::Write as _;

use super::doc::{ArrayDoc, CheckState, MemberState, OperationKind, OperationState, ReadOnlyCause};

use super::{ArrayStatus, Severity};
use crate::types::Bytes;

pub fn render(arrays: &[ArrayStatus], overall: Severity) -> String {
    let docs: Vec<ArrayDoc> = arrays.iter().map(crate::backend::to_doc).collect();
    render_docs(&docs, overall)
}

/// Status could not judge at all: say why, and that this is UNKNOWN (exit 3).
pub fn render_error(error: &str) -> String {
    format!("lnraid status: UNKNOWN\n  lnraid could not check the arrays: {error}\n")
}

pub fn render_docs(arrays: &[ArrayDoc], overall: Severity) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "lnraid status: {}", overall.word().to_uppercase());
    if arrays.is_empty() {
        let _ = writeln!(o, "no lnraid array found (no `# lnraid-managed` line in the fstab); name a mountpoint to check one");
    }
    for a in arrays {
        array(&mut o, a);
    }
    o
}

fn array(o: &mut String, a: &ArrayDoc) {
    let uuid = a.uuid.as_deref().unwrap_or("?");
    let _ = writeln!(o, "\n{} ({uuid}): {}", a.mountpoint, a.verdict.word());
    match &a.mount {
        Some(m) => {
            let ro = match m.read_only_cause {
                Some(ReadOnlyCause::Kernel) => ", READ-ONLY (forced by the kernel)",
                Some(_) => ", READ-ONLY",
                None => "",
            };
            let _ = writeln!(o, "  mounted at {} ({}){ro}", m.at, m.options.join(","));
        }
        None => {
            let _ = writeln!(o, "  not mounted");
        }
    }
    if let Some(level) = &a.redundancy.level {
        let r = &a.redundancy;
        let expected = r
            .members_expected
            .map(|n| format!(" of {n}"))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "  {level}: {} member(s) present{expected}, {} missing",
            r.members_present, r.members_missing
        );
    }
    for m in &a.members {
        let state = match m.state {
            MemberState::Present => "present",
            MemberState::Missing => "MISSING",
            MemberState::Faulty => "FAULTY",
            MemberState::Spare => "spare",
            MemberState::Rebuilding => "rebuilding",
            MemberState::ReplaceTarget => "replace target",
        };
        let size = m
            .size_bytes
            .map(|b| format!(" {}", Bytes(b)))
            .unwrap_or_default();
        let errs = m
            .errors
            .as_ref()
            .map(|e| format!(", {} errors", e.values().sum::<u64>()))
            .unwrap_or_default();
        let path = m.path.as_deref().unwrap_or("-");
        let _ = writeln!(o, "  devid {} {path}{size} {state}{errs}", m.id);
    }
    if let Some(s) = &a.space {
        let _ = writeln!(
            o,
            "  space: {} used, {} free ({}% used), {} unallocated",
            Bytes(s.used_bytes),
            Bytes(s.free_bytes),
            s.used_percent,
            Bytes(s.unallocated_bytes.unwrap_or(0))
        );
    }
    if let Some(b) = &a.btrfs {
        let want = b.expected_profile.as_deref().unwrap_or("?");
        let list: Vec<String> = b
            .block_groups
            .iter()
            .map(|g| format!("{} {} {}", g.kind, g.profile, Bytes(g.total_bytes)))
            .collect();
        let _ = writeln!(o, "  profiles (want {want}): {}", list.join("; "));
    }
    if let Some(c) = &a.last_check {
        let state = match c.state {
            CheckState::NeverRun => "never run",
            CheckState::Running => "running",
            CheckState::Finished => "finished",
            CheckState::Aborted => "aborted",
            CheckState::Interrupted => "interrupted",
        };
        let when = c.finished_at.map(|t| format!(" {t}")).unwrap_or_default();
        let _ = writeln!(
            o,
            "  {}: {state}{when}, {} corrected, {} uncorrectable",
            c.kind,
            c.corrected_errors.unwrap_or(0),
            c.uncorrectable_errors.unwrap_or(0)
        );
    }
    // hotcopy: the newest snapshot's and backup's age.
    for line in a.hot_copies.iter().flat_map(super::hotcopy::render_lines) {
        let _ = writeln!(o, "  {line}");
    }
    for op in &a.operations {
        let kind = match op.kind {
            OperationKind::Replace => "replace",
            OperationKind::Balance => "balance",
            OperationKind::Scrub => "scrub",
            OperationKind::Resync => "resync",
            OperationKind::Recovery => "recovery",
            OperationKind::Check => "check",
            OperationKind::Repair => "repair",
            OperationKind::Reshape => "reshape",
        };
        let state = match op.state {
            OperationState::Running => "running",
            OperationState::Paused => "paused",
            OperationState::Suspended => "suspended",
            OperationState::Pending => "pending",
        };
        let pct = op
            .percent
            .map(|p| format!(", {p}% done"))
            .unwrap_or_default();
        let detail = op
            .detail
            .as_deref()
            .map(|d| format!(" ({d})"))
            .unwrap_or_default();
        let _ = writeln!(o, "  {kind}: {state}{pct}{detail}");
    }
    for p in &a.problems {
        let word = match p.severity {
            Severity::Ok => "info",
            s => s.word(),
        };
        let _ = writeln!(o, "  [{word}] {}\n      -> {}", p.message, p.action);
    }
}
