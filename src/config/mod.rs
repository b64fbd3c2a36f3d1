//! Writers for the host's configuration files (fstab, systemd drop-ins, schedules).
//!
//! Edits are lossless (every byte lnraid does not own is kept), atomic (temp file, fsync,
//! rename, `.bak`), idempotent, and validated before they replace the original. Planning is
//! pure; only the `apply_*` functions write, and only to paths they are given (flags and
//! environment redirect them away from `/etc` for tests).

pub mod atomic;
pub mod fstab;
pub mod fstab_edit;
pub mod unit_value;
