//! Escaping of untrusted strings for the terminal (after fd's `sanitize.rs`).

/// Replaces every character that could change how a terminal shows text — C0/C1 controls
/// (ESC starts escape sequences), DEL, and Unicode format characters (bidi overrides,
/// zero-width joiners, BOM) — with a visible `\u{..}` escape. Printable text, including
/// non-ASCII letters, is kept. A backslash is doubled so escapes stay unambiguous.
pub fn sanitize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '\\' {
            out.push_str("\\\\");
        } else if c.is_control() || is_format_char(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Like [`sanitize`] but keeps line breaks, for multi-line messages (errors with a stderr tail).
pub fn sanitize_multiline(s: &str) -> String {
    s.split('\n').map(sanitize).collect::<Vec<_>>().join("\n")
}

/// Unicode "Cf" characters that matter for spoofing: bidi controls, zero-width characters,
/// the BOM, soft hyphen, and the interlinear annotation marks.
fn is_format_char(c: char) -> bool {
    matches!(c,
        '\u{ad}' | '\u{061c}' | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206f}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_controls() {
        assert_eq!(sanitize("Samsung SSD 870"), "Samsung SSD 870");
        assert_eq!(
            sanitize("evil\x1b[2J\x1b[Hdisk"),
            "evil\\u{1b}[2J\\u{1b}[Hdisk"
        );
        assert_eq!(sanitize("a\nb\rc\td"), "a\\u{a}b\\u{d}c\\u{9}d");
        assert_eq!(sanitize("abc\u{202e}fdp.exe"), "abc\\u{202e}fdp.exe");
        assert_eq!(sanitize("x\u{9b}31m"), "x\\u{9b}31m");
        assert_eq!(sanitize("back\\slash"), "back\\\\slash");
        assert_eq!(sanitize("Ünïcødé ok"), "Ünïcødé ok");
    }
}
