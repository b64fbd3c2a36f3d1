//! Plans: what a mutating command will do, as data. Pure.
//!
//! A [`Plan`] is a list of [`Step`]s; each step has an id (journal key and failpoint name), a
//! [`Tag`] (destructive / safe / long), a sentence, and [`Action`]s — commands to run or file
//! operations, never closures. The dry run prints the plan; execution ([`crate::walk`]) walks
//! the very same value; the journal stores it, so a resumed run continues the plan the
//! operator confirmed.
//!
//! The safety rules are typed fields, never string matches on a step id or program name:
//! [`Step::checks`] says what the executor re-proves right before the step runs (destructive
//! targets with the identity recorded at confirmation, the source's freshness), and
//! [`Step::resume`] how a step found half done after an interruption continues. The targets
//! themselves ([`Target`]) travel in the plan, so a resumed run re-proves exactly what the
//! operator confirmed.

pub mod abort;
pub mod hotcopy;
pub mod hotcopy_plans;
pub mod maintain;
pub mod recover;
mod render;
pub mod schedule;
pub mod setup;
mod target;

pub use render::render_plan;
pub use target::{Contents, Target};

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::exec::Cmd;
use crate::types::DevPath;

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
    /// Wait until md array `array` (`/dev/md127`) has no resync/recovery/reshape running,
    /// printing its progress from /proc/mdstat (hook of the md backend).
    AwaitSync { array: String },
    /// Mount the btrfs `fs_uuid` at `mountpoint`, naming the first of `members` that `blkid -p`
    /// (no cache) shows carrying `fs_uuid` right now — never a bare `UUID=` or `mount --fstab`,
    /// which trust libblkid's cache. Already mounted there: done.
    Mount {
        fs_uuid: String,
        members: Vec<DevPath>,
        mountpoint: PathBuf,
        options: String,
    },
    /// Unmount `mountpoint` if it is mounted (bounded retry; the directory is kept).
    Umount { mountpoint: PathBuf },
    /// Run a command whose failure is expected and harmless (the next step decides), e.g.
    /// `btrfs device scan --forget` of a device btrfs no longer knows.
    Try { cmd: Cmd },
    /// Erase `device` only if it carries lnraid's own filesystem `fs_uuid`. Blank: nothing to
    /// do. Anything else is left untouched — refused when `strict` (abort), left for the
    /// step's own re-proof otherwise (a resumed step re-planned from what the device holds).
    WipeOwn {
        device: DevPath,
        fs_uuid: String,
        strict: bool,
    },
    /// `btrfs replace start -B …`, with progress; a replacement the kernel already runs (or
    /// finished) for this mountpoint is waited for, never started twice.
    BtrfsReplace { cmd: Cmd, mountpoint: PathBuf },
    /// Remove a file lnraid wrote, only while it still holds exactly `content`.
    RemoveOwnFile { path: PathBuf, content: String },
    /// Remove lnraid's line for `mountpoint` from an fstab file.
    FstabRemove { path: PathBuf, mountpoint: PathBuf },
    /// Make `dir` the real directory again: remove lnraid's symlink (only one pointing at
    /// `link_target`) and move `aside` back when the original was moved.
    RestoreDir {
        dir: PathBuf,
        link_target: PathBuf,
        aside: PathBuf,
    },
    /// `chattr -i PATH`, when the directory exists (abort releasing the bare mountpoint).
    MakeMutable { path: PathBuf },
    /// Remove an empty directory lnraid created (left when not empty).
    RemoveEmptyDir { path: PathBuf },
    /// Undo the schedule files setup installed, restoring what they replaced.
    UnSchedule {
        schedule: crate::schedule::SetupSchedule,
    },
    /// An md array action (stop, zero own superblock, assemble, mdadm.conf undo): data in
    /// the md backend, mechanics in src/walk/apply_md.rs.
    Md(crate::backend::md::action::MdAction),
    /// The hot-copy layer's actions (setup's subvolume; snapshots), in `plan/hotcopy.rs`.
    Hotcopy(hotcopy::HotAction),
    // exec (maintain, schedule): mechanics in walk/apply_ops.rs.
    /// `btrfs scrub start -B`, progress from `scrub status` against `estimate` bytes. Exit 3
    /// (uncorrectable errors found) is an outcome the caller reports, not a failure. With
    /// `limit` (bytes/s), every member's sysfs `scrub_speed_max` holds it for the run and is
    /// restored afterwards, also when the scrub fails. Its output is kept in the journal.
    BtrfsScrub {
        cmd: Cmd,
        mountpoint: PathBuf,
        fs_uuid: String,
        limit: Option<u64>,
        estimate: u64,
    },
    /// `btrfs balance start …`, progress from `balance status`; output kept in the journal.
    BtrfsBalance { cmd: Cmd, mountpoint: PathBuf },
    /// md's integrity check: `check` (never `repair`) written to `<sysfs>/sync_action`, waited
    /// for with progress from /proc/mdstat; with `speed_max_kib`, `<sysfs>/sync_speed_max` for
    /// the run, set back to `system` afterwards, also on failure.
    MdCheck {
        sysfs: PathBuf,
        array: String,
        speed_max_kib: Option<u64>,
    },
    /// Write a file lnraid wholly owns (schedule files, its config): atomic, exactly `mode`,
    /// no `.bak`, directory created. Holding `content` with `mode` already: done. `diff` is
    /// what the dry run shows.
    PutFile {
        path: PathBuf,
        content: String,
        mode: u32,
        diff: String,
    },
    /// The alert command's root-only file: 0600 from the first byte. The secret is never
    /// printed, logged or stored in a journal (see [`Secret`]).
    WriteSecret { path: PathBuf, secret: Secret },
    /// Remove the alert command's file, if it is there.
    RemoveSecret { path: PathBuf },
    /// recover: refuse to go on unless `mountpoint` is mounted read-only (`statvfs`
    /// `ST_RDONLY`; an old `mount --bind -o ro` silently made a read-write bind). The mount
    /// is left for the plan's unmount. (recover's hook; src/walk/apply_recover.rs)
    RequireReadOnly { mountpoint: PathBuf },
    /// recover: the copy-out from the read-only mount into DEST, verified, with its MANIFEST.
    CopyOut { out: Box<recover::CopyOut> },
    /// md recover's assembly, overlay and teardown (src/backend/md/recover_action.rs;
    /// mechanics in src/walk/apply_md_recover.rs).
    MdRecover(crate::backend::md::recover_action::MdRecoverAction),
}

