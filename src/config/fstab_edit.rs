//! The one fstab entry lnraid owns: by filesystem UUID (never a device path, never
//! `UUID_SUB`), marked with [`MARKER`], and with `nofail` + `x-systemd.device-timeout=` so a
//! missing member cannot hang boot (`degraded` is deliberately absent: it does not make a
//! boot with a missing member succeed, and it invites split brain).
//!
//! Planning is pure ([`plan_fstab_edit`]); [`apply_fstab_edit`] writes atomically after
//! `findmnt --verify` accepts the result.

use std::path::Path;

use anyhow::{bail, Context, Result};

use super::atomic::write_atomic;
use super::fstab::{parse_fstab, Entry, Fstab, Line};
use crate::exec::{Cmd, Runner};
use crate::types::FsUuid;

/// The comment that marks lnraid's line.
pub const MARKER: &str = "# lnraid-managed";

/// How long systemd waits for the array's devices at boot before giving up (then `nofail`
/// lets boot continue, and the mount requirement keeps lightningd from starting).
pub const DEVICE_TIMEOUT: &str = "x-systemd.device-timeout=30s";

/// Options for the array's mount. `autodefrag` follows Core Lightning's guide, except on
/// 5.16 kernels, where it caused severe write amplification.
pub fn mount_options(autodefrag: bool) -> String {
    let mut o = vec!["defaults"];
    if autodefrag {
        o.push("autodefrag");
    }
    o.push("nofail");
    o.push(DEVICE_TIMEOUT);
    o.join(",")
}

pub fn entry_line(uuid: &FsUuid, mountpoint: &Path, options: &str) -> String {
    let mp = mountpoint
        .to_string_lossy()
        .replace('\\', "\\134")
        .replace(' ', "\\040")
        .replace('\t', "\\011");
    format!("UUID={uuid} {mp} btrfs {options} 0 0 {MARKER}")
}

/// The result of planning: the new text and a unified-style diff for the dry run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FstabEdit {
    pub new_text: String,
    pub changed: bool,
    pub diff: String,
}

/// Adds or updates lnraid's entry for `mountpoint`. Refuses when a line lnraid does not own
/// already mounts something at `mountpoint` or mounts this UUID elsewhere: that is the
/// operator's line, and guessing which one wins could hide the array at boot.
pub fn plan_fstab_edit(
    current: &str,
    line: &str,
    uuid: &FsUuid,
    mountpoint: &Path,
) -> Result<FstabEdit> {
    let mut tab: Fstab = parse_fstab(current)?;
    let mp = mountpoint.to_string_lossy();
    let ours = |e: &Entry| e.raw.trim_end().ends_with(MARKER);
    for e in tab.entries() {
        let same_target = e.file == mp;
        let same_uuid = e.spec.eq_ignore_ascii_case(&format!("UUID={uuid}"));
        if (same_target || same_uuid) && !ours(e) {
            bail!(
                "the fstab already has a line for {} that lnraid does not manage: {:?}; remove or comment it out first",
                if same_target { mp.to_string() } else { format!("UUID={uuid}") },
                e.raw
            );
        }
    }
    let new_entry = match parse_fstab(line)?.lines.pop() {
        Some(Line::Entry(e)) => e,
        _ => bail!("internal error: generated fstab line does not parse: {line:?}"),
    };
    let mut diff = String::new();
    let mut replaced = false;
    for l in tab.lines.iter_mut() {
        if let Line::Entry(e) = l {
            if ours(e) && (e.file == mp || e.spec.eq_ignore_ascii_case(&format!("UUID={uuid}"))) {
                if e.raw != line {
                    diff.push_str(&format!("-{}\n+{}\n", e.raw, line));
                    *e = new_entry.clone();
                }
                replaced = true;
            }
        }
    }
    if !replaced {
        if !tab.trailing_newline && !tab.lines.is_empty() {
            tab.trailing_newline = true;
        }
        tab.lines.push(Line::Entry(new_entry));
        tab.trailing_newline = true;
        diff.push_str(&format!("+{line}\n"));
    }
    let new_text = tab.render();
    Ok(FstabEdit {
        changed: new_text != current,
        new_text,
        diff,
    })
}

