//! Finding the node's configuration without opening its database. In order of authority:
//! the RPC (`lightning-cli listconfigs` when the socket answers: what the node really uses),
//! else the command line of a running `lightningd` that uses this directory (procfs, never
//! "any lightningd on the machine") on top of the config files, read in lightningd's order.
//! Read-only: reads files and procfs, connects to the RPC socket only through lightning-cli.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::confile::{network_of, options_from_args, Options};
use super::rpc::{self, Info, Plugin};
use crate::exec::Runner;
use crate::probe::procs::{processes_using, UsingProcess};

/// What the operator told doctor (each overrides discovery).
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// `$LIGHTNINGDIR` (the network directory, e.g. `~/.lightning/bitcoin`), or the base.
    pub lightning_dir: Option<PathBuf>,
    pub network: Option<String>,
    pub rpc_file: Option<PathBuf>,
    /// lightningd's `--conf`: the only config file read.
    pub config: Option<PathBuf>,
    pub home: Option<PathBuf>,
}

/// What the RPC said, if it was asked.
#[derive(Debug, Clone, Default)]
pub struct Rpc {
    pub socket: PathBuf,
    pub reachable: bool,
    pub plugins: Option<Vec<Plugin>>,
    pub info: Option<Info>,
    /// Calls that failed (the node runs but did not answer, lightning-cli missing...).
    pub errors: Vec<String>,
}

/// The node as discovered.
#[derive(Debug, Clone)]
pub struct Node {
    /// `$LIGHTNINGDIR`: holds lightningd.sqlite3 and hsm_secret.
    pub dir: PathBuf,
    /// lightningd's `--lightning-dir` (the parent of the network directory).
    pub base: PathBuf,
    pub network: String,
    /// The options in effect (from listconfigs when it answered, else files + command line).
    pub opts: Options,
    /// Where `opts` came from, in words.
    pub opts_source: String,
    pub running: Vec<UsingProcess>,
    /// The node's user: the running lightningd's, else the owner of `dir`.
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub rpc: Rpc,
}

const NETWORKS: [&str; 5] = ["bitcoin", "testnet", "testnet4", "signet", "regtest"];

/// The directory the operator named: `$LIGHTNINGDIR` itself, or a base holding network
/// directories (lightningd's own `--lightning-dir`, the default `$HOME/.lightning`).
enum Named {
    NetworkDir(PathBuf),
    Base(PathBuf),
}

fn named(req: &Request) -> Named {
    let Some(d) = &req.lightning_dir else {
        let home = req.home.clone().unwrap_or_else(|| PathBuf::from("/root"));
        return Named::Base(home.join(".lightning"));
    };
    let d = std::fs::canonicalize(d).unwrap_or_else(|_| d.clone());
    let has_net_dir = match &req.network {
        Some(n) => d.join(n).is_dir(),
        None => NETWORKS.iter().any(|n| d.join(n).is_dir()),
    };
    if !d.join("hsm_secret").exists() && !d.join("lightningd.sqlite3").exists() && has_net_dir {
        Named::Base(d)
    } else {
        Named::NetworkDir(d)
    }
}

/// `$LIGHTNINGDIR`, the base, and the network when the request or the base config names it.
fn dirs(req: &Request) -> (PathBuf, PathBuf, Option<String>) {
    match named(req) {
        Named::NetworkDir(d) => {
            let guess = d
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .filter(|n| NETWORKS.contains(&n.as_str()));
            let base = d.parent().unwrap_or(Path::new("/")).to_path_buf();
            (d, base, req.network.clone().or(guess))
        }
        Named::Base(b) => {
            // The base config may choose the network, which names the directory.
            let mut peek = Options::default();
            peek.read_file(req.config.as_deref().unwrap_or(&b.join("config")), false);
            let n = req
                .network
                .clone()
                .or_else(|| network_of(&peek))
                .unwrap_or_else(|| "bitcoin".into());
            (b.join(&n), b, Some(n))
        }
    }
}

