//! `lnraid setup` end to end on real loop devices (root; visible SKIPPED otherwise): the
//! verified move, fstab and boot safety, idempotence, refusals before any change, and a kill
//! after every step followed by `--resume` or `--abort`.

#[path = "common/array.rs"]
mod array;
mod common;
#[path = "common/tree.rs"]
mod tree;

use array::Env;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use clap::Parser;
use common::{sh, sh_any, tempdir, LoopDev};
use lnraid::exec::{Cmd, ExitStatus, RealRunner, Recorder, Runner};
use lnraid::testkit::NodeSpec;

fn dollar_lines(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.trim_start().strip_prefix("$ "))
        .map(String::from)
        .collect()
}

#[test]
fn setup_end_to_end() {
    let _lock = device_test!("setup_end_to_end");
    let env = Env::new(
        "e2e",
        NodeSpec {
            db_bytes: 16 << 20,
            gossip_bytes: 8 << 20,
            hot_journal: false,
        },
        "1G",
    );
    let before = tree::describe(&env.dir);
    let owner = fs::metadata(env.dir.join("hsm_secret")).unwrap().uid();

    let dry = env.run(&env.setup_args(&["--fs-uuid", &env.uuid, "--dry-run"]));
    assert!(dry.status.success(), "{}{}", dry.stdout, dry.stderr);
    let planned = dollar_lines(&dry.stdout);
    assert!(
        planned.iter().any(|l| l.starts_with(&format!(
            "mkfs.btrfs -U {} -L lnraid -m raid1 -d raid1",
            env.uuid
        ))),
        "{planned:?}"
    );
    assert!(
        dry.stdout
            .contains(&format!("+UUID={} {} btrfs", env.uuid, env.mp.display())),
        "dry run shows the fstab line"
    );
    assert!(
        env.devices_blank() && tree::describe(&env.dir) == before,
        "a dry run changes nothing"
    );

    // The real run, in process, with every command recorded.
    let mut argv = vec!["lnraid".to_string()];
    argv.extend(env.setup_args(&["--fs-uuid", &env.uuid, "--yes"]));
    let rec = Recorder::new(&RealRunner);
    let code = lnraid::app::run(lnraid::cli::Cli::parse_from(&argv), &rec).unwrap();
    assert_eq!(code, 0);
    assert_eq!(
        rec.mutating_lines(),
        planned,
        "executed commands must be exactly the dry run's"
    );

    // DIR is a symlink into the array; the copy equals the original in every byte and attribute.
    let home = env.mp.join("bitcoin");
    assert_eq!(fs::read_link(&env.dir).unwrap(), home);
    assert_eq!(
        tree::describe_copyable(&home),
        before
            .iter()
            .filter(|l| !l.starts_with("socket "))
            .cloned()
            .collect::<Vec<_>>()
    );
    let aside: Vec<PathBuf> = fs::read_dir(env.dir.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("bitcoin.pre-lnraid-"))
        .collect();
    assert_eq!(aside.len(), 1);
    assert_eq!(
        tree::describe(&aside[0]),
        before,
        "the original is kept untouched"
    );
    let secret = fs::metadata(home.join("hsm_secret")).unwrap();
    assert_eq!((secret.mode() & 0o777, secret.uid()), (0o400, owner));
    let conn = rusqlite::Connection::open_with_flags(
        home.join("lightningd.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    drop(conn);

    // fstab: the original bytes kept, one line by UUID, accepted by findmnt, and mountable.
    let fstab = fs::read_to_string(env.fstab()).unwrap();
    assert!(fstab.starts_with("# lnraid test fstab\n\n"));
    assert_eq!(fstab.lines().filter(|l| l.contains(&env.uuid)).count(), 1);
    assert!(
        fstab.contains("nofail")
            && fstab.contains("x-systemd.device-timeout=")
            && !fstab.contains("degraded")
    );
    let verify = RealRunner
        .output(&Cmd::read_only(
            "findmnt",
            ["--verify", "--tab-file", env.fstab().to_str().unwrap()],
        ))
        .unwrap();
    assert!(
        verify.status.success(),
        "findmnt --verify: {}{}",
        verify.stdout,
        verify.stderr
    );
    let dropin = fs::read_to_string(
        env.tmp
            .path()
            .join("units/lightningd.service.d/lnraid.conf"),
    )
    .unwrap();
    assert!(dropin.contains(&format!("RequiresMountsFor={}", env.mp.display())));
    sh("umount", &[env.mp.to_str().unwrap()]);
    let attrs = sh("lsattr", &["-d", env.mp.to_str().unwrap()]).stdout;
    assert!(
        attrs.split_whitespace().next().unwrap().contains('i'),
        "bare mountpoint immutable: {attrs}"
    );
    assert!(
        fs::write(env.mp.join("x"), b"x").is_err(),
        "nothing can be written to the bare mountpoint"
    );
    sh(
        "mount",
        &[
            "--fstab",
            env.fstab().to_str().unwrap(),
            env.mp.to_str().unwrap(),
        ],
    );
    assert!(env.mounted(), "mount by the fstab entry");
    assert_eq!(tree::describe_copyable(&home).len(), before.len() - 1);

    // A second run changes nothing and says so.
    let again = env.run(&env.setup_args(&["--yes"]));
    assert!(again.status.success(), "{}{}", again.stdout, again.stderr);
    assert!(again.stdout.contains("already done"), "{}", again.stdout);
    assert_eq!(fs::read_to_string(env.fstab()).unwrap(), fstab);
}

#[test]
fn refusals_before_any_change() {
    let _lock = device_test!("refusals_before_any_change");
    let env = Env::small("refuse");
    let before = tree::describe(&env.dir);
    let unchanged = |env: &Env| {
        assert_eq!(tree::describe(&env.dir), before);
        assert_eq!(
            fs::read_to_string(env.fstab()).unwrap(),
            "# lnraid test fstab\n\n"
        );
        assert!(!env.mounted());
    };

    // An ineligible device: ext4 on b, no --wipe.
    sh("mkfs.ext4", &["-q", "-F", &env.b.path]);
    let out = env.run(&env.setup_args(&["--yes"]));
    assert_eq!(out.status, ExitStatus::Code(3), "{}", out.stderr);
    assert!(
        out.stderr.contains("ext4") && out.stderr.contains("--wipe"),
        "{}",
        out.stderr
    );
    assert_eq!(
        sh("blkid", &["-p", "-s", "TYPE", "-o", "value", &env.b.path])
            .stdout
            .trim(),
        "ext4"
    );
    unchanged(&env);
    sh("wipefs", &["--all", "--quiet", &env.b.path]);

    // DIR missing.
    let mut args = env.setup_args(&["--yes"]);
    args[2] = env.tmp.path().join("nope").to_string_lossy().into_owned();
    let out = env.run(&args);
    assert_eq!(out.status, ExitStatus::Code(3));
    assert!(out.stderr.contains("does not exist"), "{}", out.stderr);

    // Not root.
    let mut argv = vec![
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        env!("CARGO_BIN_EXE_lnraid"),
    ];
    let sargs = env.setup_args(&["--yes"]);
    argv.extend(sargs.iter().map(String::as_str));
    let out = sh_any("setpriv", &argv);
    assert_eq!(out.status, ExitStatus::Code(3), "{}", out.stderr);
    assert!(out.stderr.contains("must run as root"), "{}", out.stderr);
    unchanged(&env);
    assert!(env.devices_blank());
}

#[test]
fn refuses_too_small_devices() {
    let _lock = device_test!("refuses_too_small_devices");
    // A 700 MiB gossip_store needs 2×700 MiB + 256 MiB; two 1 GiB members hold about 1 GiB.
    let env = Env::new(
        "small",
        NodeSpec {
            db_bytes: 1 << 20,
            gossip_bytes: 700 << 20,
            hot_journal: false,
        },
        "1G",
    );
    let out = env.run(&env.setup_args(&["--yes"]));
    assert_eq!(out.status, ExitStatus::Code(3));
    assert!(out.stderr.contains("use larger devices"), "{}", out.stderr);
    assert!(env.devices_blank() && !env.mounted());
    // Devices below the 1 GiB minimum are refused by the policy.
    let small = tempdir();
    let c = LoopDev::new(small.path(), "c", "512M", false);
    let d = LoopDev::new(small.path(), "d", "512M", false);
    let mut args = env.setup_args(&["--yes"]);
    args[4] = c.path.clone();
    args[6] = d.path.clone();
    let out = env.run(&args);
    assert_eq!(out.status, ExitStatus::Code(3));
    assert!(out.stderr.contains("too small"), "{}", out.stderr);
}

#[test]
fn refuses_while_lightningd_runs() {
    let _lock = device_test!("refuses_while_lightningd_runs");
    let env = Env::small("running");
    // A process named lightningd (a copy of sleep) whose working directory is DIR.
    let bin = env.tmp.path().join("lightningd");
    fs::copy(common::which("sleep"), &bin).unwrap();
    let script = format!(
        "cd '{}' && '{}' 300 >/dev/null 2>&1 & echo $!",
        env.dir.display(),
        bin.display()
    );
    let pid: i32 = sh("sh", &["-c", &script]).stdout.trim().parse().unwrap();
    let _kill = common::KillOnDrop(pid);
    let out = env.run(&env.setup_args(&["--yes"]));
    assert_eq!(out.status, ExitStatus::Code(3), "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("lightningd (pid {pid})")),
        "{}",
        out.stderr
    );
    assert!(env.devices_blank());
}

/// The step ids of a setup with --wipe, in order (from the dry run).
fn step_ids(env: &Env) -> Vec<String> {
    let dry = env.run(&env.setup_args(&["--wipe", "--dry-run"]));
    assert!(dry.status.success(), "{}", dry.stderr);
    dry.stdout
        .lines()
        .filter(|l| {
            l.trim_start()
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit())
                && l.contains(". [")
        })
        .filter_map(|l| {
            l.rsplit_once('(')
                .map(|(_, id)| id.trim_end_matches(')').to_string())
        })
        .collect()
}

fn killed_after(env: &Env, step: &str) {
    let mut cmd = Cmd::mutating(
        env!("CARGO_BIN_EXE_lnraid"),
        env.setup_args(&["--wipe", "--yes"]),
    );
    cmd = cmd.env("LNRAID_FAILPOINT", step);
    let out = RealRunner.output(&cmd).unwrap();
    assert_eq!(
        out.status,
        ExitStatus::Signal(9),
        "failpoint {step}: {}",
        out.stderr
    );
}

#[test]
fn killed_after_each_step_then_resumed() {
    let _lock = device_test!("killed_after_each_step_then_resumed");
    let ids = step_ids(&Env::small("ids"));
    assert_eq!(ids.len(), 13, "{ids:?}");
    for step in &ids {
        let env = Env::small(&format!("resume-{step}"));
        let before = tree::describe_copyable(&env.dir);
        killed_after(&env, step);
        let mut args = vec!["setup".to_string(), "--resume".into(), "--yes".into()];
        args.extend(env.host_args());
        let out = env.run(&args);
        assert!(
            out.status.success(),
            "resume after {step}: {}{}",
            out.stdout,
            out.stderr
        );
        assert_eq!(
            fs::read_link(&env.dir).unwrap(),
            env.mp.join("bitcoin"),
            "after {step}"
        );
        assert_eq!(
            tree::describe_copyable(&env.mp.join("bitcoin")),
            before,
            "data after resuming from {step}"
        );
        assert!(env.mounted());
    }
}

#[test]
fn killed_after_each_step_then_aborted() {
    let _lock = device_test!("killed_after_each_step_then_aborted");
    let ids = step_ids(&Env::small("ids2"));
    for step in &ids {
        let env = Env::small(&format!("abort-{step}"));
        let before = tree::describe(&env.dir);
        killed_after(&env, step);
        // A new setup refuses while the interrupted one is recorded.
        let blocked = env.run(&env.setup_args(&["--yes"]));
        assert_eq!(
            blocked.status,
            ExitStatus::Code(3),
            "after {step}: {}",
            blocked.stderr
        );
        assert!(blocked.stderr.contains("--resume"), "{}", blocked.stderr);
        // A dry run of the abort prints the undo plan and changes nothing.
        let fstab_before = fs::read_to_string(env.fstab()).unwrap();
        let link_before = fs::symlink_metadata(&env.dir)
            .map(|m| m.file_type().is_symlink())
            .ok();
        let mut dry = vec!["setup".to_string(), "--abort".into(), "--dry-run".into()];
        dry.extend(env.host_args());
        let out = env.run(&dry);
        assert!(
            out.status.success() && out.stdout.contains("dry run: nothing was changed"),
            "{}{}",
            out.stdout,
            out.stderr
        );
        assert_eq!(
            fs::read_to_string(env.fstab()).unwrap(),
            fstab_before,
            "after {step}"
        );
        assert_eq!(
            fs::symlink_metadata(&env.dir)
                .map(|m| m.file_type().is_symlink())
                .ok(),
            link_before
        );
        assert!(
            env.tmp.path().join("state/setup-journal.json").exists(),
            "journal kept after a dry run"
        );
        let mut args = vec!["setup".to_string(), "--abort".into(), "--yes".into()];
        args.extend(env.host_args());
        let out = env.run(&args);
        assert!(
            out.status.success(),
            "abort after {step}: {}{}",
            out.stdout,
            out.stderr
        );
        assert_eq!(
            tree::describe(&env.dir),
            before,
            "DIR back byte for byte after {step}"
        );
        assert!(env.devices_blank(), "devices released after {step}");
        assert!(!env.mounted(), "unmounted after {step}");
        // The test made the (empty) mountpoint directory itself, so abort keeps it, mutable.
        let attrs = sh("lsattr", &["-d", env.mp.to_str().unwrap()]).stdout;
        assert!(
            !attrs.split_whitespace().next().unwrap().contains('i'),
            "after {step}: {attrs}"
        );
        assert_eq!(fs::read_dir(&env.mp).unwrap().count(), 0);
        assert_eq!(
            fs::read_to_string(env.fstab()).unwrap(),
            "# lnraid test fstab\n\n",
            "after {step}"
        );
        assert!(!Path::new(
            &env.tmp
                .path()
                .join("units/lightningd.service.d/lnraid.conf")
        )
        .exists());
    }
}

#[test]
fn abort_leaves_a_device_that_is_no_longer_ours() {
    let _lock = device_test!("abort_leaves_a_device_that_is_no_longer_ours");
    let env = Env::small("abort-foreign");
    let before = tree::describe(&env.dir);
    killed_after(&env, "mkfs");
    // Someone reused member b meanwhile.
    sh("mkfs.ext4", &["-q", "-F", &env.b.path]);
    let mut args = vec!["setup".to_string(), "--abort".into(), "--yes".into()];
    args.extend(env.host_args());
    let out = env.run(&args);
    assert!(!out.status.success(), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("not lnraid's filesystem"),
        "{}",
        out.stderr
    );
    assert_eq!(
        sh("blkid", &["-p", "-s", "TYPE", "-o", "value", &env.b.path])
            .stdout
            .trim(),
        "ext4",
        "b untouched"
    );
    let a_type = sh_any("blkid", &["-p", "-s", "TYPE", "-o", "value", &env.a.path]);
    assert_eq!(
        a_type.status,
        ExitStatus::Code(2),
        "our filesystem on a was erased"
    );
    assert_eq!(tree::describe(&env.dir), before);
}
