//! The one journal of every walked plan: the confirmed plan, the request it came from, which
//! steps completed, which one was running or failed, and the proofs the freshness checks
//! compare with (the copy's manifest, the source's and the copy's file stats). Typed and
//! versioned; written atomically (0600) before and after every step, so a run killed at any
//! instant is found by the next one, which can resume or abort it.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::fresh::FileProof;
use crate::config::atomic::write_atomic_no_backup;
use crate::copy::Manifest;
use crate::plan::Plan;

/// Version 2: typed checks and resume rules in the steps, targets with confirmed contents.
pub const JOURNAL_VERSION: u32 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JournalState {
    InProgress,
    Done,
    Aborted,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Journal<R> {
    pub version: u32,
    pub state: JournalState,
    pub request: R,
    pub plan: Plan,
    pub completed: Vec<String>,
    /// The step being executed when the journal was last written: found half done on resume.
    pub started: Option<String>,
    /// The step that failed (an error, not a kill): re-planned from what the devices hold now.
    #[serde(default)]
    pub failed: Option<String>,
    /// What the copy wrote (hashes), for its verification.
    #[serde(default)]
    pub manifest: Option<Manifest>,
    /// The source's files as they were when copied, under the source lock.
    #[serde(default)]
    pub source: Option<FileProof>,
    /// The copy's files right after verification: a copy that differs was used by a node.
    #[serde(default)]
    pub copy: Option<FileProof>,
    /// Long commands' results, by command line, for the caller's report (a scrub's exit
    /// status, a balance's `Done, had to relocate …`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub outputs: BTreeMap<String, Ran>,
    /// Where it is saved; `None`: in memory only (an abort's undo plan).
    #[serde(skip)]
    pub path: Option<PathBuf>,
}

/// What a long command left.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ran {
    /// The exit code; `None` when killed by a signal.
    pub code: Option<i32>,
    /// `exit status 3`, `killed by signal 9`.
    pub status: String,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    pub fn of(o: &crate::exec::Output) -> Ran {
        Ran {
            code: o.status.code(),
            status: o.status.to_string(),
            stdout: o.stdout.clone(),
            stderr: o.stderr.clone(),
        }
    }
}

#[derive(Deserialize)]
struct VersionOnly {
    version: u32,
}

impl<R: Serialize + DeserializeOwned> Journal<R> {
    pub fn new(path: Option<PathBuf>, request: R, plan: Plan) -> Journal<R> {
        Journal {
            version: JOURNAL_VERSION,
            state: JournalState::InProgress,
            request,
            plan,
            completed: Vec::new(),
            started: None,
            failed: None,
            manifest: None,
            source: None,
            copy: None,
            outputs: BTreeMap::new(),
            path,
        }
    }

    /// The journal at `path`, if there is one.
    pub fn load(path: &Path) -> Result<Option<Journal<R>>> {
        let text = match fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let damaged = || {
            format!(
                "{} is damaged; inspect it before deleting it",
                path.display()
            )
        };
        let v: VersionOnly = serde_json::from_str(&text).with_context(damaged)?;
        if v.version != JOURNAL_VERSION {
            bail!(
                "{} was written by another lnraid version (journal version {}, this one reads {JOURNAL_VERSION}); finish or undo it with that version",
                path.display(),
                v.version
            );
        }
        let mut j: Journal<R> = serde_json::from_str(&text).with_context(damaged)?;
        j.path = Some(path.to_path_buf());
        Ok(Some(j))
    }

    pub fn save(&self) -> Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let text = serde_json::to_string_pretty(self)?;
        write_atomic_no_backup(path, text.as_bytes(), 0o600)
    }
}

impl<R> Journal<R> {
    pub fn is_completed(&self, id: &str) -> bool {
        self.completed.iter().any(|c| c == id)
    }

    /// The step ran at least partly (completed, running when killed, or failed).
    pub fn touched(&self, id: &str) -> bool {
        self.is_completed(id)
            || self.started.as_deref() == Some(id)
            || self.failed.as_deref() == Some(id)
    }

    /// Moves a finished journal to `name` beside it, so a later run starts clean while the
    /// record stays.
    pub fn archive(&self, name: &str) -> Result<PathBuf> {
        let path = self.path.as_ref().context("journal has no file")?;
        let to = path.with_file_name(name);
        fs::rename(path, &to).with_context(|| format!("archiving {}", path.display()))?;
        Ok(to)
    }

    /// Completed step ids, for messages.
    pub fn completed_list(&self) -> String {
        if self.completed.is_empty() {
            "none".into()
        } else {
            self.completed.join(", ")
        }
    }
}
