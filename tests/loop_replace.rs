//! `lnraid replace` on real arrays (root + loop devices; visible SKIPPED otherwise): a missing
//! member by devid and by its old path, a larger new device resized, a smaller one refused
//! before any change, a present member replaced; each ends all-RAID1, scrubbed, healthy.

#[path = "common/array.rs"]
mod array;
mod common;
#[path = "common/tree.rs"]
mod tree;

use std::fs;
use std::io::Write;

use array::Env;
use common::{sh, tempdir, LoopDev};
use lnraid::exec::ExitStatus;
use lnraid::probe::btrfs::df::parse_df;
use lnraid::probe::btrfs::show::parse_show;
use lnraid::probe::btrfs::Profile;
use lnraid::testkit::NodeSpec;

fn small() -> NodeSpec {
    NodeSpec {
        db_bytes: 4 << 20,
        gossip_bytes: 2 << 20,
        hot_journal: false,
    }
}

/// Unmounts, detaches member b, and (optionally) remounts degraded and writes 200 MiB, which
/// land in `single` chunks.
fn lose_b(env: &mut Env, remount_and_write: bool) {
    let mp = env.mp.to_str().unwrap().to_string();
    sh("umount", &[&mp]);
    env.b.detach();
    if remount_and_write {
        sh("mount", &["-o", "degraded", &env.a.path, &mp]);
        let mut f = fs::File::create(env.mp.join("bitcoin/written-degraded")).unwrap();
        for i in 0..200u8 {
            f.write_all(&[i; 1 << 20]).unwrap();
        }
        f.sync_all().unwrap();
    }
}

fn assert_whole(env: &Env, before: &[String]) {
    let mp = env.mp.to_str().unwrap();
    let df = parse_df(&sh("btrfs", &["filesystem", "df", "--raw", mp]).stdout).unwrap();
    for g in df
        .groups
        .iter()
        .filter(|g| format!("{:?}", g.kind) != "GlobalReserve")
    {
        assert_eq!(g.profile, Profile::Raid1, "{g:?}");
    }
    let status = env.lnraid_host(&["status", "--json", mp]);
    assert_eq!(status.status.code(), Some(0), "{}", status.stdout);
    assert_eq!(
        tree::describe_copyable(&env.mp.join("bitcoin")),
        before,
        "data after replace"
    );
}

#[test]
fn replace_missing_member_by_devid_converts_single_chunks() {
    let _lock = device_test!("replace_missing_member_by_devid_converts_single_chunks");
    let spare = tempdir();
    let c = LoopDev::new(spare.path(), "c", "1G", false);
    let mut env = Env::with_array("repl-devid", small());
    lose_b(&mut env, true);
    let mp = env.mp.to_str().unwrap().to_string();
    let df = parse_df(&sh("btrfs", &["filesystem", "df", "--raw", &mp]).stdout).unwrap();
    assert!(
        df.groups
            .iter()
            .any(|g| g.profile == Profile::Single && format!("{:?}", g.kind) == "Data"),
        "single chunks exist"
    );
    let before = tree::describe_copyable(&env.mp.join("bitcoin"));
    let out = env.lnraid_host(&["replace", "--old", "2", "--new", &c.path, "--yes", &mp]);
    common::assert_ok(&out);
    assert!(
        out.stdout.contains("still matches"),
        "fstab check: {}",
        out.stdout
    );
    assert_whole(&env, &before);
}

#[test]
fn replace_by_old_path_onto_larger_device_resizes() {
    let _lock = device_test!("replace_by_old_path_onto_larger_device_resizes");
    let spare = tempdir();
    let c = LoopDev::new(spare.path(), "c", "2G", false);
    let mut env = Env::with_array("repl-path", small());
    let old = env.b.path.clone();
    lose_b(&mut env, false); // left unmounted: lnraid mounts it degraded itself
    let before_dir = env.mp.clone();
    let out = env.lnraid_host(&["replace", "--old", &old, "--new", &c.path, "--yes"]);
    common::assert_ok(&out);
    assert!(
        out.stderr.contains("degraded") || out.stdout.contains("degraded"),
        "says it mounts degraded"
    );
    let show = parse_show(
        &sh(
            "btrfs",
            &["filesystem", "show", "--raw", before_dir.to_str().unwrap()],
        )
        .stdout,
    )
    .unwrap()
    .remove(0);
    let d2 = show.devices.iter().find(|d| d.devid == 2).unwrap();
    assert_eq!(
        d2.size.0,
        2 << 30,
        "devid 2 grew to the new device: {show:?}"
    );
    assert_eq!(d2.path.as_ref().unwrap().to_string(), c.path);
    let status = env.lnraid_host(&["status", "--json"]);
    assert_eq!(status.status.code(), Some(0), "{}", status.stdout);
}

