//! md recover's plan, pure: step order per source and overlay, the exact commands (so the
//! dry run names what runs), never `--force`/`noload`/`--readwrite`, stale members named.

use super::*;
use crate::types::DevPath;

pub(crate) const FS: &str = "0b3c6f1e-9d1a-4f43-a0f7-0b6c9bd7a001";

pub(crate) fn cand(dev: &str, events: u64) -> Candidate {
    Candidate {
        device: DevPath::new(dev),
        array_uuid: "a1".into(),
        events,
        update_time: None,
    }
}

/// A stopped array (survivor /dev/vda, stale /dev/vdb) or a running one, dm or image.
pub(crate) fn input(stopped: bool, dm: bool, anchor: &Path, mp: &Path) -> MdRecover {
    let source = if stopped {
        MdSource::Stopped {
            survivor: cand("/dev/vda", 17),
            stale: vec![cand("/dev/vdb", 9)],
            sectors: 129024,
        }
    } else {
        MdSource::Running {
            device: DevPath::new("/dev/md127"),
            sectors: 129024,
        }
    };
    let overlay = if dm {
        Overlay::Dm {
            cow: anchor.join(".lnraid-recover-cow-1"),
            loopdev: "/dev/loop7".into(),
        }
    } else {
        Overlay::Image {
            image: anchor.join(".lnraid-recover-image-1"),
            loopdev: "/dev/loop7".into(),
        }
    };
    MdRecover {
        source,
        overlay,
        fs_uuid: FsUuid::parse(FS).unwrap(),
        members: vec![cand("/dev/vda", 17), cand("/dev/vdb", 9)],
        dest: anchor.join("rescued"),
        dir_name: None,
        all: false,
        mountpoint: mp.to_path_buf(),
    }
}

fn ids(p: &Plan) -> Vec<&str> {
    p.steps.iter().map(|s| s.id.as_str()).collect()
}

fn cmds(p: &Plan) -> Vec<String> {
    p.commands().iter().map(ToString::to_string).collect()
}

#[test]
fn stopped_array_with_dm_assembles_read_only_and_tears_everything_down() {
    let p = plan_md_recover(&input(
        true,
        true,
        Path::new("/media/usb"),
        Path::new("/run/lnraid/recover-ab"),
    ));
    assert_eq!(
        ids(&p),
        ["assemble", "overlay", MOUNTED, "copy", "unmount", "teardown"]
    );
    assert_eq!(
        cmds(&p),
        [
            "mdadm --assemble --readonly --run /dev/md/lnraid-recover /dev/vda",
            "losetup /dev/loop7 /media/usb/.lnraid-recover-cow-1",
            "dmsetup create lnraid-recover-overlay --table '0 129024 snapshot /dev/md/lnraid-recover /dev/loop7 N 8'",
            "dmsetup mknodes lnraid-recover-overlay",
            "mount -t ext4 -o ro,nodev,nosuid,noexec /dev/mapper/lnraid-recover-overlay /run/lnraid/recover-ab",
            "umount /run/lnraid/recover-ab",
            "dmsetup remove lnraid-recover-overlay",
            "losetup -d /dev/loop7",
            "mdadm --stop /dev/md/lnraid-recover",
        ]
    );
    assert!(
        matches!(&p.steps[2].actions[2], Action::RequireReadOnly { mountpoint } if mountpoint == Path::new("/run/lnraid/recover-ab"))
    );
    let text = crate::plan::render_plan(&p);
    assert!(
        text.contains("stale, never used: /dev/vdb (events 9 < 17)"),
        "{text}"
    );
    assert!(text.contains("events must still be 17"), "{text}");
    for l in cmds(&p) {
        assert!(
            !l.contains("--force")
                && !l.contains("noload")
                && !l.contains("norecovery")
                && !l.contains("--readwrite"),
            "{l}"
        );
    }
}

#[test]
fn running_array_without_dm_replays_into_an_image_copy() {
    let p = plan_md_recover(&input(
        false,
        false,
        Path::new("/media/usb"),
        Path::new("/run/lnraid/recover-ab"),
    ));
    assert_eq!(ids(&p), ["image", MOUNTED, "copy", "unmount", "teardown"]);
    assert_eq!(
        cmds(&p),
        [
            "dd if=/dev/md127 of=/media/usb/.lnraid-recover-image-1 bs=4M conv=fsync status=none",
            "losetup /dev/loop7 /media/usb/.lnraid-recover-image-1",
            "mount -t ext4 -o ro,nodev,nosuid,noexec /dev/loop7 /run/lnraid/recover-ab",
            "umount /run/lnraid/recover-ab",
            "losetup -d /dev/loop7",
        ]
    );
    // The running array is not ours to stop; the image is deleted.
    assert!(p.steps[4].actions.iter().any(|a| matches!(a, Action::MdRecover(M::RemoveFile { path }) if path.ends_with(".lnraid-recover-image-1"))));
    assert!(!p.steps[4]
        .actions
        .iter()
        .any(|a| matches!(a, Action::MdRecover(M::StopAssembly))));
}

#[test]
fn a_mounted_array_is_read_through_a_read_only_bind() {
    let mut r = input(
        false,
        true,
        Path::new("/media/usb"),
        Path::new("/run/lnraid/recover-ab"),
    );
    r.source = MdSource::Mounted {
        mountpoint: "/mnt/lnraid".into(),
    };
    let p = plan_md_recover(&r);
    assert_eq!(ids(&p), [MOUNTED, "copy", "unmount"]);
    assert_eq!(
        cmds(&p),
        [
            "mount --bind -o ro /mnt/lnraid /run/lnraid/recover-ab",
            "umount /run/lnraid/recover-ab"
        ]
    );
    assert!(
        matches!(&p.steps[1].actions[0], Action::CopyOut { out } if out.live_mount.as_deref() == Some(Path::new("/mnt/lnraid")) && !out.btrfs_devids)
    );
}
