//! A line diff for the dry run of `schedule install` (the files are a few dozen lines: a
//! plain longest-common-subsequence table is enough). Pure.

/// `old` → `new` as lines prefixed `-`, `+` or ` ` (context), in file order.
pub fn line_diff(old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = String::new();
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push_str(&format!(" {}\n", a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push_str(&format!("-{}\n", a[i]));
            i += 1;
        } else {
            out.push_str(&format!("+{}\n", b[j]));
            j += 1;
        }
    }
    out
}

/// Keeps only the changed lines of a [`line_diff`] and `context` lines around them; a run of
/// skipped lines shows as `...`.
pub fn compact(diff: &str, context: usize) -> String {
    let lines: Vec<&str> = diff.lines().collect();
    let changed: Vec<usize> = (0..lines.len())
        .filter(|&i| !lines[i].starts_with(' '))
        .collect();
    let keep = |i: usize| changed.iter().any(|&c| c.abs_diff(i) <= context);
    let mut out = String::new();
    let mut skipped = false;
    for (i, l) in lines.iter().enumerate() {
        if keep(i) {
            out.push_str(l);
            out.push('\n');
            skipped = false;
        } else if !skipped {
            out.push_str("...\n");
            skipped = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compacts_context() {
        let d = line_diff("1\n2\n3\n4\n5\n6\n7\n", "1\n2\n3\nx\n5\n6\n7\n");
        assert_eq!(compact(&d, 1), "...\n 3\n-4\n+x\n 5\n...\n");
    }

    #[test]
    fn diffs_lines() {
        assert_eq!(line_diff("a\nb\nc\n", "a\nx\nc\n"), " a\n-b\n+x\n c\n");
        assert_eq!(line_diff("", "a\n"), "+a\n");
        assert_eq!(line_diff("a\n", ""), "-a\n");
        assert_eq!(line_diff("a\nb\n", "a\nb\n"), " a\n b\n");
    }
}
