//! The whole story on loop devices (root; visible SKIPPED otherwise), timed step by step:
//! setup → the node writes → a member dies → status critical → recover copies the node out,
//! verified → replace onto a new device → all RAID1, scrub clean, status healthy → the data
//! reads back exactly as written before the failure.

#[path = "common/array.rs"]
mod array;
mod common;
#[path = "common/tree.rs"]
mod tree;

use std::fs;
use std::time::Instant;

use array::Env;
use common::{sh, tempdir, LoopDev};
use lnraid::exec::ExitStatus;
use lnraid::probe::btrfs::df::parse_df;
use lnraid::probe::btrfs::Profile;
use lnraid::testkit::NodeSpec;

struct Clock {
    t: Instant,
    steps: Vec<(String, f64)>,
}

impl Clock {
    fn step(&mut self, name: &str) {
        let s = self.t.elapsed().as_secs_f64();
        println!("drill: {name}: {s:.2}s");
        self.steps.push((name.into(), s));
        self.t = Instant::now();
    }
}

#[test]
fn drill_failure_recover_replace() {
    let _lock = device_test!("drill_failure_recover_replace");
    let mut clock = Clock {
        t: Instant::now(),
        steps: vec![],
    };
    let spare = tempdir();
    let c = LoopDev::new(spare.path(), "c", "1G", false);
    let mut env = Env::with_array(
        "drill",
        NodeSpec {
            db_bytes: 8 << 20,
            gossip_bytes: 4 << 20,
            hot_journal: false,
        },
    );
    clock.step("setup");

    // The node keeps working: new committed state after setup.
    let home = env.mp.join("bitcoin");
    let conn = rusqlite::Connection::open(home.join("lightningd.sqlite3")).unwrap();
    conn.execute(
        "INSERT INTO vars (name, val) VALUES ('drill', 'written after setup')",
        [],
    )
    .unwrap();
    drop(conn);
    fs::write(home.join("emergency.recover"), b"newer emergency.recover").unwrap();
    sh("sync", &[]);
    let written = tree::describe_copyable(&home);
    let before_failure: Vec<(&str, Vec<u8>)> = [
        "lightningd.sqlite3",
        "hsm_secret",
        "emergency.recover",
        "config",
    ]
    .into_iter()
    .map(|f| (f, fs::read(home.join(f)).unwrap()))
    .collect();
    clock.step("node writes");

    let mp = env.mp.to_str().unwrap().to_string();
    sh("umount", &[&mp]);
    env.b.detach();
    clock.step("member b dies");

    let st = env.lnraid_host(&["status", "--json"]);
    assert_eq!(st.status, ExitStatus::Code(2), "{}", st.stdout);
    assert!(st.stdout.contains("devid 2 is missing"), "{}", st.stdout);
    clock.step("status critical");

    let dest = env.tmp.path().join("rescued");
    let lock = env.tmp.path().join("lock");
    let recover = [
        "recover",
        "--to",
        dest.to_str().unwrap(),
        "--device",
        &env.a.path,
        "--lock-dir",
        lock.to_str().unwrap(),
    ];
    let out = env.run(&recover.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    assert_eq!(
        out.status,
        ExitStatus::Code(0),
        "{}{}",
        out.stdout,
        out.stderr
    );
    for (f, bytes) in &before_failure {
        assert_eq!(
            &fs::read(dest.join(f)).unwrap(),
            bytes,
            "{f}: the rescued copy equals what the node wrote"
        );
    }
    assert!(dest.join("MANIFEST").exists());
    let conn = rusqlite::Connection::open_with_flags(
        dest.join("lightningd.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let v: String = conn
        .query_row("SELECT val FROM vars WHERE name='drill'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        v, "written after setup",
        "the rescued database holds the latest committed state"
    );
    drop(conn);
    clock.step("recover");

    let out = env.lnraid_host(&["replace", "--old", "2", "--new", &c.path, "--yes"]);
    assert_eq!(
        out.status,
        ExitStatus::Code(0),
        "{}{}",
        out.stdout,
        out.stderr
    );
    clock.step("replace");

    let df = parse_df(&sh("btrfs", &["filesystem", "df", "--raw", &mp]).stdout).unwrap();
    for g in df
        .groups
        .iter()
        .filter(|g| format!("{:?}", g.kind) != "GlobalReserve")
    {
        assert_eq!(g.profile, Profile::Raid1, "{g:?}");
    }
    let scrub = sh("btrfs", &["scrub", "status", "-R", &mp]).stdout;
    assert!(
        scrub.contains("uncorrectable_errors: 0") && scrub.contains("corrected_errors: 0"),
        "{scrub}"
    );
    let st = env.lnraid_host(&["status", "--json"]);
    assert_eq!(st.status, ExitStatus::Code(0), "{}", st.stdout);
    assert_eq!(
        tree::describe_copyable(&home),
        written,
        "the data reads back as written before the failure"
    );
    clock.step("verified healthy");

    let total: f64 = clock.steps.iter().map(|(_, s)| s).sum();
    println!("drill: total {total:.2}s");
}
