//! Asking the running node: `lightning-cli listconfigs`, `plugin list` and `getinfo`, through
//! the runner, under the exec layer's time limit (a hung RPC must not hang doctor), as the node's user
//! when doctor runs as root. The parsers are pure and accept both `listconfigs` shapes: the
//! `configs` object of lightningd >= 23.08 (`value_str`, `values_str`, `set`, ...) and the flat
//! object of older releases.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::confile::Options;
use crate::exec::{Cmd, CmdError, Runner};

/// Seconds one RPC call may take by default.
pub const RPC_TIMEOUT_SECS: u32 = 10;

/// The RPC timeout: `LNRAID_RPC_TIMEOUT` seconds when set to a positive number (a slow node
/// on a small board), else [`RPC_TIMEOUT_SECS`].
pub fn rpc_timeout() -> u32 {
    std::env::var("LNRAID_RPC_TIMEOUT")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|v| *v > 0)
        .unwrap_or(RPC_TIMEOUT_SECS)
}

/// A plugin the node reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plugin {
    pub name: String,
    pub active: bool,
}

/// What `getinfo` says that doctor uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Info {
    pub id: String,
    pub network: Option<String>,
    pub lightning_dir: Option<String>,
    /// Active + pending + inactive channels.
    pub channels: u64,
}

/// The command line for `lightning-cli <method>`, in `setpriv` to drop to `uid:gid` when
/// given, killed (with its process group, by the exec layer) after [`rpc_timeout`] seconds.
pub fn cli_cmd(
    base: &Path,
    network: &str,
    rpc_file: Option<&Path>,
    as_user: Option<(u32, u32)>,
    method: &[&str],
) -> Cmd {
    let mut argv: Vec<String> = Vec::new();
    if let Some((uid, gid)) = as_user {
        argv.extend([
            format!("--reuid={uid}"),
            format!("--regid={gid}"),
            "--clear-groups".into(),
            "lightning-cli".into(),
        ]);
    }
    argv.push(format!("--lightning-dir={}", base.display()));
    argv.push(format!("--network={network}"));
    if let Some(f) = rpc_file {
        argv.push(format!("--rpc-file={}", f.display()));
    }
    argv.extend(method.iter().map(|s| s.to_string()));
    let program = if as_user.is_some() {
        "setpriv"
    } else {
        "lightning-cli"
    };
    Cmd::read_only(program, argv).timeout(Duration::from_secs(rpc_timeout().into()))
}

/// Runs one RPC call; the parsed JSON or why not.
pub fn call(runner: &dyn Runner, cmd: &Cmd) -> Result<Value, String> {
    let out = match runner.output(cmd) {
        Ok(o) => o,
        Err(CmdError::TimedOut { after, .. }) => {
            return Err(format!("`{cmd}` timed out after {} s", after.as_secs()))
        }
        Err(e) => return Err(e.to_string()),
    };
    if !out.status.success() {
        return Err(format!(
            "`{cmd}` failed ({}): {}",
            out.status,
            crate::exec::stderr_tail(&format!("{}\n{}", out.stdout, out.stderr))
        ));
    }
    serde_json::from_str(&out.stdout).map_err(|e| format!("`{cmd}` printed no JSON: {e}"))
}

fn scalar(v: &Value) -> Option<Option<String>> {
    match v {
        Value::String(s) => Some(Some(s.clone())),
        Value::Number(n) => Some(Some(n.to_string())),
        Value::Bool(true) => Some(None),
        _ => None,
    }
}

/// Parses `listconfigs` output into options (origin `listconfigs`). Pure.
pub fn parse_listconfigs(v: &Value) -> Result<Options, String> {
    let mut o = Options::default();
    if let Some(configs) = v.get("configs").and_then(Value::as_object) {
        for (key, c) in configs {
            if let Some(list) = c.get("values_str").and_then(Value::as_array) {
                for item in list.iter().filter_map(Value::as_str) {
                    o.push(key, Some(item.to_string()), "listconfigs");
                }
                continue;
            }
            let val = ["value_str", "value_int", "value_msat"]
                .iter()
                .find_map(|k| c.get(*k).and_then(scalar));
            match (val, c.get("value_bool"), c.get("set")) {
                (Some(v), _, _) => o.push(key, v, "listconfigs"),
                (None, Some(Value::Bool(true)), _) | (None, None, Some(Value::Bool(true))) => {
                    o.push(key, None, "listconfigs")
                }
                _ => {}
            }
        }
        return Ok(o);
    }
    let obj = v
        .as_object()
        .ok_or("listconfigs did not return a JSON object")?;
    for (key, val) in obj {
        match (key.as_str(), val) {
            ("plugins" | "important-plugins", Value::Array(list)) => {
                let k = if key == "plugins" {
                    "plugin"
                } else {
                    "important-plugin"
                };
                for p in list {
                    if let Some(path) = p.get("path").and_then(Value::as_str) {
                        o.push(k, Some(path.to_string()), "listconfigs");
                    }
                }
            }
            (_, v) => {
                if let Some(s) = scalar(v) {
                    o.push(key, s, "listconfigs");
                }
            }
        }
    }
    Ok(o)
}

