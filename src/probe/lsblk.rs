//! `lsblk --json --bytes --paths -o <explicit columns>`: the block device tree.
//!
//! Only the columns in [`COLUMNS`] are requested (never `-O`, never `MOUNTPOINTS`, which
//! util-linux < 2.37 lacks). Older util-linux prints numbers and booleans as strings
//! (`"size": "1073741824"`, `"ro": "0"`); both forms are accepted. FSTYPE/UUID here come from
//! udev and are empty without it — identities are read with `blkid -p` instead; FSTYPE is
//! kept only as a hint. The tree is flattened: a device under several parents (an md array
//! over two partitions) appears once, with every parent recorded.

use serde::{Deserialize, Deserializer, Serialize};

use super::ParseError;
use crate::exec::Cmd;
use crate::types::{Bytes, DevNum, DevPath};

const WHAT: &str = "`lsblk --json` output";

/// The columns lnraid asks for, in this order.
pub const COLUMNS: &str =
    "NAME,KNAME,PKNAME,TYPE,SIZE,RO,RM,ROTA,TRAN,MODEL,SERIAL,MOUNTPOINT,FSTYPE,MAJ:MIN";

pub fn lsblk_cmd() -> Cmd {
    Cmd::read_only("lsblk", ["--json", "--bytes", "--paths", "-o", COLUMNS])
}

/// One block device as lsblk sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlockDev {
    pub path: DevPath,
    /// `disk`, `part`, `loop`, `raid1`, `crypt`, `lvm`, `rom`, ...
    pub kind: String,
    pub size: Bytes,
    pub read_only: bool,
    pub removable: bool,
    pub rotational: bool,
    pub transport: Option<String>,
    pub model: Option<String>,
    pub serial: Option<String>,
    pub mountpoint: Option<String>,
    /// udev's idea of the filesystem; empty without udev. A hint only.
    pub fstype_hint: Option<String>,
    pub devnum: Option<DevNum>,
    /// Devices this one sits on (a partition's disk, an md array's members).
    pub parents: Vec<DevPath>,
}

impl BlockDev {
    pub fn is_partition(&self) -> bool {
        self.kind == "part"
    }
}

#[derive(Deserialize)]
struct Root {
    blockdevices: Vec<Raw>,
}

#[derive(Deserialize)]
struct Raw {
    name: String,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "flex_u64")]
    size: Option<u64>,
    #[serde(default, deserialize_with = "flex_bool")]
    ro: Option<bool>,
    #[serde(default, deserialize_with = "flex_bool")]
    rm: Option<bool>,
    #[serde(default, deserialize_with = "flex_bool")]
    rota: Option<bool>,
    #[serde(default)]
    tran: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    serial: Option<String>,
    #[serde(default)]
    mountpoint: Option<String>,
    #[serde(default)]
    fstype: Option<String>,
    #[serde(default, rename = "maj:min")]
    majmin: Option<String>,
    #[serde(default)]
    children: Vec<Raw>,
}

/// Parses `lsblk --json` output into a flat list, parents before children.
pub fn parse_lsblk(json: &str) -> Result<Vec<BlockDev>, ParseError> {
    let root: Root =
        serde_json::from_str(json).map_err(|e| ParseError::new(WHAT, e.to_string()))?;
    let mut out: Vec<BlockDev> = Vec::new();
    for raw in &root.blockdevices {
        flatten(raw, None, &mut out)?;
    }
    Ok(out)
}

fn flatten(raw: &Raw, parent: Option<&DevPath>, out: &mut Vec<BlockDev>) -> Result<(), ParseError> {
    if !raw.name.starts_with('/') {
        return Err(ParseError::new(
            WHAT,
            format!(
                "device name {:?} is not a path (was --paths given?)",
                raw.name
            ),
        ));
    }
    let path = DevPath::new(&raw.name);
    match out.iter_mut().find(|d| d.path == path) {
        Some(seen) => {
            if let Some(p) = parent {
                if !seen.parents.contains(p) {
                    seen.parents.push(p.clone());
                }
            }
        }
        None => out.push(BlockDev {
            path: path.clone(),
            kind: raw
                .kind
                .clone()
                .ok_or_else(|| ParseError::new(WHAT, format!("{} has no TYPE", raw.name)))?,
            size: Bytes(
                raw.size
                    .ok_or_else(|| ParseError::new(WHAT, format!("{} has no SIZE", raw.name)))?,
            ),
            read_only: raw.ro.unwrap_or(false),
            removable: raw.rm.unwrap_or(false),
            rotational: raw.rota.unwrap_or(false),
            transport: nonempty(&raw.tran),
            model: nonempty(&raw.model).map(|m| m.trim().to_string()),
            serial: nonempty(&raw.serial).map(|s| s.trim().to_string()),
            mountpoint: nonempty(&raw.mountpoint),
            fstype_hint: nonempty(&raw.fstype),
            devnum: raw.majmin.as_deref().and_then(DevNum::parse),
            parents: parent.cloned().into_iter().collect(),
        }),
    }
    for child in &raw.children {
        flatten(child, Some(&path), out)?;
    }
    Ok(())
}

