//! fstab(5) as a list of lines: entries are parsed, everything else (comments, blank lines,
//! odd spacing, inline comments) is kept verbatim, so `render(parse(x)) == x` byte for byte.
//! Pure.

use serde::Serialize;

use crate::probe::mounts::unescape_octal;
use crate::probe::ParseError;

const WHAT: &str = "fstab";

/// One mount entry. Fields are unescaped (`\040` → space); `raw` is the line as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub spec: String,
    pub file: String,
    pub vfstype: String,
    pub options: String,
    pub freq: Option<u32>,
    pub passno: Option<u32>,
    /// A trailing `# ...` comment on the same line, if any.
    pub comment: Option<String>,
    pub raw: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Line {
    Entry(Entry),
    /// Comment, blank line: kept as written.
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fstab {
    pub lines: Vec<Line>,
    /// Whether the text ended with a newline (kept, for losslessness).
    pub trailing_newline: bool,
}

impl Fstab {
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.lines.iter().filter_map(|l| match l {
            Line::Entry(e) => Some(e),
            Line::Other(_) => None,
        })
    }

    /// The text, byte for byte as parsed (plus whatever edits were made to `lines`).
    pub fn render(&self) -> String {
        let mut out: Vec<&str> = Vec::with_capacity(self.lines.len());
        for l in &self.lines {
            out.push(match l {
                Line::Entry(e) => &e.raw,
                Line::Other(s) => s,
            });
        }
        let mut s = out.join("\n");
        if self.trailing_newline && !self.lines.is_empty() {
            s.push('\n');
        }
        s
    }
}

/// Parses fstab text. An entry needs at least `spec file vfstype` (libmount accepts the
/// options, freq and passno fields missing); anything after `#` outside a field is a comment.
pub fn parse_fstab(text: &str) -> Result<Fstab, ParseError> {
    let trailing_newline = text.ends_with('\n');
    let body = text.strip_suffix('\n').unwrap_or(text);
    let mut lines = Vec::new();
    if !text.is_empty() {
        for (i, raw) in body.split('\n').enumerate() {
            lines.push(parse_line(raw).map_err(|why| ParseError::at(WHAT, i + 1, why))?);
        }
    }
    Ok(Fstab {
        lines,
        trailing_newline,
    })
}

fn parse_line(raw: &str) -> Result<Line, String> {
    let trimmed = raw.trim_start();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Ok(Line::Other(raw.to_string()));
    }
    let (fields_part, comment) = match raw.find(" #").or_else(|| raw.find("\t#")) {
        Some(i) => (
            &raw[..i],
            Some(raw[i..].trim().trim_start_matches('#').trim().to_string()),
        ),
        None => (raw, None),
    };
    let f: Vec<&str> = fields_part.split_whitespace().collect();
    if f.len() < 3 {
        return Err(format!(
            "an entry needs at least 3 fields, got {}: {:?}",
            f.len(),
            crate::probe::excerpt(raw)
        ));
    }
    if f.len() > 6 {
        return Err(format!(
            "more than 6 fields: {:?}",
            crate::probe::excerpt(raw)
        ));
    }
    let num = |i: usize| -> Result<Option<u32>, String> {
        f.get(i)
            .map(|v| {
                v.parse::<u32>()
                    .map_err(|_| format!("field {} is not a number: {v:?}", i + 1))
            })
            .transpose()
    };
    Ok(Line::Entry(Entry {
        spec: unescape_octal(f[0]),
        file: unescape_octal(f[1]),
        vfstype: f[2].to_string(),
        options: f
            .get(3)
            .map(|s| unescape_octal(s))
            .unwrap_or_else(|| "defaults".into()),
        freq: num(4)?,
        passno: num(5)?,
        comment,
        raw: raw.to_string(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lossless_and_parsed() {
        let t = "# /etc/fstab\n\nUUID=abc /  ext4 errors=remount-ro 0 1\n/swap.img\tnone\tswap\tsw\t0\t0 # swap file\n\
                 server:/x /mnt/my\\040nfs nfs rw\n   \n";
        let f = parse_fstab(t).unwrap();
        assert_eq!(f.render(), t);
        let e: Vec<&Entry> = f.entries().collect();
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].spec, "UUID=abc");
        assert_eq!(e[0].passno, Some(1));
        assert_eq!(e[1].comment.as_deref(), Some("swap file"));
        assert_eq!(e[2].file, "/mnt/my nfs");
        assert_eq!(e[2].freq, None);
    }

    #[test]
    fn no_trailing_newline_kept() {
        let t = "a b c";
        assert_eq!(parse_fstab(t).unwrap().render(), t);
        assert_eq!(parse_fstab("").unwrap().render(), "");
        assert_eq!(parse_fstab("\n").unwrap().render(), "\n");
    }

    #[test]
    fn errors() {
        assert!(parse_fstab("only two\n").is_err());
        assert!(parse_fstab("a b c d x 1\n").is_err());
        assert!(parse_fstab("a b c d 1 2 3\n").is_err());
    }
}