/// An array lnraid manages, as its fstab line names it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ManagedArray {
    pub uuid: FsUuid,
    pub mountpoint: std::path::PathBuf,
    pub options: String,
}

/// Every array lnraid manages, from the marked lines of an fstab text.
pub fn managed_arrays(fstab_text: &str) -> Result<Vec<ManagedArray>> {
    let tab = parse_fstab(fstab_text)?;
    Ok(tab
        .entries()
        .filter(|e| e.raw.trim_end().ends_with(MARKER))
        .filter_map(|e| {
            let uuid = FsUuid::parse(e.spec.strip_prefix("UUID=")?)?;
            Some(ManagedArray {
                uuid,
                mountpoint: e.file.clone().into(),
                options: e.options.clone(),
            })
        })
        .collect())
}

/// Removes lnraid's entry for `mountpoint` (used by `setup --abort`).
pub fn plan_fstab_removal(current: &str, mountpoint: &Path) -> Result<FstabEdit> {
    let mut tab = parse_fstab(current)?;
    let mp = mountpoint.to_string_lossy();
    let mut diff = String::new();
    tab.lines.retain(|l| match l {
        Line::Entry(e) if e.file == mp && e.raw.trim_end().ends_with(MARKER) => {
            diff.push_str(&format!("-{}\n", e.raw));
            false
        }
        _ => true,
    });
    let new_text = tab.render();
    Ok(FstabEdit {
        changed: new_text != current,
        new_text,
        diff,
    })
}

/// `findmnt --verify --tab-file FILE` as data, and its summary counts.
pub fn verify_cmd(file: &Path) -> Cmd {
    Cmd::read_only("findmnt", ["--verify", "--tab-file"]).arg(file.to_string_lossy())
}

/// (parse errors, errors, warnings) from findmnt's closing line.
pub fn parse_verify_summary(out: &str) -> Option<(u32, u32, u32)> {
    if out.contains("Success, no errors or warnings detected") {
        return Some((0, 0, 0));
    }
    let line = out.lines().rev().find(|l| l.contains("parse errors"))?;
    let nums: Vec<u32> = line
        .split(',')
        .filter_map(|p| p.split_whitespace().next()?.parse().ok())
        .collect();
    match nums[..] {
        [p, e, w] => Some((p, e, w)),
        _ => None,
    }
}

/// Validates `candidate`: lnraid's line alone must verify cleanly, and the whole file must not
/// have more parse errors than `original` had (pre-existing problems in other lines are the
/// operator's, and are left as they were).
pub fn validate(
    runner: &dyn Runner,
    candidate: &Path,
    own_line: &str,
    original: &str,
) -> Result<()> {
    let dir = tempfile::tempdir().context("creating a temp dir for findmnt")?;
    let alone = dir.path().join("own-line");
    std::fs::write(&alone, format!("{own_line}\n"))?;
    let out = runner.output(&verify_cmd(&alone))?;
    if !out.status.success() {
        bail!(
            "findmnt --verify rejects lnraid's fstab line {own_line:?}:\n{}{}",
            out.stdout,
            out.stderr
        );
    }
    let before = dir.path().join("original");
    std::fs::write(&before, original)?;
    let count = |p: &Path| -> Result<u32> {
        let o = runner.output(&verify_cmd(p))?;
        let text = format!("{}{}", o.stdout, o.stderr);
        parse_verify_summary(&text)
            .map(|c| c.0)
            .with_context(|| format!("unexpected findmnt --verify output: {text}"))
    };
    let (old, new) = (count(&before)?, count(candidate)?);
    if new > old {
        bail!("the edited fstab has {new} parse errors (the original had {old}); not replacing it");
    }
    Ok(())
}

