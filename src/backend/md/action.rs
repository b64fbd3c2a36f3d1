//! The md backend's plan actions, as data: what `setup --abort` and `setup --resume` of an md
//! setup do to the array and to mdadm.conf. One `plan::Action::Md` variant carries them; the
//! command each runs is [`MdAction::command`] (so the dry run shows it), the sentence is
//! [`MdAction::describe`], and the executor's mechanics are in `src/walk/apply_md.rs`.
//!
//! Every action is idempotent and acts only on what provably is lnraid's own: the array is
//! stopped only while its md UUID is the one setup created, a member's superblock is zeroed
//! only while `mdadm --examine` shows that UUID (after the step's re-proof of the device),
//! and only the lines lnraid appended to mdadm.conf are removed. Pure.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::exec::Cmd;
use crate::types::DevPath;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "md_op", rename_all = "snake_case")]
pub enum MdAction {
    /// `mdadm --stop` the running array whose md UUID is `md_uuid` (found by that UUID among
    /// the assembled arrays, not by name). None running: done.
    Stop { array: String, md_uuid: String },
    /// `mdadm --zero-superblock DEVICE` only while `mdadm --examine` shows it a member of
    /// `md_uuid`. No md superblock: done. Another array's: refused, left untouched.
    ZeroOwn { device: DevPath, md_uuid: String },
    /// `mdadm --assemble ARRAY --run --uuid=UUID MEMBERS` unless an array with `md_uuid` is
    /// already running (a resume after a reboot: nothing assembled it, mdadm.conf may not
    /// name it yet).
    Assemble {
        array: String,
        md_uuid: String,
        members: Vec<DevPath>,
    },
    /// Remove from mdadm.conf the block lnraid appended (its comment line and the lines of
    /// `lines` that follow it) and any other ARRAY line naming `md_uuid`; every other byte
    /// kept (atomic write, `.bak`). Nothing of lnraid's there: done.
    ConfRemove {
        path: PathBuf,
        lines: Vec<String>,
        md_uuid: String,
    },
}

impl MdAction {
    /// The mutating command as planned (what the dry run prints), if the action runs one.
    pub fn command(&self) -> Option<Cmd> {
        match self {
            MdAction::Stop { array, .. } => Some(stop_cmd(array)),
            MdAction::ZeroOwn { device, .. } => Some(zero_cmd(device)),
            MdAction::Assemble {
                array,
                md_uuid,
                members,
            } => Some(assemble_cmd(array, md_uuid, members)),
            MdAction::ConfRemove { .. } => None,
        }
    }

    /// One line for the plan, next to its command.
    pub fn describe(&self) -> String {
        match self {
            MdAction::Stop { md_uuid, .. } => {
                format!("stop the md array with UUID {md_uuid}, if it is running")
            }
            MdAction::ZeroOwn { device, md_uuid } => format!(
                "zero the md superblock on {device} only if it belongs to array {md_uuid} (anything else is left untouched)"
            ),
            MdAction::Assemble { array, md_uuid, .. } => {
                format!("assemble {array} (UUID {md_uuid}) unless it is already running")
            }
            MdAction::ConfRemove { path, lines, .. } => format!(
                "remove from {} the lines lnraid added ({}); the rest kept as is",
                path.display(),
                lines.join(" | ")
            ),
        }
    }
}

/// `mdadm --stop ARRAY`.
pub fn stop_cmd(array: &str) -> Cmd {
    Cmd::mutating("mdadm", ["--stop", array])
}

/// `mdadm --zero-superblock DEVICE`.
pub fn zero_cmd(device: &DevPath) -> Cmd {
    Cmd::mutating("mdadm", ["--zero-superblock", &device.to_string()])
}

/// `mdadm --assemble ARRAY --run --uuid=UUID MEMBERS…`.
pub fn assemble_cmd(array: &str, md_uuid: &str, members: &[DevPath]) -> Cmd {
    let mut c = Cmd::mutating(
        "mdadm",
        ["--assemble", array, "--run", &format!("--uuid={md_uuid}")],
    );
    for m in members {
        c = c.arg(m.to_string());
    }
    c
}
