//! Test harness for device tests: loop devices on sparse files the test created, mounts it
//! made, and a cross-process lock so device tests never race for loop devices or btrfs's
//! device registry.
//!
//! Invariants (DESIGN.md §5): a test touches only devices it created; `Drop` unmounts what it
//! mounted and detaches what it attached, also when the test panics; leftovers of a crashed
//! run are recognized by the `lnraid-test-` prefix of their backing file and swept once per
//! process, under the lock. Processes are started through lnraid's own `RealRunner`.
#![allow(dead_code)]

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, Once};

use lnraid::exec::{Cmd, Output, RealRunner, Runner};

/// Prefix of every temp dir (and so every backing file) a device test creates.
pub const PREFIX: &str = "lnraid-test-";

/// Asserts that `out` exited 0, showing its stdout and stderr when it did not.
#[track_caller]
pub fn assert_ok(out: &Output) {
    assert_eq!(
        out.status,
        lnraid::exec::ExitStatus::Code(0),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
}

/// Runs a command that must succeed; panics with its stderr otherwise.
pub fn sh(program: &str, args: &[&str]) -> Output {
    let cmd = Cmd::mutating(program, args.iter().copied());
    RealRunner.run_ok(&cmd).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs a command and returns its output whatever the status.
pub fn sh_any(program: &str, args: &[&str]) -> Output {
    RealRunner
        .output(&Cmd::mutating(program, args.iter().copied()))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Why device tests cannot run here, if they cannot.
pub fn device_tests_unavailable() -> Option<String> {
    if !nix::unistd::Uid::effective().is_root() {
        return Some("device tests need root (loop devices, mkfs, mount)".into());
    }
    if !Path::new("/dev/loop-control").exists() {
        return Some("no /dev/loop-control: loop devices unavailable".into());
    }
    let fs = fs::read_to_string("/proc/filesystems").unwrap_or_default();
    if !fs.lines().any(|l| l.trim_end().ends_with("btrfs")) {
        return Some("kernel has no btrfs".into());
    }
    for tool in [
        "mkfs.btrfs",
        "btrfs",
        "losetup",
        "mkfs.ext4",
        "sfdisk",
        "blkid",
        "lsblk",
    ] {
        if RealRunner
            .output(&Cmd::read_only("sh", ["-c", &format!("command -v {tool}")]))
            .map(|o| !o.status.success())
            .unwrap_or(true)
        {
            return Some(format!("{tool} is not installed (run .ci/run or apt-get install btrfs-progs e2fsprogs fdisk)"));
        }
    }
    None
}

/// Returns the lock guard when device tests can run, or prints a visible SKIPPED line.
#[macro_export]
macro_rules! device_test {
    ($name:expr) => {
        match common::device_tests_unavailable() {
            Some(why) => {
                println!("SKIPPED: {}: {}", $name, why);
                eprintln!("SKIPPED: {}: {}", $name, why);
                return;
            }
            None => common::DeviceLock::acquire(),
        }
    };
}

static IN_PROCESS: Mutex<()> = Mutex::new(());
static SWEEP: Once = Once::new();

/// Serializes device tests: a mutex between threads of this process and an `flock` between
/// test processes (cargo test and nextest may run binaries in parallel).
pub struct DeviceLock {
    _thread: MutexGuard<'static, ()>,
    _file: nix::fcntl::Flock<File>,
}

impl DeviceLock {
    pub fn acquire() -> DeviceLock {
        let thread = IN_PROCESS.lock().unwrap_or_else(|p| p.into_inner());
        let f = File::create("/tmp/lnraid-device-tests.lock").expect("lock file");
        let file = nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusive)
            .map_err(|(_, e)| e)
            .expect("flock");
        SWEEP.call_once(sweep_leftovers);
        DeviceLock {
            _thread: thread,
            _file: file,
        }
    }
}

/// Unmounts and detaches what an earlier, crashed run left behind — only devices whose
/// backing file lies in a directory with our prefix, and only mounts inside such directories.
fn sweep_leftovers() {
    let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    for line in mounts.lines() {
        let mp = line.split(' ').nth(4).unwrap_or_default();
        if mp.contains(&format!("/{PREFIX}")) {
            eprintln!("sweeping leftover mount {mp}");
            let _ = sh_any("umount", &[mp]);
        }
    }
    // Mountpoints that setup made immutable: clear the flag so they can be removed.
    for e in fs::read_dir("/tmp").into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with(&format!("{PREFIX}mnt-")) {
            let p = e.path();
            let _ = sh_any("chattr", &["-i", p.to_str().unwrap()]);
            let _ = fs::remove_dir(&p);
        }
    }
    for loopdir in fs::read_dir("/sys/block").into_iter().flatten().flatten() {
        let name = loopdir.file_name().to_string_lossy().into_owned();
        let backing =
            fs::read_to_string(loopdir.path().join("loop/backing_file")).unwrap_or_default();
        if name.starts_with("loop") && backing.contains(&format!("/{PREFIX}")) {
            let dev = format!("/dev/{name}");
            eprintln!("sweeping leftover loop device {dev} ({})", backing.trim());
            let _ = sh_any("btrfs", &["device", "scan", "--forget", &dev]);
            let _ = sh_any("losetup", &["-d", &dev]);
        }
    }
}

/// A private temp dir with our prefix (so leftovers are recognizable).
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(PREFIX)
        .tempdir()
        .expect("tempdir")
}

