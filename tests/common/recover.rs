//! The arrange steps the recover loop tests share (tests/loop_recover.rs,
//! tests/loop_recover_stale.rs): run `lnraid recover` on a test array with its lock and state
//! dirs, kill a member, list recover's temporary mountpoints left behind, a private tmpfs as
//! small destination media. Uses `array::Env`; include with `#[path = "common/recover.rs"]`.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

use super::array::Env;
use super::common::{lnraid, sh, Mounted};
use lnraid::exec::Output;

pub fn state(env: &Env) -> PathBuf {
    env.tmp.path().join("state")
}

/// `lnraid recover --lock-dir .. --state-dir .. EXTRA` on `env`'s array.
pub fn recover(env: &Env, extra: &[&str]) -> Output {
    let lock = env.tmp.path().join("lock");
    let st = state(env);
    let mut args = vec![
        "recover",
        "--lock-dir",
        lock.to_str().unwrap(),
        "--state-dir",
        st.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    lnraid(&args)
}

/// Unmounts the array and detaches member b: a dead disk.
pub fn fail_b(env: &mut Env) {
    sh("umount", &[env.mp.to_str().unwrap()]);
    env.b.detach();
}

/// Temporary mountpoints lnraid left (there must be none after any run).
pub fn leftover_mountpoints() -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir("/run/lnraid")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("recover-"))
        .collect();
    v.extend(
        fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .lines()
            .filter(|l| l.contains("/run/lnraid/recover-"))
            .map(String::from),
    );
    v
}

pub fn out_of(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status, o.stdout, o.stderr
    )
}

/// A tmpfs of our own, unmounted on drop.
pub struct Tmpfs(pub Mounted);

impl Tmpfs {
    pub fn new(dir: &Path, opts: &str) -> Tmpfs {
        fs::create_dir_all(dir).unwrap();
        sh(
            "mount",
            &[
                "-t",
                "tmpfs",
                "-o",
                opts,
                "lnraid-test-tmpfs",
                dir.to_str().unwrap(),
            ],
        );
        Tmpfs(Mounted {
            dir: dir.to_path_buf(),
        })
    }
}