/// Discovers the node (never fails: what could not be read is recorded in `rpc.errors` or
/// `opts.problems`, and becomes a finding).
pub fn discover(runner: &dyn Runner, req: &Request) -> Node {
    let mut opts = Options::default();
    let (dir, base, mut network) = dirs(req);
    let running = processes_using(&dir);
    let proc_args: Vec<String> = running
        .first()
        .and_then(|p| procfs::process::Process::new(p.pid).ok())
        .and_then(|p| p.cmdline().ok())
        .unwrap_or_default();
    let cmdline = options_from_args(&proc_args);
    let conf = req.config.clone().or_else(|| {
        cmdline
            .last("conf")
            .and_then(|e| e.value.clone())
            .map(PathBuf::from)
    });
    match conf {
        Some(c) => opts.read_file(&c, true),
        None => {
            opts.read_file(&base.join("config"), false);
            network = network
                .or_else(|| network_of(&cmdline))
                .or_else(|| network_of(&opts));
            let n = network.clone().unwrap_or_else(|| "bitcoin".into());
            opts.read_file(&base.join(&n).join("config"), false);
        }
    }
    opts.entries.extend(cmdline.entries);
    let network = network
        .or_else(|| network_of(&opts))
        .unwrap_or_else(|| "bitcoin".into());
    let (uid, gid) = node_user(&running, &dir);
    let mut opts_source = if proc_args.is_empty() {
        format!("config files ({})", files_list(&opts))
    } else {
        format!(
            "lightningd pid {} command line + config files ({})",
            running[0].pid,
            files_list(&opts)
        )
    };
    let rpc = ask_rpc(runner, req, &dir, &base, &network, &opts, uid.zip(gid));
    if let Some(lc) = rpc.1 {
        opts.entries = lc.entries;
        opts_source = "lightning-cli listconfigs (the running node's own view)".into();
    }
    Node {
        dir,
        base,
        network,
        opts,
        opts_source,
        running,
        uid,
        gid,
        rpc: rpc.0,
    }
}

fn files_list(o: &Options) -> String {
    if o.files.is_empty() {
        return "none found".into();
    }
    o.files
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn node_user(running: &[UsingProcess], dir: &Path) -> (Option<u32>, Option<u32>) {
    if let Some(st) = running
        .first()
        .and_then(|p| procfs::process::Process::new(p.pid).ok())
        .and_then(|p| p.status().ok())
    {
        return (Some(st.euid), Some(st.egid));
    }
    match std::fs::metadata(dir) {
        Ok(m) => (Some(m.uid()), Some(m.gid())),
        Err(_) => (None, None),
    }
}

/// The RPC socket path: `--rpc-file` (relative to `$LIGHTNINGDIR`), default `lightning-rpc`.
pub fn socket_path(req: &Request, dir: &Path, opts: &Options) -> PathBuf {
    let f = req.rpc_file.clone().or_else(|| {
        opts.last("rpc-file")
            .and_then(|e| e.value.clone())
            .map(PathBuf::from)
    });
    match f {
        Some(p) if p.is_absolute() => p,
        Some(p) => dir.join(p),
        None => dir.join("lightning-rpc"),
    }
}

fn ask_rpc(
    runner: &dyn Runner,
    req: &Request,
    dir: &Path,
    base: &Path,
    network: &str,
    opts: &Options,
    user: Option<(u32, u32)>,
) -> (Rpc, Option<Options>) {
    let socket = socket_path(req, dir, opts);
    let mut rpc = Rpc {
        reachable: std::os::unix::net::UnixStream::connect(&socket).is_ok(),
        socket: socket.clone(),
        ..Rpc::default()
    };
    if !rpc.reachable {
        return (rpc, None);
    }
    let me = nix::unistd::geteuid().as_raw();
    let drop_to = user.filter(|(u, _)| me == 0 && *u != 0);
    let cmd = |m: &[&str]| rpc::cli_cmd(base, network, Some(&socket), drop_to, m);
    let mut listconfigs = None;
    match rpc::call(runner, &cmd(&["listconfigs"])).and_then(|v| rpc::parse_listconfigs(&v)) {
        Ok(o) => listconfigs = Some(o),
        Err(e) => rpc.errors.push(e),
    }
    match rpc::call(runner, &cmd(&["plugin", "list"])).and_then(|v| rpc::parse_plugin_list(&v)) {
        Ok(p) => rpc.plugins = Some(p),
        Err(e) => rpc.errors.push(e),
    }
    match rpc::call(runner, &cmd(&["getinfo"])).and_then(|v| rpc::parse_getinfo(&v)) {
        Ok(i) => rpc.info = Some(i),
        Err(e) => rpc.errors.push(e),
    }
    (rpc, listconfigs)
}

impl Node {
    /// The value of a single-valued option in effect.
    pub fn opt(&self, key: &str) -> Option<&str> {
        self.opts.last(key).and_then(|e| e.value.as_deref())
    }

    /// Whether a flag option (`encrypted-hsm`) is set.
    pub fn flag(&self, key: &str) -> bool {
        self.opts.last(key).is_some()
    }

    /// The main database path: the `--wallet` DSN's main file, else the default.
    pub fn db_path(&self) -> PathBuf {
        match self.opt("wallet").and_then(super::wallet::parse_dsn) {
            Some(super::wallet::Dsn::Sqlite { main, .. }) => main,
            _ => self.dir.join("lightningd.sqlite3"),
        }
    }

    /// Whether the database is SQLite (the default) rather than PostgreSQL.
    pub fn is_sqlite(&self) -> bool {
        !matches!(
            self.opt("wallet").and_then(super::wallet::parse_dsn),
            Some(super::wallet::Dsn::Postgres(_))
        )
    }
}
