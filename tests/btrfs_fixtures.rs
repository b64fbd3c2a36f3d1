//! Every btrfs parser over every captured btrfs fixture (`fixtures/btrfs-*`) and over the
//! scrub-status outputs of `../shared/corpus` (other machines, older btrfs-progs): each parses,
//! names the state its file name or MANIFEST.tsv description says, and no cut or garbled
//! variant of any of them makes any parser panic.

#[path = "common/cuts.rs"]
mod cuts;

#[path = "common/corpus.rs"]
mod fx;

use fx::{corpus, files, root};
use std::fs;

use lnraid::probe::btrfs::balance::parse_balance_status;
use lnraid::probe::btrfs::df::{parse_df, parse_df_json};
use lnraid::probe::btrfs::replace::parse_replace_status;
use lnraid::probe::btrfs::scrub::{parse_scrub_status, ScrubState};
use lnraid::probe::btrfs::show::parse_show;
use lnraid::probe::btrfs::stats::{parse_stats, parse_stats_json};
use lnraid::probe::btrfs::usage::parse_usage;

/// Runs `parse` on the text and reports only whether it succeeded (for the panic sweep).
type Check = fn(&str) -> bool;

fn all_parsers() -> Vec<(&'static str, Check)> {
    vec![
        ("show", |t| parse_show(t).is_ok()),
        ("stats", |t| parse_stats(t).is_ok()),
        ("stats-json", |t| parse_stats_json(t).is_ok()),
        ("df", |t| parse_df(t).is_ok()),
        ("df-json", |t| parse_df_json(t).is_ok()),
        ("usage", |t| parse_usage(t).is_ok()),
        ("scrub", |t| parse_scrub_status(t).is_ok()),
        ("replace", |t| parse_replace_status(t).is_ok()),
        ("balance", |t| parse_balance_status(t).is_ok()),
    ]
}

/// The parser that owns a fixture folder (JSON files go to the JSON parser).
fn own_parser(dir: &str, file: &str) -> Option<Check> {
    let json = file.ends_with(".json");
    Some(match (dir, json) {
        ("btrfs-filesystem-show", false) => |t| parse_show(t).is_ok(),
        ("btrfs-device-stats", false) => |t| parse_stats(t).is_ok(),
        ("btrfs-device-stats", true) => |t| parse_stats_json(t).is_ok(),
        ("btrfs-filesystem-df", false) => |t| parse_df(t).is_ok(),
        ("btrfs-filesystem-df", true) => |t| parse_df_json(t).is_ok(),
        ("btrfs-filesystem-usage", false) => |t| parse_usage(t).is_ok(),
        ("btrfs-scrub-status" | "btrfs-scrub-start", false) => |t| parse_scrub_status(t).is_ok(),
        ("btrfs-replace-status", false) => |t| parse_replace_status(t).is_ok(),
        ("btrfs-balance-status", false) => |t| parse_balance_status(t).is_ok(),
        _ => return None,
    })
}

