//! `DEST/MANIFEST`: what `lnraid recover` copied, from where, and how it was checked.
//!
//! A pretty-printed JSON document (format documented in README.md, "`lnraid recover`"), so a
//! human can read it under stress and a script can check it: every regular file with its
//! BLAKE3, size and mode, the filesystem UUID of the array, the survivor(s) it was read from
//! (devid and path) and the missing devids, how it was mounted, and when. Paths are relative to
//! DEST. Fields may be added within a version; removing or changing one bumps `version`.
//! Pure: rendering and parsing only; the caller writes the file.

use serde::{Deserialize, Serialize};

use crate::types::FsUuid;

/// The file name in DEST.
pub const MANIFEST_NAME: &str = "MANIFEST";
/// The `format` field: tells this document from any other JSON.
pub const MANIFEST_FORMAT: &str = "lnraid-recover-manifest";
pub const MANIFEST_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoverManifest {
    pub format: String,
    pub version: u32,
    /// RFC 3339 UTC (`2026-11-21T01:01:01Z`), when the copy was verified.
    pub created_utc: String,
    pub lnraid_version: String,
    pub array: ArrayInfo,
    /// The node directory's name at the top of the array (e.g. `bitcoin`).
    pub source_dir: String,
    pub mount: MountInfo,
    /// `--all`: the whole node directory was copied.
    pub all: bool,
    /// The result of `PRAGMA integrity_check` on the copied database, if one was copied.
    pub database: Option<DatabaseCheck>,
    pub files: Vec<FileEntry>,
    /// Names of the copy-out set that were absent or not regular files, and skipped special
    /// files (sockets) with `--all`.
    pub not_copied: Vec<NotCopied>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArrayInfo {
    pub fs_uuid: FsUuid,
    pub label: Option<String>,
    /// `Total devices` of the filesystem (from `btrfs filesystem show`).
    pub total_devices: Option<u64>,
    /// The present members the copy was read from.
    pub survivors: Vec<Member>,
    pub missing_devids: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub devid: Option<u64>,
    pub path: String,
    /// The per-device btrfs UUID (`UUID_SUB`).
    pub uuid_sub: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MountKind {
    /// lnraid mounted the survivor `ro,degraded` on a private temporary mountpoint.
    Temporary,
    /// The array was already mounted; lnraid read it through a private read-only bind mount.
    Existing,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountInfo {
    pub kind: MountKind,
    /// The options lnraid mounted with (`ro,degraded`, or `bind,ro`).
    pub options: String,
    /// Where the array was already mounted (`existing` only).
    pub existing_mountpoint: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseCheck {
    pub path: String,
    /// `ok`, or SQLite's first messages.
    pub integrity_check: String,
    /// A hot `-journal` was present: it was rolled back in a scratch copy for the check, as
    /// lightningd will roll it back on start. The copy in DEST keeps the journal, untouched.
    pub hot_journal: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub kind: EntryKind,
    /// Bytes (files; 0 otherwise).
    pub size: u64,
    /// Permission bits in octal, e.g. `"0400"`.
    pub mode: String,
    pub uid: u32,
    pub gid: u32,
    /// BLAKE3 of the content, hex (files only): equal for the source as read and for the copy
    /// as read back from the disk.
    pub blake3: Option<String>,
    /// Link target, verbatim (symlinks only).
    pub target: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotCopied {
    pub path: String,
    pub reason: String,
}

/// `0o400` → `"0400"`.
pub fn mode_string(mode: u32) -> String {
    format!("{:04o}", mode & 0o7777)
}

impl RecoverManifest {
    /// The document as written to disk: pretty JSON and a final newline.
    pub fn render(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("manifest serializes");
        s.push('\n');
        s
    }

    /// Reads a MANIFEST back; refuses other documents and newer versions.
    pub fn parse(text: &str) -> Result<RecoverManifest, String> {
        let m: RecoverManifest =
            serde_json::from_str(text).map_err(|e| format!("not an lnraid MANIFEST: {e}"))?;
        if m.format != MANIFEST_FORMAT {
            return Err(format!("format is {:?}, not {MANIFEST_FORMAT:?}", m.format));
        }
        if m.version != MANIFEST_VERSION {
            return Err(format!(
                "MANIFEST version {} is not {MANIFEST_VERSION}: use a matching lnraid",
                m.version
            ));
        }
        Ok(m)
    }

    pub fn file(&self, path: &str) -> Option<&FileEntry> {
        self.files.iter().find(|f| f.path == path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RecoverManifest {
        RecoverManifest {
            format: MANIFEST_FORMAT.into(),
            version: MANIFEST_VERSION,
            created_utc: "2026-11-21T01:01:01Z".into(),
            lnraid_version: "0.1.0".into(),
            array: ArrayInfo {
                fs_uuid: FsUuid::parse("0c0ffee0-1234-4abc-8def-0123456789ab").unwrap(),
                label: Some("lnraid".into()),
                total_devices: Some(2),
                survivors: vec![Member {
                    devid: Some(1),
                    path: "/dev/sdb".into(),
                    uuid_sub: None,
                }],
                missing_devids: vec![2],
            },
            source_dir: "bitcoin".into(),
            mount: MountInfo {
                kind: MountKind::Temporary,
                options: "ro,degraded".into(),
                existing_mountpoint: None,
            },
            all: false,
            database: Some(DatabaseCheck {
                path: "lightningd.sqlite3".into(),
                integrity_check: "ok".into(),
                hot_journal: false,
            }),
            files: vec![FileEntry {
                path: "hsm_secret".into(),
                kind: EntryKind::File,
                size: 32,
                mode: mode_string(0o100400),
                uid: 1000,
                gid: 1000,
                blake3: Some("ab".repeat(32)),
                target: None,
            }],
            not_copied: vec![NotCopied {
                path: "lightningd.sqlite3-wal".into(),
                reason: "absent".into(),
            }],
        }
    }

    #[test]
    fn round_trips_and_reads_well() {
        let m = sample();
        let text = m.render();
        assert!(text.contains("\"mode\": \"0400\""), "{text}");
        assert!(text.contains("\"kind\": \"temporary\""), "{text}");
        assert_eq!(RecoverManifest::parse(&text).unwrap(), m);
        assert_eq!(m.file("hsm_secret").unwrap().size, 32);
    }

    #[test]
    fn refuses_other_documents() {
        assert!(RecoverManifest::parse("{}").is_err());
        let mut m = sample();
        m.version = 2;
        assert!(RecoverManifest::parse(&m.render())
            .unwrap_err()
            .contains("version 2"));
        m.version = 1;
        m.format = "x".into();
        assert!(RecoverManifest::parse(&m.render()).is_err());
    }
}
