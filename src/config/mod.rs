//! Writers for the host's configuration files (fstab; later cron and systemd units).
//!
//! Edits are lossless (every byte lnraid does not own is kept), atomic (temp file, fsync,
//! rename, `.bak`), idempotent, and validated before they replace the original. The parsing
//! half is pure; only the `apply` functions write, and only to paths they are given (tests and
//! `--fstab`-style flags redirect them away from `/etc`).

pub mod fstab;
