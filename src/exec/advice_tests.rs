//! Every command line lnraid prints as advice ("run `chattr +i …`") is one the operator can
//! paste: a shell makes of it exactly the words lnraid meant, whatever the path holds.
//! Checked with the real `sh`, on the advice `status` gives for an array at an odd mountpoint.

use super::{quote_path, Cmd, RealRunner, Runner};
use crate::probe::btrfs::balance::{BalanceProgress, BalanceState};
use crate::status::{evaluate, ArrayFacts};

/// Spaces, both quotes, `%`, `$`, a command substitution, a backslash, a glob. (No backtick:
/// advice marks commands with backticks, so the test could not find where one ends.)
pub(crate) const ODD: &str = "/tmp/my node's \"100%\" $HOME $(id) back\\slash *";

/// The words `sh` makes of `line` (printed NUL-separated by `printf`).
fn sh_words(line: &str) -> Vec<String> {
    let script = format!("set -- {line}; for a; do printf '%s\\0' \"$a\"; done");
    let out = RealRunner
        .run_ok(&Cmd::read_only("sh", ["-c", script.as_str()]))
        .unwrap();
    out.stdout
        .split('\0')
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// The `backticked` spans of `text` that mention the odd path.
fn commands_naming_odd(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|c| c.contains("/tmp/my"))
        .map(str::to_string)
        .collect()
}

#[test]
fn quote_path_round_trips_through_sh() {
    let words = sh_words(&format!("rm -rf -- {}", quote_path(ODD.as_ref())));
    assert_eq!(words, ["rm", "-rf", "--", ODD]);
}

#[test]
fn status_advice_survives_the_shell() {
    let progress = BalanceProgress {
        completed_chunks: 1,
        expected_chunks: 2,
        considered_chunks: 2,
        percent_left: 50,
        cancel_requested: false,
        pause_requested: false,
    };
    let unmounted = ArrayFacts {
        mountpoint: ODD.into(),
        mountpoint_immutable: Some(false),
        balance: Some(BalanceState::Paused(progress)),
        ..ArrayFacts::default()
    };
    let elsewhere = ArrayFacts {
        mountpoint: ODD.into(),
        mounted_at: Some("/mnt/other".into()),
        ..ArrayFacts::default()
    };
    let mut checked = 0;
    for facts in [unmounted, elsewhere] {
        for p in evaluate(&facts, 2_000_000_000).problems {
            for cmd in commands_naming_odd(&p.action) {
                let words = sh_words(&cmd);
                assert_eq!(
                    words.last().map(String::as_str),
                    Some(ODD),
                    "{}: `{cmd}` -> {words:?}",
                    p.code
                );
                checked += 1;
            }
        }
    }
    // mount, chattr +i, maintain scrub, balance resume/cancel at least.
    assert!(checked >= 5, "only {checked} commands checked");
}
