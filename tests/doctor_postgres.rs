//! `lnraid doctor` against a REAL PostgreSQL primary and streaming standby, started by this
//! test from the distribution's binaries (initdb, pg_ctl, pg_basebackup -R) in its own temp
//! dir, on random free loopback ports, as the `postgres` user when run as root (PostgreSQL
//! refuses root). No system service is touched. Both servers are stopped and their files
//! removed in `Drop`, also when an assertion fails.
//!
//! Cases: asynchronous standby → high; `synchronous_standby_names` set and the standby
//! streaming in sync → ok; `synchronous_commit = local` for the node's role in its database →
//! high; standby stopped → high.

mod doctor_kit;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use doctor_kit::{findings, severity, summary, Node};
use lnraid::exec::{Cmd, Output, RealRunner, Runner};

fn pg_bin() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|b| b.join("initdb").exists() && b.join("pg_basebackup").exists())
        .collect();
    dirs.sort();
    dirs.pop()
}

fn free_port() -> u16 {
    loop {
        let p = 20000 + (std::process::id() as u16 ^ rand_u16()) % 40000;
        if std::net::TcpListener::bind(("127.0.0.1", p)).is_ok() {
            return p;
        }
    }
}

fn rand_u16() -> u16 {
    let mut b = [0u8; 2];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut b))
        .unwrap();
    u16::from_le_bytes(b)
}

/// A primary and a standby, stopped and removed on drop.
struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    as_postgres: bool,
    primary: u16,
    standby: u16,
}

impl Cluster {
    fn cmd(&self, tool: &str, args: &[&str]) -> Cmd {
        let exe = self.bin.join(tool).display().to_string();
        if self.as_postgres {
            let mut a = vec!["-u", "postgres", "--", exe.as_str()];
            a.extend_from_slice(args);
            Cmd::mutating("runuser", a)
        } else {
            Cmd::mutating(&exe, args.iter().copied())
        }
    }

    fn run(&self, tool: &str, args: &[&str]) -> Output {
        RealRunner
            .run_ok(&self.cmd(tool, args))
            .unwrap_or_else(|e| {
                let logs = ["primary.log", "standby.log"]
                    .map(|l| std::fs::read_to_string(self.dir.path().join(l)).unwrap_or_default());
                panic!("{e}\nprimary log:\n{}\nstandby log:\n{}", logs[0], logs[1])
            })
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn sql(&self, sql: &str) -> String {
        let port = self.primary.to_string();
        self.run(
            "psql",
            &[
                "-X",
                "-A",
                "-t",
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-c",
                sql,
            ],
        )
        .stdout
        .trim()
        .to_string()
    }

    fn configure(&self, data: &str, port: u16, extra: &str) {
        let conf = Path::new(data).join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).unwrap();
        text.push_str(&format!(
            "\nlisten_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\nfsync = off\nmax_wal_senders = 5\nwal_level = replica\n{extra}\n",
            self.dir.path().display()
        ));
        std::fs::write(&conf, text).unwrap();
    }

    fn start() -> Result<Cluster, String> {
        let bin = pg_bin().ok_or(
            "PostgreSQL is not installed (apt-get install --no-install-recommends postgresql)",
        )?;
        let root = nix::unistd::Uid::effective().is_root();
        if root
            && nix::unistd::User::from_name("postgres")
                .ok()
                .flatten()
                .is_none()
        {
            return Err(
                "running as root and there is no postgres user to run the servers as".into(),
            );
        }
        let dir = tempfile::Builder::new()
            .prefix("lnraid-doctor-pg-")
            .tempdir()
            .unwrap();
        let primary = free_port();
        let standby = loop {
            let p = free_port();
            if p != primary {
                break p;
            }
        };
        let c = Cluster {
            dir,
            bin,
            as_postgres: root,
            primary,
            standby,
        };
        if root {
            doctor_kit::sh(&format!("chown postgres: '{}'", c.dir.path().display()));
        }
        let primary = c.path("primary");
        let standby = c.path("standby");
        c.run(
            "initdb",
            &["-D", &primary, "-U", "postgres", "--auth=trust", "-N"],
        );
        c.configure(&primary, c.primary, "");
        c.run(
            "pg_ctl",
            &["-D", &primary, "-l", &c.path("primary.log"), "-w", "start"],
        );
        c.sql("CREATE ROLE lightning LOGIN");
        c.sql("GRANT pg_read_all_stats TO lightning");
        c.sql("CREATE DATABASE lightningdb OWNER lightning");
        let port = c.primary.to_string();
        // `-c fast`: the default spread checkpoint waits minutes.
        c.run(
            "pg_basebackup",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
                "-D",
                &standby,
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
                "--no-sync",
            ],
        );
        c.configure(&standby, c.standby, "cluster_name = 'standby1'");
        c.run(
            "pg_ctl",
            &["-D", &standby, "-l", &c.path("standby.log"), "-w", "start"],
        );
        c.wait_for(
            "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'",
            "1",
        );
        Ok(c)
    }

    fn wait_for(&self, sql: &str, want: &str) {
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            let got = self.sql(sql);
            if got == want {
                return;
            }
            assert!(
                Instant::now() < until,
                "`{sql}` stayed {got:?}, wanted {want:?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn stop(&self, which: &str) {
        let _ = RealRunner.output(&self.cmd(
            "pg_ctl",
            &["-D", &self.path(which), "-m", "fast", "-w", "stop"],
        ));
    }

    fn dsn(&self) -> String {
        format!(
            "postgres://lightning@127.0.0.1:{}/lightningdb",
            self.primary
        )
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for which in ["standby", "primary"] {
            if self.dir.path().join(which).join("postmaster.pid").exists() {
                let _ = RealRunner.output(&self.cmd(
                    "pg_ctl",
                    &["-D", &self.path(which), "-m", "immediate", "-w", "stop"],
                ));
            }
        }
    }
}

