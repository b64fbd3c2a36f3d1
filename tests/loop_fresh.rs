//! The safety invariants of issue 8 on real loop devices (root; visible SKIPPED otherwise):
//! never publish stale node state, never destroy a disk not re-proven, a killed mkfs ends
//! clean on abort and on resume. Each test reproduces one hole the issue found.

#[path = "common/array.rs"]
mod array;
mod common;
#[path = "common/tree.rs"]
mod tree;

use array::Env;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{sh, sh_any};
use lnraid::exec::{Cmd, ExitStatus, Output, RealRunner, Runner};

fn lnraid_env(args: &[String], env: &[(&str, String)]) -> Output {
    let mut cmd = Cmd::mutating(
        env!("CARGO_BIN_EXE_lnraid"),
        args.iter().map(String::as_str),
    );
    for (k, v) in env {
        cmd = cmd.env(*k, v.clone());
    }
    RealRunner.output(&cmd).unwrap()
}

/// Runs setup in the background, paused after `step`; `act` runs at the pause; then setup
/// continues. Returns its output.
fn setup_paused(env: &Env, step: &str, act: impl FnOnce()) -> Output {
    let flag = env.tmp.path().join("pause");
    let args = env.setup_args(&["--yes", "--fs-uuid", &env.uuid]);
    let point = format!("{step}:{}", flag.display());
    let worker = std::thread::spawn(move || lnraid_env(&args, &[("LNRAID_PAUSEPOINT", point)]));
    let deadline = Instant::now() + Duration::from_secs(120);
    while !flag.exists() {
        assert!(Instant::now() < deadline, "setup never reached {step}");
        assert!(!worker.is_finished(), "setup ended before {step}");
        std::thread::sleep(Duration::from_millis(50));
    }
    act();
    fs::remove_file(&flag).unwrap();
    worker.join().unwrap()
}

fn killed_after(env: &Env, step: &str, extra: &[&str]) {
    let mut a = vec!["--yes", "--fs-uuid", &env.uuid];
    a.extend(extra);
    let out = lnraid_env(
        &env.setup_args(&a),
        &[("LNRAID_FAILPOINT", step.to_string())],
    );
    assert_eq!(
        out.status,
        ExitStatus::Signal(9),
        "failpoint {step}: {}",
        out.stderr
    );
}

fn commit(db: &Path, busy_ms: u64) -> rusqlite::Result<usize> {
    let c = rusqlite::Connection::open(db)?;
    c.busy_timeout(Duration::from_millis(busy_ms))?;
    c.execute(
        "INSERT OR REPLACE INTO vars (name, val) VALUES ('lnraid_test_commit', 'newer state')",
        [],
    )
}

fn has_commit(db: &Path) -> bool {
    let c = rusqlite::Connection::open(db).unwrap();
    c.query_row(
        "SELECT count(*) FROM vars WHERE name = 'lnraid_test_commit'",
        [],
        |r| r.get::<_, i64>(0),
    )
    .unwrap()
        > 0
}

fn resume_args(env: &Env, more: &[&str]) -> Vec<String> {
    let mut a = vec!["setup".to_string(), "--yes".into()];
    a.extend(more.iter().map(|s| s.to_string()));
    a.extend(env.host_args());
    a
}

fn new_home(env: &Env) -> PathBuf {
    env.mp.join("bitcoin")
}

#[test]
fn a_commit_during_verify_waits_on_the_lock_and_the_published_copy_is_the_latest() {
    let _lock = device_test!("a_commit_during_verify_waits_on_the_lock");
    let env = Env::new(
        "fresh-commit",
        lnraid::testkit::NodeSpec {
            db_bytes: 4 << 20,
            gossip_bytes: 1 << 20,
            hot_journal: false,
        },
        "1G",
    );
    let db = env.dir.join("lightningd.sqlite3");
    let mut refused = None;
    let out = setup_paused(&env, "copy", || refused = Some(commit(&db, 1500)));
    assert!(out.status.success(), "{}{}", out.stdout, out.stderr);
    let r = refused.unwrap();
    assert!(
        r.is_err(),
        "the source is locked while it is copied and verified: {r:?}"
    );
    // The node's state is the published copy; the refused commit is nowhere.
    let aside = fs::read_dir(env.dir.parent().unwrap())
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().contains(".pre-lnraid-"))
        .unwrap()
        .path();
    assert_eq!(
        fs::read(new_home(&env).join("lightningd.sqlite3")).unwrap(),
        fs::read(aside.join("lightningd.sqlite3")).unwrap()
    );
    assert!(!has_commit(&new_home(&env).join("lightningd.sqlite3")));
}

