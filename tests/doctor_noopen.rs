//! `doctor` never opens the live database or the `--wallet` replica with SQLite while
//! lightningd runs (lightning#5380: a viewer on the replica crashed lightningd).
//!
//! Method: run doctor (and every process it starts: `strace -f`) under strace with `-y`, which
//! names the file behind every descriptor, while a fake `lightningd` (a process named
//! lightningd using the directory) runs. Then, for the database and the replica: every open
//! is read-only, at most 100 bytes are read per open, no POSIX/OFD lock (`fcntl F_SETLK*`) or
//! `flock` is taken, nothing is mapped, and their `-journal`/`-wal`/`-shm` are never opened.
//! SQLite cannot open a database without taking a lock and reading past the header (it reads
//! page 1 whole), so this is sound where inotify is not (inotify cannot tell who opened a
//! file or how much was read, and chmod 000 does not stop root). A control run of the
//! `sqlite3` shell on the same file must be flagged by the same analysis: the test can fail.

mod doctor_kit;

use std::path::Path;

use doctor_kit::{make_db, severity, summary, Node};
use lnraid::exec::{Cmd, RealRunner, Runner};

/// What a trace shows about `file`: the violations, if any.
fn violations(trace: &str, file: &Path) -> Vec<String> {
    let f = file.display().to_string();
    let fd_tag = format!("<{f}>");
    let mut out = Vec::new();
    let mut read_bytes: i64 = 0;
    let mut opens = 0;
    for line in trace.lines() {
        for sib in ["-journal", "-wal", "-shm"] {
            if line.contains("open")
                && line.contains(&format!("\"{f}{sib}\""))
                && !line.contains("= -1")
            {
                out.push(format!("opened {f}{sib}: {line}"));
            }
        }
        let opens_it = (line.contains("openat(") || line.contains("open("))
            && line.contains(&format!("\"{f}\""));
        if opens_it && !line.contains("= -1") {
            opens += 1;
            if line.contains("O_RDWR") || line.contains("O_WRONLY") || line.contains("O_CREAT") {
                out.push(format!("opened for writing: {line}"));
            }
        }
        if !line.contains(&fd_tag) {
            continue;
        }
        let call = line.split_whitespace().nth(1).unwrap_or("");
        if call.starts_with("read(") || call.starts_with("pread64(") {
            let ret = line
                .rsplit("= ")
                .next()
                .and_then(|r| r.split_whitespace().next())
                .and_then(|r| r.parse::<i64>().ok())
                .unwrap_or(0);
            read_bytes += ret.max(0);
        }
        if call.starts_with("fcntl(") && (line.contains("F_SETLK") || line.contains("F_OFD_SETLK"))
        {
            out.push(format!("locked: {line}"));
        }
        if call.starts_with("flock(") || call.starts_with("mmap(") {
            out.push(format!("{}: {line}", call.split('(').next().unwrap()));
        }
    }
    if read_bytes > 100 * opens.max(1) {
        out.push(format!("read {read_bytes} bytes of {f} over {opens} opens (more than the 100-byte header each)"));
    }
    out
}

fn strace(args: &[String], cmd: Cmd, log: &Path) -> lnraid::exec::Output {
    let mut a: Vec<String> = [
        "-f",
        "-qq",
        "-y",
        "-s",
        "256",
        "-e",
        "trace=open,openat,read,pread64,fcntl,flock,mmap",
        "-o",
    ]
    .map(String::from)
    .to_vec();
    a.push(log.display().to_string());
    a.push("--".into());
    a.push(cmd.program.clone());
    a.extend(cmd.args.iter().cloned());
    a.extend(args.iter().cloned());
    let mut c = Cmd::read_only("strace", a);
    c.env = cmd.env.clone();
    RealRunner.output(&c).expect("strace runs")
}

#[test]
fn doctor_reads_only_headers_while_lightningd_runs() {
    if lnraid::host::find_program("strace").is_none() {
        println!("SKIPPED: doctor_reads_only_headers_while_lightningd_runs: strace is not installed (apt-get install strace)");
        return;
    }
    let n = Node::new();
    let rdir = n.mkdir("replica");
    let replica = rdir.join("lightningd.sqlite3");
    make_db(&replica, false);
    // A hot journal beside each: SQLite would open it to roll back.
    std::fs::write(format!("{}-journal", n.db().display()), b"").unwrap();
    let wallet = format!(
        "--wallet=sqlite3://{}:{}",
        n.db().display(),
        replica.display()
    );
    let base = format!("--lightning-dir={}", n.base.display());
    let _lightningd = n.fake_lightningd(&[&base, "--network=regtest", &wallet]);
    let log = n.tmp.path().join("doctor.trace");
    let dir = n.dir.display().to_string();
    let cmd = n.lnraid_cmd(&["doctor", "--json", "--lightning-dir", &dir]);
    let out = strace(&[], cmd, &log);
    if out.stderr.contains("PTRACE") || out.stderr.contains("Operation not permitted") {
        println!("SKIPPED: doctor_reads_only_headers_while_lightningd_runs: ptrace not permitted here: {}", out.stderr.trim());
        return;
    }
    let doc: serde_json::Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {} {}", out.stdout, out.stderr));
    assert_eq!(
        doc["discovery"]["lightningd_pids"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "{doc:#}"
    );
    // Doctor did look at both files (their headers), so the trace covers real reads.
    assert_eq!(
        severity(&doc, "wallet_replica", "replica_header"),
        "ok",
        "{}",
        summary(&doc)
    );
    let trace = std::fs::read_to_string(&log).unwrap();
    for f in [n.db(), replica.clone()] {
        assert!(
            trace.contains(&format!("\"{}\"", f.display())),
            "doctor never opened {}: the trace is not looking at the right thing",
            f.display()
        );
        let v = violations(&trace, &f);
        assert!(
            v.is_empty(),
            "doctor touched {} beyond its header:\n{}",
            f.display(),
            v.join("\n")
        );
    }

    // Control: the sqlite3 shell on the replica must be caught by the same analysis.
    if lnraid::host::find_program("sqlite3").is_none() {
        println!("SKIPPED: control run: sqlite3 shell not installed");
        return;
    }
    let clog = n.tmp.path().join("sqlite3.trace");
    let r = replica.display().to_string();
    strace(
        &[r, "SELECT count(*) FROM channels".into()],
        Cmd::read_only("sqlite3", Vec::<String>::new()),
        &clog,
    );
    let v = violations(&std::fs::read_to_string(&clog).unwrap(), &replica);
    assert!(
        v.iter().any(|x| x.starts_with("locked:")),
        "the analysis did not notice sqlite3 locking the replica: {v:?}"
    );
}