/// A value that must never be printed or stored (an alert command carrying tokens). It
/// serializes as nothing, so a journal never holds it; a plan read back holds an empty one,
/// which [`Action::WriteSecret`] refuses to write.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<not shown>)")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_unit()
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        serde::de::IgnoredAny::deserialize(d)?;
        Ok(Secret::default())
    }
}

impl Action {
    /// The command this action runs as planned (what the dry run prints), if any.
    pub fn command(&self) -> Option<Cmd> {
        match self {
            Action::Run { cmd } | Action::Try { cmd } | Action::BtrfsReplace { cmd, .. } => {
                Some(cmd.clone())
            }
            Action::BtrfsScrub { cmd, .. } | Action::BtrfsBalance { cmd, .. } => Some(cmd.clone()),
            Action::Mount {
                members,
                mountpoint,
                options,
                ..
            } => members.first().map(|m| mount_cmd(m, mountpoint, options)),
            Action::Umount { mountpoint } => Some(umount_cmd(mountpoint)),
            Action::WipeOwn { device, .. } => Some(wipe_cmd(device)),
            Action::MakeMutable { path } => Some(chattr_cmd("-i", path)),
            Action::Md(a) => a.command(),
            Action::Hotcopy(h) => h.command(),
            Action::MdRecover(a) => a.command(),
            _ => None,
        }
    }
}

/// The btrfs backend's `mount -t btrfs -o OPTIONS MEMBER MOUNTPOINT` ([`Action::Mount`]).
pub use crate::backend::btrfs::mount_cmd;

/// `chattr FLAG PATH` (`+i` / `-i`).
pub fn chattr_cmd(flag: &str, path: &std::path::Path) -> Cmd {
    Cmd::mutating("chattr", [flag, path.to_string_lossy().as_ref()])
}

pub fn umount_cmd(mountpoint: &std::path::Path) -> Cmd {
    Cmd::mutating("umount", [mountpoint.to_string_lossy().as_ref()])
}

/// `wipefs --all DEVICE`.
pub fn wipe_cmd(device: &DevPath) -> Cmd {
    Cmd::mutating("wipefs", ["--all", &device.to_string()])
}

