//! Truncated and garbled variants of a captured output, for "never panic" tests.
#![allow(dead_code)]

use std::panic::{catch_unwind, AssertUnwindSafe};

/// Every prefix of `text` ending at a line boundary, plus ~50 prefixes cut inside lines (at
/// char boundaries).
pub fn cuts(text: &str) -> Vec<&str> {
    let mut out: Vec<&str> = text.match_indices('\n').map(|(i, _)| &text[..i]).collect();
    let n = text.len().max(1);
    let step = (n / 50).max(1);
    let mut i = 0;
    while i < text.len() {
        if text.is_char_boundary(i) {
            out.push(&text[..i]);
        }
        i += step;
    }
    out.push("");
    out
}

/// Variants with bytes replaced, lines shuffled, duplicated and dropped.
pub fn garbles(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut rev = lines.clone();
    rev.reverse();
    out.push(rev.join("\n"));
    out.push(
        lines
            .iter()
            .flat_map(|l| [*l, *l])
            .collect::<Vec<_>>()
            .join("\n"),
    );
    out.push(
        lines
            .iter()
            .step_by(2)
            .copied()
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let junk = [
        "\0",
        "\u{1b}[2J",
        "}",
        "{",
        "\"",
        "\t",
        ":",
        "=",
        "-1",
        "99999999999999999999999",
        "é",
        "%",
    ];
    for (k, j) in junk.iter().enumerate() {
        let mut s = String::new();
        for (i, c) in text.chars().enumerate() {
            if i % (7 + k * 3) == 3 {
                s.push_str(j);
            } else {
                s.push(c);
            }
        }
        out.push(s);
    }
    out.push(text.replace(|c: char| c.is_ascii_digit(), "x"));
    out.push(text.replace(' ', ""));
    out
}

/// Feeds every cut and garbled variant of `text` to `parse`; fails the test if any panics.
/// Returns how many variants were tried.
pub fn assert_never_panics<T, E>(
    name: &str,
    text: &str,
    parse: impl Fn(&str) -> Result<T, E>,
) -> usize {
    let mut n = 0;
    let variants: Vec<String> = cuts(text)
        .into_iter()
        .map(str::to_string)
        .chain(garbles(text))
        .collect();
    for v in &variants {
        n += 1;
        let r = catch_unwind(AssertUnwindSafe(|| {
            let _ = parse(v);
        }));
        assert!(r.is_ok(), "{name}: parser panicked on a variant:\n{v}");
    }
    n
}