/// Parses `plugin list` output. Pure.
pub fn parse_plugin_list(v: &Value) -> Result<Vec<Plugin>, String> {
    let list = v
        .get("plugins")
        .and_then(Value::as_array)
        .ok_or("plugin list: no \"plugins\" array")?;
    Ok(list
        .iter()
        .filter_map(|p| {
            Some(Plugin {
                name: p.get("name")?.as_str()?.to_string(),
                active: p.get("active").and_then(Value::as_bool).unwrap_or(false),
            })
        })
        .collect())
}

/// Parses `getinfo` output. Pure.
pub fn parse_getinfo(v: &Value) -> Result<Info, String> {
    let id = v
        .get("id")
        .and_then(Value::as_str)
        .ok_or("getinfo: no \"id\"")?;
    let n = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
    Ok(Info {
        id: id.to_string(),
        network: v.get("network").and_then(Value::as_str).map(String::from),
        lightning_dir: v
            .get("lightning-dir")
            .and_then(Value::as_str)
            .map(String::from),
        channels: n("num_active_channels") + n("num_pending_channels") + n("num_inactive_channels"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn listconfigs_both_shapes() {
        let new = json!({"configs": {
            "wallet": {"value_str": "sqlite3:///a/l.sqlite3:/b/l.sqlite3", "source": "/c/config:3"},
            "important-plugin": {"values_str": ["/p/backup.py"], "sources": ["cmdline"]},
            "encrypted-hsm": {"set": true, "source": "cmdline"},
            "offline": {"set": false, "source": "default"},
            "log-level": {"value_str": "debug", "source": "default"}
        }});
        let o = parse_listconfigs(&new).unwrap();
        assert_eq!(
            o.last("wallet").unwrap().value.as_deref(),
            Some("sqlite3:///a/l.sqlite3:/b/l.sqlite3")
        );
        assert_eq!(
            o.all("important-plugin")[0].value.as_deref(),
            Some("/p/backup.py")
        );
        assert!(o.last("encrypted-hsm").is_some());
        assert!(o.last("offline").is_none());
        let old = json!({"wallet": "sqlite3:///x", "encrypted-hsm": true,
            "plugins": [{"path": "/p/backup.py", "name": "backup.py"}]});
        let o = parse_listconfigs(&old).unwrap();
        assert_eq!(o.all("plugin")[0].value.as_deref(), Some("/p/backup.py"));
        assert!(o.last("encrypted-hsm").is_some());
    }

    #[test]
    fn plugin_list_and_getinfo() {
        let p = parse_plugin_list(&json!({"command": "list", "plugins": [
            {"name": "/usr/libexec/c-lightning/plugins/pay", "active": true, "dynamic": false}]}))
        .unwrap();
        assert!(p[0].active);
        let i = parse_getinfo(
            &json!({"id": "02ab", "num_active_channels": 2, "num_pending_channels": 1}),
        )
        .unwrap();
        assert_eq!((i.id.as_str(), i.channels), ("02ab", 3));
        assert!(parse_getinfo(&json!({})).is_err());
    }

    #[test]
    fn cli_cmd_has_timeout_and_user() {
        let c = cli_cmd(
            Path::new("/h/.lightning"),
            "regtest",
            None,
            Some((1000, 1000)),
            &["getinfo"],
        );
        assert_eq!(
            c.to_string(),
            "setpriv --reuid=1000 --regid=1000 --clear-groups lightning-cli --lightning-dir=/h/.lightning --network=regtest getinfo"
        );
        assert_eq!(c.limit, crate::exec::Limit::After(Duration::from_secs(10)));
    }
}
