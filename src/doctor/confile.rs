//! lightningd's configuration files, read the way lightningd reads them (lightningd-config(5)):
//! `<base>/config`, then `<base>/<network>/config` (or only the file named by `--conf`), each
//! line `key=value` or a bare `key`, `#` comments, `include PATH` relative to the including
//! file. Later entries override earlier ones for single-valued options; `plugin` and
//! `important-plugin` accumulate; the command line (appended last by the caller) wins.
//! Read-only; parsing is pure ([`parse_config`]).

use std::path::{Path, PathBuf};

/// One option, and where it was set (`file:line` or `command line`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: Option<String>,
    pub origin: String,
}

/// A line of a config file, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Opt { key: String, value: Option<String> },
    Include(String),
}

/// Parses config text into options and include directives (pure). Blank lines and comments
/// are dropped.
pub fn parse_config(text: &str) -> Vec<(usize, Line)> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(p) = line
            .strip_prefix("include ")
            .or_else(|| line.strip_prefix("include="))
        {
            out.push((i + 1, Line::Include(p.trim().to_string())));
            continue;
        }
        let (key, value) = match line.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim().to_string())),
            None => (line, None),
        };
        let key = key.trim_start_matches("--").to_string();
        out.push((i + 1, Line::Opt { key, value }));
    }
    out
}

/// The options in effect, in the order they were set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    pub entries: Vec<Entry>,
    /// Files read, in order.
    pub files: Vec<PathBuf>,
    /// Problems met while reading (an include that does not exist, a loop).
    pub problems: Vec<String>,
}

impl Options {
    /// The last value of a single-valued option.
    pub fn last(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().rev().find(|e| e.key == key)
    }

    /// Every value of a multi-valued option, in order.
    pub fn all(&self, key: &str) -> Vec<&Entry> {
        self.entries.iter().filter(|e| e.key == key).collect()
    }

    pub fn push(&mut self, key: &str, value: Option<String>, origin: &str) {
        self.entries.push(Entry {
            key: key.to_string(),
            value,
            origin: origin.to_string(),
        });
    }

    /// Reads `path` (and its includes) if it exists. A missing top-level file is normal.
    pub fn read_file(&mut self, path: &Path, required: bool) {
        self.read_depth(path, required, 0);
    }

    fn read_depth(&mut self, path: &Path, required: bool, depth: usize) {
        if depth > 16 {
            self.problems.push(format!(
                "{}: includes nest too deep (a loop?)",
                path.display()
            ));
            return;
        }
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                if required || e.kind() != std::io::ErrorKind::NotFound {
                    self.problems
                        .push(format!("cannot read {}: {e}", path.display()));
                }
                return;
            }
        };
        self.files.push(path.to_path_buf());
        for (n, line) in parse_config(&text) {
            match line {
                Line::Opt { key, value } => {
                    self.push(&key, value, &format!("{}:{n}", path.display()))
                }
                Line::Include(p) => {
                    let p = Path::new(&p);
                    let full = if p.is_absolute() {
                        p.to_path_buf()
                    } else {
                        path.parent().unwrap_or(Path::new("/")).join(p)
                    };
                    self.read_depth(&full, true, depth + 1);
                }
            }
        }
    }
}

/// The network an option set selects (`network=`, or `testnet`/`signet`/`regtest`/`mainnet`).
pub fn network_of(opts: &Options) -> Option<String> {
    opts.entries
        .iter()
        .rev()
        .find_map(|e| match (e.key.as_str(), &e.value) {
            ("network", Some(v)) => Some(v.clone()),
            ("testnet", None) => Some("testnet".into()),
            ("signet", None) => Some("signet".into()),
            ("regtest", None) => Some("regtest".into()),
            ("mainnet", None) => Some("bitcoin".into()),
            _ => None,
        })
}

/// Options from a lightningd command line (`/proc/<pid>/cmdline`, argv[0] skipped).
pub fn options_from_args(args: &[String]) -> Options {
    let mut o = Options::default();
    let mut it = args.iter().skip(1).peekable();
    while let Some(a) = it.next() {
        let Some(flag) = a.strip_prefix("--") else {
            continue;
        };
        match flag.split_once('=') {
            Some((k, v)) => o.push(k, Some(v.to_string()), "command line"),
            None => {
                // `--key value` when the next word is not a flag and the key takes a value.
                let takes = matches!(
                    flag,
                    "lightning-dir"
                        | "network"
                        | "wallet"
                        | "conf"
                        | "rpc-file"
                        | "plugin"
                        | "important-plugin"
                        | "plugin-dir"
                );
                let value = if takes {
                    it.next_if(|n| !n.starts_with("--")).cloned()
                } else {
                    None
                };
                o.push(flag, value, "command line");
            }
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_options_flags_comments_and_includes() {
        let t = "# c\n\nnetwork=regtest\n  wallet = sqlite3:///a:/b\nencrypted-hsm\ninclude extra.conf\n";
        let p = parse_config(t);
        assert_eq!(
            p,
            vec![
                (
                    3,
                    Line::Opt {
                        key: "network".into(),
                        value: Some("regtest".into())
                    }
                ),
                (
                    4,
                    Line::Opt {
                        key: "wallet".into(),
                        value: Some("sqlite3:///a:/b".into())
                    }
                ),
                (
                    5,
                    Line::Opt {
                        key: "encrypted-hsm".into(),
                        value: None
                    }
                ),
                (6, Line::Include("extra.conf".into())),
            ]
        );
    }

    #[test]
    fn command_line_forms() {
        let args: Vec<String> = [
            "lightningd",
            "--network",
            "signet",
            "--wallet=x",
            "--encrypted-hsm",
            "--plugin",
            "/p.py",
        ]
        .map(String::from)
        .to_vec();
        let o = options_from_args(&args);
        assert_eq!(network_of(&o).as_deref(), Some("signet"));
        assert_eq!(o.last("wallet").unwrap().value.as_deref(), Some("x"));
        assert!(o.last("encrypted-hsm").unwrap().value.is_none());
        assert_eq!(o.all("plugin")[0].value.as_deref(), Some("/p.py"));
    }
}
