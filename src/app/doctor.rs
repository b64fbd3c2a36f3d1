//! `lnraid doctor`: discover the node (never opening its database), run every strategy's
//! checks, print the table or the JSON document; the exit code is the highest severity
//! (0 ok/info, 1 warn, 2 high, 3 error). Read-only from end to end: no lock, no record, no
//! file written; processes only through the runner, each under a timeout.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cli::DoctorArgs;
use crate::doctor::discover::{discover, Node, Request};
use crate::doctor::header::read_header;
use crate::doctor::wallet::{parse_dsn, Dsn};
use crate::doctor::{
    backup_plugin, emergency, files, grouped, hsm, litestream, lnraid, postgres, render, sources,
    summary, verdict, wallet, Finding, Severity, Strategy, DOCTOR_JSON_VERSION,
};
use crate::exec::Runner;
use crate::schedule::Scheduler;

/// The `doctor --json` document (schemas/doctor.schema.json).
#[derive(Debug, Serialize)]
pub struct DoctorDoc {
    /// Always `lnraid-doctor`.
    pub format: &'static str,
    pub version: u32,
    /// RFC 3339 UTC, seconds.
    pub generated_at: String,
    pub host: String,
    pub lightning_dir: PathBuf,
    pub network: String,
    pub discovery: DiscoveryDoc,
    pub verdict: Severity,
    pub exit_code: i32,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Serialize)]
pub struct DiscoveryDoc {
    pub source: String,
    pub lightningd_pids: Vec<i32>,
    pub rpc_socket: PathBuf,
    pub rpc_reachable: bool,
    pub config_files: Vec<PathBuf>,
    pub database: PathBuf,
    pub backend: &'static str,
}

pub fn run(args: &DoctorArgs, runner: &dyn Runner) -> anyhow::Result<i32> {
    let req = Request {
        lightning_dir: args.lightning_dir.clone(),
        network: args.network.clone(),
        rpc_file: args.rpc_file.clone(),
        config: args.config.clone(),
        home: std::env::var_os("HOME").map(PathBuf::from),
    };
    let node = discover(runner, &req);
    let sys = Path::new("/sys");
    let mut findings = discovery_findings(&node);
    findings.extend(lnraid::judge(&node.dir, &lnraid_facts(args, runner, &node)));
    match node.opt("wallet").and_then(parse_dsn) {
        Some(Dsn::Postgres(dsn)) => {
            findings.extend(postgres::check(runner, &dsn));
        }
        _ => {
            findings.extend(wallet::check(&node, sys));
            findings.extend(backup_plugin::check(&node, sys));
            findings.push(Finding::new(
                Strategy::Postgresql,
                "configured",
                Severity::Info,
                "the node uses SQLite, not PostgreSQL",
                "",
                sources::GUIDE_POSTGRES,
            ));
            findings.extend(litestream::check(&node.db_path(), &args.litestream_config));
            findings.extend(files::check(&node));
        }
    }
    findings.extend(hsm::check(&node, runner));
    findings.extend(emergency::check(&node));
    findings.push(summary::summarize(&findings));
    let findings = grouped(findings);
    let v = verdict(&findings);
    if args.json {
        let now = jiff::Timestamp::now();
        let doc = DoctorDoc {
            format: "lnraid-doctor",
            version: DOCTOR_JSON_VERSION,
            generated_at: now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            host: crate::alert::hostname(),
            lightning_dir: node.dir.clone(),
            network: node.network.clone(),
            discovery: discovery_doc(&node),
            verdict: v,
            exit_code: v.exit_code(),
            findings,
        };
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        let title = format!("lnraid doctor: {}", node.dir.display());
        print!(
            "{}",
            crate::ui::sanitize_multiline(&render::render(&title, &findings))
        );
    }
    Ok(v.exit_code())
}

fn discovery_doc(node: &Node) -> DiscoveryDoc {
    DiscoveryDoc {
        source: node.opts_source.clone(),
        lightningd_pids: node.running.iter().map(|p| p.pid).collect(),
        rpc_socket: node.rpc.socket.clone(),
        rpc_reachable: node.rpc.reachable,
        config_files: node.opts.files.clone(),
        database: node.db_path(),
        backend: if node.is_sqlite() {
            "sqlite3"
        } else {
            "postgres"
        },
    }
}

