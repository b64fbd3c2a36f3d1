//! `blkid -p -o export <dev>`: what a device carries, read from the device itself.
//!
//! `-p` bypasses blkid's cache and udev (absent here, and stale right after mkfs), so this is
//! the identity lnraid trusts. Exit status matters: 2 with no output means "no signature found";
//! 8 means ambivalent (several signatures, e.g. a leftover md superblock under a new
//! filesystem), which the policy treats as a signature. Values are shell-escaped by blkid
//! (`LABEL=node\ data`) and unescaped here.

use std::collections::BTreeMap;

use serde::Serialize;

use super::ParseError;
use crate::exec::{Cmd, CmdError, Output, Runner};
use crate::types::{DevPath, FsUuid};

const WHAT: &str = "`blkid -p -o export` output";

pub fn blkid_cmd(dev: &DevPath) -> Cmd {
    Cmd::read_only("blkid", ["-p", "-o", "export"]).arg(dev.to_string())
}

/// What blkid found on one device. All fields empty means: no known signature.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// `TYPE`: btrfs, ext4, swap, linux_raid_member, crypto_LUKS...
    pub fstype: Option<String>,
    /// `USAGE`: filesystem, raid, crypto, other.
    pub usage: Option<String>,
    /// `UUID` — for btrfs, the filesystem UUID shared by all members.
    pub uuid: Option<String>,
    /// `UUID_SUB` — per device (btrfs device UUID, md member UUID).
    pub uuid_sub: Option<String>,
    pub label: Option<String>,
    /// `PTTYPE`: a partition table (gpt, dos).
    pub pttype: Option<String>,
    /// blkid found several signatures and would not choose (exit status 8).
    pub ambivalent: bool,
    /// Every key blkid printed, unescaped.
    pub all: BTreeMap<String, String>,
}

impl Identity {
    /// True when the device carries nothing blkid recognizes.
    pub fn is_blank(&self) -> bool {
        self.fstype.is_none() && self.pttype.is_none() && !self.ambivalent && self.usage.is_none()
    }

    /// The filesystem UUID, when it is a well-formed one.
    pub fn fs_uuid(&self) -> Option<FsUuid> {
        self.uuid.as_deref().and_then(FsUuid::parse)
    }
}

/// Parses the `-o export` text of ONE device.
pub fn parse_blkid_export(text: &str) -> Result<Identity, ParseError> {
    let mut id = Identity::default();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let (k, v) = line.split_once('=').ok_or_else(|| {
            ParseError::at(
                WHAT,
                i + 1,
                format!("expected KEY=value, got {:?}", super::excerpt(line)),
            )
        })?;
        if k.is_empty()
            || !k
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(ParseError::at(
                WHAT,
                i + 1,
                format!("bad key {:?}", super::excerpt(k)),
            ));
        }
        if k == "DEVNAME" && id.all.contains_key("DEVNAME") {
            return Err(ParseError::at(
                WHAT,
                i + 1,
                "output describes more than one device",
            ));
        }
        id.all.insert(udev_key(k).to_string(), unescape_value(v));
    }
    let get = |k: &str| id.all.get(k).filter(|v| !v.is_empty()).cloned();
    id.fstype = get("TYPE");
    id.usage = get("USAGE");
    id.uuid = get("UUID");
    id.uuid_sub = get("UUID_SUB");
    id.label = get("LABEL");
    id.pttype = get("PTTYPE");
    // Output for a device carries what blkid found: a TYPE, a partition table, a USAGE, or
    // (a partition without a filesystem) PART_ENTRY_* keys. Any other KEY=VALUE text is not
    // blkid output, and taking it would make an unknown device look blank.
    let probed = id
        .all
        .keys()
        .any(|k| matches!(k.as_str(), "TYPE" | "PTTYPE" | "USAGE") || k.starts_with("PART_ENTRY_"));
    if !id.all.is_empty() && !probed {
        let keys: Vec<&str> = id.all.keys().map(String::as_str).collect();
        return Err(ParseError::new(
            WHAT,
            format!(
                "no TYPE, PTTYPE, USAGE or PART_ENTRY_ key (got {}): not blkid output",
                super::excerpt(&keys.join(","))
            ),
        ));
    }
    Ok(id)
}

/// `-o udev` names keys `ID_FS_TYPE`, `ID_PART_TABLE_TYPE`...; map them to export names so
/// both formats give the same [`Identity`].
fn udev_key(k: &str) -> &str {
    match k {
        "ID_PART_TABLE_TYPE" => "PTTYPE",
        "ID_PART_TABLE_UUID" => "PTUUID",
        _ => k.strip_prefix("ID_FS_").unwrap_or(k),
    }
}

