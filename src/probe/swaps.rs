//! `/proc/swaps`: active swap areas. A device in use as swap must never be formatted.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::mounts::unescape_octal;
use super::ParseError;

const WHAT: &str = "/proc/swaps";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Swap {
    pub path: PathBuf,
    /// `partition` or `file`.
    pub kind: String,
}

/// Parses `/proc/swaps`: a header line, then `Filename Type Size Used Priority` rows.
pub fn parse_swaps(text: &str) -> Result<Vec<Swap>, ParseError> {
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, h)) if h.starts_with("Filename") => {}
        Some((_, h)) => {
            return Err(ParseError::at(
                WHAT,
                1,
                format!("unexpected header {:?}", super::excerpt(h)),
            ))
        }
        None => {
            return Err(ParseError::new(
                WHAT,
                "empty (even without swap it has a header line)",
            ))
        }
    }
    let mut out = Vec::new();
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 5 || f[2..5].iter().any(|n| n.parse::<i64>().is_err()) {
            return Err(ParseError::at(
                WHAT,
                i + 1,
                format!("not a swap row: {:?}", super::excerpt(line)),
            ));
        }
        out.push(Swap {
            path: PathBuf::from(unescape_octal(f[0])),
            kind: f[1].to_string(),
        });
    }
    Ok(out)
}

pub fn read_swaps(path: &Path) -> anyhow::Result<Vec<Swap>> {
    use anyhow::Context;
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(parse_swaps(&text)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        let t = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/dev/zram0  partition\t8388604\t0\t100\n/swap\\040file file 1024 0 -2\n";
        let s = parse_swaps(t).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].path, PathBuf::from("/dev/zram0"));
        assert_eq!(s[1].path, PathBuf::from("/swap file"));
        assert_eq!(s[1].kind, "file");
    }

    #[test]
    fn errors() {
        assert!(parse_swaps("").is_err());
        assert!(parse_swaps("Filename Type\n/dev/sda2 partition x y z\n").is_err());
        assert!(parse_swaps("Filename Type Size Used Priority\n")
            .unwrap()
            .is_empty());
    }

    #[test]
    fn reads_this_machine() {
        read_swaps(Path::new("/proc/swaps")).unwrap();
    }
}
