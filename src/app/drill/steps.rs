//! The drill's steps, in order. Each drives the real `lnraid` binary (or the tool it would
//! leave to the operator: `umount`, `losetup -d` to kill a member, `btrfs` to read the result)
//! with every host path redirected into the workspace, checks what an operator would check,
//! and returns a one-line detail for the table. A step that finds anything wrong fails with
//! the command's own words; the drill stops there.
//!
//! May not touch anything outside the workspace: lnraid runs with `--fstab`, `--state-dir`,
//! `--unit-dir`, `--lock-dir`, `--cron-dir` and the matching `LNRAID_*` variables (and
//! `TMPDIR`) all pointing into it.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};

use super::workspace::Workspace;
use crate::cli::DrillBackend;
use crate::exec::{Cmd, ExitStatus, Output, Runner};
use crate::probe::btrfs::df::parse_df;
use crate::probe::btrfs::{BgType, Profile};
use crate::testkit::{generate_node_dir, NodeSpec};
use crate::types::Bytes;

/// The node's files recover must bring out, byte for byte.
const RESCUED: [&str; 4] = [
    "lightningd.sqlite3",
    "hsm_secret",
    "emergency.recover",
    "config",
];

pub struct Drill<'w, 'r> {
    pub runner: &'r dyn Runner,
    pub ws: &'w mut Workspace<'r>,
    pub exe: PathBuf,
    pub backend: DrillBackend,
    pub device_size: u64,
    devs: Vec<String>,
    /// The node directory's fingerprint after it wrote new state on the array.
    written: BTreeMap<String, String>,
    rescued_bytes: Vec<(String, Vec<u8>)>,
}

impl<'w, 'r> Drill<'w, 'r> {
    pub fn new(
        runner: &'r dyn Runner,
        ws: &'w mut Workspace<'r>,
        exe: PathBuf,
        backend: DrillBackend,
        device_size: u64,
    ) -> Self {
        Drill {
            runner,
            ws,
            exe,
            backend,
            device_size,
            devs: Vec::new(),
            written: BTreeMap::new(),
            rescued_bytes: Vec::new(),
        }
    }

    fn node(&self) -> PathBuf {
        self.ws.path("home/.lightning/bitcoin")
    }

    fn mp(&self) -> String {
        self.ws.path("mnt").to_string_lossy().into_owned()
    }

    fn host_args(&self) -> Vec<String> {
        let p = |r: &str| self.ws.path(r).to_string_lossy().into_owned();
        vec![
            "--fstab".into(),
            p("fstab"),
            "--state-dir".into(),
            p("state"),
            "--unit-dir".into(),
            p("units"),
            "--lock-dir".into(),
            p("lock"),
        ]
    }

    /// `lnraid ARGS` with the workspace's environment; its output is appended to drill.log.
    fn lnraid(&self, args: &[String]) -> Result<Output> {
        let p = |r: &str| self.ws.path(r).to_string_lossy().into_owned();
        let mut cmd = Cmd::mutating(&self.exe.to_string_lossy(), args.iter().map(String::as_str))
            .env("LNRAID_FSTAB", p("fstab"))
            .env("LNRAID_STATE_DIR", p("state"))
            .env("LNRAID_UNIT_DIR", p("units"))
            .env("LNRAID_LOCK_DIR", p("lock"))
            .env("LNRAID_CRON_DIR", p("cron.d"))
            .env("LNRAID_BTRFSMAINTENANCE_LOCK_DIR", p("run"))
            .env("TMPDIR", self.ws.dir.to_string_lossy())
            // The drill's devices are loop files on one disk, by design: no real redundancy
            // is claimed (the guard's policy refuses that outside rehearsals).
            .env("LNRAID_ALLOW_LOOP_ON_SHARED_DISK", "1")
            .env("NO_COLOR", "1");
        if let Ok(log) = std::env::var("LNRAID_LOG") {
            cmd = cmd.env("LNRAID_LOG", log);
        }
        let out = self.runner.output(&cmd)?;
        self.log(&format!(
            "$ {cmd}\n{}{}[{}]\n\n",
            out.stdout, out.stderr, out.status
        ));
        Ok(out)
    }

