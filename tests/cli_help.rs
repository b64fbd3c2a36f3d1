//! The command line as a new user meets it: every command's --help ends with 2 to 4 real
//! examples, -v/-q sit under their own heading, --version names the git revision and the
//! tool versions, and every size flag rejects a bad size with one usage error (exit 2).

mod common;

use clap::CommandFactory;
use common::lnraid;
use lnraid::exec::{Cmd, ExitStatus, RealRunner, Runner};

/// Every command path, hidden development commands included: `[["devices"], ["schedule",
/// "install"], ...]`.
fn command_paths() -> Vec<Vec<String>> {
    fn walk(c: &clap::Command, prefix: &[String], out: &mut Vec<Vec<String>>) {
        for sub in c.get_subcommands() {
            let mut p = prefix.to_vec();
            p.push(sub.get_name().to_string());
            out.push(p.clone());
            walk(sub, &p, out);
        }
    }
    let mut out = vec![vec![]];
    walk(&lnraid::cli::Cli::command(), &[], &mut out);
    out
}

/// `--verbose`, `--quiet`, ...: every flag declared global on the top-level command.
fn global_flags() -> Vec<String> {
    let flags: Vec<String> = lnraid::cli::Cli::command()
        .get_arguments()
        .filter(|a| a.is_global_set())
        .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
        .collect();
    assert!(flags.contains(&"--verbose".to_string()) && flags.contains(&"--quiet".to_string()));
    flags
}

#[test]
fn every_help_ends_with_examples_and_groups_global_flags() {
    let paths = command_paths();
    assert!(paths.len() >= 14, "{paths:?}");
    for path in paths {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let out = lnraid(&args);
        assert_eq!(out.status, ExitStatus::Code(0), "{args:?}: {}", out.stderr);
        let help = out.stdout;
        let (before, examples) = help
            .rsplit_once("\nExamples:\n")
            .unwrap_or_else(|| panic!("{args:?} --help has no Examples section:\n{help}"));
        let lines: Vec<&str> = examples.lines().filter(|l| !l.trim().is_empty()).collect();
        let invocations = lines.iter().filter(|l| l.starts_with("  lnraid ")).count()
            + lines.iter().filter(|l| l.starts_with("  man ")).count();
        assert!(
            (2..=4).contains(&invocations),
            "{args:?}: {invocations} examples:\n{examples}"
        );
        for l in &lines {
            assert!(
                l.starts_with("  lnraid ") || l.starts_with("  man ") || l.starts_with("      "),
                "{args:?}: an example line that is neither a command nor its continuation: {l:?}"
            );
        }
        // Examples name this command (the top level's may name any).
        if let Some(name) = path.first() {
            assert!(
                lines.iter().any(|l| l.contains(&format!(" {name}"))),
                "{args:?}: no example runs {name}:\n{examples}"
            );
        }
        let (opts, globals) = before
            .split_once("\nGlobal options:\n")
            .unwrap_or_else(|| panic!("{args:?}: no 'Global options' heading:\n{help}"));
        for flag in global_flags() {
            assert!(
                globals.contains(&flag),
                "{args:?}: {flag} not under Global options:\n{globals}"
            );
            assert!(
                !opts.contains(&flag),
                "{args:?}: {flag} listed among the command's own options:\n{opts}"
            );
        }
    }
}

#[test]
fn fstab_is_described_for_what_each_command_does_with_it() {
    let status = lnraid(&["status", "--help"]).stdout;
    assert!(status.contains("The fstab to read"), "{status}");
    let setup = lnraid(&["setup", "--help"]).stdout;
    assert!(
        setup.contains("The fstab to add the array's entry to"),
        "{setup}"
    );
    assert!(!setup.contains("The fstab to read"), "{setup}");
    // --unit-dir only where the command writes units.
    assert!(setup.contains("--unit-dir"), "{setup}");
    for cmd in ["status", "monitor", "replace"] {
        let help = lnraid(&[cmd, "--help"]).stdout;
        assert!(!help.contains("--unit-dir"), "{cmd}: {help}");
    }
    assert!(
        status.contains("Where to read lnraid's records"),
        "{status}"
    );
}

#[test]
fn version_names_the_git_revision_and_the_tools() {
    let out = lnraid(&["--version"]);
    assert_eq!(out.status, ExitStatus::Code(0), "{}", out.stderr);
    let first = out.stdout.lines().next().unwrap_or_default().to_string();
    let pkg = env!("CARGO_PKG_VERSION");
    let head = RealRunner
        .output(&Cmd::read_only(
            "git",
            [
                "-C",
                env!("CARGO_MANIFEST_DIR"),
                "rev-parse",
                "--short=12",
                "HEAD",
            ],
        ))
        .ok()
        .filter(|o| o.status.success())
        .map(|o| o.stdout.trim().to_string());
    match head {
        Some(rev) => assert_eq!(first, format!("lnraid {pkg} (git {rev})")),
        None => {
            println!("note: not a git checkout; checking the fallback wording");
            assert!(first.starts_with(&format!("lnraid {pkg} (git ")), "{first}");
        }
    }
    for tool in ["kernel ", "btrfs-progs ", "mdadm ", "util-linux "] {
        assert!(
            out.stdout.lines().any(|l| l.starts_with(tool)),
            "{tool}missing:\n{}",
            out.stdout
        );
    }
    let kernel = nix::sys::utsname::uname().unwrap();
    assert!(
        out.stdout
            .contains(&format!("kernel {}", kernel.release().to_string_lossy())),
        "{}",
        out.stdout
    );
    if lnraid::host::find_program("btrfs").is_some() {
        assert!(
            out.stdout.lines().any(|l| l.starts_with("btrfs-progs ")
                && l.as_bytes().get(12).is_some_and(u8::is_ascii_digit)),
            "{}",
            out.stdout
        );
    }
}

#[test]
fn every_size_flag_rejects_a_bad_size_the_same_way() {
    let cases: [&[&str]; 5] = [
        &["devices", "--min-size", "1BB"],
        &["maintain", "scrub", "--limit", "1BB"],
        &["schedule", "install", "--monitor", "--scrub-limit", "1BB"],
        &["drill", "--device-size", "1BB"],
        &["dev-gen-node-dir", "/nonexistent/x", "--db-size", "1BB"],
    ];
    for args in cases {
        let out = lnraid(args);
        assert_eq!(out.status, ExitStatus::Code(2), "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains("\"1BB\" is not a size"),
            "{args:?}: {}",
            out.stderr
        );
    }
    // The same text parses where it is a size.
    let out = lnraid(&[
        "devices",
        "--min-size",
        "1GiB",
        "--json",
        "/nonexistent-dev",
    ]);
    assert!(!out.stderr.contains("is not a size"), "{}", out.stderr);
}
