//! `lnraid schedule` end to end, without root: a temp fstab with lnraid lines, temp cron and
//! unit dirs (so lnraid never calls systemctl), the real binary. Install twice gives the same
//! files, remove leaves none; the output is checked by what the real tools accept —
//! `systemd-analyze verify` for units, `systemd-analyze calendar` for the cron → OnCalendar
//! translation (against an independent cron matcher), Debian's `crontab -n` plus a line
//! validator here for cron (Debian's cron has no checker for /etc/cron.d files: `crontab -n`
//! reads user crontabs, so the user field is dropped first). Tools that are missing print a
//! visible SKIPPED line. The setup dry run needs root and loop devices (SKIPPED otherwise).

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use lnraid::exec::{Cmd, Output, RealRunner, Runner};
use lnraid::schedule::CronExpr;

const UUID_A: &str = "5d1c0e2a-1111-4222-8333-444455556666";
const UUID_B: &str = "6e2d1f3b-1111-4222-8333-444455556666";
/// A mountpoint with a space, a dash and a percent sign: fstab escapes the space, cron needs
/// the `%` escaped, systemd needs `%%` and `\x2d` in the unit name.
const ODD_MP: &str = "/mnt/node raid-100%";

struct Env {
    tmp: tempfile::TempDir,
}

impl Env {
    fn new(fstab: &str) -> Env {
        let tmp = tempfile::Builder::new()
            .prefix("lnraid-schedule-test-")
            .tempdir()
            .unwrap();
        fs::create_dir(tmp.path().join("cron")).unwrap();
        fs::write(tmp.path().join("fstab"), fstab).unwrap();
        Env { tmp }
    }

    fn two_arrays() -> Env {
        Env::new(&format!(
            "UUID=0000-1111 / ext4 defaults 0 1\n\
             UUID={UUID_A} /mnt/lnraid btrfs defaults,nofail,x-systemd.device-timeout=30s 0 0 # lnraid-managed\n\
             UUID={UUID_B} {} btrfs defaults,nofail 0 0 # lnraid-managed\n",
            ODD_MP.replace(' ', "\\040")
        ))
    }

    fn dir(&self, d: &str) -> PathBuf {
        self.tmp.path().join(d)
    }

    /// `args` plus every host path redirected into the temp dir.
    fn args(&self, args: &[&str]) -> Vec<String> {
        let t = self.tmp.path();
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        for (flag, p) in [
            ("--fstab", t.join("fstab")),
            ("--cron-dir", t.join("cron")),
            ("--unit-dir", t.join("units")),
            ("--state-dir", t.join("state")),
            ("--lock-dir", t.join("lock")),
        ] {
            all.push(flag.into());
            all.push(p.to_string_lossy().into_owned());
        }
        all
    }

    fn run(&self, args: &[&str]) -> Output {
        RealRunner
            .output(
                &Cmd::read_only(env!("CARGO_BIN_EXE_lnraid"), self.args(args))
                    .env("LNRAID_CONFIG", self.config().to_string_lossy()),
            )
            .expect("run lnraid")
    }

    /// The config file (redirected by LNRAID_CONFIG); the alert file lives beside it.
    fn config(&self) -> PathBuf {
        self.tmp.path().join("etc/lnraid.toml")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "lnraid {args:?}: {}\n{}{}",
            out.status,
            out.stdout,
            out.stderr
        );
        out.stdout
    }
}

/// Every entry of `dir` (dotfiles too): name → (content, mode, inode, mtime).
fn snapshot(dir: &Path) -> BTreeMap<String, (String, u32, u64, i64)> {
    let Ok(entries) = fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .map(|e| {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                (
                    fs::read_to_string(e.path()).unwrap(),
                    m.mode() & 0o7777,
                    m.ino(),
                    m.mtime_nsec() + m.mtime() * 1_000_000_000,
                ),
            )
        })
        .collect()
}

const INSTALL_MONITOR: &[&str] = &[
    "--monitor",
    "--alert-command",
    "logger -t lnraid \"health: 100%\" 'it''s'",
    "--textfile",
    "/var/lib/node exporter/lnraid.prom",
];