    fn log(&self, text: &str) {
        use std::io::Write;
        if let Ok(mut f) = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.ws.path("drill.log"))
        {
            let _ = f.write_all(text.as_bytes());
        }
    }

    /// Runs lnraid and requires exit `code`.
    fn expect(&self, args: &[String], code: i32) -> Result<Output> {
        let out = self.lnraid(args)?;
        if out.status != ExitStatus::Code(code) {
            bail!(
                "`lnraid {}` ended with {} (expected exit {code}): {}",
                args.join(" "),
                out.status,
                crate::exec::stderr_tail(&format!("{}\n{}", out.stdout, out.stderr))
            );
        }
        Ok(out)
    }

    fn tool(&self, program: &str, args: &[&str]) -> Result<Output> {
        Ok(self
            .runner
            .run_ok(&Cmd::mutating(program, args.iter().copied()))?)
    }

    /// Three sparse devices (two for the array, one spare) and a generated node directory.
    pub fn prepare(&mut self) -> Result<String> {
        for name in ["a", "b", "spare"] {
            let d = self.ws.attach(name, self.device_size)?;
            self.devs.push(d);
        }
        fs::write(self.ws.path("fstab"), "# lnraid drill fstab\n")?;
        let spec = NodeSpec {
            db_bytes: 16 << 20,
            gossip_bytes: 4 << 20,
            hot_journal: false,
        };
        generate_node_dir(&self.node(), &spec).context("generating the node directory")?;
        Ok(format!(
            "{} sparse devices of {}: {}; a generated node directory",
            self.devs.len(),
            Bytes(self.device_size),
            self.devs.join(" ")
        ))
    }

    /// `lnraid setup` onto a and b, then the node commits new state on the array.
    pub fn setup(&mut self) -> Result<String> {
        let mut args: Vec<String> = vec![
            "setup".into(),
            "--lightning-dir".into(),
            self.node().to_string_lossy().into_owned(),
            "--device".into(),
            self.devs[0].clone(),
            "--device".into(),
            self.devs[1].clone(),
            "--mountpoint".into(),
            self.mp(),
            "--yes".into(),
        ];
        if self.backend == DrillBackend::Mdadm {
            args.extend(["--backend".into(), "mdadm".into()]);
        }
        args.extend(self.host_args());
        self.expect(&args, 0)?;
        ensure!(
            fs::symlink_metadata(self.node())?.file_type().is_symlink(),
            "setup left {} without its symlink onto the array",
            self.node().display()
        );
        self.node_writes()?;
        Ok(format!(
            "node moved onto {} + {}, mounted at {}; the node then committed new state",
            self.devs[0],
            self.devs[1],
            self.mp()
        ))
    }

    fn node_writes(&mut self) -> Result<()> {
        let home = self.node();
        let conn = rusqlite::Connection::open(home.join("lightningd.sqlite3"))?;
        conn.execute(
            "INSERT INTO vars (name, val) VALUES ('drill', 'written after setup')",
            [],
        )?;
        drop(conn);
        fs::write(home.join("emergency.recover"), b"newer emergency.recover")?;
        self.tool("sync", &[])?;
        self.written = fingerprint(&home)?;
        self.rescued_bytes = RESCUED
            .iter()
            .map(|f| Ok((f.to_string(), fs::read(home.join(f))?)))
            .collect::<Result<_>>()?;
        Ok(())
    }

    /// Unmount, then the second member disappears (its loop device detached).
    pub fn member_fails(&mut self) -> Result<String> {
        let mp = self.mp();
        self.tool("umount", &[&mp])?;
        let b = self.devs[1].clone();
        self.ws.detach(&b)?;
        Ok(format!(
            "array unmounted, {b} detached (gone, as a dead disk)"
        ))
    }

    pub fn status_critical(&mut self) -> Result<String> {
        let mut args = vec!["status".to_string(), "--json".to_string()];
        args.extend(self.host_args());
        let out = self.expect(&args, 2)?;
        let doc: serde_json::Value =
            serde_json::from_str(&out.stdout).context("status --json printed no JSON")?;
        ensure!(
            out.stdout.contains("missing"),
            "status is critical but does not say a member is missing: {doc}"
        );
        Ok("exit 2 (critical): a member is missing".into())
    }

    /// `lnraid recover` from the survivor; the copies equal what the node last committed.
    pub fn recover(&mut self) -> Result<String> {
        let dest = self.ws.path("rescued");
        let args: Vec<String> = vec![
            "recover".into(),
            "--to".into(),
            dest.to_string_lossy().into_owned(),
            "--device".into(),
            self.devs[0].clone(),
            "--lock-dir".into(),
            self.ws.path("lock").to_string_lossy().into_owned(),
        ];
        self.expect(&args, 0)?;
        for (f, bytes) in &self.rescued_bytes {
            let got = fs::read(dest.join(f)).with_context(|| format!("rescued {f}"))?;
            ensure!(
                &got == bytes,
                "the rescued {f} differs from what the node wrote"
            );
        }
        ensure!(dest.join("MANIFEST").is_file(), "recover wrote no MANIFEST");
        let conn = rusqlite::Connection::open_with_flags(
            dest.join("lightningd.sqlite3"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )?;
        let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        let v: String =
            conn.query_row("SELECT val FROM vars WHERE name='drill'", [], |r| r.get(0))?;
        ensure!(
            check == "ok",
            "the rescued database: integrity_check says {check}"
        );
        ensure!(
            v == "written after setup",
            "the rescued database lacks the last commit"
        );
        Ok(format!(
            "{} files copied off {} (mounted read-only), equal, integrity_check ok",
            self.rescued_bytes.len(),
            self.devs[0]
        ))
    }

    pub fn replace(&mut self) -> Result<String> {
        let mut args: Vec<String> = vec![
            "replace".into(),
            "--old".into(),
            "2".into(),
            "--new".into(),
            self.devs[2].clone(),
            "--yes".into(),
        ];
        args.extend(self.host_args());
        self.expect(&args, 0)?;
        Ok(format!("devid 2 replaced by {}", self.devs[2]))
    }

    /// Every chunk mirrored again, and status healthy.
    pub fn redundancy(&mut self) -> Result<String> {
        let mp = self.mp();
        if self.backend == DrillBackend::Btrfs {
            let df = parse_df(
                &self
                    .tool("btrfs", &["filesystem", "df", "--raw", &mp])?
                    .stdout,
            )?;
            let bad: Vec<String> = df
                .groups
                .iter()
                .filter(|g| g.kind != BgType::GlobalReserve && g.profile != Profile::Raid1)
                .map(|g| format!("{:?} {:?}", g.kind, g.profile))
                .collect();
            ensure!(bad.is_empty(), "chunks not RAID1: {}", bad.join(", "));
        }
        let mut args = vec!["status".to_string()];
        args.extend(self.host_args());
        self.expect(&args, 0)?;
        Ok("all chunks RAID1; status exit 0 (healthy)".into())
    }

    /// `lnraid maintain scrub` (what the schedule runs): no errors found or corrected.
    pub fn scrub(&mut self) -> Result<String> {
        let mut args = vec!["maintain".to_string(), "scrub".to_string(), self.mp()];
        args.extend(self.host_args());
        self.expect(&args, 0)?;
        if self.backend == DrillBackend::Btrfs {
            let s = self
                .tool("btrfs", &["scrub", "status", "-R", &self.mp()])?
                .stdout;
            for key in ["uncorrectable_errors", "corrected_errors", "csum_errors"] {
                let n = s
                    .lines()
                    .find_map(|l| l.trim().strip_prefix(&format!("{key}: ")))
                    .unwrap_or("0");
                ensure!(n.trim() == "0", "scrub: {key} {n}");
            }
        }
        Ok("scrub clean: 0 errors".into())
    }

    /// The node directory reads back exactly as the node wrote it before the failure.
    pub fn data_equal(&mut self) -> Result<String> {
        let now = fingerprint(&self.node())?;
        let differ: Vec<&String> = self
            .written
            .iter()
            .filter(|(k, v)| now.get(*k) != Some(v))
            .map(|(k, _)| k)
            .chain(now.keys().filter(|k| !self.written.contains_key(*k)))
            .collect();
        ensure!(
            differ.is_empty(),
            "differs from before the failure: {differ:?}"
        );
        Ok(format!(
            "{} entries identical (content, mode, owner)",
            now.len()
        ))
    }
}

