//! Degraded copy-out from md, as data. Pure.
//!
//! The survivor is the member with the highest `Events` count (each member's count and
//! update time are shown); a member with fewer events is stale — it missed writes — and is
//! never assembled, and never with `--force`. A stopped array is assembled read-only under
//! another name (`--assemble --readonly --run /dev/md/lnraid-recover`), so nothing (not udev,
//! not the initramfs) mistakes it for the node's array.
//!
//! ext4 that needs its journal replayed will not mount from a read-only device, and
//! `noload`/`norecovery` would drop the last committed transactions — for lightningd, stale
//! channel state. So the journal is replayed onto a dm-snapshot overlay: writes land in a
//! copy-on-write file on the destination media, the survivor is never written. Without
//! device-mapper, lnraid explains the trade-off and, once the operator agreed, replays into a
//! `dd` image of the survivor on the destination media; it never uses `noload`. The plan is
//! src/backend/md/recover_plan.rs.

use crate::exec::Cmd;
use crate::probe::mdadm::Examine;
use crate::types::DevPath;

/// The name a read-only assembled survivor gets.
pub const RECOVER_NAME: &str = "lnraid-recover";
/// The dm-snapshot device the filesystem is mounted from.
pub const OVERLAY_NAME: &str = "lnraid-recover-overlay";

/// One candidate member, as `mdadm --examine` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub device: DevPath,
    pub array_uuid: String,
    pub events: u64,
    pub update_time: Option<String>,
}

impl Candidate {
    pub fn from_examine(device: DevPath, e: &Examine) -> Option<Candidate> {
        Some(Candidate {
            device,
            array_uuid: e.array_uuid.clone(),
            events: e.events.as_deref()?.parse().ok()?,
            update_time: e
                .fields
                .iter()
                .find(|(k, _)| k == "Update Time")
                .map(|(_, v)| v.clone()),
        })
    }
}

/// The assembled array's length in 512-byte sectors, from the superblock's
/// `Array Size : N KiB (...)` (the dm overlay's table length).
pub fn array_sectors(e: &Examine) -> Option<u64> {
    let (_, v) = e.fields.iter().find(|(k, _)| k == "Array Size")?;
    let kib: u64 = v.split_whitespace().next()?.parse().ok()?;
    v.split_whitespace().nth(1).filter(|u| *u == "KiB")?;
    Some(kib * 2)
}

/// The survivor and the stale members (fewer events: never used).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub survivor: Candidate,
    pub stale: Vec<Candidate>,
}

/// Picks the member with the highest event count among those of `array_uuid`.
pub fn choose(cands: &[Candidate], array_uuid: &str) -> Option<Choice> {
    let mine: Vec<&Candidate> = cands
        .iter()
        .filter(|c| c.array_uuid == array_uuid)
        .collect();
    let best = mine.iter().max_by_key(|c| c.events)?;
    Some(Choice {
        survivor: (*best).clone(),
        stale: mine
            .iter()
            .filter(|c| c.events < best.events)
            .map(|c| (*c).clone())
            .collect(),
    })
}

/// `mdadm --assemble --readonly --run /dev/md/lnraid-recover SURVIVOR` (no `--force`).
pub fn assemble_cmd(survivor: &DevPath) -> Cmd {
    Cmd::mutating(
        "mdadm",
        [
            "--assemble",
            "--readonly",
            "--run",
            &super::array_path(RECOVER_NAME),
            &survivor.to_string(),
        ],
    )
}

pub fn stop_cmd() -> Cmd {
    Cmd::mutating("mdadm", ["--stop", &super::array_path(RECOVER_NAME)])
}

/// The dm table: `0 SECTORS snapshot ORIGIN COW N 8` (non-persistent, 4 KiB chunks).
pub fn overlay_table(origin: &DevPath, sectors: u64, cow: &str) -> String {
    format!("0 {sectors} snapshot {origin} {cow} N 8")
}

pub fn overlay_create_cmd(table: &str) -> Cmd {
    Cmd::mutating("dmsetup", ["create", OVERLAY_NAME, "--table", table])
}

pub fn overlay_remove_cmd() -> Cmd {
    Cmd::mutating("dmsetup", ["remove", OVERLAY_NAME])
}

/// Why lnraid stops without device-mapper, and what the operator can do.
pub const NO_DM_EXPLANATION: &str = "this kernel has no device-mapper snapshot target (modprobe dm-snapshot failed or dmsetup is missing), so lnraid cannot replay the ext4 journal without writing to the surviving member. \
Mounting with `noload` would skip the journal and lose the last committed transactions — for lightningd, stale channel state, which can lose funds. \
Choose: (1) install dmsetup / load dm-snapshot and rerun (safe); or (2) copy the whole survivor first (`dd if=<survivor> of=<image on new media>`), then run lnraid recover on a loop device of that image; or (3) accept a journal replay on the survivor itself: `mdadm --readwrite` the array and mount it — it writes to the only good copy.";

#[cfg(test)]
mod tests {
    use super::*;

    fn c(dev: &str, uuid: &str, events: u64) -> Candidate {
        Candidate {
            device: DevPath::new(dev),
            array_uuid: uuid.into(),
            events,
            update_time: None,
        }
    }

    #[test]
    fn highest_events_wins_and_stale_members_are_named_not_used() {
        let cands = [
            c("/dev/vda", "u1", 40),
            c("/dev/vdb", "u1", 25),
            c("/dev/vdc", "u2", 99),
        ];
        let ch = choose(&cands, "u1").unwrap();
        assert_eq!(ch.survivor.device, DevPath::new("/dev/vda"));
        assert_eq!(ch.stale, vec![c("/dev/vdb", "u1", 25)]);
        assert!(choose(&cands, "nope").is_none());
        let a = assemble_cmd(&ch.survivor.device).to_string();
        assert_eq!(
            a,
            "mdadm --assemble --readonly --run /dev/md/lnraid-recover /dev/vda"
        );
        assert!(!a.contains("--force"));
        assert!(
            NO_DM_EXPLANATION.contains("noload")
                && NO_DM_EXPLANATION.contains("stale channel state")
        );
    }

    #[test]
    fn examine_capture_gives_events_and_update_time() {
        let e = crate::probe::mdadm::parse_examine(include_str!(
            "../../../fixtures/mdadm-examine/4.2-raid1-member-clean.txt"
        ))
        .unwrap();
        let c = Candidate::from_examine(DevPath::new("/dev/vda"), &e).unwrap();
        assert_eq!(c.events, 17);
        assert_eq!(c.update_time.as_deref(), Some("Sat Nov 21 12:58:37 2026"));
        assert_eq!(array_sectors(&e), Some(64512 * 2));
        assert_eq!(
            overlay_table(&DevPath::new("/dev/md127"), 2048, "/dev/loop0"),
            "0 2048 snapshot /dev/md127 /dev/loop0 N 8"
        );
    }
}
