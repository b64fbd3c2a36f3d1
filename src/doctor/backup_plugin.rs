//! The `backup` plugin (lightningd/plugins backup/): `backup-cli init` writes
//! `$LIGHTNINGDIR/backup.lock` (JSON, `backend_url`); the plugin, loaded without that lock,
//! kills lightningd at startup. It should be an `important-plugin` (if it dies, lightningd
//! must stop rather than run without a backup), its target on another device with room.
//! Together with a `--wallet` replica it doubles the fail-stop paths. Read-only.

use std::path::{Path, PathBuf};

use super::discover::Node;
use super::disks::{free_bytes, locate};
use super::sources::GUIDE_BACKUP_PLUGIN;
use super::wallet::{parse_dsn, Dsn};
use super::{Finding, Severity, Strategy};

fn f(check: &'static str, sev: Severity, ev: String, fix: &str) -> Finding {
    Finding::new(
        Strategy::BackupPlugin,
        check,
        sev,
        ev,
        fix,
        GUIDE_BACKUP_PLUGIN,
    )
}

/// How the plugin is loaded, if it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    pub path: String,
    pub important: bool,
    /// Where doctor saw it (`plugin list`, a config option, the plugin directory).
    pub seen: String,
}

fn is_backup(p: &str) -> bool {
    let name = Path::new(p)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name == "backup.py" || name == "backup"
}

/// Where the node loads the backup plugin from, if anywhere.
pub fn loaded(node: &Node) -> Option<Loaded> {
    for (key, important) in [("important-plugin", true), ("plugin", false)] {
        if let Some(e) = node
            .opts
            .all(key)
            .into_iter()
            .find(|e| e.value.as_deref().is_some_and(is_backup))
        {
            return Some(Loaded {
                path: e.value.clone().unwrap_or_default(),
                important,
                seen: format!("{key}= ({})", e.origin),
            });
        }
    }
    if let Some(p) = node
        .rpc
        .plugins
        .as_ref()
        .and_then(|l| l.iter().find(|p| is_backup(&p.name)))
    {
        return Some(Loaded {
            path: p.name.clone(),
            important: false,
            seen: format!(
                "plugin list ({})",
                if p.active { "active" } else { "inactive" }
            ),
        });
    }
    let dir = node.base.join("plugins");
    [dir.join("backup.py"), dir.join("backup/backup.py")]
        .into_iter()
        .find(|p| p.exists())
        .map(|p| Loaded {
            path: p.display().to_string(),
            important: false,
            seen: format!("the plugin directory {}", dir.display()),
        })
}

/// The `backend_url` in backup.lock (pure).
pub fn parse_lock(text: &str) -> Result<String, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    v.get("backend_url")
        .and_then(|u| u.as_str())
        .map(String::from)
        .ok_or_else(|| "no \"backend_url\"".into())
}

pub fn check(node: &Node, sys: &Path) -> Vec<Finding> {
    let lock_path = node.dir.join("backup.lock");
    let lock = std::fs::read_to_string(&lock_path).ok();
    let plugin = loaded(node);
    let mut out = Vec::new();
    match (&plugin, &lock) {
        (None, None) => {
            out.push(f("configured", Severity::Info, "the backup plugin is not in use (no backup.lock, not loaded)".into(), ""));
            return out;
        }
        (Some(p), None) => {
            out.push(f(
                "no_lock",
                Severity::Error,
                format!("the backup plugin is loaded ({}, {}) but {} does not exist: the plugin kills lightningd at startup", p.path, p.seen, lock_path.display()),
                "stop lightningd and run `backup-cli init --lightning-dir $LIGHTNINGDIR file:///mnt/remote/lightningd.bkp`",
            ));
            return out;
        }
        (None, Some(_)) => out.push(f(
            "not_loaded",
            Severity::Warn,
            format!("{} exists but the plugin is not loaded: the backup is going stale", lock_path.display()),
            "add `important-plugin=/path/to/backup.py` to the config and restart lightningd, or remove the stale backup.lock",
        )),
        (Some(p), Some(_)) if !p.important => out.push(f(
            "not_important",
            Severity::Warn,
            format!("loaded as a plain plugin ({}): if it dies, lightningd keeps running without a backup", p.seen),
            "load it with `important-plugin=` instead of `plugin=`",
        )),
        (Some(p), Some(_)) => out.push(f("loaded", Severity::Ok, format!("important-plugin {} ({})", p.path, p.seen), "")),
    }
    let url = match lock.as_deref().map(parse_lock) {
        Some(Ok(u)) => u,
        Some(Err(e)) => {
            out.push(f(
                "lock_damaged",
                Severity::Error,
                format!("{}: {e}", lock_path.display()),
                "re-run `backup-cli init`",
            ));
            return out;
        }
        None => return out,
    };
    out.extend(target(node, &url, sys));
    if let Some(Dsn::Sqlite {
        replica: Some(r), ..
    }) = node.opt("wallet").and_then(parse_dsn)
    {
        if plugin.is_some() {
            out.push(f(
                "with_replica",
                Severity::High,
                format!("both a --wallet replica ({}) and the backup plugin are active: two fail-stop paths, either can stop the node", r.display()),
                "keep one: the --wallet replica (simpler) or the backup plugin",
            ));
        }
    }
    out
}

/// The plugin's target: exists, on another filesystem and disk than the database, with room.
fn target(node: &Node, url: &str, sys: &Path) -> Vec<Finding> {
    let Some(path) = url.strip_prefix("file://").map(PathBuf::from) else {
        return vec![f(
            "target",
            Severity::Info,
            format!("backend_url {url}: not a file:// target, not inspected"),
            "",
        )];
    };
    let mut out = Vec::new();
    let size = std::fs::metadata(&path).map(|m| m.len()).ok();
    let Some(dir) = path.parent().filter(|d| d.is_dir()) else {
        return vec![f(
            "target_missing",
            Severity::Error,
            format!(
                "the backup target's directory {} is missing (medium not mounted?)",
                path.display()
            ),
            "mount the backup medium",
        )];
    };
    let db = node.db_path();
    match (locate(db.parent().unwrap_or(Path::new("/")), sys), locate(dir, sys)) {
        (Ok(m), Ok(t)) if m.same_filesystem(&t) || !m.shared_disks(&t).is_empty() => out.push(f(
            "target_same_device",
            Severity::High,
            format!("the backup target {} is on the same filesystem or disk as the database ({}): one failure loses both", path.display(), m.describe()),
            "re-run `backup-cli init` with a target on another disk, ideally a remote NFS mount",
        )),
        (Ok(_), Ok(t)) => out.push(f("target_device", Severity::Ok, format!("target {} on {}", path.display(), t.describe()), "")),
        _ => {}
    }
    let db_size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    match free_bytes(dir) {
        Some(free) if free < db_size => out.push(f(
            "target_space",
            Severity::Warn,
            format!("{free} bytes free at the target, less than the database ({db_size} bytes); the backup grows beyond it"),
            "give the backup medium more room (or compact with backup-cli)",
        )),
        Some(free) => out.push(f(
            "target_space",
            Severity::Info,
            format!("target size {} bytes, {free} bytes free there", size.map(|s| s.to_string()).unwrap_or_else(|| "?".into())),
            "",
        )),
        None => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_json() {
        assert_eq!(
            parse_lock(r#"{"backend_url": "file:///m/x.bkp"}"#).unwrap(),
            "file:///m/x.bkp"
        );
        assert!(parse_lock("{}").is_err());
        assert!(parse_lock("garbage").is_err());
    }
}
