//! Discovery: real config files read in lightningd's order (base config, network config,
//! `include`, `--config` replacing both), a running (fake) lightningd whose command line wins,
//! and a fake `lightning-cli` speaking the documented JSON of `listconfigs` (the >= 23.08
//! `configs` shape), `plugin list` and `getinfo`, which is authoritative when the socket
//! answers. Also the hsm_secret ↔ getinfo.id comparison through a fake lightning-hsmtool.

mod doctor_kit;

use std::fs;

use doctor_kit::{findings, severity, summary, Node};

#[test]
fn config_files_in_lightningd_order_with_include() {
    let n = Node::new();
    let target = n.mkdir("bk");
    fs::write(
        n.base.join("config"),
        "network=regtest\nplugin=/first/backup.py\n",
    )
    .unwrap();
    fs::write(
        n.dir.join("extra.conf"),
        "important-plugin=/later/backup.py\n",
    )
    .unwrap();
    n.net_config("# network config\ninclude extra.conf\n");
    fs::write(
        n.dir.join("backup.lock"),
        format!("{{\"backend_url\": \"file://{}/f.bkp\"}}", target.display()),
    )
    .unwrap();
    // Name only the base directory: the network comes from its config.
    let out = n.lnraid(&[
        "doctor",
        "--json",
        "--lightning-dir",
        n.base.to_str().unwrap(),
    ]);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["network"], "regtest");
    assert_eq!(doc["lightning_dir"], n.dir.to_str().unwrap());
    let files: Vec<&str> = doc["discovery"]["config_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    let want = [
        n.base.join("config"),
        n.dir.join("config"),
        n.dir.join("extra.conf"),
    ];
    assert_eq!(
        files,
        want.iter().map(|p| p.to_str().unwrap()).collect::<Vec<_>>()
    );
    // important-plugin (from the include) is preferred over the plain plugin line.
    let f = &findings(&doc, "backup_plugin", Some("loaded"))[0];
    assert!(
        f["evidence"].as_str().unwrap().contains("extra.conf:1"),
        "{}",
        summary(&doc)
    );

    // A broken include is reported, not fatal.
    n.net_config("include missing.conf\n");
    let (_, doc, _) = n.doctor(&[]);
    assert_eq!(
        severity(&doc, "discovery", "config"),
        "warn",
        "{}",
        summary(&doc)
    );

    // --config replaces both default files.
    let only = n.tmp.path().join("only.conf");
    fs::write(
        &only,
        format!(
            "wallet=sqlite3://{}:/nonexistent-dir/x.sqlite3\n",
            n.db().display()
        ),
    )
    .unwrap();
    let (_, doc, _) = n.doctor(&["--config", only.to_str().unwrap()]);
    let files = doc["discovery"]["config_files"].as_array().unwrap();
    assert_eq!(files.len(), 1, "{doc:#}");
    assert_eq!(
        severity(&doc, "wallet_replica", "directory_missing"),
        "error"
    );
    assert!(findings(&doc, "backup_plugin", Some("no_lock")).is_empty());
}

#[test]
fn running_lightningd_command_line_wins_over_config() {
    let n = Node::new();
    let r = n.mkdir("replica");
    n.net_config("wallet=sqlite3:///elsewhere/l.sqlite3\n");
    let base = format!("--lightning-dir={}", n.base.display());
    let wallet = format!(
        "--wallet=sqlite3://{}:{}/lightningd.sqlite3",
        n.db().display(),
        r.display()
    );
    let p = n.fake_lightningd(&[&base, "--network=regtest", &wallet]);
    let (_, doc, _) = n.doctor(&[]);
    assert_eq!(doc["discovery"]["lightningd_pids"][0], p.0);
    assert!(
        doc["discovery"]["source"]
            .as_str()
            .unwrap()
            .contains("command line"),
        "{doc:#}"
    );
    assert_eq!(doc["discovery"]["database"], n.db().to_str().unwrap());
    assert_eq!(
        severity(&doc, "wallet_replica", "same_filesystem"),
        "high",
        "{}",
        summary(&doc)
    );
}