/// Fixture folders with a parser, and how many files each holds.
fn btrfs_fixture_dirs() -> Vec<(String, Vec<(String, String)>)> {
    let mut dirs: Vec<(String, Vec<(String, String)>)> = fs::read_dir(root().join("fixtures"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .filter(|d| d.starts_with("btrfs-"))
        .map(|d| {
            let f = files(&root().join("fixtures").join(&d));
            (d, f)
        })
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn every_fixture_parses_with_its_parser() {
    let mut parsed = 0;
    for (dir, files) in btrfs_fixture_dirs() {
        for (name, text) in files {
            let Some(parse) = own_parser(&dir, &name) else {
                continue;
            };
            assert!(parse(&text), "{dir}/{name} does not parse:\n{text}");
            parsed += 1;
        }
    }
    assert!(parsed >= 150, "only {parsed} fixtures parsed");
}

/// The state a scrub fixture's scenario name promises.
fn scrub_state_from_name(name: &str) -> ScrubState {
    let scen = name.split_once('-').map_or(name, |(_, s)| s);
    match scen.trim_end_matches(".txt").trim_end_matches("-raw") {
        "never-run" => ScrubState::NeverRun,
        // The raw form of a scrub's first seconds cannot be told from never-run.
        "running-early" if scen.contains("-raw") => ScrubState::NeverRun,
        // A replace copies through the kernel's scrub code: the human form shows a running
        // scrub's Time left/ETA; the raw form (what lnraid reads) shows no scrub.
        "replacing" if scen.contains("-raw") => ScrubState::NeverRun,
        "replacing" => ScrubState::Running,
        "remount-ro" => ScrubState::NeverRun,
        "running" | "running-later" | "running-early" => ScrubState::Running,
        "aborted" | "degraded" => ScrubState::Aborted,
        "interrupted" => ScrubState::Interrupted,
        "clean"
        | "corrected"
        | "uncorrectable"
        | "finished-clean"
        | "finished-corrected"
        | "finished-uncorrectable" => ScrubState::Finished,
        other => panic!("no expected state for scrub fixture scenario {other:?}"),
    }
}

#[test]
fn scrub_fixture_states_match_their_names() {
    for dir in ["btrfs-scrub-status", "btrfs-scrub-start"] {
        for (name, text) in files(&root().join("fixtures").join(dir)) {
            let s = parse_scrub_status(&text).unwrap_or_else(|e| panic!("{dir}/{name}: {e}"));
            assert_eq!(s.state, scrub_state_from_name(&name), "{dir}/{name}");
        }
    }
}

/// The state MANIFEST.tsv's description names for a scrub-status file.
fn state_from_description(desc: &str) -> Option<ScrubState> {
    let d = desc.to_ascii_lowercase();
    [
        ("no stats available", ScrubState::NeverRun),
        ("interrupted", ScrubState::Interrupted),
        ("aborted", ScrubState::Aborted),
        ("finished", ScrubState::Finished),
        ("running", ScrubState::Running),
    ]
    .into_iter()
    .find(|(k, _)| d.contains(k))
    .map(|(_, s)| s)
}

#[test]
fn corpus_scrub_status_states() {
    let Some(c) = corpus() else { return };
    let manifest = fs::read_to_string(c.join("MANIFEST.tsv")).unwrap();
    let mut checked = 0;
    for row in manifest.lines().skip(1) {
        let cols: Vec<&str> = row.split('\t').collect();
        let (Some(path), Some(desc)) = (cols.first(), cols.last()) else {
            continue;
        };
        if !path.starts_with("btrfs-scrub-status/") {
            continue;
        }
        let want =
            state_from_description(desc).unwrap_or_else(|| panic!("{path}: no state in {desc:?}"));
        let text = fs::read_to_string(c.join(path)).unwrap();
        let got = parse_scrub_status(&text).unwrap_or_else(|e| panic!("{path}: {e}\n{text}"));
        assert_eq!(got.state, want, "{path}: {desc}");
        checked += 1;
    }
    let on_disk = files(&c.join("btrfs-scrub-status")).len();
    assert_eq!(
        checked, on_disk,
        "every corpus scrub file has a MANIFEST row"
    );
}

/// Every fixture and corpus scrub file, for the sweeps.
fn all_texts() -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = btrfs_fixture_dirs()
        .into_iter()
        .flat_map(|(d, f)| f.into_iter().map(move |(n, t)| (format!("{d}/{n}"), t)))
        .collect();
    if let Some(c) = corpus() {
        v.extend(
            files(&c.join("btrfs-scrub-status"))
                .into_iter()
                .map(|(n, t)| (format!("corpus/{n}"), t)),
        );
    }
    v
}

#[test]
fn no_cut_or_garbled_input_panics_any_parser() {
    let mut variants = 0;
    for (name, text) in all_texts() {
        for (pname, parse) in all_parsers() {
            variants += cuts::assert_never_panics(&format!("{name} [{pname}]"), &text, |t| {
                if parse(t) {
                    Ok(())
                } else {
                    Err(())
                }
            });
        }
    }
    println!("{variants} variants, no panic");
}

/// A scrub status cut at any line boundary, even one that keeps its final newline, is refused:
/// the summary or the raw counters end it.
#[test]
fn scrub_status_cut_at_a_line_boundary_is_refused() {
    let texts = all_texts()
        .into_iter()
        .filter(|(n, _)| n.contains("scrub-status") || n.starts_with("corpus/"));
    for (name, text) in texts {
        let body = text.trim_end_matches('\n');
        for (i, _) in body.match_indices('\n') {
            let cut = &text[..=i];
            assert!(
                parse_scrub_status(cut).is_err(),
                "{name}: accepted a cut after byte {i}:\n{cut}"
            );
        }
    }
}

/// A show output cut inside a filesystem block is refused (the device count does not match).
#[test]
fn show_cut_inside_a_block_is_refused() {
    for (name, text) in files(&root().join("fixtures/btrfs-filesystem-show")) {
        for (i, _) in text.trim_end_matches('\n').match_indices('\n') {
            let cut = &text[..=i];
            let next = text[i + 1..].lines().next().unwrap_or("");
            // A cut just before a blank line or a new Label ends a block cleanly.
            if next.is_empty() || next.starts_with("Label: ") {
                continue;
            }
            assert!(
                parse_show(cut).is_err(),
                "{name}: accepted a cut after byte {i}:\n{cut}"
            );
        }
    }
}

/// The operator states of `LNRAID_FIXCAP_ONLY=states`: concrete values, both versions.
#[test]
fn state_fixtures_have_the_values_status_judges() {
    use lnraid::probe::btrfs::replace::ReplaceState;
    use lnraid::probe::btrfs::Percent;
    use lnraid::types::Bytes;
    let read = |p: &str| fs::read_to_string(root().join("fixtures").join(p)).unwrap();
    for v in ["6.2", "6.14"] {
        let r = parse_replace_status(&read(&format!("btrfs-replace-status/{v}-replacing.txt")))
            .unwrap();
        assert_eq!(
            r.state,
            ReplaceState::Running {
                percent: Percent(2080)
            },
            "{v}"
        );
        let failed =
            parse_replace_status(&read(&format!("btrfs-replace-status/{v}-failed-full.txt")))
                .unwrap();
        assert!(
            matches!(failed.state, ReplaceState::Canceled),
            "{v}: {failed:?}"
        );
        let full = parse_usage(&read(&format!(
            "btrfs-filesystem-usage/{v}-raid1-full-raw.txt"
        )))
        .unwrap();
        assert_eq!(full.free_estimated, Bytes(0), "{v}");
        assert_eq!(full.device_unallocated, Bytes(2 << 20), "{v}");
        let nearly = parse_usage(&read(&format!(
            "btrfs-filesystem-usage/{v}-raid1-nearly-full-raw.txt"
        )))
        .unwrap();
        assert_eq!(nearly.free_estimated, Bytes(32112640), "{v}");
        let replacing = parse_usage(&read(&format!(
            "btrfs-filesystem-usage/{v}-raid1-replacing-raw.txt"
        )))
        .unwrap();
        assert!(!replacing.has_missing_device(), "{v}");
        let stats = parse_stats(&read(&format!("btrfs-device-stats/{v}-replacing.txt"))).unwrap();
        assert_eq!(stats.len(), 3, "{v}: the replace target has counters too");
        let ro = parse_stats(&read(&format!("btrfs-device-stats/{v}-forced-ro.txt"))).unwrap();
        assert_eq!(ro.len(), 2, "{v}");
    }
}
