//! md recover on a kernel without device-mapper: the filesystem's journal must be replayed
//! (ext4 that needs recovery will not mount from the read-only assembly, and `noload` would
//! drop the last commits — stale channel state), but there is no dm-snapshot overlay to take
//! the replay's writes. lnraid explains the trade-off and asks: with a typed `yes` (or
//! `--yes`), it copies the survivor's whole image onto the destination media first and lets
//! the journal replay into that copy; the survivor is only read. Pure: the decision, the
//! words, and the plan the dry run shows.
//!
//! May not: replay onto the survivor, use `noload`/`norecovery`, or ask without a terminal
//! (no terminal and no `--yes` refuses).

use std::path::Path;

use crate::exec::Cmd;
use crate::plan::{Action, Plan, Step, Tag};
use crate::types::Bytes;

/// What the operator said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    /// `yes` typed (and Enter), or `--yes`.
    Given,
    /// Asked at a terminal, anything but `yes`.
    Declined,
    /// No terminal to ask on and no `--yes`.
    NoTerminal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Copy the survivor's image to the destination media and mount that copy.
    ImageCopy,
    /// Stop, nothing written anywhere; the message says why and what to do.
    Refuse(String),
}

/// Room the image needs on the destination media besides the copy-out itself.
pub fn image_needs(bytes: u64) -> u64 {
    bytes + (64 << 20)
}

/// The decision, from the operator's answer and the free space where the image would go.
pub fn decide(consent: Consent, free: u64, image_bytes: u64) -> Decision {
    if free < image_needs(image_bytes) {
        return Decision::Refuse(format!(
            "{} The destination media has {} free; the survivor's image needs {}: use larger media, or load dm-snapshot.",
            explanation(Some(image_bytes)),
            Bytes(free),
            Bytes(image_needs(image_bytes))
        ));
    }
    match consent {
        Consent::Given => Decision::ImageCopy,
        Consent::Declined => Decision::Refuse(format!(
            "not confirmed: nothing was copied or written. {}",
            explanation(Some(image_bytes))
        )),
        Consent::NoTerminal => Decision::Refuse(format!(
            "{} No terminal to ask on: rerun with --yes to copy the image, or load dm-snapshot.",
            explanation(Some(image_bytes))
        )),
    }
}

/// The trade-off, in the operator's terms (the image's size when known).
pub fn explanation(image_bytes: Option<u64>) -> String {
    let size = image_bytes.map_or(String::new(), |b| format!(" ({})", Bytes(b)));
    format!(
        "This kernel has no device-mapper snapshot target (dm-snapshot / dmsetup), so lnraid cannot \
replay the filesystem's journal onto an overlay. Mounting the survivor as it is would replay the \
journal onto the survivor itself — a write to the only good copy — and mounting with `noload` \
would skip the journal and lose the last committed transactions: for lightningd, stale channel \
state, which can lose funds. lnraid never does either. The alternatives: (1) load dm-snapshot \
(or install dmsetup) and rerun — the safe default; (2) copy the survivor's whole image{size} to the \
destination media first and replay the journal on that copy — the survivor is only read, the \
copy needs that much room and time; (3) by hand, replay the journal onto the survivor \
(`mdadm --readwrite`, then mount) — it writes to the only good copy."
    )
}

/// The question asked before (2).
pub fn question(image: &Path, image_bytes: u64) -> String {
    format!(
        "{}\n\nlnraid can do (2): copy the survivor to {} ({}), replay the journal there, copy the node's files out of that copy, then delete it.\n",
        explanation(Some(image_bytes)),
        image.display(),
        Bytes(image_bytes)
    )
}

/// `dd` of the source device into the image (read-only on the source; fsynced).
pub fn image_cmd(source: &str, image: &Path) -> Cmd {
    Cmd::mutating(
        "dd",
        [
            format!("if={source}"),
            format!("of={}", image.display()),
            "bs=4M".into(),
            "conv=fsync".into(),
            "status=none".into(),
        ],
    )
}

