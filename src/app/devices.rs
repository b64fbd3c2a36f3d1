//! `lnraid devices`: probe once, classify every device, print. Read-only.

use std::path::PathBuf;

use anyhow::{bail, Context};

use super::exit;
use crate::cli::DevicesArgs;
use crate::exec::Runner;
use crate::policy::{classify, classify_request, PolicyContext};
use crate::probe::lsblk::BlockDev;
use crate::probe::snapshot::{
    probe_snapshot, resolve_device, IdentityProbe, ProbeSources, Snapshot,
};
use crate::types::Bytes;
use crate::ui::{self, Contents, DeviceRow};

pub fn run(args: &DevicesArgs, runner: &dyn Runner) -> anyhow::Result<i32> {
    let min_size = Bytes::parse_human(&args.min_size).with_context(|| {
        format!(
            "--min-size {:?}: expected a size such as 512M or 2G",
            args.min_size
        )
    })?;
    let lightning_dir = match &args.lightning_dir {
        Some(d) => Some(
            std::fs::canonicalize(d).with_context(|| format!("--lightning-dir {}", d.display()))?,
        ),
        None => None,
    };
    let resolved = args
        .devices
        .iter()
        .map(|d| resolve_device(d))
        .collect::<Result<Vec<_>, _>>()?;
    let snap = probe_snapshot(runner, &ProbeSources::default())?;
    let mut ctx = PolicyContext::new(lightning_dir.as_deref());
    ctx.min_size = min_size;

    let rows: Vec<DeviceRow> = if resolved.is_empty() {
        snap.devices
            .iter()
            .map(|d| row(d, &snap, classify(d, &snap, &ctx)))
            .collect()
    } else {
        let verdicts = classify_request(&resolved, &snap, &ctx);
        let mut rows = Vec::new();
        for (r, v) in resolved.iter().zip(verdicts) {
            match snap
                .device_by_num(r.devnum)
                .or_else(|| snap.device(&r.path))
            {
                Some(d) => rows.push(row(d, &snap, v)),
                None => bail!(
                    "{} ({}) is not among the block devices lsblk reports",
                    r.given.display(),
                    r.path
                ),
            }
        }
        rows
    };

    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&ui::devices_json(&rows))?
        );
    } else {
        print!("{}", ui::render_devices(&rows));
    }
    let all_ok = rows.iter().all(|r| r.verdict.is_eligible());
    Ok(if !resolved.is_empty() && !all_ok {
        exit::REFUSED
    } else {
        exit::OK
    })
}

fn row(d: &BlockDev, snap: &Snapshot, verdict: crate::policy::Verdict) -> DeviceRow {
    let mut contents = Contents::default();
    if let Some(IdentityProbe::Known(id)) = snap.identities.get(&d.path) {
        contents = Contents {
            readable: true,
            fstype: id.fstype.clone(),
            uuid: id.uuid.clone(),
            uuid_sub: id.uuid_sub.clone(),
            label: id.label.clone(),
            pttype: id.pttype.clone(),
            ..Contents::default()
        };
    }
    contents.mountpoints = snap
        .mounts
        .iter()
        .filter(|m| {
            Some(m.devnum) == d.devnum || std::path::Path::new(&m.source) == d.path.as_path()
        })
        .map(|m| m.mountpoint.clone())
        .collect::<Vec<PathBuf>>();
    contents.swap = snap.swaps.iter().any(|s| s.path == d.path.as_path());
    contents.btrfs_member_of = d
        .path
        .kname()
        .and_then(|k| {
            snap.btrfs_mounted
                .iter()
                .find(|f| f.members.iter().any(|m| m == k))
        })
        .map(|f| f.uuid.to_string());
    DeviceRow {
        path: d.path.clone(),
        kind: d.kind.clone(),
        size: d.size,
        model: d.model.clone(),
        serial: d.serial.clone(),
        transport: d.transport.clone(),
        rotational: d.rotational,
        removable: d.removable,
        read_only: d.read_only,
        parents: d.parents.clone(),
        contents,
        verdict,
    }
}