fn install_twice_then_remove(scheduler: &str, dir: &str, expected: &[&str]) {
    let env = Env::two_arrays();
    let mut args = vec!["schedule", "install", "--scheduler", scheduler];
    args.extend_from_slice(INSTALL_MONITOR);
    env.ok(&args);
    let first = snapshot(&env.dir(dir));
    let names: Vec<&str> = first.keys().map(String::as_str).collect();
    assert_eq!(names, expected);
    assert!(first.values().all(|(_, mode, _, _)| *mode == 0o644));
    let again = env.ok(&args);
    assert!(again.contains("nothing changed"), "{again}");
    assert!(!again.contains("wrote"), "{again}");
    // Same bytes, and not even rewritten (same inode and mtime).
    assert_eq!(snapshot(&env.dir(dir)), first);
    let shown = env.ok(&["schedule", "show"]);
    assert!(shown.contains(&format!("{scheduler} (")), "{shown}");
    assert!(
        shown.contains("never ran") && !shown.contains("NOT SCHEDULED"),
        "{shown}"
    );
    env.ok(&["schedule", "remove"]);
    assert!(snapshot(&env.dir(dir)).is_empty(), "remove left files");
    let twice = env.ok(&["schedule", "remove"]);
    assert!(twice.contains("nothing to remove"), "{twice}");
}

#[test]
fn cron_install_twice_same_files_remove_leaves_none() {
    install_twice_then_remove("cron", "cron", &["lnraid"]);
}

#[test]
fn systemd_install_twice_same_files_remove_leaves_none() {
    install_twice_then_remove(
        "systemd",
        "units",
        &[
            "lnraid-balance-mnt-lnraid.service",
            "lnraid-balance-mnt-lnraid.timer",
            r"lnraid-balance-mnt-node\x20raid\x2d100\x25.service",
            r"lnraid-balance-mnt-node\x20raid\x2d100\x25.timer",
            "lnraid-monitor.service",
            "lnraid-monitor.timer",
            "lnraid-scrub-mnt-lnraid.service",
            "lnraid-scrub-mnt-lnraid.timer",
            r"lnraid-scrub-mnt-node\x20raid\x2d100\x25.service",
            r"lnraid-scrub-mnt-node\x20raid\x2d100\x25.timer",
        ],
    );
}

#[test]
fn dry_run_shows_diff_and_writes_nothing() {
    let env = Env::two_arrays();
    let out = env.ok(&["schedule", "install", "--scheduler", "cron", "--dry-run"]);
    assert!(
        out.contains("new       ") && out.contains("+0 0 * * 0 root "),
        "{out}"
    );
    assert!(snapshot(&env.dir("cron")).is_empty());
    env.ok(&["schedule", "install", "--scheduler", "cron"]);
    let before = snapshot(&env.dir("cron"));
    let out = env.ok(&[
        "schedule",
        "install",
        "--scheduler",
        "cron",
        "--scrub-at",
        "30 3 * * sat",
        "--dry-run",
    ]);
    assert!(out.contains("changed   "), "{out}");
    assert!(
        out.contains("-0 0 * * 0 root ") && out.contains("+30 3 * * sat root "),
        "{out}"
    );
    assert_eq!(snapshot(&env.dir("cron")), before);
    // Switching scheduler removes the other one's files (no job runs twice).
    let out = env.ok(&["schedule", "install", "--scheduler", "systemd", "--dry-run"]);
    assert!(
        out.contains("remove    ") && out.contains("/cron/lnraid"),
        "{out}"
    );
    env.ok(&["schedule", "install", "--scheduler", "systemd"]);
    assert!(snapshot(&env.dir("cron")).is_empty());
    assert_eq!(snapshot(&env.dir("units")).len(), 8);
}

