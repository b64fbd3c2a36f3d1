//! The mechanics of maintain's and schedule's actions: the long maintenance commands (btrfs
//! scrub and balance, md check), untimed but observable — each runs on a worker thread while
//! this one polls its status for a progress bar — and the files lnraid wholly owns (schedule
//! files, its config, the 0600 alert-command file).
//!
//! May not decide whether an action runs (the plan and the checks did) and never judges a
//! maintenance outcome: a scrub that found errors is recorded in the journal's `outputs` for
//! the caller. Invariants: a speed limit set for a run is restored when the run ends, also on
//! failure (a guard's `Drop`); every file action is idempotent (a file already holding its
//! content is not rewritten); the alert command never reaches a log or the journal.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::journal::Ran;
use super::{Journal, Walker};
use crate::config::atomic::{remove_file_synced, write_atomic_no_backup};
use crate::exec::{stderr_tail, Cmd, Output, Runner};
use crate::plan::Action;
use crate::probe::btrfs::balance::{probe_balance_status, BalanceState};
use crate::probe::btrfs::scrub::probe_scrub_status;
use crate::types::Bytes;
use crate::ui::progress::{Progress, Unit};

/// How often a long command's status is polled for its progress bar.
const POLL: Duration = Duration::from_millis(500);

pub fn apply<R: Serialize + DeserializeOwned>(
    w: &Walker,
    j: &mut Journal<R>,
    action: &Action,
) -> Result<()> {
    match action {
        Action::BtrfsScrub {
            cmd,
            mountpoint,
            fs_uuid,
            limit,
            estimate,
        } => {
            let _limit = limit
                .map(|l| SpeedLimit::apply(fs_uuid, Bytes(l)))
                .transpose()?;
            let mut bar = Progress::new("scrubbing", *estimate);
            let out = watched(w.runner, cmd, &mut || {
                if let Ok(st) = probe_scrub_status(w.runner, mountpoint) {
                    bar.set(st.bytes_scrubbed.map(|b| b.0).unwrap_or(0));
                }
            })?;
            bar.finish();
            j.outputs.insert(cmd.to_string(), Ran::of(&out));
            // -B exits 3 when it found uncorrectable errors: an outcome, reported by the caller.
            if !matches!(out.status.code(), Some(0) | Some(3)) {
                bail!(
                    "`{cmd}` failed ({}): {}",
                    out.status,
                    stderr_tail(&out.stderr)
                );
            }
        }
        Action::BtrfsBalance { cmd, mountpoint } => {
            let mut bar: Option<Progress> = None;
            let out = watched(w.runner, cmd, &mut || {
                if let Ok(BalanceState::Running(p)) = probe_balance_status(w.runner, mountpoint) {
                    bar.get_or_insert_with(|| {
                        Progress::with_unit("balancing", p.expected_chunks.max(1), Unit::Chunks)
                    })
                    .set(p.completed_chunks);
                }
            })?;
            if let Some(b) = bar {
                b.finish();
            }
            j.outputs.insert(cmd.to_string(), Ran::of(&out));
            if !out.status.success() {
                bail!(
                    "`{cmd}` failed ({}): {}",
                    out.status,
                    stderr_tail(&out.stderr)
                );
            }
        }
        Action::MdCheck {
            sysfs,
            array,
            speed_max_kib,
        } => md_check(sysfs, array, *speed_max_kib)?,
        Action::PutFile {
            path,
            content,
            mode,
            ..
        } => put_file(path, content.as_bytes(), *mode)?,
        Action::WriteSecret { path, secret } => {
            if secret.0.is_empty() {
                bail!(
                    "the alert command is not stored in plans or journals; run `lnraid schedule install --alert-command …` again"
                );
            }
            if crate::app::schedule::secret::holds(path, &secret.0) {
                return Ok(());
            }
            crate::app::schedule::secret::write_secret(path, &secret.0)?;
            say(&format!("wrote {} (0600)", path.display()));
        }
        Action::RemoveSecret { path } => {
            if remove_file_synced(path)? {
                say(&format!("removed {}", path.display()));
            }
        }
        other => bail!("apply_ops got an action it does not handle: {other:?}"),
    }
    Ok(())
}

