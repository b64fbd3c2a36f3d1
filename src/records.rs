//! Records of maintenance runs (`lnraid maintain`), kept in the state dir so `status`,
//! `schedule show` and `monitor` can say when each job last ran and how it ended.
//!
//! Layout: `<state_dir>/records/<fsuuid>/<job>.json`, one file per job, replaced atomically
//! on every run. The shape is [`JobRecord`]; add fields, never rename.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::config::atomic::write_atomic_no_backup;
use crate::types::FsUuid;

/// The scheduled jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Job {
    Scrub,
    Balance,
}

impl Job {
    pub fn name(self) -> &'static str {
        match self {
            Job::Scrub => "scrub",
            Job::Balance => "balance",
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Completed; nothing wrong found.
    Ok,
    /// Completed; errors were found and corrected (scrub).
    Corrected,
    /// Completed; errors that could not be corrected (scrub).
    Uncorrectable,
    /// Not run, on purpose (degraded, missing device, another operation running).
    Skipped,
    /// Tried and failed.
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRecord {
    pub job: Job,
    pub fs_uuid: FsUuid,
    pub mountpoint: PathBuf,
    /// Unix seconds here; RFC 3339 UTC in the file (records written as numbers by older
    /// versions still read).
    #[serde(with = "crate::time::unix_rfc3339")]
    pub started: u64,
    #[serde(with = "crate::time::unix_rfc3339")]
    pub finished: u64,
    pub outcome: Outcome,
    /// One line for people: what happened, or why it was skipped.
    pub detail: String,
    /// Job-specific numbers: `corrected`, `uncorrectable`, `bytes_scrubbed`, `relocated`...
    #[serde(default)]
    pub counts: std::collections::BTreeMap<String, u64>,
}

pub fn record_path(state_dir: &Path, uuid: &FsUuid, job: Job) -> PathBuf {
    state_dir
        .join("records")
        .join(uuid.as_str())
        .join(format!("{}.json", job.name()))
}

pub fn write_record(state_dir: &Path, r: &JobRecord) -> Result<()> {
    let p = record_path(state_dir, &r.fs_uuid, r.job);
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    write_atomic_no_backup(&p, serde_json::to_string_pretty(r)?.as_bytes(), 0o644)
}

/// The last record of `job`, if any. A damaged record reads as an error, not as "never ran".
pub fn read_record(state_dir: &Path, uuid: &FsUuid, job: Job) -> Result<Option<JobRecord>> {
    let p = record_path(state_dir, uuid, job);
    match std::fs::read_to_string(&p) {
        Ok(t) => Ok(Some(
            serde_json::from_str(&t).with_context(|| format!("{} is damaged", p.display()))?,
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", p.display())),
    }
}

pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let t = tempfile::tempdir().unwrap();
        let uuid = FsUuid::parse("5d1c0e2a-1111-2222-3333-444455556666").unwrap();
        assert!(read_record(t.path(), &uuid, Job::Scrub).unwrap().is_none());
        let r = JobRecord {
            job: Job::Scrub,
            fs_uuid: uuid.clone(),
            mountpoint: "/mnt/lnraid".into(),
            started: 1,
            finished: 2,
            outcome: Outcome::Corrected,
            detail: "3 errors corrected".into(),
            counts: [("corrected".to_string(), 3)].into(),
        };
        write_record(t.path(), &r).unwrap();
        assert_eq!(read_record(t.path(), &uuid, Job::Scrub).unwrap(), Some(r));
        std::fs::write(record_path(t.path(), &uuid, Job::Scrub), "{").unwrap();
        assert!(read_record(t.path(), &uuid, Job::Scrub).is_err());
    }
}
