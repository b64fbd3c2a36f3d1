//! Seam tests: backend detection and the md setup plan (pure, no device).

use std::path::{Path, PathBuf};

use super::md::setup::{create_cmd, MdSetup};
use super::*;
use crate::exec::{FakeRunner, Output};
use crate::plan::setup::{plan_setup, Profile, SetupRequest};
use crate::plan::{Action, Tag};

const FS: &str = "5d1c0e2a-1111-2222-3333-444455556666";

fn request(backend: Backend) -> SetupRequest {
    SetupRequest {
        lightning_dir: "/home/ln/.lightning/bitcoin".into(),
        devices: vec![DevPath::new("/dev/sdb"), DevPath::new("/dev/sdc")],
        targets: Vec::new(),
        profile: Profile::Raid1,
        mountpoint: "/mnt/lnraid".into(),
        mountpoint_existed: false,
        label: "lnraid".into(),
        fs_uuid: FsUuid::parse(FS).unwrap(),
        owner: None,
        wipe: false,
        autodefrag: false,
        fstab: "/etc/fstab".into(),
        dropin: None,
        daemon_reload: false,
        timestamp: "20260101T000000Z".into(),
        has_database: true,
        schedule: None,
        backend,
        md: (backend == Backend::Md).then(|| MdSetup {
            md_uuid: "aaaaaaaa:bbbbbbbb:cccccccc:dddddddd".into(),
            name: "lnraid".into(),
            homehost: "node".into(),
            size_kib: 1024 * 1024,
            write_mostly: vec![DevPath::new("/dev/sdc")],
            conf: "/etc/mdadm/mdadm.conf".into(),
            program: "/usr/bin/logger".into(),
            initramfs: Some(crate::exec::Cmd::mutating("update-initramfs", ["-u"])),
            wait: false,
        }),
    }
}

#[test]
fn md_create_line_has_every_safety_flag_and_never_assume_clean() {
    let r = request(Backend::Md);
    let line = create_cmd(&r, r.md.as_ref().unwrap()).to_string();
    assert_eq!(
        line,
        "mdadm --create /dev/md/lnraid --run --level=1 --raid-devices=2 --metadata=1.2 \
         --bitmap=internal --homehost=node --name=lnraid \
         --uuid=aaaaaaaa:bbbbbbbb:cccccccc:dddddddd --size=1048576 /dev/sdb --write-mostly /dev/sdc"
    );
    let plan = plan_setup(&r, "");
    let all: Vec<String> = plan.commands().iter().map(|c| c.to_string()).collect();
    assert!(all.iter().all(|c| !c.contains("assume-clean")));
    assert!(
        all.contains(
            &"mkfs.ext4 -q -U 5d1c0e2a-1111-2222-3333-444455556666 -L lnraid /dev/md/lnraid"
                .to_string()
        ),
        "{all:?}"
    );
    assert!(all.contains(&"update-initramfs -u".to_string()));
    assert!(all.contains(&"mount -t ext4 /dev/md/lnraid /mnt/lnraid".to_string()));
    // The steps every backend shares follow, in btrfs's order.
    let ids: Vec<&str> = plan.steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "md-create",
            "mkfs-ext4",
            "mdadm-conf",
            "mountpoint",
            "mount",
            "copy",
            "verify",
            "publish",
            "move-aside",
            "symlink",
            "fstab"
        ]
    );
    assert_eq!(plan.steps[0].tag, Tag::Destructive);
    assert!(plan.steps[0].describe.contains("does not checksum"));
    let Action::ConfAppend { lines, .. } = &plan.steps[2].actions[0] else {
        panic!()
    };
    assert_eq!(lines[2], "ARRAY /dev/md/lnraid metadata=1.2 name=node:lnraid UUID=aaaaaaaa:bbbbbbbb:cccccccc:dddddddd");
    let Action::FstabAdd { line, .. } = &plan.steps[10].actions[0] else {
        panic!()
    };
    assert_eq!(line, &format!("UUID={FS} /mnt/lnraid ext4 defaults,nofail,x-systemd.device-timeout=30s 0 2 # lnraid-managed"));
}

#[test]
fn btrfs_plan_is_unchanged_by_the_seam() {
    let plan = plan_setup(&request(Backend::Btrfs), "");
    let ids: Vec<&str> = plan.steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "mkfs",
            "scan",
            "mountpoint",
            "mount",
            "subvolume",
            "copy",
            "verify",
            "publish",
            "move-aside",
            "symlink",
            "fstab"
        ]
    );
    assert!(plan.commands()[0].to_string().starts_with("mkfs.btrfs -U"));
}

fn sys_with_md(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir.join("block/md127/md")).unwrap();
    std::fs::create_dir_all(dir.join("block/sda")).unwrap();
    dir.to_path_buf()
}

#[test]
fn detect_by_fstab_type_then_by_fs_uuid_on_an_md_device() {
    let dir = tempfile::tempdir().unwrap();
    let sys = sys_with_md(dir.path());
    let uuid = FsUuid::parse(FS).unwrap();
    let fake = FakeRunner::new();
    fake.reply_line(
        "blkid -p -o export /dev/md127",
        &format!("DEVNAME=/dev/md127\nUUID={FS}\nTYPE=ext4\nUSAGE=filesystem\n"),
    );
    let mp = Path::new("/mnt/lnraid");
    let ctx = |fstab: &str| DetectCtx {
        fstab_text: fstab.into(),
        sys_root: sys.clone(),
    };
    let btrfs = format!("UUID={FS} /mnt/lnraid btrfs defaults 0 0 # lnraid-managed\n");
    assert_eq!(
        detect(&fake, &ctx(&btrfs), Some(&uuid), mp).backend(),
        Backend::Btrfs
    );
    assert!(
        fake.commands().is_empty(),
        "a btrfs fstab line needs no probe"
    );
    let ext4 = format!("UUID={FS} /mnt/lnraid ext4 defaults,nofail 0 2 # lnraid-managed\n");
    assert_eq!(
        detect(&fake, &ctx(&ext4), Some(&uuid), mp),
        Located::Md {
            device: Some(DevPath::new("/dev/md127")),
            fs_uuid: Some(uuid.clone())
        }
    );
    // No fstab line: the md device carrying the UUID decides.
    assert_eq!(
        detect(&fake, &ctx(""), Some(&uuid), mp).backend(),
        Backend::Md
    );
    // An ext4 line whose array is not assembled is still md (status then says so).
    let none = FakeRunner::new();
    none.reply(
        &crate::probe::blkid::blkid_cmd(&DevPath::new("/dev/md127")),
        Output::exited(2, "", ""),
    );
    assert_eq!(
        detect(&none, &ctx(&ext4), Some(&uuid), mp),
        Located::Md {
            device: None,
            fs_uuid: Some(uuid)
        }
    );
    assert!(is_md_ref("/dev/md/lnraid") && is_md_ref("347fb606:a385bb4f:dded9b1b:8f35ce33"));
    assert!(!is_md_ref("/dev/sdb"));
}