/// With a hot journal (the node crashed mid-transaction), a writer that fails on the lock
/// still touches the journal (SQLite, as root, re-owns it: only its ctime moves). That is not
/// a change of the node's state (the database file is untouched): setup publishes, and the
/// published copy is exactly the original, hot journal included, without the refused commit.
#[test]
fn a_writer_bouncing_off_the_lock_on_a_hot_journal_is_no_false_alarm() {
    let _lock = device_test!("a_writer_bouncing_off_the_lock_on_a_hot_journal");
    let env = Env::small("fresh-hot");
    let db = env.dir.join("lightningd.sqlite3");
    let journal = env.dir.join("lightningd.sqlite3-journal");
    let ctime = |p: &Path| std::os::unix::fs::MetadataExt::ctime_nsec(&fs::metadata(p).unwrap());
    let mut moved = None;
    let out = setup_paused(&env, "copy", || {
        let before = ctime(&journal);
        assert!(commit(&db, 500).is_err(), "locked");
        moved = Some(before != ctime(&journal));
    });
    assert!(out.status.success(), "{}{}", out.stdout, out.stderr);
    println!("the refused writer moved the journal's ctime: {moved:?}");
    let aside = fs::read_dir(env.dir.parent().unwrap())
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().contains(".pre-lnraid-"))
        .unwrap()
        .path();
    for f in ["lightningd.sqlite3", "lightningd.sqlite3-journal"] {
        assert_eq!(
            fs::read(new_home(&env).join(f)).unwrap(),
            fs::read(aside.join(f)).unwrap(),
            "{f}: the published copy is the original"
        );
    }
}

/// The other direction: the journal's exception never covers the database itself. A write
/// to the database file next to a hot journal (its mtime moves) stops setup, DIR intact.
#[test]
fn a_database_write_next_to_a_hot_journal_is_still_caught() {
    let _lock = device_test!("a_database_write_next_to_a_hot_journal");
    let env = Env::small("fresh-hot-db");
    let db = env.dir.join("lightningd.sqlite3");
    let out = setup_paused(&env, "copy", || {
        let f = fs::File::options().write(true).open(&db).unwrap();
        f.set_modified(std::time::SystemTime::now() + Duration::from_secs(5))
            .unwrap();
    });
    assert_eq!(
        out.status,
        ExitStatus::Code(1),
        "{}{}",
        out.stdout,
        out.stderr
    );
    assert!(
        out.stderr.contains("lightningd.sqlite3 changed")
            && out.stderr.contains("Your node's directory is intact"),
        "{}",
        out.stderr
    );
    assert!(fs::symlink_metadata(&env.dir).unwrap().is_dir());
    assert!(!new_home(&env).exists());
}

#[test]
fn a_file_changed_during_verify_stops_setup_with_dir_intact() {
    let _lock = device_test!("a_file_changed_during_verify_stops_setup");
    let env = Env::small("fresh-change");
    let out = setup_paused(&env, "copy", || {
        fs::write(env.dir.join("config"), "network=bitcoin\nalias=changed\n").unwrap()
    });
    assert_eq!(
        out.status,
        ExitStatus::Code(1),
        "{}{}",
        out.stdout,
        out.stderr
    );
    assert!(
        out.stderr.contains("config changed") && out.stderr.contains("stale"),
        "{}",
        out.stderr
    );
    assert!(
        fs::symlink_metadata(&env.dir).unwrap().is_dir(),
        "DIR intact"
    );
    assert!(fs::read_to_string(env.dir.join("config"))
        .unwrap()
        .contains("changed"));
    assert!(!new_home(&env).exists(), "nothing published");
}

