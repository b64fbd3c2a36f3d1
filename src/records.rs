//! The typed records of the state dir, and the one place that reads them for reports.
//!
//! - Maintenance runs (`lnraid maintain`), so `status`, `schedule show` and `monitor` can say
//!   when each job last ran and how it ended: `<state_dir>/records/<fsuuid>/<job>.json`, one
//!   file per job, replaced atomically on every run. The shape is [`JobRecord`]; add fields,
//!   never rename.
//! - The walked plans' journals (`setup-journal.json`, `replace-journal.json`, the archived
//!   `setup-<uuid>-done.json`) are [`crate::walk::Journal`]s, read here through their own
//!   types ([`unfinished`], [`setup_done`]) — never as untyped JSON, so a renamed field is a
//!   compile error, not a silently empty report.
//!
//! May not: write a journal (only the walk does), or read the node's files.

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

/// A setup or replace of this filesystem whose journal is still in the state dir: it did not
/// finish (interrupted or failed). `step` is the step it stopped in, or "after <last done>".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unfinished {
    pub command: &'static str,
    pub step: String,
}

fn stopped_at<R>(j: &crate::walk::Journal<R>) -> String {
    j.started.clone().unwrap_or_else(|| {
        format!(
            "after {}",
            j.completed.last().map_or("the start", String::as_str)
        )
    })
}

/// The unfinished setup/replace runs of `uuid`. A journal that cannot be read (damaged, or of
/// another lnraid version) is an error naming the file, never "nothing unfinished".
pub fn unfinished(state_dir: &Path, uuid: &FsUuid) -> (Vec<Unfinished>, Vec<String>) {
    use crate::walk::JournalState;
    let (mut out, mut errors) = (Vec::new(), Vec::new());
    let replace = crate::app::replace::execute::journal_path(state_dir);
    match crate::app::replace::execute::ReplaceJournal::load(&replace) {
        Ok(Some(j)) if j.request.uuid == *uuid && j.state != JournalState::Done => {
            out.push(Unfinished {
                command: "replace",
                step: stopped_at(&j),
            })
        }
        Ok(_) => {}
        Err(e) => errors.push(format!("{e:#}")),
    }
    let setup = crate::app::setup::journal_path(state_dir);
    match crate::app::setup::SetupJournal::load(&setup) {
        Ok(Some(j)) if j.request.fs_uuid == *uuid && j.state != JournalState::Done => {
            out.push(Unfinished {
                command: "setup",
                step: stopped_at(&j),
            })
        }
        Ok(_) => {}
        Err(e) => errors.push(format!("{e:#}")),
    }
    (out, errors)
}

/// The request of the finished setup of `uuid` (its archived journal), if there is one: the
/// profile, the node's directory, when the array was made.
pub fn setup_done(
    state_dir: &Path,
    uuid: &FsUuid,
) -> Result<Option<crate::plan::setup::SetupRequest>> {
    let p =
        crate::app::setup::record_path(state_dir, uuid.as_str(), crate::walk::JournalState::Done);
    Ok(crate::app::setup::SetupJournal::load(&p)?.map(|j| j.request))
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

    /// The typed journal readers: an interrupted setup is reported with its step, a finished
    /// one is not; another filesystem's journal is not ours; a damaged journal is an error,
    /// never "nothing unfinished"; the archived record gives the request back.
    #[test]
    fn journals_read_typed() {
        use crate::app::setup::{journal_path, record_path, SetupJournal};
        use crate::walk::JournalState;
        let t = tempfile::tempdir().unwrap();
        let req = crate::plan::tests::req(false);
        let uuid = req.fs_uuid.clone();
        let other = FsUuid::parse("00000000-1111-2222-3333-444455556666").unwrap();
        assert_eq!(unfinished(t.path(), &uuid), (vec![], vec![]));
        assert!(setup_done(t.path(), &uuid).unwrap().is_none());
        let plan = crate::plan::setup::plan_setup(&req, "");
        let mut j = SetupJournal::new(Some(journal_path(t.path())), req.clone(), plan);
        j.completed = vec!["wipe".into(), "mkfs".into()];
        j.started = Some("scan".into());
        j.save().unwrap();
        let (u, e) = unfinished(t.path(), &uuid);
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(
            u,
            [Unfinished {
                command: "setup",
                step: "scan".into()
            }]
        );
        j.started = None;
        j.save().unwrap();
        assert_eq!(unfinished(t.path(), &uuid).0[0].step, "after mkfs");
        assert!(
            unfinished(t.path(), &other).0.is_empty(),
            "another array's journal"
        );
        j.state = JournalState::Done;
        j.save().unwrap();
        assert!(unfinished(t.path(), &uuid).0.is_empty());
        j.archive(
            record_path(t.path(), uuid.as_str(), JournalState::Done)
                .file_name()
                .unwrap()
                .to_str()
                .unwrap(),
        )
        .unwrap();
        let r = setup_done(t.path(), &uuid).unwrap().unwrap();
        assert_eq!(r.lightning_dir, req.lightning_dir);
        assert_eq!(r.profile, req.profile);
        std::fs::write(journal_path(t.path()), "{").unwrap();
        let (u, e) = unfinished(t.path(), &uuid);
        assert!(
            u.is_empty() && e.len() == 1 && e[0].contains("damaged"),
            "{e:?}"
        );
    }
}