const LISTCONFIGS: &str = r#"{"configs": {
  "network": {"value_str": "regtest", "source": "/x/config:1"},
  "wallet": {"value_str": "sqlite3://DB:REPLICA", "source": "cmdline"},
  "important-plugin": {"values_str": ["/usr/local/libexec/plugins/backup/backup.py"], "sources": ["cmdline"]},
  "encrypted-hsm": {"set": false, "source": "default"},
  "log-level": {"value_str": "info", "source": "default"}
}}"#;
const PLUGINS: &str = r#"{"command": "list", "plugins": [
  {"name": "/usr/local/libexec/c-lightning/plugins/pay", "active": true, "dynamic": false},
  {"name": "/usr/local/libexec/plugins/backup/backup.py", "active": true, "dynamic": false}]}"#;
const GETINFO: &str = r#"{"id": "02aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "alias": "node",
  "color": "02aaaa", "num_peers": 1, "num_pending_channels": 0, "num_active_channels": 2,
  "num_inactive_channels": 0, "address": [], "binding": [], "version": "v25.02",
  "blockheight": 101, "network": "regtest", "lightning-dir": "DIR", "fees_collected_msat": 0}"#;

#[test]
fn rpc_listconfigs_is_authoritative_and_hsm_id_compared() {
    let n = Node::new();
    let r = n.mkdir("replica");
    let cfg = LISTCONFIGS
        .replace("DB", n.db().to_str().unwrap())
        .replace("REPLICA", &format!("{}/lightningd.sqlite3", r.display()));
    n.fake_cli(
        &cfg,
        PLUGINS,
        &GETINFO.replace("DIR", n.dir.to_str().unwrap()),
    );
    n.net_config("wallet=sqlite3:///config/says/otherwise.sqlite3\n");
    let _sock = n.rpc_socket();
    let good = "02aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    n.script(
        "lightning-hsmtool",
        &format!("[ \"$1\" = getnodeid ] && [ -f \"$2\" ] && echo {good}\n"),
    );
    let (_, doc, _) = n.doctor(&[]);
    assert_eq!(doc["discovery"]["rpc_reachable"], true);
    assert!(
        doc["discovery"]["source"]
            .as_str()
            .unwrap()
            .contains("listconfigs"),
        "{doc:#}"
    );
    // The replica from listconfigs (not the config file) is the one checked.
    assert_eq!(
        severity(&doc, "wallet_replica", "same_filesystem"),
        "high",
        "{}",
        summary(&doc)
    );
    // important-plugin loaded, no backup.lock: the plugin would kill lightningd.
    assert_eq!(severity(&doc, "backup_plugin", "no_lock"), "error");
    assert_eq!(
        severity(&doc, "hsm_secret", "node_id"),
        "ok",
        "{}",
        summary(&doc)
    );
    let log = fs::read_to_string(n.tmp.path().join("cli.log")).unwrap();
    for m in ["listconfigs", "plugin list", "getinfo"] {
        assert!(log.contains(m), "{log}");
    }
    assert!(log.contains("--network=regtest"), "{log}");

    // A different secret on disk than the node runs with.
    n.script(
        "lightning-hsmtool",
        "echo 03bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n",
    );
    let (code, doc, _) = n.doctor(&[]);
    assert_eq!(
        severity(&doc, "hsm_secret", "node_id"),
        "error",
        "{}",
        summary(&doc)
    );
    assert_eq!(code, 3);
}

#[test]
fn rpc_failure_falls_back_to_config_files() {
    let n = Node::new();
    n.script(
        "lightning-cli",
        "echo 'lightning-cli: Connecting to lightning-rpc: Connection refused' >&2; exit 2\n",
    );
    let _sock = n.rpc_socket();
    n.net_config("important-plugin=/p/backup.py\n");
    let (_, doc, _) = n.doctor(&[]);
    let rpc = findings(&doc, "discovery", Some("rpc"));
    assert_eq!(rpc.len(), 3, "{}", summary(&doc));
    assert!(rpc.iter().all(|f| f["severity"] == "warn"));
    assert!(doc["discovery"]["source"]
        .as_str()
        .unwrap()
        .starts_with("config files"));
    assert_eq!(severity(&doc, "backup_plugin", "no_lock"), "error");
    assert_eq!(severity(&doc, "hsm_secret", "node_id"), "info");
}

