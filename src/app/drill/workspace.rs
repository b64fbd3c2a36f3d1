//! The drill's private workspace: a temp dir holding the sparse backing files, the generated
//! node, the redirected host files (fstab, state, units, locks, cron) and the mountpoint, and
//! the loop devices attached over those files.
//!
//! May touch only what it created. Every loop device is recorded the moment `losetup` returns
//! it, and is detached at cleanup only after re-proving, from sysfs, that its backing file
//! still lies in this workspace (a device number freed earlier may since belong to someone
//! else). Mounts are unmounted only when their mountpoint lies in the workspace or their source
//! is one of those devices (recover mounts under /run/lnraid). The workspace is removed
//! recursively only once nothing is mounted in it, so a failed unmount can never make the
//! removal reach into a mounted filesystem (STYLE.md rule 18). Cleanup runs on drop, so on
//! every exit path of the drill; the signal handler only sets a flag the drill checks.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::exec::{Cmd, Runner};

pub struct Workspace<'r> {
    runner: &'r dyn Runner,
    pub dir: PathBuf,
    /// Loop devices this workspace attached and has not detached yet.
    loops: Vec<String>,
    pub keep: bool,
}

impl<'r> Workspace<'r> {
    /// A fresh `lnraid-drill-XXXXXX` directory in the temp dir (`$TMPDIR`), mode 0700.
    pub fn create(runner: &'r dyn Runner, keep: bool) -> Result<Workspace<'r>> {
        let dir = tempfile::Builder::new()
            .prefix("lnraid-drill-")
            .tempdir()
            .context("creating the drill's temp dir")?
            // Removal is ours (cleanup), never TempDir's recursive drop.
            .keep();
        Ok(Workspace {
            runner,
            dir,
            loops: Vec::new(),
            keep,
        })
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    /// A sparse file `<name>.img` of `size` bytes and a loop device over it.
    pub fn attach(&mut self, name: &str, size: u64) -> Result<String> {
        let img = self.path(&format!("{name}.img"));
        let f = fs::File::create(&img).with_context(|| format!("creating {}", img.display()))?;
        f.set_len(size)
            .with_context(|| format!("sizing {}", img.display()))?;
        drop(f);
        let img_s = img.to_string_lossy().into_owned();
        let out = self.runner.run_ok(&Cmd::mutating(
            "losetup",
            ["--find", "--show", img_s.as_str()],
        ))?;
        let dev = out.stdout.trim().to_string();
        anyhow::ensure!(
            dev.starts_with("/dev/loop"),
            "losetup printed {dev:?}, not a loop device"
        );
        self.loops.push(dev.clone());
        Ok(dev)
    }

    /// Detaches one of this workspace's devices now (the drill's "a member dies").
    pub fn detach(&mut self, dev: &str) -> Result<()> {
        anyhow::ensure!(
            self.loops.iter().any(|d| d == dev),
            "{dev} is not a drill device"
        );
        self.detach_proven(dev)?;
        self.loops.retain(|d| d != dev);
        Ok(())
    }

    /// The backing file of `dev` lies in this workspace (read from sysfs right now).
    fn owns(&self, dev: &str) -> bool {
        let name = dev.trim_start_matches("/dev/");
        fs::read_to_string(format!("/sys/block/{name}/loop/backing_file"))
            .is_ok_and(|b| Path::new(b.trim()).starts_with(&self.dir))
    }

    fn detach_proven(&self, dev: &str) -> Result<()> {
        if !self.owns(dev) {
            // Already gone (or the number now backs someone else's file): not ours to touch.
            return Ok(());
        }
        let _ = self
            .runner
            .output(&Cmd::mutating("btrfs", ["device", "scan", "--forget", dev]));
        self.runner.run_ok(&Cmd::mutating("losetup", ["-d", dev]))?;
        Ok(())
    }

    /// Mountpoints to undo: inside the workspace, or mounted from one of its devices;
    /// deepest first.
    fn our_mounts(&self) -> Vec<PathBuf> {
        let info = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let mut mps: Vec<PathBuf> = info
            .lines()
            .filter_map(|l| {
                let mp = PathBuf::from(unescape(l.split(' ').nth(4)?));
                let source = l.split(" - ").nth(1)?.split(' ').nth(1)?;
                let ours = mp.starts_with(&self.dir) || self.loops.iter().any(|d| d == source);
                ours.then_some(mp)
            })
            .collect();
        mps.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
        mps.dedup();
        mps
    }

    /// Unmounts, detaches and removes everything this workspace made. Returns what could not
    /// be undone (empty: all clean).
    pub fn cleanup(&mut self) -> Vec<String> {
        let mut left = Vec::new();
        for attempt in 0..5u64 {
            let mps = self.our_mounts();
            if mps.is_empty() {
                break;
            }
            for mp in &mps {
                let s = mp.to_string_lossy().into_owned();
                let _ = self.runner.output(&Cmd::mutating("umount", [s.as_str()]));
            }
            std::thread::sleep(Duration::from_millis(200 * attempt));
        }
        for mp in self.our_mounts() {
            left.push(format!("still mounted: {} (umount it)", mp.display()));
        }
        let mnt = self.path("mnt");
        if mnt.is_dir() && left.is_empty() {
            // setup makes the bare mountpoint immutable; the flag would block its removal.
            let s = mnt.to_string_lossy().into_owned();
            let _ = self
                .runner
                .output(&Cmd::mutating("chattr", ["-i", s.as_str()]));
        }
        for dev in std::mem::take(&mut self.loops) {
            if let Err(e) = self.detach_proven(&dev) {
                left.push(format!(
                    "loop device {dev} still attached ({e:#}; losetup -d {dev})"
                ));
                self.loops.push(dev);
            }
        }
        if !left.is_empty() {
            left.push(format!(
                "{} kept (something in it is still in use)",
                self.dir.display()
            ));
        } else if !self.keep && self.dir.exists() {
            if let Err(e) = fs::remove_dir_all(&self.dir) {
                left.push(format!("could not remove {}: {e}", self.dir.display()));
            }
        }
        left
    }
}

impl Drop for Workspace<'_> {
    fn drop(&mut self) {
        for problem in self.cleanup() {
            tracing::error!("drill cleanup: {problem}");
        }
    }
}

/// mountinfo escapes space, tab, newline and backslash as octal (`\040`).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let oct = b
            .get(i + 1..i + 4)
            .filter(|o| o.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (b[i], oct) {
            (b'\\', Some(o)) => {
                let v = u32::from(o[0] - b'0') * 64
                    + u32::from(o[1] - b'0') * 8
                    + u32::from(o[2] - b'0');
                out.push(v as u8);
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn unescapes_mountinfo_paths() {
        assert_eq!(super::unescape("/tmp/a\\040b"), "/tmp/a b");
        assert_eq!(super::unescape("/plain"), "/plain");
        assert_eq!(super::unescape("/x\\"), "/x\\");
    }
}
