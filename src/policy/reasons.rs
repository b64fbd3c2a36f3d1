//! Refusal reasons and advice: each a variant with a stable code (for `--json`), a sentence
//! saying what was found, and a remedy in plain words. Messages may contain device-supplied
//! strings (labels); the UI sanitizes before printing.

use std::path::PathBuf;

use serde::Serialize;

use super::Protected;
use crate::types::{Bytes, DevPath};

/// Why a device may not be used. Only the signature variants yield to `--wipe`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Refusal {
    Unknown {
        path: DevPath,
    },
    Mounted {
        at: PathBuf,
        fstype: String,
    },
    MountedBtrfsMember {
        fs_uuid: String,
        mountpoint: Option<PathBuf>,
    },
    Swap,
    Holders {
        holders: Vec<String>,
    },
    MdMember {
        label: Option<String>,
    },
    HoldsProtectedPath {
        path: PathBuf,
        kind: Protected,
        via: DevPath,
    },
    ChildInUse {
        child: DevPath,
        what: String,
    },
    SiblingInUse {
        disk: DevPath,
        sibling: DevPath,
        what: String,
    },
    Filesystem {
        fstype: String,
        uuid: Option<String>,
        label: Option<String>,
    },
    RaidSignature {
        fstype: String,
        label: Option<String>,
    },
    PartitionTable {
        pttype: String,
    },
    AmbivalentSignatures,
    IdentityUnreadable {
        error: String,
    },
    ReadOnly,
    TooSmall {
        size: Bytes,
        min: Bytes,
    },
    NotADisk {
        kind: String,
    },
    NamedTwice {
        other: PathBuf,
    },
    SameDisk {
        disk: DevPath,
        other: PathBuf,
    },
    ExclusiveOpenFailed {
        error: String,
    },
    /// A loop device whose backing file lives on the array being built (on a chosen member):
    /// the array would write into its own member.
    LoopBackedByMember {
        backing: PathBuf,
        member: DevPath,
    },
    /// A loop device whose backing file lives on `$LIGHTNINGDIR`'s filesystem: the "array"
    /// dies with the disk the node already lives on.
    LoopOnNodeFilesystem {
        backing: PathBuf,
        dir: PathBuf,
    },
    /// A loop device whose backing file lives on a disk another chosen member lives on too.
    LoopSharesDisk {
        backing: PathBuf,
        disk: DevPath,
        other: PathBuf,
    },
}

impl Refusal {
    /// Signatures only: the device is not in use, it merely carries old contents.
    pub fn overridable_by_wipe(&self) -> bool {
        matches!(
            self,
            Refusal::Filesystem { .. }
                | Refusal::RaidSignature { .. }
                | Refusal::PartitionTable { .. }
                | Refusal::AmbivalentSignatures
        )
    }

    /// The rehearsal cases `setup --allow-loop-on-shared-disk` accepts: no real redundancy,
    /// but nothing destroyed either. A backing file on the array itself is never accepted.
    pub fn overridable_for_rehearsal(&self) -> bool {
        matches!(
            self,
            Refusal::LoopOnNodeFilesystem { .. } | Refusal::LoopSharesDisk { .. }
        )
    }

