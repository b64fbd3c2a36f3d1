//! setup's preflight on real loop devices (root; visible SKIPPED otherwise): each hole of
//! issue 8 that used to pass preflight and the dry run and fail only after mkfs (or, for a
//! `..` mountpoint, copy the directory into itself) is now refused before any change. Each
//! test checks that the devices still read the same with `blkid -p` and that DIR, the fstab
//! and the mountpoint are untouched.

#[path = "common/array.rs"]
mod array;
mod common;
#[path = "common/recover.rs"]
mod rec;

use std::fs;
use std::path::{Path, PathBuf};

use array::Env;
use common::{sh, sh_any, LoopDev, Mounted};
use lnraid::exec::{Cmd, ExitStatus, Output, RealRunner, Runner};

/// `lnraid <args>`; with `allow`, the rehearsal override for loop devices on one disk is set
/// in its environment. Without, nothing sets it (cargo's config no longer does).
fn run(args: &[String], allow: bool) -> Output {
    let cmd = Cmd::mutating(
        env!("CARGO_BIN_EXE_lnraid"),
        args.iter().map(String::as_str),
    );
    RealRunner
        .output(&if allow { common::rehearsal(cmd) } else { cmd })
        .unwrap()
}

/// What `blkid -p` reads on each device (no cache).
fn blkid(devs: &[&str]) -> Vec<String> {
    devs.iter()
        .map(|d| {
            let o = sh_any("blkid", &["-p", "-o", "export", d]);
            format!("{}|{}", o.status, o.stdout)
        })
        .collect()
}