/// path → "kind mode uid gid size blake3/target" for every entry (sockets excepted: a node's
/// `lightning-rpc` is not data).
fn fingerprint(root: &Path) -> Result<BTreeMap<String, String>> {
    // The node directory is a symlink onto the array after setup: describe what it points to.
    let root = &fs::canonicalize(root).with_context(|| format!("{}", root.display()))?;
    let mut out = BTreeMap::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let p = root.join(&rel);
        let m = fs::symlink_metadata(&p).with_context(|| format!("{}", p.display()))?;
        let ft = m.file_type();
        let head = format!("{:o} {} {}", m.mode() & 0o7777, m.uid(), m.gid());
        let desc = if ft.is_dir() {
            for e in fs::read_dir(&p)? {
                stack.push(rel.join(e?.file_name()));
            }
            format!("dir {head}")
        } else if ft.is_symlink() {
            format!("link {}", fs::read_link(&p)?.display())
        } else if ft.is_file() {
            let h = blake3::hash(&fs::read(&p)?);
            format!("file {head} {} {h}", m.len())
        } else if ft.is_socket() {
            continue;
        } else {
            format!("special {head}")
        };
        out.insert(rel.to_string_lossy().into_owned(), desc);
    }
    // The top directory's own entry follows the symlink target's mode; keep only contents.
    out.remove("");
    Ok(out)
}
