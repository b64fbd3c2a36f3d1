//! The confirmation before destruction: default no, shows model, serial, size and current
//! contents of each disk (sanitized), and refuses without a terminal unless `--yes`.
//!
//! It cannot be given by accident: a single `y` (or a key pressed without Enter) once erased
//! disks. The operator now types a whole word and presses Enter, read as a line: `yes`, or,
//! before disks are erased, for each disk the last 4 characters of its serial (its kernel
//! name when it has no serial), as braid and cryptsetup make their users type a word. A line
//! cut short by end of input is no answer.

use std::io::{BufRead, IsTerminal};

use anyhow::Result;

use super::sanitize;
use crate::probe::blkid::Identity;
use crate::probe::lsblk::BlockDev;

/// The lines describing what will be destroyed.
pub fn describe_targets(targets: &[(BlockDev, Option<Identity>)]) -> String {
    let mut out = String::from("These devices will be ERASED; everything on them is lost:\n");
    for (d, id) in targets {
        let contents = match id {
            Some(i) if i.is_blank() => "blank".to_string(),
            Some(i) => [
                i.fstype.as_ref().map(|t| format!("{t} filesystem")),
                i.pttype.as_ref().map(|p| format!("{p} partition table")),
                i.label.as_ref().map(|l| format!("label {l:?}")),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", "),
            None => "unknown".to_string(),
        };
        out.push_str(&sanitize(&format!(
            "  {}  {}  model {}  serial {}  now holds: {}",
            d.path,
            d.size,
            d.model.as_deref().unwrap_or("-"),
            d.serial.as_deref().unwrap_or("-"),
            contents
        )));
        out.push('\n');
    }
    out
}

/// What the operator must type (then Enter) to confirm: every token once, in any order,
/// separated by spaces; letters in any case; a device name with or without `/dev/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    tokens: Vec<String>,
}

/// Serials shorter than this are not used (too easy to match by chance); the device's name
/// is asked for instead.
const SERIAL_TAIL: usize = 4;

impl Challenge {
    /// The word `yes`.
    pub fn yes() -> Challenge {
        Challenge {
            tokens: vec!["yes".into()],
        }
    }

    /// One token per disk to be erased: the last 4 characters of its serial (letters and
    /// digits only), or its kernel name (`sdb`, `loop3`) when it has no usable serial.
    pub fn for_disks(disks: &[BlockDev]) -> Challenge {
        let tokens = disks
            .iter()
            .map(|d| {
                let serial: Vec<char> = d
                    .serial
                    .as_deref()
                    .unwrap_or("")
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .collect();
                if serial.len() >= SERIAL_TAIL {
                    serial[serial.len() - SERIAL_TAIL..].iter().collect()
                } else {
                    d.path.kname().unwrap_or("yes").to_string()
                }
            })
            .collect();
        Challenge { tokens }
    }

    /// The prompt that says what to type.
    pub fn prompt(&self) -> String {
        if self.tokens == ["yes"] {
            return "Type yes and press Enter to continue (anything else cancels): ".into();
        }
        format!(
            "To erase them, type for each disk the last {SERIAL_TAIL} characters of its serial (its name when it has none): {}\nand press Enter (anything else cancels): ",
            self.tokens.join(" ")
        )
    }

    /// Whether `line`, as read including its line end, confirms.
    pub fn accepts(&self, line: &str) -> bool {
        let Some(body) = line.strip_suffix('\n') else {
            return false; // no Enter: end of input cut the answer short
        };
        let norm = |w: &str| w.strip_prefix("/dev/").unwrap_or(w).to_ascii_lowercase();
        let mut given: Vec<String> = body.split_whitespace().map(norm).collect();
        let mut want: Vec<String> = self.tokens.iter().map(|t| norm(t)).collect();
        given.sort();
        want.sort();
        !want.is_empty() && given == want
    }
}

/// Reads one answer line from `input` and judges it. End of input is a no.
pub fn read_answer(input: &mut dyn BufRead, challenge: &Challenge) -> std::io::Result<bool> {
    let mut line = String::new();
    input.read_line(&mut line)?;
    Ok(challenge.accepts(&line))
}

/// Asks for `yes` + Enter, default no. `--yes` answers for the operator; without a terminal
/// and without `--yes`, the answer is no.
pub fn confirm_destruction(summary: &str, yes: bool) -> Result<bool> {
    confirm(summary, &Challenge::yes(), yes)
}

/// Asks before erasing `targets` (already described in `summary`): the operator types each
/// disk's serial tail (or name) and Enter.
pub fn confirm_erase(
    summary: &str,
    targets: &[(BlockDev, Option<Identity>)],
    yes: bool,
) -> Result<bool> {
    let disks: Vec<BlockDev> = targets.iter().map(|(d, _)| d.clone()).collect();
    confirm(summary, &Challenge::for_disks(&disks), yes)
}

/// Shows `summary`, then asks for `challenge` on the terminal.
pub fn confirm(summary: &str, challenge: &Challenge, yes: bool) -> Result<bool> {
    eprint!("{summary}");
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        eprintln!("no terminal to confirm on: rerun with --yes to proceed without a prompt");
        return Ok(false);
    }
    eprint!("{}", sanitize(&challenge.prompt()));
    let ok = read_answer(&mut std::io::stdin().lock(), challenge)?;
    if !ok {
        eprintln!("not confirmed");
    }
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Bytes, DevPath};

    fn answer(challenge: &Challenge, typed: &str) -> bool {
        read_answer(&mut typed.as_bytes(), challenge).unwrap()
    }

    #[test]
    fn yes_needs_the_whole_word_and_enter() {
        let c = Challenge::yes();
        for refused in [
            "y\n",
            "y",
            "yes",
            "\n",
            "",
            "no\n",
            "yes please\n",
            "yess\n",
            "ye\n",
        ] {
            assert!(!answer(&c, refused), "{refused:?} accepted");
        }
        for accepted in ["yes\n", "YES\n", "  yes \r\n", "Yes\n"] {
            assert!(answer(&c, accepted), "{accepted:?} refused");
        }
        // Only the first line counts: a `y` followed later by `yes` is still a `y`.
        assert!(!answer(&c, "y\nyes\n"));
    }

    fn disk(path: &str, serial: Option<&str>) -> BlockDev {
        BlockDev {
            path: DevPath::new(path),
            kind: "disk".into(),
            size: Bytes(1 << 30),
            read_only: false,
            removable: false,
            rotational: false,
            transport: None,
            model: None,
            serial: serial.map(str::to_string),
            mountpoint: None,
            fstype_hint: None,
            devnum: None,
            parents: vec![],
        }
    }

    #[test]
    fn disks_are_confirmed_by_serial_tail_or_name() {
        let c = Challenge::for_disks(&[
            disk("/dev/sdb", Some("WD-WCC4N7KX1234")),
            disk("/dev/loop3", None),
            disk("/dev/vdc", Some("ab")),
        ]);
        assert_eq!(c.tokens, ["1234", "loop3", "vdc"]);
        assert!(c.prompt().contains("1234 loop3 vdc"));
        assert!(answer(&c, "1234 loop3 vdc\n"));
        assert!(
            answer(&c, "vdc /dev/loop3 1234\n"),
            "any order, /dev/ allowed"
        );
        for refused in [
            "yes\n",
            "1234 loop3\n",
            "1234 loop3 vdc vdc\n",
            "1234 loop3 vdc",
            "y\n",
            "1234 loop4 vdc\n",
        ] {
            assert!(!answer(&c, refused), "{refused:?} accepted");
        }
    }
}
