//! The setup journal: the confirmed plan, the request it came from, which steps completed, and
//! the copy's manifest. Written atomically after every step, so a run killed at any instant is
//! found by the next `lnraid setup`, which can `--resume` or `--abort` it.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::config::atomic::write_atomic_no_backup;
use crate::copy::Manifest;
use crate::plan::setup::SetupRequest;
use crate::plan::Plan;

pub const JOURNAL_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JournalState {
    InProgress,
    Done,
    Aborted,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Journal {
    pub version: u32,
    pub state: JournalState,
    pub request: SetupRequest,
    pub plan: Plan,
    pub completed: Vec<String>,
    /// The step that was being executed when the journal was last written (so a resumed run
    /// knows it may find that step half done).
    pub started: Option<String>,
    pub manifest: Option<Manifest>,
    #[serde(skip)]
    pub path: PathBuf,
}

/// The journal file in `state_dir`.
pub fn journal_path(state_dir: &Path) -> PathBuf {
    state_dir.join("setup-journal.json")
}

impl Journal {
    pub fn new(state_dir: &Path, request: SetupRequest, plan: Plan) -> Journal {
        Journal {
            version: JOURNAL_VERSION,
            state: JournalState::InProgress,
            request,
            plan,
            completed: Vec::new(),
            started: None,
            manifest: None,
            path: journal_path(state_dir),
        }
    }

    /// The journal in `state_dir`, if there is one.
    pub fn load(state_dir: &Path) -> Result<Option<Journal>> {
        let path = journal_path(state_dir);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let mut j: Journal = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is damaged; inspect it before deleting it",
                path.display()
            )
        })?;
        j.path = path;
        Ok(Some(j))
    }

    pub fn save(&self) -> Result<()> {
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let text = serde_json::to_string_pretty(self)?;
        write_atomic_no_backup(&self.path, text.as_bytes(), 0o600)
    }

    pub fn is_completed(&self, id: &str) -> bool {
        self.completed.iter().any(|c| c == id)
    }

    /// Moves a finished (done or aborted) journal aside, named by its filesystem UUID, so a
    /// later setup starts clean while the record stays.
    pub fn archive(&self) -> Result<PathBuf> {
        let to = self.path.with_file_name(
            format!("setup-{}-{:?}.json", self.request.fs_uuid, self.state).to_lowercase(),
        );
        fs::rename(&self.path, &to)
            .with_context(|| format!("archiving {}", self.path.display()))?;
        Ok(to)
    }
}
