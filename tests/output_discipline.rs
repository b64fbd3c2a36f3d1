//! Output discipline, checked on the source and on the binary: diagnostics go through
//! `tracing` (so -q silences them and LNRAID_LOG filters them), never a direct `eprintln!`
//! in the command code or the executor (src/walk); results stay on stdout; no colour codes
//! without a terminal. (ui/confirm.rs prompts on stderr by design: a prompt must show.)

mod common;

use std::fs;
use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn command_code_writes_diagnostics_through_tracing_only() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src/app"), &mut files);
    rust_files(&root.join("src/walk"), &mut files);
    files.push(root.join("src/alert.rs"));
    files.push(root.join("src/ui/progress.rs"));
    assert!(files.len() > 20, "{files:?}");
    let mut direct = Vec::new();
    for f in files.iter().filter(|f| f.exists()) {
        let text = fs::read_to_string(f).unwrap();
        // Test modules may print what they like.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for (i, line) in code.lines().enumerate() {
            let l = line.trim_start();
            if !l.starts_with("//") && (l.contains("eprintln!(") || l.contains("eprint!(")) {
                direct.push(format!(
                    "{}:{}: {}",
                    f.strip_prefix(root).unwrap().display(),
                    i + 1,
                    l
                ));
            }
        }
    }
    assert!(
        direct.is_empty(),
        "direct stderr writes bypass -q and LNRAID_LOG; use tracing::info!/warn!/error!:\n{}",
        direct.join("\n")
    );
}

#[test]
fn quiet_leaves_only_errors_and_no_colour_when_redirected() {
    // An error still shows under -q, without escape codes (stderr is a pipe here).
    let out = common::lnraid(&[
        "-q",
        "devices",
        "--lightning-dir",
        "/nonexistent/lnraid-test",
    ]);
    assert!(!out.status.success());
    assert!(out.stderr.starts_with("lnraid: error: "), "{}", out.stderr);
    assert!(!out.stderr.contains('\x1b'), "{:?}", out.stderr);
    // LNRAID_LOG=debug shows every command run, uncoloured.
    let out = lnraid::exec::Runner::output(
        &lnraid::exec::RealRunner,
        &lnraid::exec::Cmd::read_only(env!("CARGO_BIN_EXE_lnraid"), ["devices", "--json"])
            .env("LNRAID_LOG", "debug"),
    )
    .unwrap();
    assert!(
        out.stderr.contains("lnraid: debug: running"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains('\x1b'), "{:?}", out.stderr);
    assert!(
        out.stdout.trim_start().starts_with('{'),
        "results stay on stdout: {}",
        out.stdout
    );
    // -q: the same run says nothing on stderr but still prints the document.
    let out = lnraid::exec::Runner::output(
        &lnraid::exec::RealRunner,
        &lnraid::exec::Cmd::read_only(env!("CARGO_BIN_EXE_lnraid"), ["-q", "devices", "--json"]),
    )
    .unwrap();
    assert_eq!(out.stderr, "", "-q printed diagnostics");
    assert!(out.stdout.trim_start().starts_with('{'));
}
