//! `scripts/package` builds the Debian package an operator installs: this test builds it (from
//! the binary cargo built for the tests, so it needs no release build), then checks the archive
//! (`dpkg-deb -c`, `-f`), installs it into a scratch root (`dpkg -x`), runs the installed
//! binary, renders every man page with `man -l` (groff warnings on), and loads the bash
//! completion with bash-completion and completes a subcommand and a flag with it. SKIPPED
//! (visibly) where dpkg-deb, man or bash-completion are missing.

mod common;

use std::fs;
use std::path::Path;

use clap::CommandFactory;
use lnraid::exec::{Cmd, Output, RealRunner, Runner};

fn run(program: &str, args: &[&str]) -> Output {
    let out = RealRunner
        .output(&Cmd::mutating(program, args.iter().copied()))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}\n{}",
        out.stdout,
        out.stderr
    );
    out
}

fn unavailable() -> Option<String> {
    for tool in ["dpkg-deb", "dpkg", "man", "jq", "strip", "objdump", "bash"] {
        if lnraid::host::find_program(tool).is_none() {
            return Some(format!("{tool} is not installed (scripts/install-deps)"));
        }
    }
    if !Path::new("/usr/share/bash-completion/bash_completion").exists() {
        return Some("bash-completion is not installed".into());
    }
    None
}

/// Man page names for lnraid and every visible subcommand: lnraid, lnraid-setup,
/// lnraid-schedule-install...
fn expected_pages() -> Vec<String> {
    fn walk(c: &clap::Command, name: &str, out: &mut Vec<String>) {
        out.push(name.to_string());
        for s in c.get_subcommands().filter(|s| !s.is_hide_set()) {
            walk(s, &format!("{name}-{}", s.get_name()), out);
        }
    }
    let mut out = Vec::new();
    walk(&lnraid::cli::Cli::command(), "lnraid", &mut out);
    out
}

