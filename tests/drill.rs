//! `lnraid drill` as an operator runs it (root; visible SKIPPED otherwise): the whole story on
//! loop devices — setup → a member dies → status critical → recover verified → replace → all
//! RAID1, scrub clean, data equal — with the per-step table and a verdict; and interrupted by
//! SIGINT at pseudo-random moments (to the drill alone, and to its whole process group as
//! Ctrl-C in a terminal does), after which no loop device, mount or temp dir of it remains.
//!
//! Each drill runs with TMPDIR set to this test's own `lnraid-test-` dir, so its workspace,
//! backing files and mountpoint all lie inside it and the leftover checks see exactly its
//! traces (and the shared sweep in tests/common recognizes them if the test itself crashes).

mod common;

use std::fs;
use std::path::Path;

use common::tempdir;
use lnraid::exec::{Cmd, ExitStatus, Output, RealRunner, Runner};

const STEPS: [&str; 9] = [
    "prepare",
    "setup",
    "member fails",
    "status critical",
    "recover",
    "replace",
    "full redundancy",
    "scrub clean",
    "data equal",
];

/// Everything of the drill still on the machine: loop devices backed by a file under `root`,
/// mounts under `root`, entries in `root`.
fn leftovers(root: &Path) -> Vec<String> {
    let mut left = Vec::new();
    for e in fs::read_dir("/sys/block").into_iter().flatten().flatten() {
        let backing = fs::read_to_string(e.path().join("loop/backing_file")).unwrap_or_default();
        if Path::new(backing.trim()).starts_with(root) {
            left.push(format!(
                "loop device {:?} over {}",
                e.file_name(),
                backing.trim()
            ));
        }
    }
    let root_s = root.to_str().unwrap();
    for l in fs::read_to_string("/proc/self/mountinfo").unwrap().lines() {
        if l.split(' ').nth(4).is_some_and(|mp| mp.starts_with(root_s)) {
            left.push(format!("mount {l}"));
        }
    }
    for e in fs::read_dir(root).unwrap().flatten() {
        left.push(format!("temp entry {}", e.path().display()));
    }
    left
}

fn drill_in(tmp: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["drill"];
    args.extend_from_slice(extra);
    RealRunner
        .output(
            &Cmd::mutating(env!("CARGO_BIN_EXE_lnraid"), args).env("TMPDIR", tmp.to_str().unwrap()),
        )
        .unwrap()
}

#[test]
fn drill_passes_and_prints_the_step_table() {
    let _lock = device_test!("drill_passes_and_prints_the_step_table");
    let tmp = tempdir();
    let out = drill_in(tmp.path(), &[]);
    println!("{}", out.stdout);
    common::assert_ok(&out);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()[..]
                == ["step", "result", "time", "detail"]),
        "no table header:\n{}",
        out.stdout
    );
    for step in STEPS {
        let row = lines
            .iter()
            .find(|l| l.trim_start().starts_with(&format!("{step} ")))
            .unwrap_or_else(|| panic!("no row for {step}:\n{}", out.stdout));
        let rest: Vec<&str> = row.trim_start()[step.len()..].split_whitespace().collect();
        assert_eq!(rest[0], "ok", "{row}");
        let secs = rest[1].strip_suffix('s').unwrap_or_else(|| panic!("{row}"));
        assert!(secs.parse::<f64>().is_ok(), "duration in {row}");
    }
    assert!(out.stdout.contains("verdict: PASSED in "), "{}", out.stdout);
    assert_eq!(leftovers(tmp.path()), Vec::<String>::new());
}

