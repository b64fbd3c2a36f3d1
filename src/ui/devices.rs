//! `lnraid devices`: the table for people and the versioned JSON document for programs.
//!
//! JSON keeps device strings verbatim (JSON escaping makes them safe to transport); the table
//! sanitizes them. The JSON shape is documented in README.md; bump
//! [`DEVICES_JSON_VERSION`] on any incompatible change.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;

use super::sanitize;
use crate::policy::{Advice, Refusal, Verdict};
use crate::types::{Bytes, DevPath};

pub const DEVICES_JSON_VERSION: u32 = 1;

/// Everything shown about one device.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceRow {
    pub path: DevPath,
    #[serde(rename = "type")]
    pub kind: String,
    pub size: Bytes,
    pub model: Option<String>,
    pub serial: Option<String>,
    pub transport: Option<String>,
    pub rotational: bool,
    pub removable: bool,
    pub read_only: bool,
    pub parents: Vec<DevPath>,
    pub contents: Contents,
    #[serde(skip)]
    pub verdict: Verdict,
}

/// What is on the device now.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Contents {
    /// False when blkid could not read the device (then the other fields are unknown).
    pub readable: bool,
    pub fstype: Option<String>,
    pub uuid: Option<String>,
    pub uuid_sub: Option<String>,
    pub label: Option<String>,
    pub pttype: Option<String>,
    pub mountpoints: Vec<PathBuf>,
    pub swap: bool,
    /// Filesystem UUID of the mounted btrfs this device belongs to.
    pub btrfs_member_of: Option<String>,
}

#[derive(Serialize)]
struct JsonRow<'a> {
    #[serde(flatten)]
    row: &'a DeviceRow,
    eligible: bool,
    eligible_with_wipe: bool,
    refusals: Vec<JsonRefusal<'a>>,
    advice: Vec<JsonAdvice<'a>>,
}

#[derive(Serialize)]
struct JsonRefusal<'a> {
    #[serde(flatten)]
    refusal: &'a Refusal,
    message: String,
    remedy: &'static str,
    overridable_by_wipe: bool,
}

#[derive(Serialize)]
struct JsonAdvice<'a> {
    #[serde(flatten)]
    advice: &'a Advice,
    message: &'static str,
}

/// The `--json` document.
pub fn devices_json(rows: &[DeviceRow]) -> serde_json::Value {
    let devices: Vec<JsonRow> = rows
        .iter()
        .map(|row| JsonRow {
            row,
            eligible: row.verdict.is_eligible(),
            eligible_with_wipe: row.verdict.is_eligible_with_wipe(),
            refusals: row
                .verdict
                .refusals
                .iter()
                .map(|r| JsonRefusal {
                    refusal: r,
                    message: r.message(),
                    remedy: r.remedy(),
                    overridable_by_wipe: r.overridable_by_wipe(),
                })
                .collect(),
            advice: row
                .verdict
                .advice
                .iter()
                .map(|a| JsonAdvice {
                    advice: a,
                    message: a.message(),
                })
                .collect(),
        })
        .collect();
    serde_json::json!({ "version": DEVICES_JSON_VERSION, "devices": devices })
}

/// The human table: one line per device, then its reasons indented below it.
pub fn render_devices(rows: &[DeviceRow]) -> String {
    let dash = || "-".to_string();
    let cells: Vec<[String; 7]> = rows
        .iter()
        .map(|r| {
            [
                sanitize(&r.path.to_string()),
                r.size.to_string(),
                r.kind.clone(),
                r.transport.as_deref().map(sanitize).unwrap_or_else(dash),
                if r.rotational {
                    "hdd".into()
                } else {
                    "ssd".into()
                },
                r.model.as_deref().map(sanitize).unwrap_or_else(dash),
                r.serial.as_deref().map(sanitize).unwrap_or_else(dash),
            ]
        })
        .collect();
    let header = ["DEVICE", "SIZE", "TYPE", "TRAN", "MEDIA", "MODEL", "SERIAL"];
    let mut widths = header.map(str::len);
    for c in &cells {
        for (w, v) in widths.iter_mut().zip(c) {
            *w = (*w).max(v.chars().count());
        }
    }
    let mut out = String::new();
    for (i, h) in header.iter().enumerate() {
        let _ = write!(out, "{h:<w$}  ", w = widths[i]);
    }
    out.push_str("CONTENTS\n");
    for (row, c) in rows.iter().zip(&cells) {
        for (i, v) in c.iter().enumerate() {
            let _ = write!(out, "{v:<w$}  ", w = widths[i]);
        }
        out.push_str(&contents_summary(&row.contents));
        out.push('\n');
        let verdict = if row.verdict.is_eligible() {
            "eligible".to_string()
        } else if row.verdict.is_eligible_with_wipe() {
            "refused (eligible with --wipe)".to_string()
        } else {
            "refused".to_string()
        };
        let _ = writeln!(out, "    => {verdict}");
        for r in &row.verdict.refusals {
            let _ = writeln!(out, "       - {}: {}", sanitize(&r.message()), r.remedy());
        }
        for a in &row.verdict.advice {
            let _ = writeln!(out, "       ! {}", a.message());
        }
    }
    out
}

fn contents_summary(c: &Contents) -> String {
    if !c.readable {
        return "unreadable".into();
    }
    let mut parts = Vec::new();
    if let Some(t) = &c.fstype {
        let mut s = t.clone();
        if let Some(u) = &c.uuid {
            let _ = write!(s, " UUID={u}");
        }
        if let Some(l) = &c.label {
            let _ = write!(s, " LABEL={l}");
        }
        parts.push(s);
    }
    if let Some(pt) = &c.pttype {
        parts.push(format!("{pt} partition table"));
    }
    for m in &c.mountpoints {
        parts.push(format!("mounted at {}", m.display()));
    }
    if c.swap {
        parts.push("swap".into());
    }
    if let Some(u) = &c.btrfs_member_of {
        if c.mountpoints.is_empty() {
            parts.push(format!("member of mounted btrfs {u}"));
        }
    }
    if parts.is_empty() {
        "blank".into()
    } else {
        sanitize(&parts.join(", "))
    }
}