#[test]
fn package_builds_installs_and_its_docs_work() {
    if let Some(why) = unavailable() {
        println!("SKIPPED: package_builds_installs_and_its_docs_work: {why}");
        return;
    }
    let tmp = common::tempdir();
    let out_dir = tmp.path().join("out");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/package");
    let built = run(
        script,
        &[
            "--binary",
            env!("CARGO_BIN_EXE_lnraid"),
            "--out",
            out_dir.to_str().unwrap(),
        ],
    );
    let arch = run("dpkg", &["--print-architecture"])
        .stdout
        .trim()
        .to_string();
    let version = env!("CARGO_PKG_VERSION");
    let deb = out_dir.join(format!("lnraid_{version}_{arch}.deb"));
    assert_eq!(built.stdout.trim(), deb.to_str().unwrap());
    let deb_s = deb.to_str().unwrap();

    // Control fields.
    let field = |f: &str| run("dpkg-deb", &["-f", deb_s, f]).stdout.trim().to_string();
    assert_eq!(field("Package"), "lnraid");
    assert_eq!(field("Version"), version);
    assert_eq!(field("Architecture"), arch);
    let depends = field("Depends");
    for dep in ["btrfs-progs", "util-linux", "e2fsprogs", "libc6 (>= "] {
        assert!(depends.contains(dep), "Depends: {depends}");
    }
    assert!(field("Recommends").contains("mdadm"));

    // Contents.
    let listing = run("dpkg-deb", &["-c", deb_s]).stdout;
    let files: Vec<&str> = listing
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .collect();
    let pages = expected_pages();
    assert!(pages.len() >= 13, "{pages:?}");
    let mut want: Vec<String> = pages
        .iter()
        .map(|p| format!("./usr/share/man/man8/{p}.8.gz"))
        .collect();
    want.extend(
        [
            "./usr/sbin/lnraid",
            "./usr/share/bash-completion/completions/lnraid",
            "./usr/share/zsh/vendor-completions/_lnraid",
            "./usr/share/fish/vendor_completions.d/lnraid.fish",
            "./usr/share/doc/lnraid/README.md",
            "./usr/share/doc/lnraid/LICENSE-MIT",
            "./usr/share/doc/lnraid/LICENSE-APACHE",
            "./usr/share/doc/lnraid/copyright",
            "./usr/share/doc/lnraid/examples/lnraid.toml.example",
            "./usr/share/doc/lnraid/examples/grafana/lnraid.json",
        ]
        .map(String::from),
    );
    for w in &want {
        assert!(
            files.contains(&w.as_str()),
            "{w} not in the package:\n{listing}"
        );
    }
    assert!(
        !files.iter().any(|f| f.contains("dev-")),
        "hidden development commands got man pages:\n{listing}"
    );
    for l in listing.lines() {
        assert!(l.contains(" root/root "), "not owned by root: {l}");
    }

    // Install into a scratch root; the binary runs and is stripped.
    let root = tmp.path().join("root");
    run("dpkg", &["-x", deb_s, root.to_str().unwrap()]);
    let bin = root.join("usr/sbin/lnraid");
    let v = run(bin.to_str().unwrap(), &["--version"]).stdout;
    assert!(v.starts_with(&format!("lnraid {version} (git ")), "{v}");
    let sections = run("readelf", &["-S", bin.to_str().unwrap()]).stdout;
    assert!(!sections.contains(".symtab"), "the binary is not stripped");
    let license = fs::read_to_string(root.join("usr/share/doc/lnraid/LICENSE-APACHE")).unwrap();
    assert!(license.contains("Apache License") && license.contains("Version 2.0"));

    // Every man page renders, without groff warnings, with its examples.
    for p in &pages {
        let page = root.join(format!("usr/share/man/man8/{p}.8.gz"));
        let out = RealRunner
            .output(
                &Cmd::read_only("man", ["-l", "--warnings", page.to_str().unwrap()])
                    .env("MANWIDTH", "80")
                    .env("MANPAGER", "cat"),
            )
            .unwrap();
        assert!(out.status.success(), "man -l {p}: {}", out.stderr);
        assert!(
            out.stderr.trim().is_empty(),
            "man -l {p} warned: {}",
            out.stderr
        );
        for section in ["NAME", "SYNOPSIS", "EXAMPLES"] {
            assert!(
                out.stdout.contains(section),
                "{p}: no {section}:\n{}",
                out.stdout
            );
        }
        assert!(
            out.stdout.contains(&format!("{p}(8)")),
            "{p}: not section 8"
        );
    }

    // The bash completion loads and completes a subcommand and a flag.
    let comp = root.join("usr/share/bash-completion/completions/lnraid");
    let script = format!(
        "source /usr/share/bash-completion/bash_completion; source '{}'; complete -p lnraid; \
         COMP_WORDS=(lnraid se); COMP_CWORD=1; _lnraid lnraid se lnraid; echo \"sub: ${{COMPREPLY[*]}}\"; \
         COMP_WORDS=(lnraid drill --ke); COMP_CWORD=2; _lnraid lnraid --ke drill; echo \"flag: ${{COMPREPLY[*]}}\"",
        comp.display()
    );
    let out = run("bash", &["-c", &script]).stdout;
    assert!(
        out.contains("complete -o bashdefault -o default -o nosort -F _lnraid lnraid"),
        "{out}"
    );
    assert!(out.contains("sub: setup"), "{out}");
    assert!(out.contains("flag: --keep"), "{out}");
    // zsh and fish: syntax-checked where installed.
    for (shell, file) in [
        ("zsh", "usr/share/zsh/vendor-completions/_lnraid"),
        ("fish", "usr/share/fish/vendor_completions.d/lnraid.fish"),
    ] {
        match lnraid::host::find_program(shell) {
            Some(_) => {
                run(shell, &["-n", root.join(file).to_str().unwrap()]);
            }
            None => println!("note: {shell} not installed; {file} not syntax-checked"),
        }
    }
}

#[test]
fn example_config_parses_as_lnraid_reads_it() {
    let text = fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/contrib/lnraid.toml.example"
    ))
    .unwrap();
    let plain = lnraid::schedule::config::parse_config(&text)
        .unwrap_or_else(|e| panic!("the example as shipped: {e:?}"));
    assert!(plain.monitor, "{plain:?}");
    // Every commented-out key is a real one: uncommented, the file still parses and sets it.
    let uncommented: String = text
        .lines()
        .map(|l| match l.strip_prefix('#') {
            Some(rest) if rest.contains(" = ") && !rest.starts_with(' ') => rest,
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert_ne!(
        uncommented, text,
        "the example comments out no optional key"
    );
    let full = lnraid::schedule::config::parse_config(&uncommented)
        .unwrap_or_else(|e| panic!("the example with every key set: {e:?}\n{uncommented}"));
    assert!(
        full.scrub_limit.is_some() && full.textfile.is_some() && full.alert_command_file.is_some()
    );
    assert!(full.scheduler.is_some(), "{full:?}");
    lnraid::types::Bytes::parse_size(full.scrub_limit.as_deref().unwrap()).unwrap();
}