#[test]
fn a_lightningd_started_after_confirmation_stops_setup_with_dir_intact() {
    let _lock = device_test!("a_lightningd_started_after_confirmation");
    let env = Env::small("fresh-node");
    let bin = env.tmp.path().join("lightningd");
    fs::copy(common::which("sleep"), &bin).unwrap();
    let mut pid = 0;
    let out = setup_paused(&env, "verify", || {
        let script = format!(
            "cd '{}' && '{}' 300 >/dev/null 2>&1 & echo $!",
            env.dir.display(),
            bin.display()
        );
        pid = sh("sh", &["-c", &script]).stdout.trim().parse().unwrap();
    });
    let _kill = common::KillOnDrop(pid);
    assert!(!out.status.success());
    assert!(
        out.stderr.contains(&format!("lightningd (pid {pid})"))
            && out.stderr.contains("Nothing was published"),
        "{}",
        out.stderr
    );
    assert!(fs::symlink_metadata(&env.dir).unwrap().is_dir());
    assert!(!new_home(&env).exists());
}

#[test]
fn resume_after_the_node_wrote_to_the_original_does_not_publish_the_old_copy() {
    let _lock = device_test!("resume_after_the_node_wrote_to_the_original");
    let env = Env::small("fresh-resume");
    killed_after(&env, "verify", &[]);
    commit(&env.dir.join("lightningd.sqlite3"), 0).unwrap();
    let out = env.run(&resume_args(&env, &["--resume"]));
    assert!(!out.status.success(), "{}", out.stdout);
    assert!(out.stderr.contains("lightningd.sqlite3"), "{}", out.stderr);
    assert!(
        out.stderr.contains("--abort"),
        "says what to do: {}",
        out.stderr
    );
    assert!(fs::symlink_metadata(&env.dir).unwrap().is_dir());
    assert!(has_commit(&env.dir.join("lightningd.sqlite3")));
    assert!(!new_home(&env).exists());
    // The way out: abort (the partial copy was never the node's), DIR keeps the commit.
    let out = env.run(&resume_args(&env, &["--abort"]));
    assert!(out.status.success(), "{}{}", out.stdout, out.stderr);
    assert!(has_commit(&env.dir.join("lightningd.sqlite3")));
    assert!(env.devices_blank());
}

#[test]
fn abort_after_the_symlink_refuses_to_erase_an_array_the_node_wrote_to() {
    let _lock = device_test!("abort_after_the_symlink_refuses");
    let env = Env::small("fresh-abort");
    killed_after(&env, "symlink", &[]);
    // The node runs on the array through the symlink and commits.
    commit(&env.dir.join("lightningd.sqlite3"), 0).unwrap();
    let out = env.run(&resume_args(&env, &["--abort"]));
    assert!(!out.status.success(), "{}", out.stdout);
    assert!(
        out.stderr.contains("array copy") && out.stderr.contains("Nothing was erased"),
        "{}",
        out.stderr
    );
    assert!(env.mounted(), "the array stays mounted");
    assert!(has_commit(&new_home(&env).join("lightningd.sqlite3")));
    assert_eq!(fs::read_link(&env.dir).unwrap(), new_home(&env));
    assert!(!env.devices_blank());
    // And the resume the message recommends finishes setup on the array.
    let out = env.run(&resume_args(&env, &["--resume"]));
    assert!(out.status.success(), "{}{}", out.stdout, out.stderr);
}

#[test]
fn a_same_size_disk_swapped_in_at_the_recorded_name_is_refused_and_keeps_its_data() {
    let _lock = device_test!("a_same_size_disk_swapped_in");
    let mut env = Env::small("fresh-swap");
    killed_after(&env, "wipe", &["--wipe"]);
    // Another disk (an ext4 labelled IMPORTANT) now sits at b's /dev/loopN.
    let other = env.tmp.path().join("other.img");
    sh("truncate", &["-s", "1G", other.to_str().unwrap()]);
    sh(
        "mkfs.ext4",
        &["-q", "-L", "IMPORTANT", other.to_str().unwrap()],
    );
    let path = env.b.path.clone();
    sh("losetup", &["-d", &path]);
    sh("losetup", &[&path, other.to_str().unwrap()]);
    let out = env.run(&resume_args(&env, &["--resume"]));
    assert!(!out.status.success(), "{}", out.stdout);
    assert!(
        out.stderr.contains("IMPORTANT") && out.stderr.contains("left untouched"),
        "{}",
        out.stderr
    );
    let label = sh("blkid", &["-p", "-s", "LABEL", "-o", "value", &path]);
    assert_eq!(
        label.stdout.trim(),
        "IMPORTANT",
        "the other disk keeps its data"
    );
    assert!(fs::symlink_metadata(&env.dir).unwrap().is_dir());
    env.b.detach();
}

