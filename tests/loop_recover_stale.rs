//! `lnraid recover` in the awkward states of issue 9, on real loop devices (root; visible
//! SKIPPED otherwise): a stale ex-member (replaced out while missing, then reattached) beside
//! the real members and alone; DEST too small (a tiny tmpfs) and DEST running out mid-copy
//! (a tmpfs out of inodes); a recover killed after mounting (LNRAID_FAILPOINT), then run again.
//! Each test leaves no mount, loop device or temporary mountpoint behind.

#[path = "common/array.rs"]
mod array;
mod common;
#[path = "common/recover.rs"]
mod rec;

use std::fs;

use array::Env;
use common::{lnraid, sh, tempdir, LoopDev};
use lnraid::exec::{Cmd, ExitStatus, RealRunner, Runner};
use lnraid::testkit::NodeSpec;
use rec::{fail_b, leftover_mountpoints, out_of, recover, state, Tmpfs};

fn spec() -> NodeSpec {
    NodeSpec {
        db_bytes: 4 << 20,
        gossip_bytes: 1 << 20,
        hot_journal: false,
    }
}

fn generation(dev: &str) -> u64 {
    let out = sh("btrfs", &["inspect-internal", "dump-super", dev]).stdout;
    lnraid::probe::btrfs::superblock::parse_dump_super(&out)
        .unwrap()
        .generation
}

#[test]
fn stale_ex_member_beside_members_is_ignored_and_alone_is_refused() {
    let _lock = device_test!("stale_ex_member_beside_members_is_ignored_and_alone_is_refused");
    let spare = tempdir();
    let mut c = LoopDev::new(spare.path(), "c", "1G", false);
    let mut env = Env::with_array("stale", spec());
    let mp = env.mp.to_str().unwrap().to_string();
    // status records the members while the array is whole.
    let st = env.lnraid_host(&["status", &mp]);
    assert_eq!(st.status, ExitStatus::Code(0), "{}", out_of(&st));
    assert!(lnraid::members::record_path(
        &state(&env),
        &lnraid::types::FsUuid::parse(&env.uuid).unwrap()
    )
    .exists());
    // Disk b dies; lnraid replaces it (by devid) with c; the array moves on.
    sh("umount", &[&mp]);
    let b_image = env.b.backing.clone();
    env.b.detach();
    let out = env.lnraid_host(&["replace", "--old", "2", "--new", &c.path, "--yes"]);
    assert_eq!(out.status, ExitStatus::Code(0), "{}", out_of(&out));
    fs::write(env.mp.join("bitcoin/after-replace"), b"newer state").unwrap();
    sh("sync", &[]);
    sh("umount", &[&mp]);
    // The dead disk comes back: same devid and device UUID as c, older generation.
    let mut b = LoopDev::new(b_image.parent().unwrap(), "b", "1G", false);
    let (gb, gc) = (generation(&b.path), generation(&c.path));
    assert!(gb < gc, "stale {gb} < current {gc}");

    // Beside the real members: recover proceeds from them; b is named and never scanned.
    let dest = env.tmp.path().join("rescued");
    let out = recover(&env, &["--to", dest.to_str().unwrap(), "--all"]);
    assert_eq!(out.status, ExitStatus::Code(0), "{}", out_of(&out));
    assert!(!out.stderr.contains("File exists"), "{}", out_of(&out));
    assert!(
        out.stdout.contains(&format!(
            "not using {}: lnraid replaced devid 2 out",
            b.path
        )) && out
            .stdout
            .contains(&format!("this disk (generation {gb}) is that old member")),
        "{}",
        out_of(&out)
    );
    // The printed plan is what the executor walks, command for command.
    assert!(
        !out.stdout
            .contains(&format!("$ btrfs device scan {}", b.path)),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains(&format!("$ btrfs device scan {}", c.path)),
        "{}",
        out.stdout
    );
    assert_eq!(
        fs::read(dest.join("after-replace")).unwrap(),
        b"newer state",
        "read from the current members, not the stale disk"
    );
    // Named explicitly, the stale disk is refused.
    let dest2 = env.tmp.path().join("rescued-2");
    let out = recover(
        &env,
        &["--to", dest2.to_str().unwrap(), "--device", &b.path],
    );
    assert_eq!(out.status, ExitStatus::Code(3), "{}", out_of(&out));
    assert!(
        out.stderr.contains(&format!("generation {gb}")),
        "{}",
        out_of(&out)
    );
    assert!(!dest2.exists());

    // Alone: the record says devid 2 was replaced out; refused, every generation shown.
    env.a.detach();
    c.detach();
    let out = recover(&env, &["--to", dest2.to_str().unwrap()]);
    assert_eq!(out.status, ExitStatus::Code(3), "{}", out_of(&out));
    assert!(out.stderr.contains("replaced out"), "{}", out_of(&out));
    assert!(
        out.stderr
            .contains(&format!("{}: devid 2, device UUID", b.path))
            && out.stderr.contains(&format!("generation {gb}")),
        "{}",
        out_of(&out)
    );
    assert!(!dest2.exists(), "nothing copied from the stale disk");
    assert!(
        leftover_mountpoints().is_empty(),
        "{:?}",
        leftover_mountpoints()
    );
    b.detach();
}

