//! `lnraid recover` end to end on real loop devices (root; visible SKIPPED otherwise): an array
//! built by `lnraid setup`, one member detached, the node's files copied off the survivor and
//! verified; refusals; recovery through an existing mount. Every test leaves no mount, no loop
//! device and no temporary mountpoint behind (checked at its end, cleaned in `Drop`).

#[path = "common/array.rs"]
mod array;
mod common;
#[path = "common/recover.rs"]
mod rec;
#[path = "common/tree.rs"]
mod tree;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use array::Env;
use clap::Parser;
use common::{lnraid, mountpoint_dir, sh, tempdir, LoopDev};
use lnraid::exec::{Cmd, ExitStatus, Output, RealRunner, Recorder, Runner};
use lnraid::recover::manifest::{EntryKind, MountKind};
use lnraid::recover::RecoverManifest;
use lnraid::testkit::{NodeSpec, COMMITTED_MARKER};
use rec::leftover_mountpoints;

/// The shared test array (`tests/common/array.rs`: loop devices, `lnraid setup`, a fresh
/// filesystem UUID each, unmounted before detached) plus the node's files as they were before
/// setup moved them, to compare the rescued copies with.
struct Array {
    env: Env,
    /// The original node directory's files: content and mode.
    originals: BTreeMap<String, (Vec<u8>, u32)>,
}

impl std::ops::Deref for Array {
    type Target = Env;
    fn deref(&self) -> &Env {
        &self.env
    }
}

impl std::ops::DerefMut for Array {
    fn deref_mut(&mut self) -> &mut Env {
        &mut self.env
    }
}

impl Array {
    fn new(name: &str, hot_journal: bool) -> Array {
        Array::with(
            name,
            NodeSpec {
                db_bytes: 8 << 20,
                gossip_bytes: 2 << 20,
                hot_journal,
            },
            |_| {},
        )
    }

    /// Like `new`, with `edit` applied to the node directory before setup moves it.
    fn with(name: &str, spec: NodeSpec, edit: impl FnOnce(&Path)) -> Array {
        let env = Env::new(name, spec, "1G");
        edit(&env.dir);
        let mut originals = BTreeMap::new();
        for e in fs::read_dir(&env.dir).unwrap() {
            let e = e.unwrap();
            let m = fs::symlink_metadata(e.path()).unwrap();
            if m.is_file() {
                originals.insert(
                    e.file_name().to_string_lossy().into_owned(),
                    (fs::read(e.path()).unwrap(), m.mode() & 0o7777),
                );
            }
        }
        let out = env.run(&env.setup_args(&["--yes", "--fs-uuid", &env.uuid]));
        assert!(out.status.success(), "setup: {}{}", out.stdout, out.stderr);
        Array { env, originals }
    }

    /// Unmounts the array and detaches member b: a dead disk.
    fn fail_b(&mut self) {
        rec::fail_b(&mut self.env);
    }

    fn dest(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    fn recover(&self, extra: &[&str]) -> Output {
        rec::recover(&self.env, extra)
    }

    fn mounted(&self) -> bool {
        mounted_at(&self.mp)
    }
}

fn mounted_at(p: &Path) -> bool {
    let p = p.to_str().unwrap();
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(p))
}

fn blake3_file(p: &Path) -> String {
    let mut h = blake3::Hasher::new();
    std::io::copy(&mut fs::File::open(p).unwrap(), &mut h).unwrap();
    h.finalize().to_hex().to_string()
}

fn manifest(dest: &Path) -> RecoverManifest {
    RecoverManifest::parse(&fs::read_to_string(dest.join("MANIFEST")).unwrap()).unwrap()
}

/// The copy-out set in DEST equals the originals byte for byte, and the MANIFEST says so.
fn assert_copies_equal(arr: &Array, dest: &Path, expected: &[&str]) {
    let m = manifest(dest);
    let mut names: Vec<String> = fs::read_dir(dest)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    want.push("MANIFEST".into());
    want.sort();
    assert_eq!(names, want, "DEST holds exactly the copy-out set");
    for name in expected {
        let (bytes, mode) = &arr.originals[*name];
        assert_eq!(&fs::read(dest.join(name)).unwrap(), bytes, "{name}");
        let e = m
            .file(name)
            .unwrap_or_else(|| panic!("{name} not in MANIFEST"));
        assert_eq!(e.kind, EntryKind::File);
        assert_eq!(e.size, bytes.len() as u64, "{name}");
        assert_eq!(
            e.blake3.as_deref(),
            Some(blake3::hash(bytes).to_hex().as_str()),
            "{name}"
        );
        let want_mode = if *name == "hsm_secret" { 0o400 } else { *mode };
        assert_eq!(e.mode, format!("{want_mode:04o}"), "{name}");
        assert_eq!(
            fs::metadata(dest.join(name)).unwrap().mode() & 0o7777,
            want_mode,
            "{name}"
        );
    }
    assert_eq!(m.files.len(), expected.len());
    assert_eq!(m.array.fs_uuid.as_str(), arr.uuid);
    assert_eq!(m.source_dir, "bitcoin");
    let db = m.database.as_ref().expect("database checked");
    assert_eq!(db.integrity_check, "ok");
}

