//! Versions of the kernel and the tools lnraid drives. Output formats differ between
//! btrfs-progs releases (`--format json` only exists in newer ones; `scrub status` changed in
//! 5.2), so the version is probed once and recorded in the snapshot.

use serde::Serialize;

use crate::exec::{Cmd, CmdError, Runner};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Versions {
    /// `uname -r`.
    pub kernel: String,
    /// e.g. `6.2` from `btrfs-progs v6.2`; `None` when btrfs-progs is not installed.
    pub btrfs_progs: Option<String>,
    /// e.g. `4.2` from `mdadm - v4.2 - 2021-12-30`.
    pub mdadm: Option<String>,
    /// e.g. `2.38.1` from `lsblk from util-linux 2.38.1`.
    pub util_linux: Option<String>,
}

/// The first `vN.N[.N]` or `N.N[.N]` token after `marker` in `text`.
pub fn parse_version_after(text: &str, marker: &str) -> Option<String> {
    let rest = &text[text.find(marker)? + marker.len()..];
    let tok = rest.split_whitespace().next()?.trim_start_matches('v');
    let ok =
        !tok.is_empty() && tok.chars().all(|c| c.is_ascii_digit() || c == '.') && tok.contains('.');
    ok.then(|| tok.to_string())
}

/// A dotted version as numbers, for comparisons (`"5.16.2"` → `[5, 16, 2]`).
pub fn version_tuple(v: &str) -> Vec<u32> {
    // Only the leading dotted part: `5.16.0-1-amd64` is 5.16.0 (the `-1` is Debian's ABI).
    let head: &str = v
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .next()
        .unwrap_or("");
    head.split('.').map_while(|s| s.parse().ok()).collect()
}

/// `Ok(None)` when the tool is missing or says nothing we recognize. A tool that hangs even
/// on `--version` is an error: taking it for "not installed" would hide a hung machine (and
/// skip every probe that needs it).
fn tool_version(runner: &dyn Runner, cmd: Cmd, marker: &str) -> Result<Option<String>, CmdError> {
    let out = match runner.output(&cmd) {
        Ok(out) => out,
        Err(e @ CmdError::TimedOut { .. }) => return Err(e),
        Err(_) => return Ok(None),
    };
    // mdadm prints its version on stderr.
    Ok(parse_version_after(&out.stdout, marker)
        .or_else(|| parse_version_after(&out.stderr, marker)))
}

pub fn probe_versions(runner: &dyn Runner) -> Result<Versions, CmdError> {
    let kernel = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Versions {
        kernel,
        btrfs_progs: tool_version(
            runner,
            Cmd::read_only("btrfs", ["--version"]),
            "btrfs-progs",
        )?,
        mdadm: tool_version(runner, Cmd::read_only("mdadm", ["--version"]), "mdadm -")?,
        util_linux: tool_version(runner, Cmd::read_only("lsblk", ["--version"]), "util-linux")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_banners() {
        assert_eq!(
            parse_version_after("btrfs-progs v6.2\n", "btrfs-progs").as_deref(),
            Some("6.2")
        );
        assert_eq!(
            parse_version_after("btrfs-progs v6.6.3\n-EXPERIMENTAL", "btrfs-progs").as_deref(),
            Some("6.6.3")
        );
        assert_eq!(
            parse_version_after("mdadm - v4.2 - 2021-12-30 - Debian 4.2-5\n", "mdadm -").as_deref(),
            Some("4.2")
        );
        assert_eq!(
            parse_version_after("lsblk from util-linux 2.38.1\n", "util-linux").as_deref(),
            Some("2.38.1")
        );
        assert_eq!(parse_version_after("garbage", "btrfs-progs"), None);
        assert_eq!(version_tuple("5.16.0-1-amd64"), vec![5, 16, 0]);
        assert_eq!(version_tuple("6.18.44-fc-v669"), vec![6, 18, 44]);
    }
}