#[test]
fn missing_directory_is_error_and_default_is_home() {
    let n = Node::new();
    let gone = n.tmp.path().join("no/such/regtest");
    let out = n.lnraid(&[
        "doctor",
        "--json",
        "--lightning-dir",
        gone.to_str().unwrap(),
    ]);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        severity(&doc, "discovery", "directory"),
        "error",
        "{}",
        summary(&doc)
    );
    assert_eq!(doc["network"], "regtest", "named after the directory");
    assert_eq!(out.status.code(), Some(3));
    // No --lightning-dir: $HOME/.lightning/<network from the base config>.
    let home = n.tmp.path();
    fs::create_dir_all(home.join(".lightning/signet")).unwrap();
    fs::write(home.join(".lightning/config"), "signet\n").unwrap();
    let out = n.lnraid(&["doctor", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        doc["lightning_dir"],
        home.join(".lightning/signet").to_str().unwrap(),
        "{doc:#}"
    );
    assert_eq!(doc["network"], "signet");
}

#[test]
fn hung_rpc_times_out_and_falls_back() {
    let n = Node::new();
    n.script("lightning-cli", "sleep 60\n");
    let _sock = n.rpc_socket();
    n.net_config("important-plugin=/p/backup.py\n");
    let out = lnraid::exec::Runner::output(
        &lnraid::exec::RealRunner,
        &n.lnraid_cmd(&[
            "doctor",
            "--json",
            "--lightning-dir",
            n.dir.to_str().unwrap(),
        ])
        .env("LNRAID_RPC_TIMEOUT", "1"),
    )
    .expect("run lnraid");
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let rpc = findings(&doc, "discovery", Some("rpc"));
    assert_eq!(rpc.len(), 3, "{}", summary(&doc));
    assert!(
        rpc.iter().all(|f| f["evidence"]
            .as_str()
            .unwrap()
            .contains("timed out after 1 s")),
        "{}",
        summary(&doc)
    );
    // The config files still gave the plugin line.
    assert_eq!(severity(&doc, "backup_plugin", "no_lock"), "error");
}

#[test]
fn rpc_runs_as_the_nodes_user() {
    if !nix::unistd::Uid::effective().is_root() {
        println!("SKIPPED: rpc_runs_as_the_nodes_user: needs root to start a node as another user");
        return;
    }
    let n = Node::new();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(n.tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let out_dir = n.mkdir("uid-out");
    fs::set_permissions(&out_dir, fs::Permissions::from_mode(0o777)).unwrap();
    n.fake_cli(
        r#"{"configs": {}}"#,
        r#"{"plugins": []}"#,
        r#"{"id": "02cc"}"#,
    );
    // Record the uid the fake lightning-cli ran as.
    let cli = n.bin.join("lightning-cli");
    let body = fs::read_to_string(&cli).unwrap().replace(
        "#!/bin/sh\n",
        &format!("#!/bin/sh\nid -u >> '{}/uids'\n", out_dir.display()),
    );
    fs::write(&cli, body).unwrap();
    let _sock = n.rpc_socket();
    // The fake node runs as nobody (65534).
    let exe = n.tmp.path().join("lightningd");
    fs::copy("/bin/sh", &exe).unwrap();
    let script = format!(
        "setpriv --reuid=65534 --regid=65534 --clear-groups '{}' -c 'sleep 300; :' lightningd '--lightning-dir={}' --network=regtest >/dev/null 2>&1 & echo $!",
        exe.display(),
        n.base.display()
    );
    let pid: i32 = doctor_kit::sh(&script).stdout.trim().parse().unwrap();
    let _p = doctor_kit::Proc(pid);
    std::thread::sleep(std::time::Duration::from_millis(200));
    let (_, doc, _) = n.doctor(&[]);
    assert_eq!(doc["discovery"]["lightningd_pids"][0], pid, "{doc:#}");
    let uids = fs::read_to_string(out_dir.join("uids")).unwrap_or_default();
    assert_eq!(
        uids.lines().collect::<Vec<_>>(),
        vec!["65534"; 3],
        "{}",
        summary(&doc)
    );
}