#[test]
fn smaller_new_device_refused_before_any_change() {
    let _lock = device_test!("smaller_new_device_refused_before_any_change");
    let spare = tempdir();
    let c = LoopDev::new(spare.path(), "c", "1000M", false);
    let mut env = Env::with_array("repl-small", small());
    lose_b(&mut env, false);
    let out = env.lnraid_host(&["replace", "--old", "2", "--new", &c.path, "--yes"]);
    assert_eq!(
        out.status,
        ExitStatus::Code(3),
        "{}{}",
        out.stdout,
        out.stderr
    );
    assert!(
        out.stderr.contains("smaller than devid 2"),
        "{}",
        out.stderr
    );
    let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mounts.contains(env.mp.to_str().unwrap()),
        "nothing was mounted"
    );
    let blank = common::sh_any("blkid", &["-p", &c.path]);
    assert_eq!(
        blank.status,
        ExitStatus::Code(2),
        "the new device is untouched"
    );
    assert!(!env.tmp.path().join("state/replace-journal.json").exists());
}

#[test]
fn replace_present_member_keeps_data() {
    let _lock = device_test!("replace_present_member_keeps_data");
    let spare = tempdir();
    let c = LoopDev::new(spare.path(), "c", "1G", false);
    let env = Env::with_array("repl-present", small());
    let before = tree::describe_copyable(&env.mp.join("bitcoin"));
    let out = env.lnraid_host(&["replace", "--old", &env.a.path, "--new", &c.path, "--yes"]);
    common::assert_ok(&out);
    // A present member is read only where no good mirror exists: `replace start -B -r <path>`.
    assert!(
        out.stdout
            .contains(&format!("replace start -B -r {}", env.a.path)),
        "{}",
        out.stdout
    );
    assert_whole(&env, &before);
}

#[test]
fn interrupted_replace_reported_by_status_and_continued() {
    let _lock = device_test!("interrupted_replace_reported_by_status_and_continued");
    let spare = tempdir();
    let c = LoopDev::new(spare.path(), "c", "1G", false);
    let mut env = Env::with_array("repl-resume", small());
    lose_b(&mut env, true);
    let before = tree::describe_copyable(&env.mp.join("bitcoin"));
    let mp = env.mp.to_str().unwrap().to_string();
    let mut args: Vec<String> = ["replace", "--old", "2", "--new", &c.path, "--yes", &mp]
        .map(String::from)
        .to_vec();
    args.extend(env.host_args());
    let killed = lnraid::exec::Runner::output(
        &lnraid::exec::RealRunner,
        &common::rehearsal(lnraid::exec::Cmd::mutating(
            env!("CARGO_BIN_EXE_lnraid"),
            args.clone(),
        ))
        .env("LNRAID_FAILPOINT", "replace"),
    )
    .unwrap();
    assert_eq!(killed.status, ExitStatus::Signal(9), "{}", killed.stderr);
    let st = env.lnraid_host(&["status", "--json"]);
    assert!(
        st.stdout.contains("unfinished_operation") && st.stdout.contains("stopped at step"),
        "{}",
        st.stdout
    );
    // A dry run of the resume prints the remaining steps and changes nothing.
    let mut dry = args.clone();
    dry.push("--dry-run".into());
    let out = env.run(&dry);
    assert!(
        out.status.success() && out.stdout.contains("dry run: nothing was changed"),
        "{}{}",
        out.stdout,
        out.stderr
    );
    assert!(env.tmp.path().join("state/replace-journal.json").exists());
    // Naming another replacement while this one is unfinished is refused.
    let mut other = args.clone();
    other[2] = "1".into();
    assert_eq!(env.run(&other).status, ExitStatus::Code(3));
    let again = env.run(&args);
    common::assert_ok(&again);
    assert!(again.stderr.contains("resuming"), "{}", again.stderr);
    assert_whole(&env, &before);
}