    /// The stable identifier used in `--json` (`"code"`).
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Unknown { .. } => "unknown",
            Refusal::Mounted { .. } => "mounted",
            Refusal::MountedBtrfsMember { .. } => "mounted_btrfs_member",
            Refusal::Swap => "swap",
            Refusal::Holders { .. } => "holders",
            Refusal::MdMember { .. } => "md_member",
            Refusal::HoldsProtectedPath { .. } => "holds_protected_path",
            Refusal::ChildInUse { .. } => "child_in_use",
            Refusal::SiblingInUse { .. } => "sibling_in_use",
            Refusal::Filesystem { .. } => "filesystem",
            Refusal::RaidSignature { .. } => "raid_signature",
            Refusal::PartitionTable { .. } => "partition_table",
            Refusal::AmbivalentSignatures => "ambivalent_signatures",
            Refusal::IdentityUnreadable { .. } => "identity_unreadable",
            Refusal::ReadOnly => "read_only",
            Refusal::TooSmall { .. } => "too_small",
            Refusal::NotADisk { .. } => "not_a_disk",
            Refusal::NamedTwice { .. } => "named_twice",
            Refusal::SameDisk { .. } => "same_disk",
            Refusal::ExclusiveOpenFailed { .. } => "exclusive_open_failed",
            Refusal::LoopBackedByMember { .. } => "loop_backed_by_member",
            Refusal::LoopOnNodeFilesystem { .. } => "loop_on_node_filesystem",
            Refusal::LoopSharesDisk { .. } => "loop_shares_disk",
        }
    }

    /// What was found, in one sentence.
    pub fn message(&self) -> String {
        let opt = |o: &Option<String>, pre: &str| {
            o.as_ref().map(|v| format!("{pre}{v}")).unwrap_or_default()
        };
        match self {
            Refusal::Unknown { path } => {
                format!("{path} is not among the block devices lsblk reports")
            }
            Refusal::Mounted { at, fstype } => format!("mounted at {} ({fstype})", at.display()),
            Refusal::MountedBtrfsMember {
                fs_uuid,
                mountpoint,
            } => format!(
                "member of the mounted btrfs {fs_uuid}{} (mount tables name only one member; \
                 found by filesystem UUID)",
                mountpoint
                    .as_ref()
                    .map(|p| format!(" at {}", p.display()))
                    .unwrap_or_default()
            ),
            Refusal::Swap => "in use as swap".into(),
            Refusal::Holders { holders } => format!(
                "held by {} (md/dm device stacked on it)",
                holders.join(", ")
            ),
            Refusal::MdMember { label } => {
                format!("member of an active md array{}", opt(label, " "))
            }
            Refusal::HoldsProtectedPath { path, kind, via } => match kind {
                Protected::System => format!("holds {} (through {via})", path.display()),
                Protected::LightningDir => format!(
                    "holds the node's data directory {} (through {via})",
                    path.display()
                ),
            },
            Refusal::ChildInUse { child, what } => format!("{child} on it is {what}"),
            Refusal::SiblingInUse {
                disk,
                sibling,
                what,
            } => {
                format!("a partition of {disk}, whose {sibling} is {what}")
            }
            Refusal::Filesystem {
                fstype,
                uuid,
                label,
            } => {
                format!(
                    "carries an existing {fstype} filesystem{}{}",
                    opt(uuid, " UUID="),
                    opt(label, " LABEL=")
                )
            }
            Refusal::RaidSignature { fstype, label } => {
                format!("carries a RAID signature ({fstype}{})", opt(label, " "))
            }
            Refusal::PartitionTable { pttype } => {
                format!("carries an existing {pttype} partition table")
            }
            Refusal::AmbivalentSignatures => {
                "carries several conflicting signatures (blkid: ambivalent)".into()
            }
            Refusal::IdentityUnreadable { error } => {
                format!("its contents could not be read: {error}")
            }
            Refusal::ReadOnly => "read-only".into(),
            Refusal::TooSmall { size, min } => format!("too small: {size} < {min}"),
            Refusal::NotADisk { kind } => format!("a {kind} device, not a disk"),
            Refusal::NamedTwice { other } => {
                format!("the same device as {} (named twice)", other.display())
            }
            Refusal::SameDisk { disk, other } => {
                format!(
                    "on the same disk {disk} as {}: one dying disk would take both mirrors",
                    other.display()
                )
            }
            Refusal::ExclusiveOpenFailed { error } => {
                format!("cannot be opened exclusively: {error}")
            }
            Refusal::LoopBackedByMember { backing, member } => format!(
                "a loop device whose backing file {} lives on {member}, a member of the array being built: the array would write into itself",
                backing.display()
            ),
            Refusal::LoopOnNodeFilesystem { backing, dir } => format!(
                "a loop device whose backing file {} lives on the same filesystem as {}: the copy would die with the disk the node already lives on",
                backing.display(),
                dir.display()
            ),
            Refusal::LoopSharesDisk {
                backing,
                disk,
                other,
            } => format!(
                "a loop device whose backing file {} lives on {disk}, where {} lives too: one dying disk would take both mirrors",
                backing.display(),
                other.display()
            ),
        }
    }

    /// What the operator can do about it.
    pub fn remedy(&self) -> &'static str {
        match self {
            Refusal::Unknown { .. } => "check the path; `lnraid devices` lists the block devices",
            Refusal::Mounted { .. } | Refusal::MountedBtrfsMember { .. } => {
                "this device holds a live filesystem; pick another device, or unmount it first if you are sure it is unused"
            }
            Refusal::Swap => "pick another device, or `swapoff` it and remove it from /etc/fstab first",
            Refusal::Holders { .. } | Refusal::MdMember { .. } => {
                "pick another device, or stop the array/mapping that uses it first"
            }
            Refusal::HoldsProtectedPath { .. } => "pick another device: this one holds your system or your node",
            Refusal::ChildInUse { .. } => "pick another device, or stop using what is on it first",
            Refusal::SiblingInUse { .. } => "give each mirror a whole disk of its own",
            Refusal::Filesystem { .. }
            | Refusal::RaidSignature { .. }
            | Refusal::PartitionTable { .. }
            | Refusal::AmbivalentSignatures => {
                "if you are sure its contents are not needed, rerun with --wipe to erase it"
            }
            Refusal::IdentityUnreadable { .. } => "check the device (dmesg) and rerun as root",
            Refusal::ReadOnly => "the device is write-protected; pick another or remove the protection",
            Refusal::TooSmall { .. } => "pick a larger device",
            Refusal::NotADisk { .. } => "pick a disk or a partition",
            Refusal::NamedTwice { .. } => "name each device once; a mirror needs two different devices",
            Refusal::SameDisk { .. } => "put each mirror on a different physical disk",
            Refusal::ExclusiveOpenFailed { .. } => {
                "something else (a mount, md/dm, another program) holds this device; find it with `lsof` or `fuser -v`"
            }
            Refusal::LoopBackedByMember { .. } => {
                "put the loop device's backing file on a disk outside the array, or use real disks"
            }
            Refusal::LoopOnNodeFilesystem { .. } | Refusal::LoopSharesDisk { .. } => {
                "use separate physical disks for the mirrors; for a rehearsal on throwaway loop devices, rerun with --allow-loop-on-shared-disk"
            }
        }
    }
}

/// Not a refusal, but worth saying before the operator commits to a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Advice {
    UsbFlash,
}

impl Advice {
    pub fn message(&self) -> &'static str {
        match self {
            Advice::UsbFlash => {
                "USB flash: the node writes many small blocks, which heat a flash stick until its \
                 firmware may disconnect it; Core Lightning's guide advises high-quality sticks in \
                 metal casings that shed the heat, and lnraid's status will show a member that drops out"
            }
        }
    }
}
