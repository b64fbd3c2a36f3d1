//! The dry-run text of a plan: numbered steps, each tagged, with the literal command lines
//! (`$ ...`) and file changes. Paths and lines may hold operator-chosen strings; the caller
//! sanitizes the whole text before it reaches a terminal.

use std::fmt::Write as _;

use super::{Action, Plan, Tag};

pub fn render_plan(plan: &Plan) -> String {
    let mut out = format!("{}\n", plan.title);
    for (i, s) in plan.steps.iter().enumerate() {
        let tag = match s.tag {
            Tag::Destructive => "DESTRUCTIVE",
            Tag::Safe => "safe",
            Tag::Long => "long",
        };
        let _ = writeln!(out, "\n{:>2}. [{tag}] {} ({})", i + 1, s.describe, s.id);
        for a in &s.actions {
            let _ = match a {
                Action::Run { cmd } => writeln!(out, "      $ {cmd}"),
                Action::AwaitSync { array } => writeln!(out, "      wait for {array} to be in sync (progress from /proc/mdstat)"),
                Action::Try { cmd } => writeln!(out, "      $ {cmd}   (failure is harmless)"),
                Action::ConfAppend { path, lines, .. } => {
                    let _ = writeln!(out, "      append to {} (each line only if missing; the rest kept as is):", path.display());
                    lines.iter().try_for_each(|l| writeln!(out, "        +{l}"))
                }
                Action::MakeDir { path, mode } => writeln!(out, "      mkdir {} (mode {mode:04o})", path.display()),
                Action::Copy { src, dst, owner } => writeln!(
                    out,
                    "      copy {} -> {}{} (every byte hashed; sockets and other special files skipped)",
                    src.display(),
                    dst.display(),
                    owner.map(|(u, g)| format!(", owned by {u}:{g}")).unwrap_or_default()
                ),
                Action::Verify { dst, database } => writeln!(
                    out,
                    "      read back {} from disk and compare hash, size, mode, owner, link target{}",
                    dst.display(),
                    database.as_ref().map(|d| format!("; PRAGMA integrity_check on the copied {d}")).unwrap_or_default()
                ),
                Action::Rename { from, to } => writeln!(out, "      rename {} -> {}", from.display(), to.display()),
                Action::Symlink { link, target } => {
                    writeln!(out, "      symlink {} -> {}", link.display(), target.display())
                }
                Action::FstabAdd { path, diff, .. } => {
                    let _ = writeln!(out, "      edit {} (atomic, .bak kept, checked with findmnt --verify):", path.display());
                    for l in diff.lines() {
                        let _ = writeln!(out, "        {l}");
                    }
                    Ok(())
                }
                Action::WriteFile { path, content, mode } => {
                    let _ = writeln!(out, "      write {} (mode {mode:04o}):", path.display());
                    for l in content.lines() {
                        let _ = writeln!(out, "        +{l}");
                    }
                    Ok(())
                }
            };
        }
    }
    out
}