fn nonempty(s: &Option<String>) -> Option<String> {
    s.as_ref().filter(|s| !s.trim().is_empty()).cloned()
}

/// A number, or a string holding one (util-linux < 2.33 prints every value as a string).
fn flex_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum V {
        N(u64),
        S(String),
    }
    match Option::<V>::deserialize(d)? {
        None => Ok(None),
        Some(V::N(n)) => Ok(Some(n)),
        Some(V::S(s)) => {
            s.trim().parse().map(Some).map_err(|_| {
                serde::de::Error::custom(format!("size {s:?} is not a number of bytes"))
            })
        }
    }
}

/// A boolean, `0`/`1`, or `"0"`/`"1"`.
fn flex_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum V {
        B(bool),
        N(u64),
        S(String),
    }
    Ok(match Option::<V>::deserialize(d)? {
        None => None,
        Some(V::B(b)) => Some(b),
        Some(V::N(n)) => Some(n != 0),
        Some(V::S(s)) => match s.trim() {
            "1" | "true" => Some(true),
            "0" | "false" | "" => Some(false),
            other => {
                return Err(serde::de::Error::custom(format!(
                    "{other:?} is not a boolean"
                )))
            }
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_util_linux_strings() {
        let json = r#"{"blockdevices": [
            {"name": "/dev/sda", "kname": "/dev/sda", "type": "disk", "size": "500107862016", "ro": "0",
             "rm": "0", "rota": "1", "tran": "sata", "model": "WDC WD5000  ", "serial": "WD-1",
             "mountpoint": null, "fstype": null, "maj:min": "8:0",
             "children": [{"name": "/dev/sda1", "type": "part", "size": "1000", "ro": "0", "rm": "0",
                           "rota": "1", "mountpoint": "/", "maj:min": "8:1"}]}]}"#;
        let devs = parse_lsblk(json).unwrap();
        assert_eq!(devs.len(), 2);
        assert_eq!(devs[0].size, Bytes(500107862016));
        assert_eq!(devs[0].model.as_deref(), Some("WDC WD5000"));
        assert!(devs[0].rotational && !devs[0].read_only);
        assert_eq!(devs[1].parents, vec![DevPath::new("/dev/sda")]);
        assert_eq!(devs[1].mountpoint.as_deref(), Some("/"));
        assert_eq!(devs[1].devnum, Some(DevNum { major: 8, minor: 1 }));
    }

    #[test]
    fn md_under_two_parents_once() {
        let md = r#"{"name": "/dev/md0", "type": "raid1", "size": 10, "ro": false, "rm": false, "rota": false}"#;
        let json = format!(
            r#"{{"blockdevices": [{{"name": "/dev/vda", "type": "disk", "size": 10, "children": [{md}]}},
                                 {{"name": "/dev/vdb", "type": "disk", "size": 10, "children": [{md}]}}]}}"#
        );
        let devs = parse_lsblk(&json).unwrap();
        let md0 = devs
            .iter()
            .find(|d| d.path == DevPath::new("/dev/md0"))
            .unwrap();
        assert_eq!(
            md0.parents,
            vec![DevPath::new("/dev/vda"), DevPath::new("/dev/vdb")]
        );
        assert_eq!(devs.len(), 3);
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse_lsblk("").is_err());
        assert!(parse_lsblk(
            "{\"blockdevices\": [{\"name\": \"sda\", \"type\": \"disk\", \"size\": 1}]}"
        )
        .is_err());
        assert!(parse_lsblk(
            "{\"blockdevices\": [{\"name\": \"/dev/sda\", \"type\": \"disk\", \"size\": \"1G\"}]}"
        )
        .is_err());
    }
}