fn discovery_findings(node: &Node) -> Vec<Finding> {
    let d = |check, sev, ev: String, fix: &str| {
        Finding::new(
            Strategy::Discovery,
            check,
            sev,
            ev,
            fix,
            sources::LIGHTNINGD_CONFIG,
        )
    };
    let mut out = Vec::new();
    let running = if node.running.is_empty() {
        "lightningd is not running for this directory".to_string()
    } else {
        let pids: Vec<String> = node
            .running
            .iter()
            .map(|p| format!("pid {} ({})", p.pid, p.why))
            .collect();
        format!("lightningd runs: {}", pids.join(", "))
    };
    out.push(d(
        "node",
        Severity::Info,
        format!(
            "{}; {running}; options from {}",
            node.dir.display(),
            node.opts_source
        ),
        "",
    ));
    if !node.dir.is_dir() {
        out.push(d(
            "directory",
            Severity::Error,
            format!("{} does not exist", node.dir.display()),
            "pass --lightning-dir (and --network)",
        ));
    }
    let db = node.db_path();
    if node.is_sqlite() && node.dir.is_dir() && !db.exists() {
        out.push(d(
            "database",
            Severity::Warn,
            format!(
                "no database at {}: a node that never started, or the wrong directory",
                db.display()
            ),
            "pass the node's --lightning-dir (and --network), or --config",
        ));
    }
    if let Some(w) = node.opt("wallet").filter(|w| parse_dsn(w).is_none()) {
        out.push(d(
            "wallet",
            Severity::Warn,
            format!("--wallet={} is neither sqlite3:// nor postgres://: doctor assumed the default database", crate::doctor::postgres::redact(w)),
            "check the wallet= line; lightningd refuses a DSN it does not understand",
        ));
    }
    for p in &node.opts.problems {
        out.push(d(
            "config",
            Severity::Warn,
            p.clone(),
            "fix the include line or the file's permissions",
        ));
    }
    for e in &node.rpc.errors {
        out.push(d(
            "rpc",
            Severity::Warn,
            e.clone(),
            "install lightning-cli (or pass --rpc-file); doctor fell back to the config files",
        ));
    }
    if !node.running.is_empty() && !node.rpc.reachable {
        out.push(d(
            "rpc",
            Severity::Info,
            format!("the RPC socket {} does not answer: options come from the command line and config files", node.rpc.socket.display()),
            "pass --rpc-file if the node uses another socket",
        ));
    }
    out
}

/// lnraid's own layer: status's verdict for the array holding the directory, and the rest.
fn lnraid_facts(args: &DoctorArgs, runner: &dyn Runner, node: &Node) -> lnraid::Facts {
    let ctx = super::status::ctx_from(&args.host, Some(node.dir.clone()));
    let mut facts = lnraid::Facts::default();
    match super::status::collect(runner, &ctx, None) {
        Ok((arrays, _)) => {
            facts.array = arrays
                .into_iter()
                .find(|a| a.facts.lightning_dir_on_array == Some(true));
        }
        Err(e) => facts.error = Some(format!("{e:#}")),
    }
    let Some(a) = &facts.array else {
        return facts;
    };
    facts.subvolume = is_subvolume(&node.dir);
    facts.snapshots = lnraid::read_snapshots(&node.dir, jiff::Timestamp::now());
    let db = node.db_path();
    facts.nocow = read_header(&db).ok().and_then(|h| h.nocow);
    let mut installed = String::new();
    for s in [Scheduler::Cron, Scheduler::Systemd] {
        if let Ok(t) = super::schedule::target(s, &args.cron, &args.host) {
            for i in super::schedule::probe_installed(&t).unwrap_or_default() {
                installed.push_str(&i.content);
            }
        }
    }
    let mp = a.facts.mountpoint.display().to_string();
    facts.scheduled = installed
        .lines()
        .any(|l| l.contains("maintain scrub") && l.contains(&mp));
    facts.alert_configured = installed.contains("--alert-command");
    if let Some(uuid) = &a.facts.uuid {
        let p = args
            .host
            .state_dir
            .join("monitor")
            .join(format!("{uuid}.json"));
        facts.last_alert = std::fs::read_to_string(p)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v.get("last_alert").and_then(|x| x.as_u64()))
            .unwrap_or(0);
    }
    facts
}

/// Whether `dir` is the root of a btrfs subvolume (inode 256 on btrfs).
fn is_subvolume(dir: &Path) -> Option<bool> {
    let fs = nix::sys::statfs::statfs(dir).ok()?;
    if fs.filesystem_type() != nix::sys::statfs::BTRFS_SUPER_MAGIC {
        return Some(false);
    }
    Some(std::fs::metadata(dir).ok()?.ino() == 256)
}