/// A loop device over a sparse file in `dir`. Detached (and forgotten by btrfs) on drop.
pub struct LoopDev {
    pub path: String,
    pub backing: PathBuf,
    detached: bool,
}

impl LoopDev {
    /// `size` as `truncate -s` takes it (`1G`). `partscan` attaches with `-P`.
    pub fn new(dir: &Path, name: &str, size: &str, partscan: bool) -> LoopDev {
        let backing = dir.join(format!("{name}.img"));
        sh("truncate", &["-s", size, backing.to_str().unwrap()]);
        let mut args = vec!["--find", "--show"];
        if partscan {
            args.push("--partscan");
        }
        args.push(backing.to_str().unwrap());
        let out = sh("losetup", &args);
        LoopDev {
            path: out.stdout.trim().to_string(),
            backing,
            detached: false,
        }
    }

    /// Detaches now (to simulate a failed disk). Idempotent.
    pub fn detach(&mut self) {
        if !self.detached {
            let _ = sh_any("btrfs", &["device", "scan", "--forget", &self.path]);
            let out = sh_any("losetup", &["-d", &self.path]);
            if !out.status.success() {
                eprintln!(
                    "warning: losetup -d {} failed: {}",
                    self.path,
                    out.stderr.trim()
                );
            }
            self.detached = true;
        }
    }
}

impl Drop for LoopDev {
    fn drop(&mut self) {
        self.detach();
    }
}

/// A mount made by a test. Unmounted on drop with a bounded retry; the mountpoint directory
/// is removed only after a successful unmount and only if empty (never recursively).
pub struct Mounted {
    pub dir: PathBuf,
}

impl Mounted {
    pub fn new(dev: &str, dir: &Path, opts: &[&str]) -> Mounted {
        fs::create_dir_all(dir).unwrap();
        let mut args: Vec<&str> = Vec::new();
        if !opts.is_empty() {
            args.push("-o");
        }
        let joined = opts.join(",");
        if !opts.is_empty() {
            args.push(&joined);
        }
        args.push(dev);
        args.push(dir.to_str().unwrap());
        sh("mount", &args);
        Mounted {
            dir: dir.to_path_buf(),
        }
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let d = self.dir.to_str().unwrap().to_string();
        for attempt in 0..5 {
            if sh_any("umount", &[&d]).status.success() {
                let _ = fs::remove_dir(&self.dir);
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(200 * (attempt + 1)));
        }
        eprintln!("warning: could not unmount {d}; leaving it for the next run's sweep");
    }
}

