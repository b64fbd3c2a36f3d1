//! Shared parts of the doctor tests: a real node directory (a real SQLite database made with
//! SQLite, a real hsm_secret, real config files) in a private temp dir, a fake `lightning-cli`
//! (a script printing the documented JSON of `listconfigs`, `plugin list`, `getinfo`), a fake
//! `lightningd` (a copy of `sh` named lightningd, sleeping, with the node's flags on its
//! command line), and a runner for `lnraid doctor --json` with every host path redirected.
#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use lnraid::exec::{Cmd, Output, RealRunner, Runner};

pub struct Node {
    pub tmp: tempfile::TempDir,
    /// lightningd's --lightning-dir.
    pub base: PathBuf,
    /// $LIGHTNINGDIR (regtest).
    pub dir: PathBuf,
    /// Where fake tools go (first on PATH).
    pub bin: PathBuf,
    pub litestream: PathBuf,
    pub fstab: PathBuf,
}

/// A real SQLite database at `path` (rollback journal unless `wal`), closed on return.
pub fn make_db(path: &Path, wal: bool) {
    let c = rusqlite::Connection::open(path).unwrap();
    if wal {
        let _: String = c
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .unwrap();
    }
    c.execute_batch("CREATE TABLE channels(id INTEGER PRIMARY KEY, state TEXT); INSERT INTO channels(state) VALUES ('open');")
        .unwrap();
}