#[test]
fn dest_too_small_or_full_leaves_no_usable_copy() {
    let _lock = device_test!("dest_too_small_or_full_leaves_no_usable_copy");
    let mut env = Env::with_array("small-dest", spec());
    fail_b(&mut env);
    let media = common::mountpoint_dir("small-dest-media");
    // Too small: refused before the first byte, nothing created.
    {
        let t = Tmpfs::new(&media, "size=1m");
        let dest = t.0.dir.join("recovered");
        let out = recover(&env, &["--to", dest.to_str().unwrap()]);
        assert_eq!(out.status, ExitStatus::Code(3), "{}", out_of(&out));
        assert!(
            out.stderr.contains("choose larger media"),
            "{}",
            out_of(&out)
        );
        assert!(!dest.exists());
        assert!(
            leftover_mountpoints().is_empty(),
            "{:?}",
            leftover_mountpoints()
        );
    }
    // Room for the bytes but not for the files (3 inodes: root, DEST, one file): ENOSPC
    // mid-copy; the partial copy is removed, the exit is non-zero.
    let media2 = common::mountpoint_dir("small-dest-inodes");
    let t = Tmpfs::new(&media2, "size=64m,nr_inodes=4");
    let dest = t.0.dir.join("recovered");
    let out = recover(&env, &["--to", dest.to_str().unwrap()]);
    assert_eq!(out.status, ExitStatus::Code(1), "{}", out_of(&out));
    assert!(out.stderr.contains("is full"), "{}", out_of(&out));
    assert!(out.stderr.contains("was removed"), "{}", out_of(&out));
    let left: Vec<String> = fs::read_dir(&t.0.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.is_empty(), "nothing usable-looking is left: {left:?}");
    assert!(
        leftover_mountpoints().is_empty(),
        "{:?}",
        leftover_mountpoints()
    );
}

#[test]
fn killed_recover_is_cleaned_up_by_the_next_run() {
    let _lock = device_test!("killed_recover_is_cleaned_up_by_the_next_run");
    let mut env = Env::with_array("killed", spec());
    fail_b(&mut env);
    let dest = env.tmp.path().join("rescued");
    let lock = env.tmp.path().join("lock");
    let st = state(&env);
    let args = [
        "recover",
        "--to",
        dest.to_str().unwrap(),
        "--lock-dir",
        lock.to_str().unwrap(),
        "--state-dir",
        st.to_str().unwrap(),
    ];
    let killed = RealRunner
        .output(
            &Cmd::mutating(env!("CARGO_BIN_EXE_lnraid"), args)
                .env("LNRAID_FAILPOINT", "recover-mounted"),
        )
        .unwrap();
    assert_eq!(killed.status, ExitStatus::Signal(9), "{}", out_of(&killed));
    let left = leftover_mountpoints();
    assert!(
        left.iter().any(|l| l.contains(" ro")),
        "the killed run left its mount: {left:?}"
    );
    // A dry run names it and the exact commands, and changes nothing.
    let mut dry = args.to_vec();
    dry.push("--dry-run");
    let out = lnraid(&dry);
    assert_eq!(out.status, ExitStatus::Code(0), "{}", out_of(&out));
    assert!(
        out.stdout
            .contains("A killed `lnraid recover` left its read-only mount"),
        "{}",
        out_of(&out)
    );
    assert!(
        out.stdout.contains("$ umount /run/lnraid/recover-"),
        "{}",
        out_of(&out)
    );
    assert!(!leftover_mountpoints().is_empty());
    // The next real run unmounts it, then recovers as usual.
    let out = lnraid(&args);
    assert_eq!(out.status, ExitStatus::Code(0), "{}", out_of(&out));
    assert!(out.stdout.contains("unmounting it"), "{}", out_of(&out));
    assert!(!out.stdout.contains("stays mounted"), "{}", out_of(&out));
    assert!(dest.join("MANIFEST").exists());
    assert!(
        leftover_mountpoints().is_empty(),
        "{:?}",
        leftover_mountpoints()
    );

    // Killed after copying, before the copies were published: DEST holds only the hidden
    // staging directory; the next run cleans the mount and explains DEST.
    let dest2 = env.tmp.path().join("rescued-2");
    let mut args2 = args.to_vec();
    args2[2] = dest2.to_str().unwrap();
    let killed = RealRunner
        .output(
            &Cmd::mutating(env!("CARGO_BIN_EXE_lnraid"), args2.clone())
                .env("LNRAID_FAILPOINT", "recover-copied"),
        )
        .unwrap();
    assert_eq!(killed.status, ExitStatus::Signal(9), "{}", out_of(&killed));
    let names: Vec<String> = fs::read_dir(&dest2)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.len() == 1 && names[0].starts_with(".lnraid-recover-staging-"),
        "no usable-looking file in DEST: {names:?}"
    );
    let out = lnraid(&args2);
    assert_eq!(out.status, ExitStatus::Code(3), "{}", out_of(&out));
    assert!(out.stdout.contains("unmounting it"), "{}", out_of(&out));
    assert!(
        out.stderr.contains("the unfinished copy of an interrupted"),
        "{}",
        out_of(&out)
    );
    assert!(
        leftover_mountpoints().is_empty(),
        "{:?}",
        leftover_mountpoints()
    );
}