fn pg_findings(doc: &serde_json::Value) -> Vec<(String, String)> {
    findings(doc, "postgresql", None)
        .iter()
        .map(|f| {
            (
                f["check"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn postgres_async_sync_role_setting_and_stopped_standby() {
    let c = match Cluster::start() {
        Ok(c) => c,
        Err(why) => {
            println!("SKIPPED: postgres_async_sync_role_setting_and_stopped_standby: {why}");
            return;
        }
    };
    let n = Node::new();
    n.net_config(&format!("wallet={}\n", c.dsn()));

    // 1. A streaming standby, but asynchronous.
    let (code, doc, _) = n.doctor(&[]);
    assert_eq!(doc["discovery"]["backend"], "postgres");
    assert_eq!(
        severity(&doc, "postgresql", "connected"),
        "ok",
        "{}",
        summary(&doc)
    );
    assert_eq!(
        severity(&doc, "postgresql", "synchronous_standby_names"),
        "high"
    );
    assert_eq!(severity(&doc, "postgresql", "pg_stat_replication"), "high");
    let ev = &findings(&doc, "postgresql", Some("pg_stat_replication"))[0]["evidence"];
    assert!(
        ev.as_str().unwrap().contains("standby1: streaming/async"),
        "{ev}"
    );
    assert_eq!(code, 2);
    // The SQLite-only strategies are not judged for a PostgreSQL node.
    assert!(findings(&doc, "wallet_replica", None).is_empty());

    // 2. Synchronous: the standby named and streaming in sync.
    c.sql("ALTER SYSTEM SET synchronous_standby_names = 'FIRST 1 (standby1)'");
    c.sql("SELECT pg_reload_conf()");
    c.wait_for("SELECT sync_state FROM pg_stat_replication", "sync");
    let (_, doc, _) = n.doctor(&[]);
    let pg = pg_findings(&doc);
    assert!(pg.iter().all(|(_, s)| s == "ok"), "{}", summary(&doc));
    assert_eq!(pg.len(), 4, "{pg:?}");
    assert_eq!(
        severity(&doc, "summary", "coverage"),
        "ok",
        "{}",
        summary(&doc)
    );

    // A DSN that reaches the standby, not the primary.
    let primary_dsn = c.dsn();
    n.net_config(&format!(
        "wallet={}\n",
        primary_dsn.replace(&c.primary.to_string(), &c.standby.to_string())
    ));
    let (_, doc, _) = n.doctor(&[]);
    assert_eq!(
        severity(&doc, "postgresql", "primary"),
        "warn",
        "{}",
        summary(&doc)
    );
    n.net_config(&format!("wallet={primary_dsn}\n"));
    assert!(findings(&n.doctor(&[]).1, "postgresql", Some("primary")).is_empty());

    // 3. The node's role turns synchronous commit off in its database.
    c.sql("ALTER ROLE lightning IN DATABASE lightningdb SET synchronous_commit = local");
    let (_, doc, _) = n.doctor(&[]);
    assert_eq!(
        severity(&doc, "postgresql", "synchronous_commit"),
        "high",
        "{}",
        summary(&doc)
    );
    assert_eq!(severity(&doc, "postgresql", "pg_stat_replication"), "ok");
    c.sql("ALTER ROLE lightning IN DATABASE lightningdb RESET synchronous_commit");

    // 4. The standby goes away: nothing streams.
    c.stop("standby");
    c.wait_for("SELECT count(*) FROM pg_stat_replication", "0");
    let (code, doc, _) = n.doctor(&[]);
    assert_eq!(
        severity(&doc, "postgresql", "pg_stat_replication"),
        "high",
        "{}",
        summary(&doc)
    );
    assert_eq!(
        severity(&doc, "postgresql", "synchronous_standby_names"),
        "ok"
    );
    assert_eq!(code, 2);
}

#[test]
fn postgres_unreachable_is_error_and_password_never_shown() {
    let n = Node::new();
    let port = free_port();
    n.net_config(&format!(
        "wallet=postgres://lightning:s3cr3tpw@127.0.0.1:{port}/lightningdb\n"
    ));
    let out = n.lnraid(&[
        "doctor",
        "--json",
        "--lightning-dir",
        n.dir.to_str().unwrap(),
    ]);
    assert!(
        !out.stdout.contains("s3cr3tpw") && !out.stderr.contains("s3cr3tpw"),
        "{}",
        out.stdout
    );
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    if lnraid::host::find_program("psql").is_none() {
        println!("SKIPPED: postgres_unreachable_is_error_and_password_never_shown: psql not installed (the error names postgresql-client)");
    }
    assert_eq!(
        severity(&doc, "postgresql", "connect"),
        "error",
        "{}",
        summary(&doc)
    );
    assert!(
        out.stdout.contains("lightning:***@127.0.0.1"),
        "{}",
        out.stdout
    );
    assert_eq!(out.status.code(), Some(3));
}