/// The rehearsal override (`--allow-loop-on-shared-disk` as an environment variable): loop
/// devices whose backing files share /tmp's disk with each other and with the node directory.
/// Only for tests that build arrays on such loop devices; nothing sets it globally.
pub const REHEARSAL_ENV: &str = "LNRAID_ALLOW_LOOP_ON_SHARED_DISK";

/// `cmd` with the rehearsal override set (setup and replace over loop devices in /tmp).
pub fn rehearsal(cmd: Cmd) -> Cmd {
    cmd.env(REHEARSAL_ENV, "1")
}

/// [`lnraid`] for a test whose arrays are loop devices on the shared disk.
#[allow(dead_code)]
pub fn lnraid_rehearsal(args: &[&str]) -> Output {
    RealRunner
        .output(&rehearsal(
            Cmd::read_only(env!("CARGO_BIN_EXE_lnraid"), args.iter().copied()).untimed(),
        ))
        .expect("run lnraid")
}

/// Runs the lnraid binary with `args` (untimed: a setup over loop devices may take a while;
/// lnraid's own probes have their own limits). Without the rehearsal override.
pub fn lnraid(args: &[&str]) -> Output {
    RealRunner
        .output(&Cmd::read_only(env!("CARGO_BIN_EXE_lnraid"), args.iter().copied()).untimed())
        .expect("run lnraid")
}

/// `lnraid devices --json ARGS` parsed; returns (exit code, document).
pub fn devices_json(args: &[&str]) -> (i32, serde_json::Value) {
    let mut all = vec!["devices", "--json"];
    all.extend_from_slice(args);
    let out = lnraid(&all);
    let doc = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {}\nstderr: {}", out.stdout, out.stderr));
    (out.status.code().unwrap_or(-1), doc)
}

/// The refusal codes of `dev` in a devices document.
pub fn codes_of(doc: &serde_json::Value, dev: &str) -> Vec<String> {
    let d = doc["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["path"] == dev)
        .unwrap_or_else(|| panic!("{dev} not in {doc:#}"));
    d["refusals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap().to_string())
        .collect()
}

/// A directory for a mountpoint, with our prefix, NOT owned by a `TempDir`: a `TempDir`
/// removes recursively, and if an unmount failed that would delete inside the mounted
/// filesystem. [`Mounted`] removes it only when empty, after unmounting.
pub fn mountpoint_dir(name: &str) -> PathBuf {
    let d = tempfile::Builder::new()
        .prefix(&format!("{PREFIX}mnt-{name}-"))
        .tempdir()
        .expect("mount dir");
    d.keep()
}

/// Undoes what a successful `lnraid setup` left on the machine, for tests: unmounts the array
/// (bounded retry), clears the immutable flag, removes the empty mountpoint. Runs on drop,
/// before the loop devices are detached (declare it after them).
pub struct ArrayCleanup {
    pub mountpoint: PathBuf,
}

impl Drop for ArrayCleanup {
    fn drop(&mut self) {
        let mp = self.mountpoint.to_str().unwrap().to_string();
        for attempt in 0..5 {
            let mounted = fs::read_to_string("/proc/self/mountinfo")
                .unwrap_or_default()
                .lines()
                .any(|l| l.split(' ').nth(4) == Some(mp.as_str()));
            if !mounted || sh_any("umount", &[&mp]).status.success() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(200 * (attempt + 1)));
        }
        if self.mountpoint.exists() {
            let _ = sh_any("chattr", &["-i", &mp]);
            let _ = fs::remove_dir(&self.mountpoint);
        }
    }
}

/// The path of an installed program.
pub fn which(program: &str) -> PathBuf {
    lnraid::host::find_program(program).unwrap_or_else(|| panic!("{program} not installed"))
}

/// Kills a background process the test started.
pub struct KillOnDrop(pub i32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.0),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}
