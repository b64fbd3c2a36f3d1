//! Hot copies of the live node: read-only btrfs snapshots of its subvolume taken under
//! SQLite's SHARED lock for milliseconds ([`snapshot`], [`lock`]), retention ([`retention`]),
//! backups onto other filesystems ([`backup`]) and the guarded way back ([`restore`]).
//!
//! What this module may not do: hold a lock on the live database past its cap, open the live
//! database with SQLite, write into a snapshot, delete anything it did not create (snapshots
//! and backups carry lnraid's names and records), or leave a copy that lightningd could start
//! as the node by accident.

pub mod backup;
pub mod clone;
pub mod crypt;
pub mod dest;
pub mod ioctl;
pub mod jobs;
pub mod lock;
pub mod restore;
pub mod retention;
pub mod snapshot;
pub mod source;
pub mod tree;
