//! The device graph: what sits on what (partitions on disks, arrays on members) and which
//! devices back a mounted path. Pure: reads only the snapshot.

use std::collections::BTreeSet;
use std::path::Path;

use crate::probe::mounts::mount_containing;
use crate::probe::snapshot::Snapshot;
use crate::types::DevPath;

/// Devices that back `path`: the mount's device (by number or source), and the members the
/// backend knows mountinfo does not name (every member of a multi-device btrfs).
pub(super) fn backing_devices(path: &Path, snap: &Snapshot) -> Vec<DevPath> {
    let Some(m) = mount_containing(&snap.mounts, path) else {
        return Vec::new();
    };
    let mut out: Vec<DevPath> = snap
        .devices
        .iter()
        .filter(|d| Some(m.devnum) == d.devnum || Path::new(&m.source) == d.path.as_path())
        .map(|d| d.path.clone())
        .collect();
    out.extend(crate::backend::mounts::hidden_members(m, snap));
    out.sort();
    out.dedup();
    out
}

/// `dev` and everything it sits on (partition → disk, md → members), transitively.
pub(super) fn with_ancestors(dev: &DevPath, snap: &Snapshot) -> BTreeSet<DevPath> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![dev.clone()];
    while let Some(d) = todo.pop() {
        if seen.insert(d.clone()) {
            if let Some(bd) = snap.device(&d) {
                todo.extend(bd.parents.iter().cloned());
            }
        }
    }
    seen
}

/// `dev` and everything stacked on it, transitively.
pub(super) fn with_descendants(dev: &DevPath, snap: &Snapshot) -> BTreeSet<DevPath> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![dev.clone()];
    while let Some(d) = todo.pop() {
        if seen.insert(d.clone()) {
            todo.extend(snap.children(&d).map(|c| c.path.clone()));
        }
    }
    seen
}

/// The whole disk `dev` lives on (itself when it is not stacked on anything).
pub(super) fn disk_of(snap: &Snapshot, dev: &DevPath) -> Option<DevPath> {
    with_ancestors(dev, snap)
        .into_iter()
        .find(|d| snap.device(d).is_some_and(|b| b.parents.is_empty()))
}