/// Undoes blkid's escaping: `-o export` protects a character with a backslash
/// (`node\ data`); `-o udev` writes `\xNN` hex escapes (`LVM2\x20001`).
fn unescape_value(v: &str) -> String {
    let mut out: Vec<u8> = Vec::with_capacity(v.len());
    let b = v.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            if let Some(&[b'x', h1, h2]) = b.get(i + 1..i + 4) {
                let hex = [h1, h2];
                if let Some(byte) = std::str::from_utf8(&hex)
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    out.push(byte);
                    i += 4;
                    continue;
                }
            }
            if let Some(&n) = b.get(i + 1) {
                out.push(n);
                i += 2;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses output describing several devices: `-o export`/`-o udev` blocks separated by blank
/// lines.
pub fn parse_blkid_export_multi(text: &str) -> Result<Vec<Identity>, ParseError> {
    let mut out = Vec::new();
    let mut block = String::new();
    for line in text.lines().chain(std::iter::once("")) {
        if line.trim().is_empty() {
            if !block.is_empty() {
                out.push(parse_blkid_export(&block)?);
                block.clear();
            }
        } else {
            block.push_str(line);
            block.push('\n');
        }
    }
    Ok(out)
}

/// Parses blkid's default output, one device a line: `/dev/sda1: UUID="..." TYPE="xfs"`.
pub fn parse_blkid_plain(text: &str) -> Result<Vec<(DevPath, Identity)>, ParseError> {
    const WHAT_PLAIN: &str = "`blkid` output";
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |why: &str| {
            ParseError::at(
                WHAT_PLAIN,
                i + 1,
                format!("{why}: {:?}", super::excerpt(line)),
            )
        };
        let (dev, mut rest) = line
            .split_once(": ")
            .ok_or_else(|| bad("expected `DEVICE: KEY=\"value\" ...`"))?;
        if !dev.starts_with('/') {
            return Err(bad("device is not a path"));
        }
        let mut export = String::new();
        loop {
            rest = rest.trim_start();
            if rest.is_empty() {
                break;
            }
            let (key, after) = rest
                .split_once("=\"")
                .ok_or_else(|| bad("expected KEY=\"value\""))?;
            let mut value = String::new();
            let mut chars = after.char_indices();
            let end = loop {
                match chars.next() {
                    Some((_, '\\')) => {
                        if let Some((_, c)) = chars.next() {
                            value.push(c);
                        }
                    }
                    Some((j, '"')) => break j,
                    Some((_, c)) => value.push(c),
                    None => return Err(bad("unterminated quoted value")),
                };
            };
            export.push_str(&format!(
                "{key}={}\n",
                value.replace('\\', "\\\\").replace(' ', "\\ ")
            ));
            rest = &after[end + 1..];
        }
        let id =
            parse_blkid_export(&export).map_err(|e| ParseError::at(WHAT_PLAIN, i + 1, e.reason))?;
        out.push((DevPath::new(dev), id));
    }
    Ok(out)
}

