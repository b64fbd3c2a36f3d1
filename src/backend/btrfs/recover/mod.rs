//! btrfs recover (`lnraid recover` on a btrfs RAID-1): find the array and its newest
//! consistent members ([`discover`]), check DEST against the array's disks ([`dest`]), clean a
//! killed run's leftover mount ([`leftover`]), and plan the read-only mount, copy-out and
//! unmount ([`plan`]) that the one executor walks; [`info`] reads the devids for the MANIFEST.
//!
//! May not: mount the array read-write or write below its mount; run a mutating command
//! except through the plan (the executor) — the one exception is [`leftover`] unmounting the
//! read-only mount of a killed run, which it proves is recover's own first.

pub mod dest;
pub mod discover;
pub mod info;
pub mod leftover;
pub mod plan;