/// Writes the planned edit to `path` atomically, validated, with a `.bak`.
pub fn apply_fstab_edit(
    runner: &dyn Runner,
    path: &Path,
    edit: &FstabEdit,
    own_line: Option<&str>,
) -> Result<()> {
    if !edit.changed {
        return Ok(());
    }
    let original = std::fs::read_to_string(path).unwrap_or_default();
    write_atomic(
        path,
        edit.new_text.as_bytes(),
        0o644,
        &mut |tmp| match own_line {
            Some(l) => validate(runner, tmp, l, &original),
            None => Ok(()),
        },
    )
    .with_context(|| format!("updating {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uuid() -> FsUuid {
        FsUuid::parse("5d1c0e2a-1111-2222-3333-444455556666").unwrap()
    }

    #[test]
    fn appends_then_idempotent_then_updates() {
        let mp = Path::new("/mnt/lnraid");
        let line = entry_line(&uuid(), mp, &mount_options(true));
        assert_eq!(
            line,
            "UUID=5d1c0e2a-1111-2222-3333-444455556666 /mnt/lnraid btrfs defaults,autodefrag,nofail,x-systemd.device-timeout=30s 0 0 # lnraid-managed"
        );
        let orig = "# static\nUUID=abc / ext4 defaults 0 1\n\n/swap none swap sw 0 0"; // no final newline
        let e1 = plan_fstab_edit(orig, &line, &uuid(), mp).unwrap();
        assert!(e1.changed);
        assert_eq!(e1.new_text, format!("{orig}\n{line}\n"));
        assert_eq!(e1.diff, format!("+{line}\n"));
        let e2 = plan_fstab_edit(&e1.new_text, &line, &uuid(), mp).unwrap();
        assert!(!e2.changed && e2.diff.is_empty());
        let line2 = entry_line(&uuid(), mp, &mount_options(false));
        let e3 = plan_fstab_edit(&e1.new_text, &line2, &uuid(), mp).unwrap();
        assert_eq!(e3.new_text, format!("{orig}\n{line2}\n"));
        let r = plan_fstab_removal(&e3.new_text, mp).unwrap();
        assert_eq!(r.new_text, format!("{orig}\n"));
    }

    #[test]
    fn refuses_foreign_line_for_same_target_or_uuid() {
        let mp = Path::new("/mnt/lnraid");
        let line = entry_line(&uuid(), mp, &mount_options(true));
        assert!(plan_fstab_edit(
            "/dev/sdb1 /mnt/lnraid ext4 defaults 0 0\n",
            &line,
            &uuid(),
            mp
        )
        .is_err());
        let other = "UUID=5D1C0E2A-1111-2222-3333-444455556666 /data btrfs defaults 0 0\n";
        assert!(plan_fstab_edit(other, &line, &uuid(), mp).is_err());
    }

    #[test]
    fn escapes_spaces_in_mountpoint() {
        let line = entry_line(&uuid(), Path::new("/mnt/my node"), "defaults");
        assert!(line.contains(" /mnt/my\\040node "));
        let e = plan_fstab_edit("", &line, &uuid(), Path::new("/mnt/my node")).unwrap();
        assert_eq!(
            parse_fstab(&e.new_text)
                .unwrap()
                .entries()
                .next()
                .unwrap()
                .file,
            "/mnt/my node"
        );
    }

    #[test]
    fn lists_managed_arrays() {
        let line = entry_line(&uuid(), Path::new("/mnt/lnraid"), &mount_options(true));
        let text = format!("UUID=aaaa / ext4 defaults 0 1\n{line}\n");
        let a = managed_arrays(&text).unwrap();
        assert_eq!(a.len(), 1);
        assert_eq!(
            (a[0].uuid.clone(), a[0].mountpoint.clone()),
            (uuid(), "/mnt/lnraid".into())
        );
    }

    #[test]
    fn findmnt_summary() {
        assert_eq!(
            parse_verify_summary("...\n0 parse errors, 2 errors, 1 warning\n"),
            Some((0, 2, 1))
        );
        assert_eq!(
            parse_verify_summary("Success, no errors or warnings detected\n"),
            Some((0, 0, 0))
        );
        assert_eq!(parse_verify_summary("garbage"), None);
    }
}