fn say(s: &str) {
    tracing::info!("  {}", crate::ui::sanitize(s));
}

/// Runs `cmd` (untimed: a mutating command) on a worker thread, calling `poll` about every
/// [`POLL`] until it ends.
fn watched(runner: &dyn Runner, cmd: &Cmd, poll: &mut dyn FnMut()) -> Result<Output> {
    std::thread::scope(|s| {
        let worker = s.spawn(|| runner.output(cmd));
        let mut next = Instant::now() + POLL;
        while !worker.is_finished() {
            std::thread::sleep(Duration::from_millis(20));
            if Instant::now() >= next {
                poll();
                next = Instant::now() + POLL;
            }
        }
        worker
            .join()
            .map_err(|_| anyhow::anyhow!("the worker running `{cmd}` panicked"))
    })?
    .map_err(Into::into)
}

/// Writes a file lnraid wholly owns, unless it already holds `content`.
fn put_file(path: &Path, content: &[u8], mode: u32) -> Result<()> {
    let same_mode = fs::symlink_metadata(path)
        .is_ok_and(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o7777 == mode);
    if same_mode && fs::read(path).is_ok_and(|c| c == content) {
        return Ok(());
    }
    let existed = path.exists();
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    write_atomic_no_backup(path, content, mode)?;
    say(&format!(
        "wrote {} ({})",
        path.display(),
        if existed { "changed" } else { "new" }
    ));
    Ok(())
}

fn write_attr(path: &Path, value: &str) -> Result<()> {
    fs::write(path, value).with_context(|| format!("writing {value} to {}", path.display()))
}

/// md's check: the speed cap for the run, `check`, the wait; the cap lifted in every case.
fn md_check(sysfs: &Path, array: &str, kib: Option<u64>) -> Result<()> {
    let speed = sysfs.join("sync_speed_max");
    if let Some(k) = kib {
        write_attr(&speed, &k.to_string())?;
    }
    let result = write_attr(&sysfs.join("sync_action"), "check")
        .and_then(|()| crate::backend::md::wait::await_sync(array));
    if kib.is_some() {
        if let Err(e) = write_attr(&speed, "system") {
            tracing::warn!("could not lift the check's speed limit: {e:#}");
        }
    }
    result
}

/// A scrub bandwidth limit set through sysfs (`scrub_speed_max`, kernel 5.14+; the guide's
/// `-c 2 -n 4` ionice flags do nothing under modern I/O schedulers), restored on drop.
struct SpeedLimit {
    saved: Vec<(PathBuf, String)>,
}

impl SpeedLimit {
    fn apply(uuid: &str, per_sec: Bytes) -> Result<SpeedLimit> {
        let dir = Path::new("/sys/fs/btrfs").join(uuid).join("devinfo");
        let mut limit = SpeedLimit { saved: Vec::new() };
        for e in fs::read_dir(&dir)
            .with_context(|| format!("{} (scrub limits need kernel 5.14+)", dir.display()))?
        {
            let p = e?.path().join("scrub_speed_max");
            let old = fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
            write_attr(&p, &per_sec.0.to_string())?;
            // Saved right after it is set: a later failure still restores this one.
            limit.saved.push((p, old.trim().to_string()));
        }
        tracing::info!("  scrub limited to {}/s per device", per_sec);
        Ok(limit)
    }
}

impl Drop for SpeedLimit {
    fn drop(&mut self) {
        for (p, v) in &self.saved {
            if let Err(e) = fs::write(p, v) {
                tracing::warn!("could not restore {}: {e}", p.display());
            }
        }
    }
}
