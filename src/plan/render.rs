//! The dry-run text of a plan: numbered steps, each tagged, with the literal command lines
//! (`$ ...`) and file changes. Paths and lines may hold operator-chosen strings; the caller
//! sanitizes the whole text before it reaches a terminal.

use std::fmt::Write as _;

use super::{Action, Allow, Check, Plan, Tag};

pub fn render_plan(plan: &Plan) -> String {
    let mut out = format!("{}\n", plan.title);
    for (i, s) in plan.steps.iter().enumerate() {
        let tag = match s.tag {
            Tag::Destructive => "DESTRUCTIVE",
            Tag::Safe => "safe",
            Tag::Long => "long",
        };
        let _ = writeln!(out, "\n{:>2}. [{tag}] {} ({})", i + 1, s.describe, s.id);
        for c in &s.checks {
            let _ = writeln!(out, "      check: {}", describe_check(plan, c));
        }
        for a in &s.actions {
            let _ = match a {
                Action::Run { cmd } => writeln!(out, "      $ {cmd}"),
                Action::Hotcopy(h) => writeln!(out, "{}", h.render()),
                Action::AwaitSync { array } => writeln!(out, "      wait for {array} to be in sync (progress from /proc/mdstat)"),
                Action::ConfAppend { path, lines, .. } => {
                    let _ = writeln!(out, "      append to {} (each line only if missing; the rest kept as is):", path.display());
                    lines.iter().try_for_each(|l| writeln!(out, "        +{l}"))
                }
                Action::Try { cmd } => writeln!(out, "      $ {cmd}\n        (a failure here is harmless)"),
                Action::Mount { .. } | Action::Umount { .. } | Action::MakeMutable { .. } => {
                    let cmd = a.command().expect("mount actions have a command");
                    writeln!(out, "      $ {cmd}")
                }
                Action::WipeOwn { fs_uuid, .. } => {
                    let cmd = a.command().expect("wipe has a command");
                    writeln!(out, "      $ {cmd}\n        (only if blkid -p shows it carrying {fs_uuid})")
                }
                Action::BtrfsReplace { cmd, .. } => writeln!(out, "      $ {cmd}"),
                Action::Md(m) => match m.command() {
                    Some(cmd) => writeln!(out, "      $ {cmd}\n        ({})", m.describe()),
                    None => writeln!(out, "      {}", m.describe()),
                },
                Action::RemoveOwnFile { path, .. } => writeln!(out, "      remove {} (if unchanged since lnraid wrote it)", crate::exec::quote_path(path)),
                // exec (maintain, schedule)
                Action::BtrfsScrub { .. } | Action::BtrfsBalance { .. } | Action::MdCheck { .. } | Action::PutFile { .. } | Action::WriteSecret { .. } | Action::RemoveSecret { .. } => {
                    out.push_str(&render_ops(a));
                    Ok(())
                }
                Action::FstabRemove { path, mountpoint } => writeln!(out, "      edit {}: remove lnraid's line for {}", crate::exec::quote_path(path), crate::exec::quote_path(mountpoint)),
                Action::RestoreDir { dir, link_target, aside } => writeln!(
                    out,
                    "      remove the symlink {} -> {} if lnraid made it; rename {} -> {} if it was moved",
                    crate::exec::quote_path(dir), crate::exec::quote_path(link_target), crate::exec::quote_path(aside), crate::exec::quote_path(dir)
                ),
                Action::RemoveEmptyDir { path } => writeln!(out, "      rmdir {} (only if empty)", crate::exec::quote_path(path)),
                Action::UnSchedule { schedule } => {
                    let _ = writeln!(out, "      remove the {} schedule files lnraid wrote:", schedule.scheduler.name());
                    for f in &schedule.files {
                        let _ = writeln!(out, "        {}", crate::exec::quote_path(&f.path));
                    }
                    Ok(())
                }
                // recover's actions (src/walk/apply_recover.rs)
                Action::MdRecover(a) => writeln!(out, "      {}{}", a.render(), a.command().map(|c| format!("\n        $ {c}")).unwrap_or_default()),
                Action::RequireReadOnly { mountpoint } => writeln!(out, "      check that {} is mounted read-only (statvfs), else unmount and stop", crate::exec::quote_path(mountpoint)),
                Action::CopyOut { out: c } => writeln!(
                    out,
                    "      copy {}/{} -> {} (secrets 0400 from the first byte), read back and verify, write the MANIFEST; a failed copy is removed (or marked INCOMPLETE-DO-NOT-USE)",
                    c.mountpoint.display(),
                    c.dir_name.as_deref().unwrap_or("<node directory>"),
                    c.dest.display()
                ),
                Action::MakeDir { path, mode } => writeln!(out, "      mkdir {} (mode {mode:04o})", crate::exec::quote_path(path)),
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

fn describe_check(plan: &Plan, c: &Check) -> String {
    match c {
        Check::Targets { devices, allow } => {
            let what: Vec<String> = devices
                .iter()
                .map(|d| match plan.target(d) {
                    Some(t) => format!("{d} (as confirmed: {})", t.contents.describe()),
                    None => d.to_string(),
                })
                .collect();
            format!(
                "re-prove {} right before: same disk, unused, {}",
                what.join(", "),
                match allow {
                    Allow::Confirmed =>
                        "carrying what you confirmed, nothing, or lnraid's own new filesystem",
                    Allow::OwnOrBlank => "carrying lnraid's own filesystem or nothing",
                }
            )
        }
        Check::SourceUnchanged { dir } => format!(
            "no lightningd uses {0}, and every file in {0} is unchanged since it was copied",
            dir.display()
        ),
        Check::CopyUnchanged { dir } => format!(
            "the array copy {} is unchanged since it was verified (the node did not run on it)",
            dir.display()
        ),
        Check::NodeStopped { dir } => format!("no lightningd uses {}", dir.display()),
    }
}

/// The dry-run lines of maintain's and schedule's actions.
fn render_ops(a: &Action) -> String {
    let q = crate::exec::quote_path;
    match a {
        Action::BtrfsScrub { cmd, fs_uuid, limit, .. } => {
            let mut s = String::new();
            if let Some(l) = limit {
                s += &format!(
                    "      set /sys/fs/btrfs/{fs_uuid}/devinfo/*/scrub_speed_max to {}/s, restored afterwards\n",
                    crate::types::Bytes(*l)
                );
            }
            s + &format!("      $ {cmd}\n        (long: progress from `btrfs scrub status`; exit 3 = uncorrectable errors found)\n")
        }
        Action::BtrfsBalance { cmd, .. } => {
            format!("      $ {cmd}\n        (long: progress from `btrfs balance status`)\n")
        }
        Action::MdCheck { sysfs, array, speed_max_kib } => {
            let mut s = String::new();
            if let Some(k) = speed_max_kib {
                s += &format!("      write {k} to {} (KiB/s), `system` afterwards\n", q(&sysfs.join("sync_speed_max")));
            }
            s + &format!(
                "      write `check` to {} (never `repair`), wait for {array} (long: progress from /proc/mdstat), then read mismatch_cnt\n",
                q(&sysfs.join("sync_action"))
            )
        }
        Action::PutFile { path, mode, diff, .. } => {
            let mut s = format!("      write {} (mode {mode:04o}, atomic):\n", q(path));
            for l in diff.lines() {
                s += &format!("        {l}\n");
            }
            s
        }
        Action::WriteSecret { path, .. } => format!(
            "      write {} (mode 0600 from the first byte, root only): the alert command, not shown\n",
            q(path)
        ),
        Action::RemoveSecret { path } => format!("      remove {} (the alert command)\n", q(path)),
        _ => String::new(),
    }
}
