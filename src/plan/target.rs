//! A destructive target as the operator confirmed it. Pure data: the executor re-proves it
//! right before every destructive step (also on resume), so a disk that re-enumerated under
//! the same path, or another same-size disk plugged in at the recorded name, is never the one
//! destroyed.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::probe::blkid::Identity;
use crate::probe::lsblk::BlockDev;
use crate::types::{DevNum, DevPath};

/// What a device carried, as `blkid -p` (no cache) read it. All `None` and not ambivalent:
/// blank. Compared field by field: `--wipe` consents to exactly these signatures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contents {
    pub fstype: Option<String>,
    pub uuid: Option<String>,
    pub uuid_sub: Option<String>,
    pub label: Option<String>,
    pub pttype: Option<String>,
    pub ambivalent: bool,
}

impl Contents {
    pub fn of(id: &Identity) -> Contents {
        Contents {
            fstype: id.fstype.clone(),
            uuid: id.uuid.clone(),
            uuid_sub: id.uuid_sub.clone(),
            label: id.label.clone(),
            pttype: id.pttype.clone(),
            ambivalent: id.ambivalent,
        }
    }

    pub fn is_blank(&self) -> bool {
        self.fstype.is_none() && self.pttype.is_none() && !self.ambivalent
    }

    /// Carries lnraid's own `uuid` (the plan's [`crate::plan::Plan::own_fs`]) in a signature
    /// one of the backends writes: a btrfs member, an md member (blkid's dashed md UUID).
    pub fn is_own(&self, uuid: &str) -> bool {
        self.uuid.as_deref() == Some(uuid)
            && self
                .fstype
                .as_deref()
                .is_some_and(crate::backend::Backend::writes_any)
    }

    /// For people: `blank`, or `ext4 UUID=… LABEL=…`.
    pub fn describe(&self) -> String {
        if self.is_blank() {
            return "blank (no signature)".into();
        }
        let mut parts = Vec::new();
        if let Some(t) = &self.fstype {
            parts.push(t.clone());
        }
        if let Some(p) = &self.pttype {
            parts.push(format!("partition table {p}"));
        }
        if let Some(u) = &self.uuid {
            parts.push(format!("UUID={u}"));
        }
        if let Some(l) = &self.label {
            parts.push(format!("LABEL={l:?}"));
        }
        if self.ambivalent {
            parts.push("several signatures".into());
        }
        parts.join(" ")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// The path the operator gave (`/dev/disk/by-id/…`, `/dev/sdb`).
    pub given: PathBuf,
    /// The device node it resolved to at confirmation.
    pub device: DevPath,
    pub devnum: Option<DevNum>,
    pub size: u64,
    pub model: Option<String>,
    pub serial: Option<String>,
    /// Ids that survive re-enumeration, where the device has any: `/dev/disk/by-id` links,
    /// WWN, partition UUID, a loop device's backing file. Compared as a set.
    pub stable_ids: Vec<String>,
    /// What it carried when the operator confirmed.
    pub contents: Contents,
    /// Confirmed with `--allow-loop-on-shared-disk`: a rehearsal loop device, which the
    /// re-checks accept on a shared disk (never backed by a file on the array).
    #[serde(default)]
    pub rehearsal: bool,
}

impl Target {
    /// Records the rehearsal consent (`--allow-loop-on-shared-disk`) given at confirmation.
    pub fn rehearsal(mut self, allowed: bool) -> Target {
        self.rehearsal = allowed;
        self
    }

    pub fn new(
        given: PathBuf,
        dev: &BlockDev,
        identity: Option<&Identity>,
        stable_ids: Vec<String>,
    ) -> Target {
        Target {
            given,
            device: dev.path.clone(),
            devnum: dev.devnum,
            size: dev.size.0,
            model: dev.model.clone(),
            serial: dev.serial.clone(),
            stable_ids,
            contents: identity.map(Contents::of).unwrap_or_default(),
            rehearsal: false,
        }
    }

    /// Why `now` is not this target (empty: it is). `now_ids` are the stable ids read now.
    pub fn differences(&self, now: &BlockDev, now_ids: &[String]) -> Vec<String> {
        let mut d = Vec::new();
        if now.devnum.is_some() && self.devnum.is_some() && now.devnum != self.devnum {
            d.push("its path now names another device number".to_string());
        }
        if now.size.0 != self.size {
            d.push(format!("size {} instead of {}", now.size.0, self.size));
        }
        if now.model != self.model {
            d.push(format!("model {:?} instead of {:?}", now.model, self.model));
        }
        if now.serial != self.serial {
            d.push(format!(
                "serial {:?} instead of {:?}",
                now.serial, self.serial
            ));
        }
        let mut a = self.stable_ids.clone();
        let mut b = now_ids.to_vec();
        a.sort();
        b.sort();
        if a != b {
            d.push(format!("stable ids {b:?} instead of {a:?}"));
        }
        d
    }
}