/// Commands with the random mountpoint name (chosen when each run makes its plan) replaced by
/// a placeholder, so a dry run and a real run compare.
fn normalized(lines: Vec<String>) -> Vec<String> {
    let re = regex::Regex::new(r"/run/lnraid/recover-[0-9a-f]{12}").unwrap();
    lines
        .into_iter()
        .map(|l| {
            re.replace_all(&l, "/run/lnraid/recover-XXXXXX")
                .into_owned()
        })
        .collect()
}

fn dollar_lines(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.trim_start().strip_prefix("$ "))
        .map(String::from)
        .collect()
}

#[test]
fn recover_from_unmounted_survivor() {
    let _lock = device_test!("recover_from_unmounted_survivor");
    let mut arr = Array::new("rec-a", false);
    arr.fail_b();
    let image = blake3_file(&arr.a.backing);
    let dest = arr.dest("new-media/recovered");

    let dry = arr.recover(&["--to", dest.to_str().unwrap(), "--dry-run"]);
    assert!(dry.status.success(), "{}{}", dry.stdout, dry.stderr);
    assert!(!dest.exists(), "a dry run creates nothing");
    assert!(dry.stdout.contains("nologreplay"), "{}", dry.stdout);
    let planned = normalized(dollar_lines(&dry.stdout));
    assert_eq!(
        planned,
        [
            format!("btrfs device scan {}", arr.a.path),
            format!(
                "mount -t btrfs -o ro,degraded {} /run/lnraid/recover-XXXXXX",
                arr.a.path
            ),
            "umount /run/lnraid/recover-XXXXXX".to_string(),
        ]
    );

    // The real run, in process, every command recorded.
    let lock = arr.tmp.path().join("lock");
    let argv = [
        "lnraid",
        "recover",
        "--to",
        dest.to_str().unwrap(),
        "--lock-dir",
        lock.to_str().unwrap(),
    ];
    let rec = Recorder::new(&RealRunner);
    let code = lnraid::app::run(lnraid::cli::Cli::parse_from(argv), &rec).unwrap();
    assert_eq!(code, 0);
    assert_eq!(
        normalized(rec.mutating_lines()),
        planned,
        "executed mutating commands are exactly the dry run's"
    );

    assert_copies_equal(
        &arr,
        &dest,
        &[
            "lightningd.sqlite3",
            "hsm_secret",
            "emergency.recover",
            "config",
        ],
    );
    let m = manifest(&dest);
    assert_eq!(m.mount.kind, MountKind::Temporary);
    assert_eq!(m.mount.options, "ro,degraded");
    assert_eq!(m.array.missing_devids, vec![2]);
    assert_eq!(m.array.total_devices, Some(2));
    assert_eq!(m.array.survivors.len(), 1);
    assert_eq!(m.array.survivors[0].devid, Some(1));
    assert_eq!(m.array.survivors[0].path, arr.a.path);
    assert!(m.database.as_ref().is_some_and(|d| !d.hot_journal));
    assert_eq!(
        fs::metadata(&dest).unwrap().mode() & 0o777,
        0o700,
        "DEST created private"
    );
    let conn = rusqlite::Connection::open_with_flags(
        dest.join("lightningd.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    drop(conn);

    assert_eq!(
        blake3_file(&arr.a.backing),
        image,
        "the survivor's backing file is byte-identical: nothing was written to it"
    );
    assert!(
        leftover_mountpoints().is_empty(),
        "{:?}",
        leftover_mountpoints()
    );

    // A second run into the same DEST refuses: it already holds the files.
    let again = arr.recover(&["--to", dest.to_str().unwrap()]);
    assert_eq!(again.status, ExitStatus::Code(3), "{}", again.stderr);
    assert!(again.stderr.contains("already holds"), "{}", again.stderr);
    assert_eq!(blake3_file(&arr.a.backing), image);
    assert!(leftover_mountpoints().is_empty());

    // The read-only mount an interrupted (killed) recover would leave: recognized, unmounted
    // and removed before anything else, then the recovery runs as usual.
    let leftover = common::Mounted::new(
        &arr.a.path,
        Path::new("/run/lnraid/recover-leftover-test"),
        &["ro", "degraded"],
    );
    let dest2 = arr.dest("recovered-2");
    let out = arr.recover(&["--to", dest2.to_str().unwrap()]);
    assert!(out.status.success(), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(
            "A killed `lnraid recover` left its read-only mount /run/lnraid/recover-leftover-test"
        ),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("stays mounted"), "{}", out.stdout);
    assert_eq!(manifest(&dest2).mount.kind, MountKind::Temporary);
    assert!(!mounted_at(&leftover.dir) && !leftover.dir.exists());
    std::mem::forget(leftover); // already unmounted and removed by lnraid
    assert_eq!(blake3_file(&arr.a.backing), image);
    assert!(
        leftover_mountpoints().is_empty(),
        "{:?}",
        leftover_mountpoints()
    );
}

#[test]
fn recover_copies_hot_journal_and_opens_to_committed_state() {
    let _lock = device_test!("recover_copies_hot_journal_and_opens_to_committed_state");
    let mut arr = Array::new("rec-b", true);
    arr.fail_b();
    let dest = arr.dest("recovered");
    let out = arr.recover(&[
        "--to",
        dest.to_str().unwrap(),
        "--device",
        &arr.a.path.clone(),
    ]);
    assert!(out.status.success(), "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("hot -journal"), "{}", out.stdout);
    assert_copies_equal(
        &arr,
        &dest,
        &[
            "lightningd.sqlite3",
            "lightningd.sqlite3-journal",
            "hsm_secret",
            "emergency.recover",
            "config",
        ],
    );
    assert!(manifest(&dest).database.unwrap().hot_journal);
    // Opening the copies (in a scratch copy: opening rolls the journal back) gives the
    // committed state, as lightningd would see it on start.
    let scratch = arr.dest("scratch");
    fs::create_dir(&scratch).unwrap();
    for n in ["lightningd.sqlite3", "lightningd.sqlite3-journal"] {
        fs::copy(dest.join(n), scratch.join(n)).unwrap();
    }
    let conn = rusqlite::Connection::open(scratch.join("lightningd.sqlite3")).unwrap();
    let v: String = conn
        .query_row("SELECT val FROM vars WHERE name='lnraid_marker'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(v, COMMITTED_MARKER);
    assert!(leftover_mountpoints().is_empty());
}

#[test]
fn recover_refuses_dest_on_the_array_and_bad_arguments() {
    let _lock = device_test!("recover_refuses_dest_on_the_array_and_bad_arguments");
    let arr = Array::new("rec-c", false);
    let before = tree::describe(&arr.mp);

    // DEST on the (mounted) array itself.
    let on_array = arr.mp.join("recovered");
    let out = arr.recover(&["--to", on_array.to_str().unwrap()]);
    assert_eq!(
        out.status,
        ExitStatus::Code(3),
        "{}{}",
        out.stdout,
        out.stderr
    );
    assert!(out.stderr.contains("on the array itself"), "{}", out.stderr);
    // DEST inside the node directory, through the symlink setup left at $LIGHTNINGDIR.
    let via_link = arr.tmp.path().join("home/.lightning/bitcoin/out");
    let out = arr.recover(&["--to", via_link.to_str().unwrap()]);
    assert_eq!(out.status, ExitStatus::Code(3), "{}", out.stderr);
    assert!(out.stderr.contains("on the array itself"), "{}", out.stderr);

    // A DEST that already holds a file of the set.
    let taken = arr.dest("taken");
    fs::create_dir(&taken).unwrap();
    fs::write(taken.join("hsm_secret"), b"other node").unwrap();
    let out = arr.recover(&["--to", taken.to_str().unwrap()]);
    assert_eq!(out.status, ExitStatus::Code(3), "{}", out.stderr);
    assert!(
        out.stderr.contains("already holds hsm_secret"),
        "{}",
        out.stderr
    );
    assert_eq!(fs::read(taken.join("hsm_secret")).unwrap(), b"other node");

    // --device that is not a btrfs member; --uuid of another filesystem; a path as dir name.
    let tmp2 = tempdir();
    let c = LoopDev::new(tmp2.path(), "c", "64M", false);
    let dest = arr.dest("fresh");
    let out = arr.recover(&["--to", dest.to_str().unwrap(), "--device", &c.path]);
    assert_eq!(out.status, ExitStatus::Code(3), "{}", out.stderr);
    assert!(out.stderr.contains("not a btrfs member"), "{}", out.stderr);
    let out = arr.recover(&[
        "--to",
        dest.to_str().unwrap(),
        "--device",
        &arr.a.path,
        "--uuid",
        "11111111-1111-4111-8111-111111111111",
    ]);
    assert_eq!(out.status, ExitStatus::Code(3), "{}", out.stderr);
    let out = arr.recover(&[
        "--to",
        dest.to_str().unwrap(),
        "--lightning-dir-name",
        "../etc",
    ]);
    assert_eq!(out.status, ExitStatus::Code(3), "{}", out.stderr);
    // A label nobody has: not found is a failure (exit 1), not a refusal.
    let out = arr.recover(&["--to", dest.to_str().unwrap(), "--label", "no-such-label"]);
    assert_eq!(out.status, ExitStatus::Code(1), "{}", out.stderr);
    assert!(
        out.stderr.contains(&arr.uuid),
        "lists what is present: {}",
        out.stderr
    );

    assert!(!dest.exists() && !on_array.exists() && !via_link.exists());
    assert_eq!(tree::describe(&arr.mp), before, "the array is untouched");
    assert!(arr.mounted());
    assert!(leftover_mountpoints().is_empty());
}

#[test]
fn recover_uses_existing_mount_and_leaves_it_mounted() {
    let _lock = device_test!("recover_uses_existing_mount_and_leaves_it_mounted");
    let arr = Array::new("rec-d", false);
    let before = tree::describe(&arr.mp);
    let atime = |p: &Path| {
        let m = fs::metadata(p).unwrap();
        (m.atime(), m.atime_nsec())
    };
    let db = arr.mp.join("bitcoin/lightningd.sqlite3");
    let db_atime = atime(&db);
    let dest = arr.dest("recovered");
    let out = arr.recover(&["--to", dest.to_str().unwrap()]);
    assert!(out.status.success(), "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("Already mounted at"), "{}", out.stdout);
    assert!(
        !out.stdout.contains("nologreplay"),
        "no mount of the filesystem itself"
    );
    assert!(arr.mounted(), "the array stays mounted");
    assert_copies_equal(
        &arr,
        &dest,
        &[
            "lightningd.sqlite3",
            "hsm_secret",
            "emergency.recover",
            "config",
        ],
    );
    let m = manifest(&dest);
    assert_eq!(m.mount.kind, MountKind::Existing);
    assert_eq!(
        m.mount.existing_mountpoint.as_deref(),
        Some(arr.mp.to_str().unwrap())
    );
    assert!(m.array.missing_devids.is_empty());
    assert_eq!(m.array.survivors.len(), 2);
    assert_eq!(tree::describe(&arr.mp), before, "the array is unchanged");
    assert_eq!(
        atime(&db),
        db_atime,
        "read through a read-only bind: not even an access time changed"
    );

    // A lightningd running on the array: refused, nothing copied.
    let bin = arr.tmp.path().join("lightningd");
    fs::copy(common::which("sleep"), &bin).unwrap();
    let script = format!(
        "cd '{}' && '{}' 300 >/dev/null 2>&1 & echo $!",
        arr.mp.join("bitcoin").display(),
        bin.display()
    );
    let pid: i32 = sh("sh", &["-c", &script]).stdout.trim().parse().unwrap();
    let kill = common::KillOnDrop(pid);
    let dest2 = arr.dest("recovered-2");
    let out = arr.recover(&["--to", dest2.to_str().unwrap()]);
    drop(kill);
    assert_eq!(out.status, ExitStatus::Code(3), "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&format!("(pid {pid}) is running on the array")),
        "{}",
        out.stderr
    );
    assert!(!dest2.exists());
    assert!(arr.mounted());
    assert!(
        leftover_mountpoints().is_empty(),
        "{:?}",
        leftover_mountpoints()
    );
}

#[test]
fn recover_all_copies_the_whole_directory() {
    let _lock = device_test!("recover_all_copies_the_whole_directory");
    let mut arr = Array::new("rec-e", true);
    let expected: Vec<String> = tree::describe_copyable(&arr.mp.join("bitcoin"))
        .into_iter()
        .filter(|l| !l.starts_with("dir  "))
        .collect();
    arr.fail_b();
    let dest = arr.dest("all");
    let out = arr.recover(&["--to", dest.to_str().unwrap(), "--all"]);
    assert!(out.status.success(), "{}{}", out.stdout, out.stderr);
    let got: Vec<String> = tree::describe_copyable(&dest)
        .into_iter()
        .filter(|l| !l.starts_with("dir  ") && !l.contains("MANIFEST"))
        .collect();
    assert_eq!(
        got, expected,
        "every file, link and directory, attributes included"
    );
    let m = manifest(&dest);
    assert!(m.all);
    assert!(m.database.as_ref().unwrap().hot_journal);
    assert_eq!(m.file("hsm_secret").unwrap().mode, "0400");
    assert!(m.file("gossip_store").is_some_and(|f| f.blake3.is_some()));
    assert!(m
        .file("plugins/summary")
        .is_some_and(|f| f.kind == EntryKind::Symlink));
    // setup left the socket lightning-rpc behind; nothing else is missing.
    assert!(m.not_copied.is_empty(), "{:?}", m.not_copied);
    assert!(leftover_mountpoints().is_empty());
}

#[test]
fn recover_refuses_dest_on_a_disk_of_the_array() {
    let _lock = device_test!("recover_refuses_dest_on_a_disk_of_the_array");
    // Member 1 is partition 1 of disk c; partition 2 of c holds an ext4 (the "new media" the
    // operator picked by mistake); member 2 is disk d.
    let tmp = tempdir();
    let c = LoopDev::new(tmp.path(), "c", "1G", true);
    let d = LoopDev::new(tmp.path(), "d", "512M", false);
    let table = Cmd::mutating("sfdisk", ["--quiet", &c.path])
        .stdin("label: gpt\nsize=512MiB\nsize=400MiB\n");
    RealRunner.run_ok(&table).unwrap();
    let (p1, p2) = (format!("{}p1", c.path), format!("{}p2", c.path));
    // Kernels without partition-table parsers (this CI's) never scan the table: partx
    // registers the partitions through the BLKPG ioctl instead (as in loop_policy.rs).
    if !Path::new(&p2).exists() {
        sh("partx", &["--add", &c.path]);
    }
    for _ in 0..50 {
        if Path::new(&p2).exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(Path::new(&p2).exists(), "kernel did not create {p2}");
    sh(
        "mkfs.btrfs",
        &[
            "-q", "-L", "lnraid", "-m", "raid1", "-d", "raid1", &p1, &d.path,
        ],
    );
    sh("mkfs.ext4", &["-q", "-F", &p2]);
    let uuid = sh("blkid", &["-p", "-s", "UUID", "-o", "value", &d.path]).stdout;
    let mnt = common::Mounted::new(&p2, &mountpoint_dir("rec-f"), &[]);
    let dest = mnt.dir.join("recovered");
    let lock = tmp.path().join("lock");
    let out = lnraid(&[
        "recover",
        "--to",
        dest.to_str().unwrap(),
        "--uuid",
        uuid.trim(),
        "--lock-dir",
        lock.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status,
        ExitStatus::Code(3),
        "{}{}",
        out.stdout,
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!(
            "is on disk {} which also holds array member {p1}",
            c.path.trim_start_matches("/dev/")
        )),
        "{}",
        out.stderr
    );
    assert!(!dest.exists());
    assert!(leftover_mountpoints().is_empty());
    drop(mnt);
    for dev in [&p1, &d.path] {
        let _ = common::sh_any("btrfs", &["device", "scan", "--forget", dev]);
    }
}

#[test]
fn recover_without_hsm_secret_copies_the_rest_and_fails() {
    let _lock = device_test!("recover_without_hsm_secret_copies_the_rest_and_fails");
    let spec = NodeSpec {
        db_bytes: 2 << 20,
        gossip_bytes: 1 << 20,
        hot_journal: false,
    };
    let mut arr = Array::with("rec-nosecret", spec, |dir| {
        fs::remove_file(dir.join("hsm_secret")).unwrap()
    });
    arr.fail_b();
    let dest = arr.dest("rescue");
    let out = arr.recover(&["--to", dest.to_str().unwrap(), "--device", &arr.a.path]);
    assert_eq!(
        out.status,
        ExitStatus::Code(1),
        "{}{}",
        out.stdout,
        out.stderr
    );
    assert!(
        out.stderr.contains("recovery is incomplete: hsm_secret"),
        "{}",
        out.stderr
    );
    assert_eq!(
        fs::read(dest.join("lightningd.sqlite3")).unwrap(),
        arr.originals["lightningd.sqlite3"].0,
        "the rest is copied"
    );
    assert!(dest.join("MANIFEST").exists());
    assert!(!arr.mounted());
}
