//! `hsm_secret`: the node's root key. Checks: it exists and is a regular file, mode 0400 and
//! owned by the node's user (lightningd and the backup plugin ask for 0400), its type from its
//! length and content, consistent with the passphrase options, and — when
//! `lightning-hsmtool` is installed and the RPC answered — that its node id equals
//! `getinfo.id` (a database beside the wrong hsm_secret cannot spend its channels).
//! The secret's bytes never leave this module: only its length and whether its first 32 bytes
//! are zero are used; nothing of it is printed or logged.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::discover::Node;
use super::sources::{GUIDE_HSM, HSM_MATCH};
use super::{Finding, Severity, Strategy};
use crate::exec::{Cmd, Runner};

fn f(check: &'static str, sev: Severity, ev: String, fix: &str) -> Finding {
    Finding::new(Strategy::HsmSecret, check, sev, ev, fix, GUIDE_HSM)
}

/// What kind of hsm_secret it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// 32 raw bytes (legacy, unencrypted).
    Plain,
    /// 73 bytes: the legacy `--encrypted-hsm` format.
    LegacyEncrypted,
    /// The mnemonic format: first 32 bytes zero when there is no passphrase.
    Mnemonic {
        passphrase: bool,
    },
    Empty,
}

/// Classifies an hsm_secret by its length and content (pure).
pub fn classify(bytes: &[u8]) -> Kind {
    match bytes.len() {
        0 => Kind::Empty,
        32 => Kind::Plain,
        73 => Kind::LegacyEncrypted,
        n => Kind::Mnemonic {
            passphrase: !(n >= 32 && bytes[..32].iter().all(|b| *b == 0)),
        },
    }
}

impl Kind {
    pub fn word(self) -> &'static str {
        match self {
            Kind::Plain => "32-byte plain secret (legacy format)",
            Kind::LegacyEncrypted => "73-byte encrypted secret (legacy --encrypted-hsm format)",
            Kind::Mnemonic { passphrase: false } => "mnemonic format without passphrase",
            Kind::Mnemonic { passphrase: true } => "mnemonic format with passphrase",
            Kind::Empty => "empty file",
        }
    }

    fn needs_passphrase(self) -> bool {
        matches!(
            self,
            Kind::LegacyEncrypted | Kind::Mnemonic { passphrase: true }
        )
    }
}

/// `lightning-hsmtool getnodeid` on a plain secret, killed after 10 s, stdin closed (it must
/// never wait for a password).
pub fn hsmtool_cmd(path: &Path) -> Cmd {
    Cmd::read_only(
        "lightning-hsmtool",
        ["getnodeid".to_string(), path.display().to_string()],
    )
    .timeout(std::time::Duration::from_secs(10))
}

pub fn check(node: &Node, runner: &dyn Runner) -> Vec<Finding> {
    let path = node.dir.join("hsm_secret");
    let meta = match std::fs::symlink_metadata(&path) {
        Ok(m) => m,
        Err(e) => {
            return vec![f(
                "exists",
                Severity::Error,
                format!("{}: {e}", path.display()),
                "without hsm_secret the database cannot spend anything: restore it from your offline copy",
            )]
        }
    };
    if !meta.file_type().is_file() {
        return vec![f(
            "regular",
            Severity::Warn,
            format!("{} is not a regular file ({:?})", path.display(), meta.file_type()),
            "make hsm_secret a plain file inside $LIGHTNINGDIR (a symlink can dangle after a restore)",
        )];
    }
    let mut out = mode_and_owner(node, &meta);
    let mut bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            out.push(f(
                "readable",
                Severity::Error,
                format!("{}: {e}", path.display()),
                "run doctor as root or as the node's user",
            ));
            return out;
        }
    };
    let kind = classify(&bytes);
    // Do not leave the secret in freed memory longer than needed.
    bytes.fill(0);
    drop(bytes);
    let opt = node.flag("encrypted-hsm") || node.flag("hsm-passphrase");
    let (sev, fix) = match (kind, kind.needs_passphrase(), opt) {
        (Kind::Empty, _, _) => (Severity::Error, "hsm_secret is empty: restore it from your offline copy"),
        (_, true, false) => (Severity::Warn, "the secret needs a passphrase but neither --encrypted-hsm nor --hsm-passphrase is set: lightningd will not start unattended"),
        (_, false, true) => (Severity::Warn, "a passphrase option is set but the secret is not encrypted: drop the option"),
        _ => (Severity::Ok, ""),
    };
    out.push(f(
        "type",
        sev,
        format!("{} ({} bytes)", kind.word(), meta.len()),
        fix,
    ));
    out.extend(node_id(node, runner, &path, kind));
    out
}