/// Everything a refused setup must leave alone.
struct Untouched {
    devs: Vec<String>,
    before: Vec<String>,
    fstab: PathBuf,
    fstab_text: String,
    dir_parent: PathBuf,
    listing: Vec<String>,
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

impl Untouched {
    fn record(env: &Env, extra: &[&str]) -> Untouched {
        let mut devs = vec![env.a.path.clone(), env.b.path.clone()];
        devs.extend(extra.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = devs.iter().map(String::as_str).collect();
        let dir_parent = env.dir.parent().unwrap().to_path_buf();
        Untouched {
            before: blkid(&refs),
            devs,
            fstab: env.fstab(),
            fstab_text: fs::read_to_string(env.fstab()).unwrap(),
            listing: listing(&dir_parent),
            dir_parent,
        }
    }

    fn check(&self, what: &str) {
        let refs: Vec<&str> = self.devs.iter().map(String::as_str).collect();
        assert_eq!(blkid(&refs), self.before, "{what}: a device changed");
        assert_eq!(
            fs::read_to_string(&self.fstab).unwrap(),
            self.fstab_text,
            "{what}: fstab changed"
        );
        assert_eq!(
            listing(&self.dir_parent),
            self.listing,
            "{what}: DIR's parent changed"
        );
    }
}

/// Runs setup for real (`--yes`, not a dry run) and its dry run; both must be refused (exit 3)
/// with `needle` in the message, and change nothing.
fn refused(env: &Env, args: &[String], needle: &str, allow: bool, untouched: &Untouched) {
    for extra in ["--dry-run", "--yes"] {
        // Env's setup arguments carry the rehearsal flag; a strict run goes without it.
        let mut a: Vec<String> = args
            .iter()
            .filter(|x| allow || *x != "--allow-loop-on-shared-disk")
            .cloned()
            .collect();
        a.push(extra.into());
        let out = run(&a, allow);
        assert_eq!(
            out.status,
            ExitStatus::Code(3),
            "{extra}: {}{}",
            out.stdout,
            out.stderr
        );
        assert!(
            out.stderr.contains(needle),
            "{extra}: wanted {needle:?} in: {}",
            out.stderr
        );
        assert!(
            !out.stdout.contains("dry run: nothing was changed"),
            "{extra}: the dry run said ok"
        );
        untouched.check(extra);
    }
    assert!(!env.mounted());
}

/// `setup_args` with the mountpoint replaced by `mp`.
fn with_mountpoint(env: &Env, mp: &Path) -> Vec<String> {
    let mut a = env.setup_args(&[]);
    let i = a.iter().position(|x| x == "--mountpoint").unwrap();
    a[i + 1] = mp.to_string_lossy().into_owned();
    a
}

#[test]
fn dotdot_and_symlinked_mountpoints_inside_dir_are_refused_before_any_change() {
    let _lock =
        device_test!("dotdot_and_symlinked_mountpoints_inside_dir_are_refused_before_any_change");
    let env = Env::small("pf-dotdot");
    let untouched = Untouched::record(&env, &[]);
    let lightning = env.dir.parent().unwrap();
    // `.lightning/nowhere/../bitcoin/mnt`: `nowhere` does not exist; it is DIR/mnt.
    let dotdot = lightning.join("nowhere/../bitcoin/mnt");
    refused(
        &env,
        &with_mountpoint(&env, &dotdot),
        "must not contain each other",
        true,
        &untouched,
    );
    // Through a symlinked parent: `<tmp>/shortcut -> DIR`, mountpoint `<tmp>/shortcut/mnt`.
    let link = env.tmp.path().join("shortcut");
    std::os::unix::fs::symlink(&env.dir, &link).unwrap();
    let untouched = Untouched::record(&env, &[]);
    refused(
        &env,
        &with_mountpoint(&env, &link.join("mnt")),
        "must not contain each other",
        true,
        &untouched,
    );
    assert!(
        !env.dir.join("mnt").exists(),
        "the mountpoint was created inside DIR"
    );
    // The control: the same Env with its own mountpoint passes preflight.
    let mut ok = env.setup_args(&[]);
    ok.push("--dry-run".into());
    let out = run(&ok, true);
    assert!(out.status.success(), "{}{}", out.stdout, out.stderr);
}

#[test]
fn dir_that_is_a_mountpoint_is_refused_in_preflight() {
    let _lock = device_test!("dir_that_is_a_mountpoint_is_refused_in_preflight");
    let env = Env::small("pf-dirmount");
    let d = env.dir.to_str().unwrap();
    // A bind mount of DIR onto itself: same contents, now a mountpoint.
    let bind = Mounted::new(d, &env.dir, &["bind"]);
    let untouched = Untouched::record(&env, &[]);
    refused(
        &env,
        &env.setup_args(&[]),
        "is itself a mountpoint",
        true,
        &untouched,
    );
    drop(bind);
}

#[test]
fn too_long_name_is_refused_in_preflight() {
    let _lock = device_test!("too_long_name_is_refused_in_preflight");
    let mut env = Env::small("pf-longname");
    // 240 bytes: fits NAME_MAX itself, but not `<name>.pre-lnraid-<timestamp>` (+28).
    let long = env.tmp.path().join("home").join("n".repeat(240));
    fs::rename(&env.dir, &long).unwrap();
    env.dir = long;
    let untouched = Untouched::record(&env, &[]);
    refused(
        &env,
        &env.setup_args(&[]),
        "longer than the 255 bytes",
        true,
        &untouched,
    );
}

/// Clears the immutable flag even when the test fails.
struct Mutable(PathBuf);

impl Drop for Mutable {
    fn drop(&mut self) {
        let _ = sh_any("chattr", &["-i", self.0.to_str().unwrap()]);
    }
}

#[test]
fn immutable_fstab_is_refused_in_preflight() {
    let _lock = device_test!("immutable_fstab_is_refused_in_preflight");
    let env = Env::small("pf-fstab");
    let fstab = env.fstab();
    let lsattr = sh_any("chattr", &["+i", fstab.to_str().unwrap()]);
    let _mutable = Mutable(fstab.clone());
    if !lsattr.status.success() {
        println!(
            "SKIPPED: immutable_fstab_is_refused_in_preflight: chattr +i not supported here: {}",
            lsattr.stderr.trim()
        );
        return;
    }
    let untouched = Untouched::record(&env, &[]);
    refused(&env, &env.setup_args(&[]), "immutable", true, &untouched);
}

#[test]
fn used_fs_uuid_is_refused_in_preflight() {
    let _lock = device_test!("used_fs_uuid_is_refused_in_preflight");
    let env = Env::small("pf-uuid");
    // A third device already carries the UUID the operator asks for.
    let c = LoopDev::new(env.tmp.path(), "c", "64M", false);
    sh("mkfs.ext4", &["-q", "-F", "-U", &env.uuid, &c.path]);
    let untouched = Untouched::record(&env, &[&c.path]);
    let args = env.setup_args(&["--fs-uuid", &env.uuid]);
    refused(
        &env,
        &args,
        &format!("is already the filesystem UUID on {}", c.path),
        true,
        &untouched,
    );
}

#[test]
fn loop_backed_by_a_file_on_the_array_is_refused() {
    let _lock = device_test!("loop_backed_by_a_file_on_the_array_is_refused");
    let env = Env::small("pf-loop-on-member");
    // Member b carries a filesystem (mounted) that holds the backing file of loop d; the
    // operator names b and d as the mirror.
    sh("mkfs.ext4", &["-q", "-F", &env.b.path]);
    let bmnt = env.tmp.path().join("bmnt");
    let _m = Mounted::new(&env.b.path, &bmnt, &[]);
    let d = LoopDev::new(&bmnt, "d", "1G", false);
    let mut args = env.setup_args(&[]);
    let i = args.iter().position(|x| x == &env.a.path).unwrap();
    args[i] = d.path.clone();
    let untouched = Untouched::record(&env, &[&d.path]);
    // Even the rehearsal override does not accept a file on the array itself.
    refused(
        &env,
        &args,
        &format!("lives on {}, a member of the array being built", env.b.path),
        true,
        &untouched,
    );
    drop(d);
}

#[test]
fn loop_on_the_node_directory_filesystem_needs_the_rehearsal_flag() {
    let _lock = device_test!("loop_on_the_node_directory_filesystem_needs_the_rehearsal_flag");
    // The standard test array: both backing files in /tmp, on the same filesystem as DIR.
    let env = Env::small("pf-loop-shared");
    assert!(
        std::env::var_os(common::REHEARSAL_ENV).is_none(),
        "the test process must not carry the rehearsal override (it used to come from .cargo/config.toml)"
    );
    let untouched = Untouched::record(&env, &[]);
    refused(
        &env,
        &env.setup_args(&[]),
        "lives on the same filesystem as",
        false,
        &untouched,
    );
    // Env's setup arguments carry --allow-loop-on-shared-disk; no environment variable here.
    let out = run(&env.setup_args(&["--dry-run"]), false);
    assert!(out.status.success(), "{}{}", out.stdout, out.stderr);
    untouched.check("dry run with the flag");
}

/// `lnraid <args>` on a pseudo-terminal (util-linux `script`), typing `typed` once the prompt
/// is on the screen (typed earlier, a pty's input may not survive until lnraid reads it).
fn run_at_terminal(args: &[String], typed: &str, failpoint: &str, log: &Path) -> Option<Output> {
    let script = lnraid::host::find_program("script")?;
    let _ = fs::remove_file(log);
    let q = |s: &str| lnraid::exec::shell_quote(s);
    let line: Vec<String> = std::iter::once(env!("CARGO_BIN_EXE_lnraid").to_string())
        .chain(args.iter().cloned())
        .map(|a| q(&a))
        .collect();
    let log_q = q(log.to_str().unwrap());
    let keyboard = format!(
        "(until grep -q 'press Enter' {log_q} 2>/dev/null; do sleep 0.2; done; printf %s {}) | {} -q -f -e -c {} {log_q}",
        q(typed),
        q(script.to_str().unwrap()),
        q(&line.join(" ")),
    );
    let cmd = Cmd::mutating("sh", ["-c", keyboard.as_str()])
        .env("LNRAID_FAILPOINT", failpoint)
        .timeout(std::time::Duration::from_secs(60));
    let out = RealRunner.output(&cmd);
    Some(out.unwrap_or_else(|e| panic!("{e}\n{}", fs::read_to_string(log).unwrap_or_default())))
}

#[test]
fn a_single_y_at_a_terminal_erases_nothing() {
    let _lock = device_test!("a_single_y_at_a_terminal_erases_nothing");
    let env = Env::small("pf-confirm");
    let untouched = Untouched::record(&env, &[]);
    let args = env.setup_args(&[]);
    for typed in ["y\n", "yes\n", "Y\n"] {
        let Some(out) = run_at_terminal(&args, typed, "none", &env.tmp.path().join("typescript"))
        else {
            println!("SKIPPED: a_single_y_at_a_terminal_erases_nothing: util-linux script is not installed");
            return;
        };
        let said = format!("{}{}", out.stdout, out.stderr);
        assert!(
            said.contains("type for each disk"),
            "{typed:?}: no prompt: {said}"
        );
        assert!(
            said.contains("not confirmed; nothing was changed"),
            "{typed:?}: {said}"
        );
        untouched.check(typed);
    }
    // The words the prompt asks for (loop devices have no serial: their names) do confirm;
    // the failpoint stops the run right after mkfs.
    let names = format!(
        "{} {}\n",
        env.a.path.trim_start_matches("/dev/"),
        env.b.path.trim_start_matches("/dev/")
    );
    let out = run_at_terminal(&args, &names, "mkfs", &env.tmp.path().join("typescript")).unwrap();
    let said = format!("{}{}", out.stdout, out.stderr);
    assert!(!said.contains("not confirmed"), "{said}");
    assert_ne!(
        blkid(&[&env.a.path]),
        untouched.before[..1],
        "mkfs did not run: {said}"
    );
}

/// The loop check is part of every re-check, not only of preflight: setup on two loop devices
/// whose backing files sit on private tmpfs mounts (no shared disk, not DIR's filesystem: no
/// rehearsal consent needed) is killed after `wipe`; then `/dev/loopN` of member a is
/// re-pointed (`losetup` on the same device) at a file on DIR's filesystem. The resumed `mkfs`
/// step re-proves its targets and refuses, naming the loop refusal; nothing is formatted.
#[test]
fn a_loop_target_repointed_before_resume_is_refused() {
    let _lock = device_test!("a_loop_target_repointed_before_resume_is_refused");
    let env = Env::small("pf-loop-resume");
    // Declared before the loop devices: dropped (unmounted) after they are detached.
    let ta = rec::Tmpfs::new(&env.tmp.path().join("media-a"), "size=1100m");
    let tb = rec::Tmpfs::new(&env.tmp.path().join("media-b"), "size=1100m");
    let a = LoopDev::new(&ta.0.dir, "a", "1G", false);
    let b = LoopDev::new(&tb.0.dir, "b", "1G", false);
    let mut args: Vec<String> = env
        .setup_args(&["--wipe", "--yes", "--fs-uuid", &env.uuid])
        .into_iter()
        .filter(|x| x != "--allow-loop-on-shared-disk")
        .collect();
    for (old, new) in [(&env.a.path, &a.path), (&env.b.path, &b.path)] {
        let i = args.iter().position(|x| x == old).unwrap();
        args[i] = new.clone();
    }
    let killed = RealRunner
        .output(
            &Cmd::mutating(
                env!("CARGO_BIN_EXE_lnraid"),
                args.iter().map(String::as_str),
            )
            .env("LNRAID_FAILPOINT", "wipe"),
        )
        .unwrap();
    assert_eq!(
        killed.status,
        ExitStatus::Signal(9),
        "setup without consent passes preflight here: {}{}",
        killed.stdout,
        killed.stderr
    );
    // Same /dev/loopN, now backed by a blank file beside the node directory.
    let on_dir_fs = env.tmp.path().join("repointed.img");
    sh("losetup", &["-d", &a.path]);
    sh("truncate", &["-s", "1G", on_dir_fs.to_str().unwrap()]);
    sh("losetup", &[&a.path, on_dir_fs.to_str().unwrap()]);
    let before = blkid(&[&a.path, &b.path]);
    let mut resume = vec!["setup".to_string(), "--resume".into(), "--yes".into()];
    resume.extend(env.host_args());
    let out = run(&resume, false);
    assert!(!out.status.success(), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("lives on the same filesystem as")
            && out.stderr.contains("nothing was destroyed"),
        "the re-check names the loop refusal: {}",
        out.stderr
    );
    assert_eq!(blkid(&[&a.path, &b.path]), before, "nothing was formatted");
    drop((a, b));
    drop((ta, tb));
}
