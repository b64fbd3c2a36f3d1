//! `lnraid setup` makes the node's new home a btrfs subvolume (issue 11, item 1), on real loop
//! devices (root; visible SKIPPED otherwise): `btrfs subvolume show` accepts it, `lnraid
//! snapshot create` works on it without `snapshot migrate`, and a copy interrupted half way
//! is resumed by deleting lnraid's own half-filled partial subvolume and copying again.

#[path = "common/array.rs"]
mod array;
mod common;
#[path = "common/tree.rs"]
mod tree;

use std::fs;

use array::Env;
use common::{lnraid, sh, sh_any};
use lnraid::exec::{Cmd, ExitStatus, RealRunner, Runner};
use lnraid::testkit::NodeSpec;

fn spec() -> NodeSpec {
    NodeSpec {
        db_bytes: 4 << 20,
        gossip_bytes: 1 << 20,
        hot_journal: false,
    }
}

#[test]
fn setup_makes_the_home_a_subvolume_that_snapshots_without_migrate() {
    let _lock = device_test!("setup_makes_the_home_a_subvolume_that_snapshots_without_migrate");
    let env = Env::with_array("subv", spec());
    let home = env.mp.join("bitcoin");
    let show = sh_any("btrfs", &["subvolume", "show", home.to_str().unwrap()]);
    common::assert_ok(&show);
    assert!(
        !env.mp.join(".lnraid-partial-bitcoin").exists(),
        "the partial was published"
    );
    let out = lnraid(&[
        "snapshot",
        "create",
        "--json",
        "--lightning-dir",
        env.dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status, ExitStatus::Code(0), "{}", out.stderr);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["verified"], true, "{doc}");
    let snap = env
        .mp
        .join(".lnraid-snapshots/bitcoin")
        .join(doc["name"].as_str().unwrap());
    let ro = sh("btrfs", &["property", "get", snap.to_str().unwrap(), "ro"]);
    assert_eq!(ro.stdout.trim(), "ro=true", "a read-only snapshot");
}

#[test]
fn a_half_filled_partial_subvolume_is_deleted_and_the_copy_redone_on_resume() {
    let _lock =
        device_test!("a_half_filled_partial_subvolume_is_deleted_and_the_copy_redone_on_resume");
    let env = Env::new("subvr", spec(), "1G");
    let before = tree::describe_copyable(&env.dir);
    let cmd = Cmd::mutating(
        env!("CARGO_BIN_EXE_lnraid"),
        env.setup_args(&["--yes", "--fs-uuid", &env.uuid]),
    )
    .env("LNRAID_FAILPOINT", "subvolume");
    let out = RealRunner.output(&cmd).unwrap();
    assert_eq!(out.status, ExitStatus::Signal(9), "{}", out.stderr);
    let partial = env.mp.join(".lnraid-partial-bitcoin");
    let show = sh_any("btrfs", &["subvolume", "show", partial.to_str().unwrap()]);
    assert_eq!(
        show.status,
        ExitStatus::Code(0),
        "the partial is a subvolume: {}",
        show.stderr
    );
    // What a copy killed half way leaves: some files in the partial.
    fs::write(partial.join("half-copied"), b"x").unwrap();
    let mut args = vec!["setup".to_string(), "--resume".into(), "--yes".into()];
    args.extend(env.host_args());
    let out = env.run(&args);
    assert!(out.status.success(), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("deleting the partial copy of the interrupted run"),
        "{}",
        out.stderr
    );
    let home = env.mp.join("bitcoin");
    assert_eq!(
        sh_any("btrfs", &["subvolume", "show", home.to_str().unwrap()]).status,
        ExitStatus::Code(0)
    );
    assert_eq!(tree::describe_copyable(&home), before, "the copy, redone");
    assert!(!home.join("half-copied").exists());
}