/// What the dry run shows for (2), with the loop device as `LOOP` (the kernel picks it).
pub fn plan_image_copy(source: &str, image: &Path, mountpoint: &Path, fstype: &str) -> Plan {
    let mp = mountpoint.to_string_lossy().into_owned();
    let steps = vec![
        Step::new(
            "image",
            Tag::Long,
            format!("after you typed yes: copy the survivor {source} into {} (the survivor is only read)", image.display()),
            vec![Action::Run { cmd: image_cmd(source, image) }],
        ),
        Step::new(
            "loop",
            Tag::Safe,
            "attach the image as a loop device",
            vec![Action::Run {
                cmd: Cmd::mutating("losetup", ["--find", "--show", &image.to_string_lossy()]),
            }],
        ),
        Step::new(
            "mount",
            Tag::Safe,
            "mount the copy read-only: the kernel replays the journal into the copy, never the survivor",
            vec![Action::Run {
                cmd: Cmd::mutating("mount", ["-t", fstype, "-o", "ro,nodev,nosuid,noexec", "LOOP", &mp]),
            }],
        ),
        Step::new(
            "cleanup",
            Tag::Safe,
            "after the copy-out: unmount, detach the loop device, delete the image",
            vec![
                Action::Run { cmd: Cmd::mutating("umount", [mp.as_str()]) },
                Action::Run { cmd: Cmd::mutating("losetup", ["-d", "LOOP"]) },
            ],
        ),
    ];
    Plan::new(
        format!("Without device-mapper: replay the journal on a copy of {source}"),
        steps,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;

    #[test]
    fn only_a_typed_yes_with_room_copies_the_image() {
        assert_eq!(
            decide(Consent::Given, 10 * GIB, 4 * GIB),
            Decision::ImageCopy
        );
        for c in [Consent::Declined, Consent::NoTerminal] {
            let Decision::Refuse(m) = decide(c, 10 * GIB, 4 * GIB) else {
                panic!("{c:?} must refuse");
            };
            assert!(
                m.contains("noload") && m.contains("stale channel state"),
                "{m}"
            );
        }
        let Decision::Refuse(m) = decide(Consent::NoTerminal, 10 * GIB, 4 * GIB) else {
            unreachable!()
        };
        assert!(m.contains("--yes"), "{m}");
        // Too little room refuses even with consent, naming both sizes.
        let Decision::Refuse(m) = decide(Consent::Given, 4 * GIB, 4 * GIB) else {
            panic!("no room must refuse");
        };
        assert!(m.contains(" free; the survivor's image needs "), "{m}");
        assert_eq!(
            decide(Consent::Given, image_needs(GIB), GIB),
            Decision::ImageCopy
        );
        assert!(matches!(
            decide(Consent::Given, image_needs(GIB) - 1, GIB),
            Decision::Refuse(_)
        ));
    }

    #[test]
    fn the_plan_reads_the_survivor_and_never_uses_noload() {
        let p = plan_image_copy(
            "/dev/md/lnraid-recover",
            Path::new("/media/usb/.lnraid-recover-image-1"),
            Path::new("/run/lnraid/recover-ab"),
            "ext4",
        );
        let text = crate::plan::render_plan(&p);
        assert!(text.contains("$ dd if=/dev/md/lnraid-recover of=/media/usb/.lnraid-recover-image-1 bs=4M conv=fsync status=none"), "{text}");
        assert!(
            text.contains("$ mount -t ext4 -o ro,nodev,nosuid,noexec LOOP /run/lnraid/recover-ab"),
            "{text}"
        );
        for c in p.commands() {
            let l = c.to_string();
            assert!(
                !l.contains("noload") && !l.contains("norecovery") && !l.contains("--readwrite"),
                "{l}"
            );
        }
        assert!(question(Path::new("/x"), GIB).contains("copy the survivor to /x"));
    }
}