pub fn write_mode(path: &Path, bytes: &[u8], mode: u32) {
    fs::write(path, bytes).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

impl Node {
    /// A regtest node: database, 32-byte hsm_secret (0400), emergency.recover, and a base
    /// config selecting regtest.
    pub fn new() -> Node {
        let tmp = tempfile::Builder::new()
            .prefix("lnraid-doctor-")
            .tempdir()
            .unwrap();
        let base = tmp.path().join("dot-lightning");
        let dir = base.join("regtest");
        let bin = tmp.path().join("bin");
        fs::create_dir_all(&dir).unwrap();
        fs::create_dir_all(&bin).unwrap();
        make_db(&dir.join("lightningd.sqlite3"), false);
        write_mode(&dir.join("hsm_secret"), &[0x42; 32], 0o400);
        fs::write(dir.join("emergency.recover"), [7u8; 120]).unwrap();
        fs::write(base.join("config"), "network=regtest\n").unwrap();
        let fstab = tmp.path().join("fstab");
        fs::write(&fstab, "").unwrap();
        Node {
            litestream: tmp.path().join("litestream.yml"),
            fstab,
            tmp,
            base,
            dir,
            bin,
        }
    }

    pub fn db(&self) -> PathBuf {
        self.dir.join("lightningd.sqlite3")
    }

    /// A directory of its own in the temp dir.
    pub fn mkdir(&self, name: &str) -> PathBuf {
        let d = self.tmp.path().join(name);
        fs::create_dir_all(&d).unwrap();
        d
    }

    pub fn net_config(&self, text: &str) {
        fs::write(self.dir.join("config"), text).unwrap();
    }

    /// Installs an executable script `name` on the fake PATH.
    pub fn script(&self, name: &str, body: &str) {
        let p = self.bin.join(name);
        fs::write(&p, format!("#!/bin/sh\n{body}")).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// A fake lightning-cli answering the three methods doctor uses with these JSON texts;
    /// it logs its arguments to `cli.log`.
    pub fn fake_cli(&self, listconfigs: &str, plugins: &str, getinfo: &str) {
        for (n, t) in [
            ("listconfigs", listconfigs),
            ("plugins", plugins),
            ("getinfo", getinfo),
        ] {
            fs::write(self.tmp.path().join(format!("{n}.json")), t).unwrap();
        }
        let d = self.tmp.path().display();
        self.script(
            "lightning-cli",
            &format!(
                "echo \"$@\" >> '{d}/cli.log'\nfor a in \"$@\"; do case \"$a\" in\n  listconfigs) cat '{d}/listconfigs.json'; exit 0;;\n  list) cat '{d}/plugins.json'; exit 0;;\n  getinfo) cat '{d}/getinfo.json'; exit 0;;\nesac; done\necho 'unknown command' >&2; exit 1\n"
            ),
        );
    }

    /// Listens on the RPC socket so doctor finds it reachable. Keep the listener alive.
    pub fn rpc_socket(&self) -> std::os::unix::net::UnixListener {
        std::os::unix::net::UnixListener::bind(self.dir.join("lightning-rpc")).unwrap()
    }

    /// Starts a fake lightningd with `args`; killed on drop.
    pub fn fake_lightningd(&self, args: &[&str]) -> Proc {
        let exe = self.tmp.path().join("lightningd");
        if !exe.exists() {
            fs::copy("/bin/sh", &exe).unwrap();
        }
        let mut script = format!("'{}' -c 'sleep 300; :' lightningd", exe.display());
        for a in args {
            script.push_str(&format!(" '{a}'"));
        }
        let out = sh(&format!("{script} >/dev/null 2>&1 & echo $!"));
        let pid: i32 = out.stdout.trim().parse().unwrap();
        // Wait until procfs shows it under its name.
        for _ in 0..50 {
            if fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "lightningd")
            {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Proc(pid)
    }

    /// `lnraid doctor --json --lightning-dir DIR ARGS` with host paths redirected.
    pub fn doctor(&self, extra: &[&str]) -> (i32, serde_json::Value, Output) {
        let mut args = vec!["doctor", "--json", "--lightning-dir"];
        let dir = self.dir.display().to_string();
        args.push(&dir);
        args.extend_from_slice(extra);
        let out = self.lnraid(&args);
        let doc = serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("bad JSON ({e}): {}\nstderr: {}", out.stdout, out.stderr));
        (out.status.code().unwrap_or(-1), doc, out)
    }

    pub fn lnraid(&self, args: &[&str]) -> Output {
        RealRunner
            .output(&self.lnraid_cmd(args))
            .expect("run lnraid")
    }

    pub fn lnraid_cmd(&self, args: &[&str]) -> Cmd {
        let path = format!(
            "{}:{}",
            self.bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let t = self.tmp.path();
        Cmd::read_only(env!("CARGO_BIN_EXE_lnraid"), args.iter().copied())
            .env("PATH", path)
            .env("HOME", t.display().to_string())
            .env("LNRAID_FSTAB", self.fstab.display().to_string())
            .env("LNRAID_STATE_DIR", t.join("state").display().to_string())
            .env("LNRAID_CRON_DIR", t.join("cron.d").display().to_string())
            .env("LNRAID_UNIT_DIR", t.join("units").display().to_string())
            .env("LITESTREAM_CONFIG", self.litestream.display().to_string())
    }
}

/// A background process, killed (and reaped by init) on drop.
pub struct Proc(pub i32);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.0),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

pub fn sh(script: &str) -> Output {
    RealRunner
        .run_ok(&Cmd::mutating("sh", ["-c", script]))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The findings of `strategy` (and `check`, when given) in a doctor document.
pub fn findings<'a>(
    doc: &'a serde_json::Value,
    strategy: &str,
    check: Option<&str>,
) -> Vec<&'a serde_json::Value> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["strategy"] == strategy && check.is_none_or(|c| f["check"] == c))
        .collect()
}

/// The severity of the one finding `strategy`/`check`; panics with the document otherwise.
pub fn severity(doc: &serde_json::Value, strategy: &str, check: &str) -> String {
    let f = findings(doc, strategy, Some(check));
    assert_eq!(
        f.len(),
        1,
        "expected one {strategy}/{check} finding in {doc:#}"
    );
    f[0]["severity"].as_str().unwrap().to_string()
}

/// Every finding's `strategy/check` with its severity, for assertion messages.
pub fn summary(doc: &serde_json::Value) -> String {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{}/{}={}: {}",
                f["strategy"].as_str().unwrap(),
                f["check"].as_str().unwrap(),
                f["severity"].as_str().unwrap(),
                f["evidence"].as_str().unwrap()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}
