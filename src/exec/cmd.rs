//! `Cmd`: a command as data. Pure: building or printing a `Cmd` never runs anything.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Whether running a command can change a device, a filesystem or a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Effect {
    ReadOnly,
    Mutating,
}

/// A program and its arguments. `Display` gives the exact shell-escaped line. Equality ignores
/// the time limit: a journaled command (which does not record it) equals the one replanned.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cmd {
    pub program: String,
    pub args: Vec<String>,
    pub effect: Effect,
    /// Extra environment (`LC_ALL=C` is always set by the real runner).
    pub env: Vec<(String, String)>,
    /// Bytes fed to standard input; `None` means stdin is `/dev/null`.
    #[serde(skip)]
    pub stdin: Option<Vec<u8>>,
    /// How long the command may run before its process group is killed (see
    /// [`super::timeout`]). Not part of the shell line, nor of a journaled command: a resumed
    /// step gets the limit of the code that runs it.
    #[serde(skip)]
    pub limit: Limit,
}

/// A command's time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Limit {
    /// Read-only commands get their program's default limit (overridable with `--timeout` /
    /// `LNRAID_TIMEOUT`); mutating commands run untimed.
    #[default]
    Default,
    /// Killed after this long, whatever its effect.
    After(Duration),
    /// Never killed for taking long (scrub, balance, replace, mkfs over a big disk: their
    /// progress is observable elsewhere).
    Untimed,
}

impl Cmd {
    fn build<I, S>(program: &str, args: I, effect: Effect) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Cmd {
            program: program.to_string(),
            args: args.into_iter().map(Into::into).collect(),
            effect,
            env: Vec::new(),
            stdin: None,
            limit: Limit::Default,
        }
    }

    /// A command that only reads (probes, status).
    pub fn read_only<I, S>(program: &str, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Cmd::build(program, args, Effect::ReadOnly)
    }

    /// A command that changes state (mkfs, mount, wipefs...).
    pub fn mutating<I, S>(program: &str, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Cmd::build(program, args, Effect::Mutating)
    }

    pub fn arg(mut self, a: impl Into<String>) -> Cmd {
        self.args.push(a.into());
        self
    }

    pub fn args_from<'a>(mut self, args: impl IntoIterator<Item = &'a str>) -> Cmd {
        self.args.extend(args.into_iter().map(str::to_string));
        self
    }

    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Cmd {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Cmd {
        self.stdin = Some(bytes.into());
        self
    }

    /// Kills the command (its whole process group) when it runs longer than `after`.
    pub fn timeout(mut self, after: Duration) -> Cmd {
        self.limit = Limit::After(after);
        self
    }

    /// Never kills the command for taking long.
    pub fn untimed(mut self) -> Cmd {
        self.limit = Limit::Untimed;
        self
    }

    pub fn is_mutating(&self) -> bool {
        self.effect == Effect::Mutating
    }
}

impl PartialEq for Cmd {
    fn eq(&self, o: &Cmd) -> bool {
        (
            &self.program,
            &self.args,
            self.effect,
            &self.env,
            &self.stdin,
        ) == (&o.program, &o.args, o.effect, &o.env, &o.stdin)
    }
}

impl Eq for Cmd {}

impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, v) in &self.env {
            write!(f, "{}={} ", k, shell_quote(v))?;
        }
        f.write_str(&shell_quote(&self.program))?;
        for a in &self.args {
            write!(f, " {}", shell_quote(a))?;
        }
        Ok(())
    }
}

/// A path quoted for a POSIX shell (see [`shell_quote`]), for advice printed as a command line.
pub fn quote_path(p: &std::path::Path) -> String {
    shell_quote(&p.to_string_lossy())
}

/// Quotes `s` for a POSIX shell: bare when it only holds safe characters, else single-quoted
/// with embedded quotes as `'\''`. Control characters are kept inside the quotes verbatim;
/// the UI layer sanitizes before printing to a terminal.
pub fn shell_quote(s: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c);
    if !s.is_empty() && s.chars().all(safe) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_shell_line() {
        let c = Cmd::mutating(
            "mkfs.btrfs",
            ["-L", "lnraid data", "-m", "raid1", "/dev/loop0"],
        );
        assert_eq!(
            c.to_string(),
            "mkfs.btrfs -L 'lnraid data' -m raid1 /dev/loop0"
        );
        let c = Cmd::read_only("echo", ["it's", "", "$HOME"]).env("LC_ALL", "C");
        assert_eq!(c.to_string(), r"LC_ALL=C echo 'it'\''s' '' '$HOME'");
    }

    #[test]
    fn effect_recorded() {
        assert!(Cmd::mutating("wipefs", ["-a"]).is_mutating());
        assert!(!Cmd::read_only("lsblk", ["--json"]).is_mutating());
    }
}
