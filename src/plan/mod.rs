//! Plans: what a mutating command will do, as data. Pure.
//!
//! A [`Plan`] is a list of [`Step`]s; each step has an id (journal key and failpoint name), a
//! [`Tag`] (destructive / safe / long), a sentence, and [`Action`]s — commands to run or file
//! operations, never closures. The dry run prints the plan; execution walks the very same
//! value; the journal stores it, so a resumed run continues the plan the operator confirmed.

mod render;
pub mod setup;

pub use render::render_plan;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::exec::Cmd;

/// How much a step can cost the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tag {
    /// Destroys what is on a device. Needs `--wipe`/confirmation; re-checked right before.
    Destructive,
    /// Changes state but loses nothing and can be undone by `--abort`.
    Safe,
    /// Safe, and takes time proportional to the data.
    Long,
}

/// One thing a step does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Action {
    /// Run a command.
    Run { cmd: Cmd },
    /// Create a directory (mode given) that must not exist or be empty.
    MakeDir { path: PathBuf, mode: u32 },
    /// The verified-copy engine: `src` → `dst` (a partial name until published).
    Copy {
        src: PathBuf,
        dst: PathBuf,
        owner: Option<(u32, u32)>,
    },
    /// Read back and compare `dst` with the manifest recorded by `Copy`; integrity-check the
    /// copied database.
    Verify {
        dst: PathBuf,
        database: Option<String>,
    },
    /// Rename a path (publishing the copy; moving the original aside).
    Rename { from: PathBuf, to: PathBuf },
    /// Create a symlink `link` → `target` atomically (temp link, then rename).
    Symlink { link: PathBuf, target: PathBuf },
    /// Add lnraid's line to an fstab file.
    FstabAdd {
        path: PathBuf,
        line: String,
        uuid: String,
        mountpoint: PathBuf,
        diff: String,
    },
    /// Write a whole file lnraid owns (a systemd drop-in).
    WriteFile {
        path: PathBuf,
        content: String,
        mode: u32,
    },
    /// Append to a configuration file lnraid does not own (mdadm.conf) those of `lines` it
    /// lacks, keeping every existing byte (atomic write, `.bak`). Idempotent. Hook of the md
    /// backend (src/backend/md/conf.rs decides which lines are missing).
    ConfAppend {
        path: PathBuf,
        lines: Vec<String>,
        /// The md UUID the ARRAY line names (decides whether it is already there).
        md_uuid: String,
    },
    /// Run a command whose failure is expected and harmless (`mdadm --wait` exits 1 when
    /// there is nothing to wait for); the next step decides.
    Try { cmd: Cmd },
    /// Wait until md array `array` (`/dev/md127`) has no resync/recovery/reshape running,
    /// printing its progress from /proc/mdstat (hook of the md backend).
    AwaitSync { array: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub id: String,
    pub tag: Tag,
    pub describe: String,
    pub actions: Vec<Action>,
}

impl Step {
    pub fn new(id: &str, tag: Tag, describe: impl Into<String>, actions: Vec<Action>) -> Step {
        Step {
            id: id.to_string(),
            tag,
            describe: describe.into(),
            actions,
        }
    }

    /// The commands this step runs, in order.
    pub fn commands(&self) -> impl Iterator<Item = &Cmd> {
        self.actions.iter().filter_map(|a| match a {
            Action::Run { cmd } | Action::Try { cmd } => Some(cmd),
            _ => None,
        })
    }

    pub fn is_destructive(&self) -> bool {
        self.tag == Tag::Destructive
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub title: String,
    pub steps: Vec<Step>,
}

impl Plan {
    pub fn new(title: impl Into<String>, steps: Vec<Step>) -> Plan {
        Plan {
            title: title.into(),
            steps,
        }
    }

    /// Every command of every step, in execution order.
    pub fn commands(&self) -> Vec<&Cmd> {
        self.steps.iter().flat_map(|s| s.commands()).collect()
    }
}
