//! How the last scheduled snapshot or backup ended: a typed record in the state dir
//! (`<state_dir>/jobs/snapshot.json`, `backup.json`), written by `snapshot create
//! --record-job` / `backup --record-job` (what the schedule runs), read by `status` (the
//! `hot_job_failed` problem) and `monitor` (an alert when a new run failed).
//!
//! Invariant: a damaged record reads as an error, never as "the last run was fine".

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::config::atomic::write_atomic_no_backup;

pub const FORMAT: &str = "lnraid-hot-job";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HotJob {
    Snapshot,
    Backup,
}

impl HotJob {
    pub fn name(self) -> &'static str {
        match self {
            HotJob::Snapshot => "snapshot",
            HotJob::Backup => "backup",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HotJobRecord {
    pub format: String,
    pub version: u32,
    pub job: HotJob,
    pub lightning_dir: PathBuf,
    /// The backup DEST.
    #[serde(default)]
    pub dest: Option<PathBuf>,
    #[serde(with = "crate::time::unix_rfc3339")]
    pub started: u64,
    #[serde(with = "crate::time::unix_rfc3339")]
    pub finished: u64,
    pub ok: bool,
    /// What was made (the snapshot's or backup's name), or the error.
    pub message: String,
}

pub fn record_path(state_dir: &Path, job: HotJob) -> PathBuf {
    state_dir.join("jobs").join(format!("{}.json", job.name()))
}

pub fn write(state_dir: &Path, r: &HotJobRecord) -> Result<()> {
    let p = record_path(state_dir, r.job);
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    write_atomic_no_backup(
        &p,
        (serde_json::to_string_pretty(r)? + "\n").as_bytes(),
        0o644,
    )
}

pub fn read(state_dir: &Path, job: HotJob) -> Result<Option<HotJobRecord>> {
    let p = record_path(state_dir, job);
    match std::fs::read_to_string(&p) {
        Ok(t) => Ok(Some(
            serde_json::from_str(&t).with_context(|| format!("{} is damaged", p.display()))?,
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", p.display())),
    }
}

/// Runs `f` and, when `record` is set, records how it ended (a failure to record is a
/// warning: it never hides the job's own outcome).
pub fn recorded<T>(
    record: Option<(&Path, HotJob, &Path, Option<&Path>)>,
    f: impl FnOnce() -> Result<(T, String)>,
) -> Result<T> {
    let started = crate::records::now_unix();
    let out = f();
    if let Some((state_dir, job, dir, dest)) = record {
        let (ok, message) = match &out {
            Ok((_, m)) => (true, m.clone()),
            Err(e) => (false, format!("{e:#}")),
        };
        let r = HotJobRecord {
            format: FORMAT.into(),
            version: 1,
            job,
            lightning_dir: dir.to_path_buf(),
            dest: dest.map(Path::to_path_buf),
            started,
            finished: crate::records::now_unix(),
            ok,
            message,
        };
        if let Err(e) = write(state_dir, &r) {
            tracing::warn!("could not record the {} job's outcome: {e:#}", job.name());
        }
    }
    out.map(|(t, _)| t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_run_is_recorded_and_a_damaged_record_is_an_error() {
        let t = tempfile::tempdir().unwrap();
        assert!(read(t.path(), HotJob::Backup).unwrap().is_none());
        let e = recorded::<()>(
            Some((
                t.path(),
                HotJob::Backup,
                Path::new("/n"),
                Some(Path::new("/d")),
            )),
            || anyhow::bail!("DEST is full"),
        );
        assert!(e.is_err());
        let r = read(t.path(), HotJob::Backup).unwrap().unwrap();
        assert!(!r.ok && r.message.contains("DEST is full"), "{r:?}");
        assert_eq!(r.dest.as_deref(), Some(Path::new("/d")));
        let text = std::fs::read_to_string(record_path(t.path(), HotJob::Backup)).unwrap();
        assert!(
            text.contains("\"started\": \"20"),
            "RFC 3339 in the file: {text}"
        );
        std::fs::write(record_path(t.path(), HotJob::Backup), "{").unwrap();
        assert!(read(t.path(), HotJob::Backup).is_err());
        let v = recorded(
            Some((t.path(), HotJob::Snapshot, Path::new("/n"), None)),
            || Ok((7, "snapshot 2026-12-01T00:00:00Z".to_string())),
        )
        .unwrap();
        assert_eq!(v, 7);
        assert!(read(t.path(), HotJob::Snapshot).unwrap().unwrap().ok);
    }
}