#[test]
fn drill_interrupted_at_random_moments_leaves_nothing_behind() {
    let _lock = device_test!("drill_interrupted_at_random_moments_leaves_nothing_behind");
    let tmp = tempdir();
    // Pseudo-random delays across the drill's run (xorshift seeded by the clock), printed
    // so a failure can be replayed.
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64
        | 1;
    // The drill's length depends on the machine's load: time one whole run first and draw the
    // moments from its first 80 %, so every run is interrupted mid-way on a quiet machine too.
    let started = std::time::Instant::now();
    let base = RealRunner
        .output(
            &Cmd::mutating(env!("CARGO_BIN_EXE_lnraid"), ["drill"])
                .env("TMPDIR", tmp.path().to_str().unwrap()),
        )
        .unwrap();
    assert!(
        base.status.success(),
        "baseline drill failed:\n{}\n{}",
        base.stdout,
        base.stderr
    );
    let span = (started.elapsed().as_secs_f64() * 0.8 - 0.3).max(0.2);
    assert_eq!(leftovers(tmp.path()), Vec::<String>::new());
    let mut interrupted = 0;
    let runs = 5;
    for i in 0..runs {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = 0.3 + (seed % 1000) as f64 / 1000.0 * span;
        // Odd runs signal the whole process group (Ctrl-C in a terminal also reaches the
        // lnraid command the drill is running), even runs only the drill.
        let target = if i % 2 == 1 { "-$p" } else { "$p" };
        let keep = if i == runs - 1 { " --keep" } else { "" };
        let script = format!(
            "set -m; \"$0\" drill{keep} & p=$!; sleep {delay:.3}; kill -INT -- {target}; wait $p; echo \"exit=$?\""
        );
        let out = RealRunner
            .output(
                &Cmd::mutating("bash", ["-c", &script, env!("CARGO_BIN_EXE_lnraid")])
                    .env("TMPDIR", tmp.path().to_str().unwrap()),
            )
            .unwrap();
        let code = out.stdout.lines().last().unwrap_or_default().to_string();
        println!("run {i}: SIGINT to {target} after {delay:.3}s{keep}: {code}");
        assert!(
            code == "exit=130" || code == "exit=0",
            "run {i}: {}\n{}",
            out.stdout,
            out.stderr
        );
        if code == "exit=130" {
            interrupted += 1;
            assert!(
                out.stdout.contains("verdict: INTERRUPTED"),
                "{}",
                out.stdout
            );
        }
        let mut left = leftovers(tmp.path());
        if !keep.is_empty() {
            // --keep leaves the workspace, but nothing attached or mounted from it.
            left.retain(|l| !l.starts_with("temp entry "));
            for e in fs::read_dir(tmp.path()).unwrap().flatten() {
                let _ = RealRunner.output(&Cmd::mutating(
                    "chattr",
                    ["-i", e.path().join("mnt").to_str().unwrap()],
                ));
                fs::remove_dir_all(e.path()).unwrap();
            }
        }
        assert_eq!(
            left,
            Vec::<String>::new(),
            "run {i}:\n{}\n{}",
            out.stdout,
            out.stderr
        );
    }
    assert!(
        interrupted >= 3,
        "only {interrupted} of {runs} runs were interrupted mid-way"
    );
}

#[test]
fn drill_refuses_where_it_cannot_run_and_says_why() {
    // mdadm: this kernel has no md driver; the drill must say so and touch nothing.
    if Path::new("/proc/mdstat").exists() {
        println!(
            "SKIPPED: drill_refuses (mdadm part): this kernel has md; the mdadm drill would run"
        );
    } else {
        let tmp = tempdir();
        let out = drill_in(tmp.path(), &["--backend", "mdadm"]);
        assert_eq!(
            out.status,
            ExitStatus::Code(3),
            "{}{}",
            out.stdout,
            out.stderr
        );
        assert!(out.stderr.contains("no md driver"), "{}", out.stderr);
        assert_eq!(leftovers(tmp.path()), Vec::<String>::new());
    }
    // Not root: refused before anything is created (setpriv drops to nobody).
    if !nix::unistd::Uid::effective().is_root() || lnraid::host::find_program("setpriv").is_none() {
        println!(
            "SKIPPED: drill_refuses (non-root part): needs root and setpriv to drop privileges"
        );
        return;
    }
    let tmp = tempdir();
    fs::set_permissions(
        tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let out = RealRunner
        .output(
            &Cmd::read_only(
                "setpriv",
                [
                    "--reuid=65534",
                    "--regid=65534",
                    "--clear-groups",
                    env!("CARGO_BIN_EXE_lnraid"),
                    "drill",
                ],
            )
            .env("TMPDIR", tmp.path().to_str().unwrap()),
        )
        .unwrap();
    if out.stderr.contains("Permission denied") && !out.stderr.contains("lnraid") {
        println!(
            "SKIPPED: drill_refuses (non-root part): nobody cannot execute the test binary here"
        );
        return;
    }
    assert_eq!(
        out.status,
        ExitStatus::Code(3),
        "{}{}",
        out.stdout,
        out.stderr
    );
    assert!(
        out.stderr.contains("the drill needs root"),
        "{}",
        out.stderr
    );
    assert_eq!(leftovers(tmp.path()), Vec::<String>::new());
}