#[test]
fn refuses_without_arrays_and_leaves_foreign_files() {
    let env = Env::new("UUID=0000-1111 / ext4 defaults 0 1\n");
    let out = env.run(&["schedule", "install", "--scheduler", "cron"]);
    assert_eq!(out.status.code(), Some(3), "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("no lnraid array"), "{}", out.stderr);
    assert!(snapshot(&env.dir("cron")).is_empty());
    // An operator's own file named like ours, without the marker, is never touched.
    fs::write(env.dir("cron").join("lnraid"), "0 1 * * * root /bin/true\n").unwrap();
    let out = env.ok(&["schedule", "remove"]);
    assert!(out.contains("nothing to remove"), "{out}");
    assert!(env.dir("cron").join("lnraid").exists());
    // A bad time is a usage error.
    let out = env.run(&["schedule", "install", "--scrub-at", "0 0 * * 8"]);
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
}

#[test]
fn show_reports_last_runs() {
    let env = Env::two_arrays();
    env.ok(&["schedule", "install", "--scheduler", "cron"]);
    let uuid = lnraid::types::FsUuid::parse(UUID_A).unwrap();
    lnraid::records::write_record(
        &env.dir("state"),
        &lnraid::records::JobRecord {
            job: lnraid::records::Job::Scrub,
            fs_uuid: uuid,
            mountpoint: "/mnt/lnraid".into(),
            started: 1_795_219_200,
            finished: 1_795_219_200 + 42,
            outcome: lnraid::records::Outcome::Ok,
            detail: "no errors".into(),
            counts: Default::default(),
        },
    )
    .unwrap();
    let out = env.ok(&["schedule", "show"]);
    assert!(
        out.contains("scrub:   last ran 2026-11-21 00:00:00 UTC ("),
        "{out}"
    );
    assert!(out.contains("took 42s: ok: no errors"), "{out}");
    assert!(out.contains("balance: never ran"), "{out}");
}

/// The program on PATH, or a visible skip.
fn tool(name: &str, test: &str) -> Option<PathBuf> {
    let found = lnraid::host::find_program(name);
    if found.is_none() {
        println!("SKIPPED: {test}: {name} is not installed");
    }
    found
}

#[test]
fn systemd_analyze_verify_accepts_the_units() {
    let Some(analyze) = tool(
        "systemd-analyze",
        "systemd_analyze_verify_accepts_the_units",
    ) else {
        return;
    };
    let env = Env::two_arrays();
    let mut args = vec!["schedule", "install", "--scheduler", "systemd"];
    args.extend_from_slice(INSTALL_MONITOR);
    args.extend_from_slice(&["--balance-at", "0 4 1 * mon"]); // two OnCalendar= lines
    args.extend_from_slice(&["--scrub-limit", "50M", "--balance-recipe", "cln-guide"]);
    env.ok(&args);
    let units: Vec<String> = snapshot(&env.dir("units"))
        .keys()
        .map(|n| env.dir("units").join(n).to_string_lossy().into_owned())
        .collect();
    // ExecStart= names the real lnraid binary, which verify requires to exist.
    let mut verify = vec!["verify".to_string(), "--man=no".into()];
    verify.extend(units.iter().cloned());
    let out = RealRunner
        .output(&Cmd::read_only(analyze.to_str().unwrap(), verify))
        .unwrap();
    println!(
        "systemd-analyze verify: {} {}{}",
        out.status, out.stdout, out.stderr
    );
    // verify exits 0 on settings it ignores, printing "..., ignoring": any output is a failure.
    assert!(
        out.status.success() && out.stderr.trim().is_empty(),
        "systemd-analyze verify: {}\n{}",
        out.status,
        out.stderr
    );
}

/// Cron's own rules, written independently of lnraid's parser: the set of values of a field.
fn cron_field(text: &str, lo: u32, hi: u32, names: &[&str]) -> Vec<u32> {
    let val = |s: &str| -> u32 {
        names
            .iter()
            .position(|n| n.eq_ignore_ascii_case(s))
            .map(|i| i as u32 + if lo == 1 { 1 } else { 0 })
            .unwrap_or_else(|| s.parse().unwrap())
    };
    let mut out = Vec::new();
    for item in text.split(',') {
        let (range, step) = item
            .split_once('/')
            .map_or((item, 1), |(r, s)| (r, s.parse().unwrap()));
        let (a, b) = match range.split_once('-') {
            _ if range == "*" => (lo, hi),
            Some((a, b)) => (val(a), val(b)),
            None => (val(range), val(range)),
        };
        out.extend((a..=b).step_by(step as usize));
    }
    out
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// Days since 1970-01-01 → (year, month, day) (Howard Hinnant's civil_from_days).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// The first `n` times after `base_day` 00:00 UTC at which cron runs `expr`, as
/// `YYYY-mm-dd HH:MM`.
fn cron_next(expr: &str, base_day: i64, n: usize) -> Vec<String> {
    let f: Vec<&str> = expr.split_whitespace().collect();
    let mins = cron_field(f[0], 0, 59, &[]);
    let hours = cron_field(f[1], 0, 23, &[]);
    let doms = cron_field(f[2], 1, 31, &[]);
    let months = cron_field(f[3], 1, 12, &MONTHS);
    let dows: Vec<u32> = cron_field(f[4], 0, 7, &DAYS)
        .iter()
        .map(|d| d % 7)
        .collect();
    let (dom_star, dow_star) = (f[2].starts_with('*'), f[4].starts_with('*'));
    let mut out = Vec::new();
    for day in base_day..base_day + 366 * 60 {
        let (y, m, d) = civil(day);
        let wd = (day + 4).rem_euclid(7) as u32; // 1970-01-01 was a Thursday
        let (dm, wm) = (doms.contains(&d), dows.contains(&wd));
        let day_ok = if dom_star || dow_star {
            dm && wm
        } else {
            dm || wm
        };
        if !months.contains(&m) || !day_ok {
            continue;
        }
        for h in &hours {
            for mi in &mins {
                if day == base_day && *h == 0 && *mi == 0 {
                    continue; // "next" is strictly after the base time
                }
                out.push(format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}"));
                if out.len() == n {
                    return out;
                }
            }
        }
    }
    out
}

#[test]
fn on_calendar_fires_when_cron_would() {
    let Some(analyze) = tool("systemd-analyze", "on_calendar_fires_when_cron_would") else {
        return;
    };
    const N: usize = 15;
    let base_day = 19_723; // 2024-01-01, a Monday
    for expr in [
        "0 0 * * *",
        "0 0 * * 0",
        "*/5 * * * *",
        "30 2 * * mon-fri",
        "15 3 1 jan,jul *",
        "0 4 1 * mon",
        "0 4 */2 * mon",
        "0 10-20/5 * * *",
        "0 0 * * 5-7",
        "7 1-4 */3 2-11/3 *",
        "0 0 1 * *",
        "45 23 * * sat,sun",
        "0 12 29 feb *",
        "10-12 0 * * 2",
    ] {
        let cal = CronExpr::parse(expr).unwrap().on_calendar();
        let mut fired: Vec<String> = Vec::new();
        for c in &cal {
            let out = RealRunner
                .run_ok(
                    &Cmd::read_only(
                        analyze.to_str().unwrap(),
                        [
                            "calendar".to_string(),
                            format!("--iterations={N}"),
                            "--base-time=2024-01-01 00:00:00 UTC".into(),
                            c.clone(),
                        ],
                    )
                    .env("TZ", "UTC"),
                )
                .unwrap_or_else(|e| panic!("{expr} -> {c}: {e}"));
            // "    Next elapse: Mon 2024-01-01 06:00:00 UTC" / "       Iter. #2: ..."
            for l in out.stdout.lines() {
                if let Some((_, when)) = l.split_once("Next elapse: ").or_else(|| {
                    l.split_once(": ")
                        .filter(|(k, _)| k.trim().starts_with("Iter."))
                }) {
                    let parts: Vec<&str> = when.split_whitespace().collect();
                    fired.push(format!("{} {}", parts[1], &parts[2][..5]));
                }
            }
        }
        fired.sort();
        fired.dedup();
        fired.truncate(N);
        assert_eq!(fired, cron_next(expr, base_day, N), "{expr} -> {cal:?}");
    }
}

/// Checks one /etc/cron.d line the way cron reads it: `NAME=value`, or five time fields,
/// the user, the command.
fn check_cron_line(line: &str, exe: &str) {
    if line.trim().is_empty() || line.starts_with('#') {
        return;
    }
    if let Some((k, _)) = line.split_once('=') {
        if k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return;
        }
    }
    let fields: Vec<&str> = line.splitn(7, ' ').collect();
    assert_eq!(fields.len(), 7, "{line}");
    let item = regex::Regex::new(r"^(\*|[0-9]+|[a-z]{3})(-([0-9]+|[a-z]{3}))?(/[0-9]+)?$").unwrap();
    let bounds = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)];
    for (f, (lo, hi)) in fields[..5].iter().zip(bounds) {
        for it in f.split(',') {
            assert!(item.is_match(it), "time field {f:?} in {line}");
            for n in it
                .split(['-', '/'])
                .filter_map(|x| x.parse::<u32>().ok())
                .take(2)
            {
                if !it.contains('/') || !it.ends_with(&format!("/{n}")) {
                    assert!((lo..=hi).contains(&n), "{n} out of {lo}-{hi} in {line}");
                }
            }
        }
    }
    assert_eq!(fields[5], "root", "user field in {line}");
    assert!(
        fields[6].starts_with(&format!("{exe} ")),
        "command in {line}"
    );
}

