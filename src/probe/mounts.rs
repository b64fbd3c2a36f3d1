//! Mounts as PID 1 sees them (`/proc/1/mountinfo`), not as this process's mount namespace
//! might: a device mounted in the host namespace is in use even if a container hides it.
//!
//! Caveat that shaped the policy: for a multi-device btrfs, mountinfo names only ONE member as
//! the source and gives an anonymous `0:N` device number, so the other members look unmounted.
//! Membership is therefore decided by filesystem UUID elsewhere (`sysfs`, `blkid`), never by
//! this table alone. Paths in mountinfo escape space, tab, newline and backslash as `\ooo`.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::ParseError;
use crate::types::DevNum;

const WHAT: &str = "mountinfo";

/// The file read: PID 1's view.
pub const PID1_MOUNTINFO: &str = "/proc/1/mountinfo";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mount {
    pub id: u64,
    pub parent_id: u64,
    pub devnum: DevNum,
    /// The subtree of the filesystem mounted here (`/` or a bind/subvolume path).
    pub root: String,
    pub mountpoint: PathBuf,
    pub options: String,
    pub fstype: String,
    pub source: String,
    pub super_options: String,
}

impl Mount {
    /// True when the mount options include `opt` (e.g. `ro`, `degraded` in super options).
    pub fn has_option(&self, opt: &str) -> bool {
        self.options
            .split(',')
            .chain(self.super_options.split(','))
            .any(|o| o == opt)
    }
}

/// Parses mountinfo text (proc(5) format).
pub fn parse_mountinfo(text: &str) -> Result<Vec<Mount>, ParseError> {
    let mut mounts = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        mounts.push(parse_line(line).ok_or_else(|| {
            ParseError::at(
                WHAT,
                i + 1,
                format!("not a mountinfo line: {:?}", super::excerpt(line)),
            )
        })?);
    }
    Ok(mounts)
}

fn parse_line(line: &str) -> Option<Mount> {
    // 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
    let (head, tail) = line.split_once(" - ")?;
    let h: Vec<&str> = head.split(' ').collect();
    let t: Vec<&str> = tail.split(' ').collect();
    if h.len() < 6 || t.len() < 3 {
        return None;
    }
    Some(Mount {
        id: h[0].parse().ok()?,
        parent_id: h[1].parse().ok()?,
        devnum: DevNum::parse(h[2])?,
        root: unescape_octal(h[3]),
        mountpoint: PathBuf::from(unescape_octal(h[4])),
        options: h[5].to_string(),
        fstype: t[0].to_string(),
        source: unescape_octal(t[1]),
        super_options: t[2..].join(" "),
    })
}

/// Decodes the kernel's `\ooo` escapes (`\040` is a space).
pub fn unescape_octal(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if let Some(&[b'\\', o1, o2, o3]) = b.get(i..i + 4) {
            if [o1, o2, o3].iter().all(|c| (b'0'..=b'7').contains(c)) {
                // Three octal digits can reach 0o777 > 255; such a sequence is not an escape.
                let v = u32::from(o1 - b'0') * 64 + u32::from(o2 - b'0') * 8 + u32::from(o3 - b'0');
                if let Ok(byte) = u8::try_from(v) {
                    out.push(byte);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads PID 1's mount table.
pub fn read_mounts(path: &Path) -> anyhow::Result<Vec<Mount>> {
    use anyhow::Context;
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(parse_mountinfo(&text)?)
}

/// The mount that holds `path` (longest mountpoint prefix). `path` must be canonical.
pub fn mount_containing<'a>(mounts: &'a [Mount], path: &Path) -> Option<&'a Mount> {
    mounts
        .iter()
        .filter(|m| path.starts_with(&m.mountpoint))
        .max_by_key(|m| (m.mountpoint.components().count(), m.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard
40 22 0:45 / /mnt/node\\040data rw,relatime shared:30 - btrfs /dev/loop1 rw,degraded,space_cache=v2,subvolid=5,subvol=/
41 22 0:5 / /dev rw,nosuid shared:2 - devtmpfs devtmpfs rw,size=1k
";

    #[test]
    fn parses_and_unescapes() {
        let m = parse_mountinfo(SAMPLE).unwrap();
        assert_eq!(m.len(), 3);
        assert_eq!(
            m[0].devnum,
            DevNum {
                major: 254,
                minor: 0
            }
        );
        assert_eq!(m[1].mountpoint, PathBuf::from("/mnt/node data"));
        assert_eq!(m[1].source, "/dev/loop1");
        assert!(m[1].has_option("degraded"));
        assert!(!m[0].has_option("degraded"));
        assert_eq!(
            mount_containing(&m, Path::new("/mnt/node data/x"))
                .unwrap()
                .id,
            40
        );
        assert_eq!(mount_containing(&m, Path::new("/home")).unwrap().id, 22);
    }

    #[test]
    fn optional_fields_vary() {
        let line = "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 shared:3 - ext3 /dev/root rw,errors=continue\n";
        assert_eq!(parse_mountinfo(line).unwrap()[0].fstype, "ext3");
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse_mountinfo("36 35 98:0 /mnt1").is_err());
        assert!(parse_mountinfo("x y z w v u - a b c").is_err());
        assert_eq!(unescape_octal("a\\04"), "a\\04");
        assert_eq!(unescape_octal("\\134x"), "\\x");
    }

    #[test]
    fn reads_this_machine() {
        let mounts = read_mounts(Path::new("/proc/self/mountinfo")).unwrap();
        assert!(mounts.iter().any(|m| m.mountpoint == Path::new("/")));
    }
}
