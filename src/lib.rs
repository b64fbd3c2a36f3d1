//! lnraid keeps a Core Lightning node's data directory on redundant storage (btrfs or mdadm
//! RAID-1), and keeps it redundant.
//!
//! Data flows one way: `cli → app → probe (read-only) → policy (pure) → plan (pure) → ui
//! (render, confirm) → exec (mutations through a runner) → config writers`. Only [`exec`]
//! starts processes. The `probe::<tool>::parse*` functions are the stable entry points for
//! parsing captured outputs.

pub mod alert;
pub mod app;
pub mod backend;
pub mod cli;
pub mod cli_hotcopy;
pub mod config;
pub mod copy;
pub mod doctor;
pub mod exec;
pub mod host;
pub mod hotcopy;
/// Per-member history of btrfs arrays; lives in the btrfs backend (`backend::btrfs::members`).
pub use backend::btrfs::members;
pub mod plan;
pub mod policy;
pub mod probe;
pub mod records;
pub mod recover;
pub mod schedule;
pub mod sqlite;
pub mod status;
#[doc(hidden)]
pub mod testkit;
pub mod time;
pub mod types;
pub mod ui;
pub mod walk;
