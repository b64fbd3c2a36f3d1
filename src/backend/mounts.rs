//! Questions about mounted filesystems that only a backend can answer, asked by code above
//! the seam (the device policy, doctor's disk audit, setup's preflight): which devices back a
//! mount beyond the one mountinfo names, whether two mounts are one filesystem, whether a
//! device is a member of a mounted array. Each answer comes from the backend that owns the
//! mount's filesystem type; types no backend owns get the plain answer (mountinfo is right).
//!
//! Read-only; pure over the snapshot except where noted (sysfs reads).

use std::path::{Path, PathBuf};

use super::{btrfs, Backend};
use crate::probe::lsblk::BlockDev;
use crate::probe::mounts::Mount;
use crate::probe::snapshot::Snapshot;
use crate::types::DevPath;

/// The backend whose filesystem type mountinfo's line `m` carries, if any. (An ext4 need not
/// be on md: callers that need the array ask [`crate::backend::detect`].)
pub fn backend_of(m: &Mount) -> Option<Backend> {
    Backend::for_fstype(&m.fstype)
}

/// Devices of `snap` backing mount `m` that mountinfo does not name: every other member of a
/// multi-device btrfs. md arrays appear as one device whose members are its parents in the
/// device graph, so md needs nothing here.
pub fn hidden_members(m: &Mount, snap: &Snapshot) -> Vec<DevPath> {
    match backend_of(m) {
        Some(Backend::Btrfs) => btrfs::mounts::backing_members(m, snap),
        _ => Vec::new(),
    }
}

/// Kernel names of every member under mount `m`, by sysfs (empty: ask the device graph).
pub fn member_knames(sys: &Path, m: &Mount) -> Vec<String> {
    match backend_of(m) {
        Some(Backend::Btrfs) => btrfs::mounts::member_knames(sys, m),
        _ => Vec::new(),
    }
}

/// Two mounts with different device numbers that are still one filesystem (btrfs
/// subvolumes).
pub fn same_filesystem(a: &Mount, b: &Mount) -> bool {
    match (backend_of(a), backend_of(b)) {
        (Some(Backend::Btrfs), Some(Backend::Btrfs)) => btrfs::mounts::same_filesystem(a, b),
        _ => false,
    }
}

/// A member of a mounted array that mountinfo does not show as mounted: `(array UUID,
/// mountpoint)`. Only btrfs hides members so (an md member has the md device as holder,
/// which the policy's holder check already refuses).
pub fn mounted_membership(dev: &BlockDev, snap: &Snapshot) -> Option<(String, Option<PathBuf>)> {
    btrfs::mounts::mounted_membership(dev, snap)
}

/// Whether `m` mounts a filesystem type one of lnraid's backends puts on its arrays.
pub fn is_array_type(m: &Mount) -> bool {
    backend_of(m).is_some()
}
