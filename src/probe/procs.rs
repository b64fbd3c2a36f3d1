//! Running processes that use a node's data directory (procfs). Moving `$LIGHTNINGDIR` while
//! `lightningd` runs would copy a database mid-write and leave the node writing to the old
//! copy: setup refuses while any such process exists. Read-only.

use std::path::{Path, PathBuf};

use serde::Serialize;

/// A process that uses the directory, and how we know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsingProcess {
    pub pid: i32,
    pub name: String,
    pub why: String,
}

/// The data directory `lightningd` uses when given these arguments: `--lightning-dir` (or its
/// default `$HOME/.lightning`), and the network subdirectory, which is `$LIGHTNINGDIR` itself.
pub fn lightning_dirs_from_args(args: &[String], home: Option<&Path>) -> Vec<PathBuf> {
    let mut base: Option<PathBuf> = None;
    let mut network = "bitcoin".to_string();
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        let (key, val) = match a.split_once('=') {
            Some((k, v)) => (k, Some(v.to_string())),
            None => (a.as_str(), None),
        };
        let mut value = || val.clone().or_else(|| it.next().cloned());
        match key {
            "--lightning-dir" => base = value().map(PathBuf::from),
            "--network" => network = value().unwrap_or(network.clone()),
            "--testnet" => network = "testnet".into(),
            "--signet" => network = "signet".into(),
            "--regtest" => network = "regtest".into(),
            "--mainnet" => network = "bitcoin".into(),
            _ => {}
        }
    }
    let base = base.or_else(|| home.map(|h| h.join(".lightning")));
    base.map(|b| vec![b.join(&network), b]).unwrap_or_default()
}

/// Every process named `lightningd` (by comm or executable name) whose data directory,
/// working directory or open files lie in `dir` (canonical). Processes that vanish or that we
/// may not inspect while we look are skipped; as root, every process is visible.
pub fn processes_using(dir: &Path) -> Vec<UsingProcess> {
    let mut out = Vec::new();
    let Ok(all) = procfs::process::all_processes() else {
        return out;
    };
    for p in all.flatten() {
        let comm = p.stat().map(|s| s.comm).unwrap_or_default();
        let exe_name = p
            .exe()
            .ok()
            .and_then(|e| e.file_name().map(|n| n.to_string_lossy().into_owned()));
        if comm != "lightningd" && exe_name.as_deref() != Some("lightningd") {
            continue;
        }
        let name = exe_name.unwrap_or(comm);
        let canon = |q: &Path| std::fs::canonicalize(q).unwrap_or_else(|_| q.to_path_buf());
        // Its data dir inside DIR, or DIR inside its `--lightning-dir` (conservative: a node
        // on another network under the same base also blocks; refusing is the safe error).
        let inside = |q: &Path| {
            let q = canon(q);
            q.starts_with(dir) || dir.starts_with(&q)
        };
        let home = p
            .environ()
            .ok()
            .and_then(|e| e.get(std::ffi::OsStr::new("HOME")).map(PathBuf::from));
        let args = p.cmdline().unwrap_or_default();
        let mut why = None;
        if let Some(d) = lightning_dirs_from_args(&args, home.as_deref())
            .into_iter()
            .find(|d| inside(d))
        {
            why = Some(format!("its data directory is {}", d.display()));
        } else if let Some(cwd) = p.cwd().ok().filter(|c| canon(c).starts_with(dir)) {
            why = Some(format!("its working directory is {}", cwd.display()));
        } else if let Ok(fds) = p.fd() {
            for fd in fds.flatten() {
                if let procfs::process::FDTarget::Path(path) = fd.target {
                    if path.starts_with(dir) {
                        why = Some(format!("it has {} open", path.display()));
                        break;
                    }
                }
            }
        }
        if let Some(why) = why {
            out.push(UsingProcess {
                pid: p.pid,
                name,
                why,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn data_dir_from_arguments() {
        let home = Path::new("/home/u");
        assert_eq!(
            lightning_dirs_from_args(&args(&["lightningd"]), Some(home)),
            vec![
                PathBuf::from("/home/u/.lightning/bitcoin"),
                PathBuf::from("/home/u/.lightning")
            ]
        );
        assert_eq!(
            lightning_dirs_from_args(
                &args(&[
                    "lightningd",
                    "--lightning-dir=/srv/ln",
                    "--network",
                    "testnet"
                ]),
                None
            )[0],
            PathBuf::from("/srv/ln/testnet")
        );
        assert_eq!(
            lightning_dirs_from_args(
                &args(&["lightningd", "--lightning-dir", "/x", "--regtest"]),
                None
            )[0],
            PathBuf::from("/x/regtest")
        );
        assert!(lightning_dirs_from_args(&args(&["lightningd"]), None).is_empty());
    }
}