/// A `mkfs.btrfs` that, after the real one, keeps the first device open `O_EXCL` for a few
/// seconds — the tail of a slow mkfs — so the test can kill lnraid while its child still holds
/// the device.
fn slow_mkfs(env: &Env) -> (PathBuf, PathBuf) {
    let bin = env.tmp.path().join("bin");
    fs::create_dir_all(&bin).unwrap();
    let mark = env.tmp.path().join("mkfs-done");
    let real = common::which("mkfs.btrfs");
    let script = format!(
        "#!/bin/sh\ncase \"$1\" in --version|-V) exec '{real}' \"$@\";; esac\n'{real}' \"$@\" || exit $?\n\
         touch '{mark}'\nexec python3 -c 'import os,sys,time; fd=os.open(sys.argv[1], os.O_RDONLY|os.O_EXCL); time.sleep(4)' '{dev}'\n",
        real = real.display(),
        mark = mark.display(),
        dev = env.a.path
    );
    let w = bin.join("mkfs.btrfs");
    fs::write(&w, script).unwrap();
    sh("chmod", &["+x", w.to_str().unwrap()]);
    (bin, mark)
}

fn kill_during_mkfs(env: &Env) {
    let (bin, mark) = slow_mkfs(env);
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let args: Vec<String> = env.setup_args(&["--yes", "--fs-uuid", &env.uuid]);
    let quoted: Vec<String> = args.iter().map(|a| lnraid::exec::shell_quote(a)).collect();
    let script = format!(
        "PATH='{path}' '{}' {} >'{}' 2>&1 & echo $!",
        env!("CARGO_BIN_EXE_lnraid"),
        quoted.join(" "),
        env.tmp.path().join("setup.log").display()
    );
    let pid: i32 = sh("sh", &["-c", &script]).stdout.trim().parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !mark.exists() {
        assert!(
            Instant::now() < deadline,
            "mkfs never ran: {}",
            fs::read_to_string(env.tmp.path().join("setup.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    );
    std::thread::sleep(Duration::from_millis(200));
}

#[test]
fn killed_during_mkfs_then_aborted_ends_clean() {
    let _lock = device_test!("killed_during_mkfs_then_aborted");
    let env = Env::small("fresh-kill-abort");
    let before = tree::describe(&env.dir);
    kill_during_mkfs(&env);
    let out = env.run(&resume_args(&env, &["--abort"]));
    assert!(out.status.success(), "{}{}", out.stdout, out.stderr);
    assert!(
        env.devices_blank(),
        "abort erased the new filesystem only once nothing held it: {}",
        out.stderr
    );
    assert_eq!(tree::describe(&env.dir), before);
    // Nothing still writes a filesystem behind abort's back.
    std::thread::sleep(Duration::from_secs(5));
    assert!(env.devices_blank());
    let again = env.run(&resume_args(&env, &["--resume"]));
    assert!(!again.status.success(), "nothing left to resume");
}

#[test]
fn killed_during_mkfs_then_resumed_ends_clean() {
    let _lock = device_test!("killed_during_mkfs_then_resumed");
    let env = Env::small("fresh-kill-resume");
    let before = tree::describe_copyable(&env.dir);
    kill_during_mkfs(&env);
    let out = env.run(&resume_args(&env, &["--resume"]));
    assert!(out.status.success(), "{}{}", out.stdout, out.stderr);
    assert!(
        !out.stdout.contains("mkfs.btrfs -f"),
        "never forced: {}",
        out.stdout
    );
    assert_eq!(fs::read_link(&env.dir).unwrap(), new_home(&env));
    assert_eq!(tree::describe_copyable(&new_home(&env)), before);
    let _ = sh_any("true", &[]);
}