/// Mode 0400 and the node's user as owner.
fn mode_and_owner(node: &Node, meta: &std::fs::Metadata) -> Vec<Finding> {
    let mut out = Vec::new();
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        out.push(f(
            "mode",
            Severity::High,
            format!("mode {mode:04o}: readable or writable by other users"),
            "chmod 0400 hsm_secret",
        ));
    } else if mode != 0o400 {
        out.push(f(
            "mode",
            Severity::Warn,
            format!("mode {mode:04o}, not 0400"),
            "chmod 0400 hsm_secret",
        ));
    } else {
        out.push(f("mode", Severity::Ok, "mode 0400".into(), ""));
    }
    match node.uid {
        Some(u) if u != meta.uid() => out.push(f(
            "owner",
            Severity::Warn,
            format!("owned by uid {}, but the node runs as uid {u}", meta.uid()),
            "chown the node's user hsm_secret",
        )),
        Some(u) => out.push(f(
            "owner",
            Severity::Ok,
            format!("owned by the node's user (uid {u})"),
            "",
        )),
        None => {}
    }
    out
}

fn node_id(node: &Node, runner: &dyn Runner, path: &Path, kind: Kind) -> Vec<Finding> {
    let g = |sev, ev: String, fix: &str| {
        vec![Finding::new(
            Strategy::HsmSecret,
            "node_id",
            sev,
            ev,
            fix,
            HSM_MATCH,
        )]
    };
    let Some(info) = &node.rpc.info else {
        return g(
            Severity::Info,
            "node id not compared: the RPC did not answer getinfo".into(),
            "",
        );
    };
    if kind.needs_passphrase() {
        return g(
            Severity::Info,
            "node id not compared: the secret is encrypted".into(),
            "",
        );
    }
    if crate::host::find_program("lightning-hsmtool").is_none() {
        return g(
            Severity::Info,
            "node id not compared: lightning-hsmtool is not installed".into(),
            "",
        );
    }
    match runner.output(&hsmtool_cmd(path)) {
        Ok(o) if o.status.success() => {
            let id = o.stdout.trim();
            if id == info.id {
                g(
                    Severity::Ok,
                    format!("hsm_secret's node id {id} equals getinfo.id"),
                    "",
                )
            } else {
                g(
                    Severity::Error,
                    format!("hsm_secret's node id {id} differs from the running node's getinfo.id {}", info.id),
                    "the file on disk is not the secret this node runs with: find the right hsm_secret before anything restarts the node or a backup copies this one",
                )
            }
        }
        Ok(o) => g(
            Severity::Error,
            format!(
                "lightning-hsmtool getnodeid failed ({}): {}",
                o.status,
                crate::exec::stderr_tail(&o.stderr)
            ),
            "",
        ),
        Err(e) => g(Severity::Error, e.to_string(), ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_by_size_and_content() {
        assert_eq!(classify(&[7; 32]), Kind::Plain);
        assert_eq!(classify(&[7; 73]), Kind::LegacyEncrypted);
        let mut m = vec![0u8; 32];
        m.extend_from_slice(b"abandon abandon ability");
        assert_eq!(classify(&m), Kind::Mnemonic { passphrase: false });
        m[0] = 1;
        assert_eq!(classify(&m), Kind::Mnemonic { passphrase: true });
        assert_eq!(classify(&[]), Kind::Empty);
    }
}