/// Interprets a finished `blkid -p` run: exit 0 parses, 2 with empty output is "blank",
/// 8 is ambivalent. Anything else (unreadable device, permission) is an error: the caller
/// must not take an unknown device for a blank one.
pub fn interpret(cmd: &Cmd, out: &Output) -> Result<Identity, BlkidError> {
    match out.status.code() {
        // Exit 0 means blkid found something: nothing printed is not "blank".
        Some(0) if out.stdout.trim().is_empty() => Err(BlkidError::Parse(ParseError::new(
            WHAT,
            "exit status 0 but nothing printed",
        ))),
        Some(0) => parse_blkid_export(&out.stdout).map_err(BlkidError::Parse),
        Some(2) if out.stdout.trim().is_empty() && out.stderr.trim().is_empty() => {
            Ok(Identity::default())
        }
        Some(8) => {
            let mut id = parse_blkid_export(&out.stdout).unwrap_or_default();
            id.ambivalent = true;
            Ok(id)
        }
        _ => Err(BlkidError::Cmd(CmdError::Failed {
            cmd: cmd.to_string(),
            status: out.status,
            stderr_tail: crate::exec::stderr_tail(&out.stderr),
        })),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlkidError {
    #[error(transparent)]
    Cmd(#[from] CmdError),
    #[error(transparent)]
    Parse(ParseError),
}

/// Reads the identity of `dev` from the device itself.
pub fn probe_identity(runner: &dyn Runner, dev: &DevPath) -> Result<Identity, BlkidError> {
    let cmd = blkid_cmd(dev);
    let out = runner.output(&cmd)?;
    interpret(&cmd, &out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn btrfs_member() {
        let t = "DEVNAME=/dev/loop0\nLABEL=node\\ data\nUUID=5d1c0e2a-1111-2222-3333-444455556666\n\
                 UUID_SUB=aaaaaaaa-1111-2222-3333-444455556666\nBLOCK_SIZE=4096\nTYPE=btrfs\nUSAGE=filesystem\n";
        let id = parse_blkid_export(t).unwrap();
        assert_eq!(id.fstype.as_deref(), Some("btrfs"));
        assert_eq!(id.label.as_deref(), Some("node data"));
        assert_eq!(
            id.fs_uuid().unwrap().as_str(),
            "5d1c0e2a-1111-2222-3333-444455556666"
        );
        assert!(!id.is_blank());
    }

    #[test]
    fn exit_codes() {
        let cmd = blkid_cmd(&DevPath::new("/dev/loop0"));
        assert!(interpret(&cmd, &Output::exited(2, "", ""))
            .unwrap()
            .is_blank());
        assert!(
            interpret(&cmd, &Output::exited(8, "DEVNAME=/dev/loop0\n", ""))
                .unwrap()
                .ambivalent
        );
        let err = interpret(
            &cmd,
            &Output::exited(2, "", "blkid: error: /dev/loop0: No such file or directory"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("No such file"), "{err}");
    }

    #[test]
    fn udev_format_and_plain_format() {
        let udev = "ID_FS_UUID=37c76b91\nID_FS_VERSION=LVM2\\x20001\nID_FS_TYPE=linux_raid_member\nID_FS_USAGE=raid\n\n\
                    ID_FS_TYPE=btrfs\nID_PART_TABLE_TYPE=gpt\n";
        let ids = parse_blkid_export_multi(udev).unwrap();
        assert_eq!(ids.len(), 2);
        assert_eq!(ids[0].fstype.as_deref(), Some("linux_raid_member"));
        assert_eq!(ids[0].all["VERSION"], "LVM2 001");
        assert_eq!(ids[1].pttype.as_deref(), Some("gpt"));
        let plain = "/dev/sr1: UUID=\"2019\" LABEL=\"Ubuntu \\\"x\\\" 18.04\" TYPE=\"iso9660\" \n/dev/loop0: TYPE=\"squashfs\"\n";
        let p = parse_blkid_plain(plain).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].0, DevPath::new("/dev/sr1"));
        assert_eq!(p[0].1.label.as_deref(), Some("Ubuntu \"x\" 18.04"));
        assert_eq!(p[1].1.fstype.as_deref(), Some("squashfs"));
        assert!(parse_blkid_plain("/dev/sda: TYPE=\"unterminated\n").is_err());
        assert!(parse_blkid_plain("sda: TYPE=\"x\"\n").is_err());
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse_blkid_export("hello world").is_err());
        assert!(parse_blkid_export("DEVNAME=/dev/a\nTYPE=x\nDEVNAME=/dev/b\n").is_err());
        assert!(parse_blkid_export("lower=case").is_err());
    }

    /// KEY=VALUE text that is not blkid output (an env dump, a config file, `DEVNAME` alone)
    /// is refused: taken as an identity it would have no TYPE, and read as blank.
    #[test]
    fn key_value_text_that_is_not_blkid_is_refused_not_blank() {
        for text in [
            "FOO=bar\n",
            "HOME=/root\nPATH=/usr/bin:/bin\nLANG=C\n",
            "DEVNAME=/dev/sdb\n",
            "UUID=5d1c0e2a-1111-2222-3333-444455556666\nLABEL=x\n",
        ] {
            let e = parse_blkid_export(text).unwrap_err();
            assert!(e.reason.contains("not blkid output"), "{text:?}: {e}");
        }
        let cmd = blkid_cmd(&DevPath::new("/dev/loop0"));
        assert!(interpret(&cmd, &Output::exited(0, "SHELL=/bin/sh\n", "")).is_err());
        assert!(interpret(&cmd, &Output::exited(0, "", "")).is_err());
        // The real blank answer is exit 2 with no output.
        assert!(interpret(&cmd, &Output::exited(2, "", ""))
            .unwrap()
            .is_blank());
        // A partition without a filesystem is still blkid output (PART_ENTRY_* keys).
        let p =
            parse_blkid_export("DEVNAME=/dev/sdb2\nPART_ENTRY_SCHEME=gpt\nPART_ENTRY_NUMBER=2\n")
                .unwrap();
        assert!(p.is_blank());
    }
}
