//! The VM tier: the lnraid binary under test, inside a qemu VM that boots a Debian kernel with
//! md (this host's kernel has none), against real mdadm, one boot per scenario
//! (scripts/vm/lnraid/*.sh, driven by scripts/vm/test).
//!
//! Each scenario prints every step's duration and judges its own result; the verdict comes
//! back through a per-run token in the serial log, so a scenario cannot fake a pass. Without
//! qemu, root or the VM cache (scripts/vm/setup; .ci/run runs it) the tier prints a visible
//! `SKIPPED:` line on stderr, written past the test harness's capture.
//! Invariant: touches no host device — the guest's disks are sparse files in a private temp dir.

#[path = "common/schema.rs"]
mod schema;

use lnraid::exec::{Cmd, RealRunner, Runner};
use std::io::Write;
use std::path::Path;

/// Writes straight to the process's stderr: libtest captures `eprintln!` of passing tests,
/// and a skipped tier or a scenario's duration must be seen.
fn say(text: &str) {
    let mut err = std::io::stderr();
    let _ = err.write_all(text.as_bytes());
    let _ = err.flush();
}

fn scenarios(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read scripts/vm/lnraid")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sh") && n.starts_with(|c: char| c.is_ascii_digit()))
        .map(|n| n.trim_end_matches(".sh").to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn vm_mdadm_scenarios() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = root.join("scripts/vm/test");
    let names = scenarios(&root.join("scripts/vm/lnraid"));
    assert!(!names.is_empty(), "no VM scenarios found");
    let keep = tempfile::Builder::new()
        .prefix("lnraid-test-vm-")
        .tempdir()
        .expect("tempdir");
    let keep_dir = keep.path().to_str().unwrap().to_string();
    let mut failed = Vec::new();
    for name in &names {
        let cmd = Cmd::read_only(
            script.to_str().unwrap(),
            [
                "--bin",
                env!("CARGO_BIN_EXE_lnraid"),
                "--keep-out",
                &keep_dir,
                name.as_str(),
            ],
        )
        // One boot per scenario; qemu itself runs under `timeout` in scripts/vm/run.
        .untimed();
        let out = RealRunner.output(&cmd).expect("run scripts/vm/test");
        if out.stdout.starts_with("SKIPPED:") {
            say(&out.stdout);
            return;
        }
        let verdict = out
            .stdout
            .lines()
            .find(|l| l.starts_with("vm-test: PASS") || l.starts_with("vm-test: FAIL"))
            .unwrap_or("vm-test: no verdict line")
            .to_string();
        say(&format!("{verdict}\n"));
        if !out.status.success() {
            say(&format!("{}{}", out.stdout, out.stderr));
            failed.push(name.clone());
        }
    }
    assert!(failed.is_empty(), "VM scenarios failed: {failed:?}");
    // `status --json` of md arrays, captured in the guest, against the schema btrfs uses.
    let docs = status_docs(keep.path());
    assert!(
        docs.iter().any(|d| d["arrays"][0]["backend"] == "md"),
        "no md status document came back from the VM"
    );
    if schema::validate("status", &docs) {
        say(&format!(
            "vm: {} md status documents match schemas/status.schema.json\n",
            docs.len()
        ));
    }
}

/// Every `status*.json` the scenarios left in /out.
fn status_docs(dir: &Path) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for scenario in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        for f in std::fs::read_dir(scenario.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let n = f.file_name().to_string_lossy().into_owned();
            if n.starts_with("status") && n.ends_with(".json") {
                let text = std::fs::read_to_string(f.path()).unwrap();
                out.push(
                    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{n}: {e}\n{text}")),
                );
            }
        }
    }
    out
}
