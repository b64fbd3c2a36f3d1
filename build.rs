//! Build script: records the git revision lnraid was built from (`lnraid --version`), so an
//! operator's bug report names the exact code. Outside a git checkout (a crates.io or source
//! tarball build) `LNRAID_GIT_REV` may supply it; otherwise it says "unknown". Never fails the
//! build.

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-env-changed=LNRAID_GIT_REV");
    let rev = std::env::var("LNRAID_GIT_REV")
        .ok()
        .filter(|r| !r.trim().is_empty())
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown, not built from a git checkout".to_string());
    println!("cargo:rustc-env=LNRAID_GIT_REV={}", rev.trim());
    // Rebuild when HEAD moves: HEAD itself (a checkout) and the branch it points to (a commit).
    // `--git-path` resolves both inside a worktree, whose `.git` is a file.
    for name in ["HEAD", "packed-refs"] {
        watch(git(&["rev-parse", "--git-path", name]));
    }
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watch(git(&["rev-parse", "--git-path", branch.trim()]));
    }
}

fn watch(path: Option<String>) {
    if let Some(p) = path {
        if Path::new(p.trim()).exists() {
            println!("cargo:rerun-if-changed={}", p.trim());
        }
    }
}

// A build script runs at compile time, outside lnraid: exec::Runner (the rule behind the ban) is
// not available here, and `git` is the only command.
#[allow(clippy::disallowed_methods)]
fn git(args: &[&str]) -> Option<String> {
    let out = std::process::Command::new("git").args(args).output().ok()?;
    let s = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !s.trim().is_empty()).then_some(s)
}