/// What cron does to a command before `/bin/sh -c` sees it (Vixie cron's do_command.c):
/// `\\` → `\`, `\%` → `%`, and an unescaped `%` ends the command.
fn cron_unescape(cmd: &str) -> String {
    let mut out = String::new();
    let mut chars = cmd.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n @ ('%' | '\\')) => out.push(n),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            },
            '%' => break,
            c => out.push(c),
        }
    }
    out
}

#[test]
fn cron_file_is_what_cron_accepts() {
    let env = Env::two_arrays();
    let mut args = vec!["schedule", "install", "--scheduler", "cron"];
    args.extend_from_slice(INSTALL_MONITOR);
    args.extend_from_slice(&["--scrub-at", "30 2 1-7 * sun", "--scrub-limit", "50M"]);
    args.extend_from_slice(&["--balance-recipe", "cln-guide"]);
    env.ok(&args);
    let text = fs::read_to_string(env.dir("cron/lnraid")).unwrap();
    let exe = env!("CARGO_BIN_EXE_lnraid");
    let exe = fs::canonicalize(exe).unwrap();
    let exe = exe.to_str().unwrap();
    assert!(
        text.ends_with('\n'),
        "cron ignores a last line without a newline"
    );
    let jobs: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_digit() || c == '*'))
        .collect();
    assert_eq!(jobs.len(), 5, "{text}");
    for l in text.lines() {
        check_cron_line(l, exe);
    }
    // The shell gets exactly the arguments lnraid meant: run each command through cron's
    // unescaping and /bin/sh, with the executable replaced by an argument printer.
    for l in &jobs {
        let cmd = l.splitn(7, ' ').nth(6).unwrap();
        let shell_line = cron_unescape(cmd);
        let rest = shell_line.strip_prefix(exe).unwrap();
        let out = RealRunner
            .run_ok(&Cmd::read_only(
                "sh",
                [
                    "-c".to_string(),
                    format!("set --{rest}; for a; do printf '[%s]' \"$a\"; done"),
                ],
            ))
            .unwrap();
        let argv = out.stdout;
        if l.contains(" monitor ") {
            assert_eq!(
                argv,
                format!(
                    "[monitor][--alert-command-file][{}][--textfile][/var/lib/node exporter/lnraid.prom]",
                    env.tmp.path().join("etc/alert-command").display()
                )
            );
        } else if l.contains(" scrub ") {
            assert!(
                argv.starts_with("[maintain][scrub][--limit][50M][--alert-command-file]"),
                "{argv}"
            );
        } else {
            assert!(
                argv.starts_with("[maintain][balance][--recipe][cln-guide][--alert-command-file]"),
                "{argv}"
            );
        }
        if !l.contains(" monitor ") {
            let mp = if l.contains("node") {
                ODD_MP
            } else {
                "/mnt/lnraid"
            };
            assert!(argv.ends_with(&format!("[{mp}]")), "{argv}");
        }
    }
    // Debian's crontab -n checks a user crontab: same lines without the user field.
    let Some(crontab) = tool("crontab", "cron_file_is_what_cron_accepts (crontab -n)") else {
        return;
    };
    let user_tab: String = text
        .lines()
        .map(|l| {
            if jobs.contains(&l) {
                let f: Vec<&str> = l.splitn(7, ' ').collect();
                format!("{} {}\n", f[..5].join(" "), f[6])
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let tab = env.dir("user-crontab");
    fs::write(&tab, user_tab).unwrap();
    let out = RealRunner
        .output(&Cmd::read_only(
            crontab.to_str().unwrap(),
            ["-n", tab.to_str().unwrap()],
        ))
        .unwrap();
    let said = format!("{}{}", out.stdout, out.stderr);
    if said.contains("usage") || said.contains("invalid option") {
        println!(
            "SKIPPED: crontab -n: this crontab has no dry-run check ({})",
            said.trim()
        );
        return;
    }
    assert!(out.status.success(), "crontab -n refused the file: {said}");
    // And it does refuse a bad line, so the check above means something.
    fs::write(&tab, "0 0 * * 8 /bin/true\n").unwrap();
    let bad = RealRunner
        .output(&Cmd::read_only(
            crontab.to_str().unwrap(),
            ["-n", tab.to_str().unwrap()],
        ))
        .unwrap();
    assert!(!bad.status.success());
}

/// Two loop devices, a node directory, an empty mountpoint, and the config dirs of [`Env`]
/// (whose fstab already has two lnraid arrays). Field order is drop order: the array is
/// unmounted before the devices are detached, and they before their backing files go.
struct SetupEnv {
    env: Env,
    dir: PathBuf,
    mp: PathBuf,
    _cleanup: common::ArrayCleanup,
    a: common::LoopDev,
    b: common::LoopDev,
    _tmp: tempfile::TempDir,
}

impl SetupEnv {
    fn new(name: &str) -> SetupEnv {
        let tmp = common::tempdir();
        let a = common::LoopDev::new(tmp.path(), "a", "1G", false);
        let b = common::LoopDev::new(tmp.path(), "b", "1G", false);
        let dir = tmp.path().join("home/.lightning/bitcoin");
        lnraid::testkit::generate_node_dir(
            &dir,
            &lnraid::testkit::NodeSpec {
                db_bytes: 1 << 20,
                gossip_bytes: 1 << 20,
                hot_journal: false,
            },
        )
        .unwrap();
        let mp = common::mountpoint_dir(name);
        SetupEnv {
            env: Env::two_arrays(),
            dir,
            _cleanup: common::ArrayCleanup {
                mountpoint: mp.clone(),
            },
            mp,
            a,
            b,
            _tmp: tmp,
        }
    }

    fn setup_cmd(&self, extra: &[&str]) -> Vec<String> {
        let uuid = lnraid::app::ids::random_fs_uuid().to_string();
        let mut v: Vec<String> = [
            "setup",
            "--lightning-dir",
            self.dir.to_str().unwrap(),
            "--device",
            &self.a.path,
            "--device",
            &self.b.path,
            "--mountpoint",
            self.mp.to_str().unwrap(),
            "--fs-uuid",
            &uuid,
            "--schedule",
            "cron",
        ]
        .map(String::from)
        .to_vec();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    }
}

#[test]
fn setup_dry_run_shows_the_schedule() {
    let _lock = device_test!("setup_dry_run_shows_the_schedule");
    let s = SetupEnv::new("schedule-dry");
    let args = s.setup_cmd(&["--dry-run"]);
    let out = s
        .env
        .ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.contains("(schedule)"), "{out}");
    let cron_file = s.env.dir("cron/lnraid");
    assert!(
        out.contains(&format!("write {} (mode 0644)", cron_file.display())),
        "{out}"
    );
    // The new array and the two already in the fstab: one cron file serves them all.
    assert!(out.contains("+0 0 * * 0 root "), "{out}");
    assert!(
        out.contains(&format!(" maintain scrub {}\n", s.mp.display())),
        "{out}"
    );
    assert!(out.contains(" maintain scrub /mnt/lnraid\n"), "{out}");
    assert!(!cron_file.exists(), "a dry run writes nothing");
}

/// setup writes the schedule with the same code as `schedule install`, and `--abort` puts
/// the earlier schedule back byte for byte (no `.bak` left behind).
#[test]
fn setup_schedule_step_then_abort_restores_the_earlier_schedule() {
    let _lock = device_test!("setup_schedule_step_then_abort_restores_the_earlier_schedule");
    let s = SetupEnv::new("schedule-abort");
    s.env.ok(&["schedule", "install", "--scheduler", "cron"]);
    let before = snapshot(&s.env.dir("cron"));
    let fstab_before = fs::read_to_string(s.env.dir("fstab")).unwrap();
    let setup = s.setup_cmd(&["--yes"]);
    let args = s
        .env
        .args(&setup.iter().map(String::as_str).collect::<Vec<_>>());
    let killed = RealRunner
        .output(
            &Cmd::mutating(env!("CARGO_BIN_EXE_lnraid"), args).env("LNRAID_FAILPOINT", "schedule"),
        )
        .unwrap();
    assert_eq!(
        killed.status,
        lnraid::exec::ExitStatus::Signal(9),
        "{}{}",
        killed.stdout,
        killed.stderr
    );
    let written = fs::read_to_string(s.env.dir("cron/lnraid")).unwrap();
    // The job names the array's mountpoint last (after its options, such as the alert file).
    let scrubs = |mp: &str| {
        written
            .lines()
            .any(|l| l.contains(" maintain scrub ") && l.ends_with(&format!(" {mp}")))
    };
    assert!(scrubs(&s.mp.display().to_string()), "{written}");
    assert!(scrubs("/mnt/lnraid"), "{written}");
    let shown = s.env.ok(&["schedule", "show"]);
    assert!(!shown.contains("NOT SCHEDULED"), "{shown}");
    let out = s.env.ok(&["setup", "--abort", "--yes"]);
    assert!(out.contains("put back the earlier"), "{out}");
    assert_eq!(
        snapshot(&s.env.dir("cron")).keys().collect::<Vec<_>>(),
        ["lnraid"]
    );
    let after = snapshot(&s.env.dir("cron"));
    assert_eq!(
        after["lnraid"].0, before["lnraid"].0,
        "the earlier schedule is back"
    );
    assert_eq!(
        fs::read_to_string(s.env.dir("fstab")).unwrap(),
        fstab_before
    );
}

/// Every regular file below `dir` (dotfiles and temp leftovers too): path → content.
fn all_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>, u32)> {
    let mut out = Vec::new();
    let Ok(rd) = fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let m = fs::symlink_metadata(e.path()).unwrap();
        if m.is_dir() {
            out.extend(all_files(&e.path()));
        } else if m.is_file() {
            out.push((e.path(), fs::read(e.path()).unwrap(), m.mode() & 0o7777));
        }
    }
    out
}