/// What the executor re-proves right before a step runs (also when the step is resumed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "check", rename_all = "snake_case")]
pub enum Check {
    /// Each device is still the [`Target`] the operator confirmed (size, model, serial, stable
    /// ids, the device number its path resolves to), passes the full device policy (with the
    /// plan's protected directory and the `O_EXCL` open), and carries what `allow` permits.
    Targets { devices: Vec<DevPath>, allow: Allow },
    /// No `lightningd` uses `dir` (checked now), and every file below it is unchanged since it
    /// was copied (size, mtime, ctime, inode against the copy manifest; the database also by
    /// its SQLite change counter). Takes the source lock when it is not held yet.
    SourceUnchanged { dir: PathBuf },
    /// The array copy at `dir`, when present, is as it was right after verification: the node
    /// did not run on it (abort must never erase a copy the node wrote to).
    CopyUnchanged { dir: PathBuf },
    /// No `lightningd` uses `dir` now.
    NodeStopped { dir: PathBuf },
}

/// Which contents a target may carry right before a step destroys it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Allow {
    /// What the operator saw at confirmation (blank or the exact signatures — `--wipe`
    /// consents to those only), blank, or lnraid's own new filesystem ([`Plan::own_fs`]).
    Confirmed,
    /// Blank or lnraid's own new filesystem only (abort's erase).
    OwnOrBlank,
}

/// How a step that was interrupted half way continues on `--resume`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resume {
    /// Every action is idempotent (renames, links and mounts see they are done): run again.
    #[default]
    Redo,
    /// A destructive step: re-planned from what the devices hold now. A device carrying
    /// lnraid's own half-made filesystem is re-proven, forgotten and wiped of it; then the
    /// step runs exactly as confirmed — never with added force (`-f`).
    Replan,
    /// Renames and links: when every action is seen done already, the step is complete and its
    /// checks are not repeated (their subject has moved); otherwise checked and run again.
    SkipIfDone,
    /// A kernel operation that outlives the process (`btrfs replace`): if it is running or
    /// finished, wait for it; otherwise re-prove and run the step.
    AwaitKernel,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub id: String,
    pub tag: Tag,
    pub describe: String,
    pub actions: Vec<Action>,
    /// Re-proven right before the step runs, in order.
    #[serde(default)]
    pub checks: Vec<Check>,
    #[serde(default)]
    pub resume: Resume,
}

impl Step {
    pub fn new(id: &str, tag: Tag, describe: impl Into<String>, actions: Vec<Action>) -> Step {
        Step {
            id: id.to_string(),
            tag,
            describe: describe.into(),
            actions,
            checks: Vec::new(),
            resume: Resume::Redo,
        }
    }

    /// Adds a check made right before the step.
    pub fn check(mut self, c: Check) -> Step {
        self.checks.push(c);
        self
    }

    pub fn resume(mut self, r: Resume) -> Step {
        self.resume = r;
        self
    }

    /// The commands this step runs as planned, in order.
    pub fn commands(&self) -> impl Iterator<Item = Cmd> + '_ {
        self.actions.iter().filter_map(Action::command)
    }

    pub fn is_destructive(&self) -> bool {
        self.tag == Tag::Destructive
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub title: String,
    pub steps: Vec<Step>,
    /// The devices this plan destroys, as confirmed.
    #[serde(default)]
    pub targets: Vec<Target>,
    /// A directory whose backing devices the device policy protects at every re-check
    /// (`$LIGHTNINGDIR`).
    #[serde(default)]
    pub protect: Option<PathBuf>,
    /// The filesystem UUID this plan creates: a target carrying it holds lnraid's own work.
    #[serde(default)]
    pub own_fs: Option<String>,
}

impl Plan {
    pub fn new(title: impl Into<String>, steps: Vec<Step>) -> Plan {
        Plan {
            title: title.into(),
            steps,
            targets: Vec::new(),
            protect: None,
            own_fs: None,
        }
    }

    /// Every command of every step, in execution order.
    pub fn commands(&self) -> Vec<Cmd> {
        self.steps.iter().flat_map(|s| s.commands()).collect()
    }

    pub fn target(&self, dev: &DevPath) -> Option<&Target> {
        self.targets.iter().find(|t| &t.device == dev)
    }
}

#[cfg(test)]
pub(crate) mod tests;