/// Issue 9: options persist across installs, the alert command lives only in its 0600 file,
/// and removing an option is explicit and shown as a diff.
#[test]
fn options_persist_and_the_alert_command_stays_in_its_0600_file() {
    const SECRET: &str = "curl -fsS -d @- 'https://hooks.example/lnraid?token=s3cr3t-T0KEN'";
    for scheduler in ["cron", "systemd"] {
        let env = Env::two_arrays();
        let first = env.ok(&[
            "schedule",
            "install",
            "--scheduler",
            scheduler,
            "--monitor",
            "--alert-command",
            SECRET,
            "--scrub-limit",
            "40M",
            "--textfile",
            "/var/lib/ne/lnraid.prom",
        ]);
        assert!(
            !first.contains("s3cr3t"),
            "the command is never printed: {first}"
        );
        let before = snapshot(&env.dir(if scheduler == "cron" { "cron" } else { "units" }));
        // A plain install: nothing dropped, nothing rewritten.
        let plain = env.ok(&["schedule", "install"]);
        assert!(plain.contains("nothing changed"), "{plain}");
        assert!(
            plain.contains("unchanged") && plain.contains("kept"),
            "{plain}"
        );
        let after = snapshot(&env.dir(if scheduler == "cron" { "cron" } else { "units" }));
        assert_eq!(
            after, before,
            "a plain install keeps the monitor, the alert and the limit"
        );
        let jobs: String = after.values().map(|(c, ..)| c.as_str()).collect();
        assert!(
            jobs.contains(" monitor ") || jobs.contains("lnraid monitor"),
            "{jobs}"
        );
        assert!(jobs.contains("--limit") && jobs.contains("40M"), "{jobs}");
        assert!(jobs.contains("--alert-command-file"), "{jobs}");
        if scheduler == "cron" {
            assert!(
                jobs.contains("\nMAILTO=\"\"\n"),
                "silent on success: {jobs}"
            );
        }
        // The alert command is in exactly one file, mode 0600; nowhere else (grep everything).
        let holding: Vec<(PathBuf, u32)> = all_files(env.tmp.path())
            .into_iter()
            .filter(|(_, c, _)| c.windows(b"s3cr3t".len()).any(|w| w == b"s3cr3t"))
            .map(|(p, _, m)| (p, m))
            .collect();
        assert_eq!(
            holding,
            [(env.tmp.path().join("etc/alert-command"), 0o600)],
            "only the 0600 file holds the command"
        );
        let config = fs::read_to_string(env.config()).unwrap();
        assert!(
            config.contains("monitor = true") && config.contains("scrub_limit = \"40M\""),
            "{config}"
        );
        // Dropping an option is explicit, and the dry run shows the diff.
        let dry = env.ok(&["schedule", "install", "--no-monitor", "--dry-run"]);
        assert!(
            dry.contains("-monitor = true") && dry.contains("+monitor = false"),
            "{dry}"
        );
        assert_eq!(
            fs::read_to_string(env.config()).unwrap(),
            config,
            "dry run writes nothing"
        );
        env.ok(&["schedule", "install", "--no-alert-command"]);
        assert!(!env.tmp.path().join("etc/alert-command").exists());
        let jobs: String = snapshot(&env.dir(if scheduler == "cron" { "cron" } else { "units" }))
            .values()
            .map(|(c, ..)| c.clone())
            .collect();
        assert!(!jobs.contains("--alert-command"), "{jobs}");
        assert!(jobs.contains("--limit"), "the limit is still kept: {jobs}");
    }
}

/// Issue 8: the jobs name the alert file beside the config actually used (`--config` /
/// LNRAID_CONFIG), even when that config was copied from the default place and still records
/// `/etc/lnraid/alert-command`. Written as the kept-option case, so a wrong path never writes
/// the host's /etc.
#[test]
fn jobs_name_the_alert_file_beside_the_config_used() {
    for how in ["LNRAID_CONFIG", "--config"] {
        let env = Env::two_arrays();
        let dir = if how == "--config" {
            env.tmp.path().join("other")
        } else {
            env.tmp.path().join("etc")
        };
        let config = dir.join("lnraid.toml");
        fs::create_dir_all(&dir).unwrap();
        fs::write(
            &config,
            "version = 1\nbalance_at = \"0 0 * * *\"\nscrub_at = \"0 0 * * 0\"\nmonitor = true\n\
             alert_command_file = \"/etc/lnraid/alert-command\"\n",
        )
        .unwrap();
        let beside = dir.join("alert-command");
        {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&beside)
                .unwrap();
            f.write_all(b"logger -t lnraid\n").unwrap();
        }
        let cfg = config.to_string_lossy().into_owned();
        let mut args = vec!["schedule", "install", "--scheduler", "cron"];
        if how == "--config" {
            args.extend(["--config", &cfg]);
        }
        env.ok(&args);
        let cron = fs::read_to_string(env.dir("cron").join("lnraid")).unwrap();
        let flag = format!("--alert-command-file {}", beside.display());
        assert_eq!(cron.matches(&flag).count(), 5, "{how}: {cron}");
        assert!(!cron.contains("/etc/lnraid/alert-command"), "{how}: {cron}");
        let stored = fs::read_to_string(&config).unwrap();
        assert!(stored.contains(&beside.display().to_string()), "{stored}");
        let shown = env.ok(&["schedule", "show", "--config", &cfg]);
        assert!(
            shown.contains(&format!("in {} (mode 0600)", beside.display())),
            "{shown}"
        );
    }
}
