//! Values for systemd unit files, each escaped for its field (systemd.syntax(7),
//! systemd.unit(5)). Pure.
//!
//! A path list such as `RequiresMountsFor=` is split on whitespace, honours double quotes
//! (a backslash inside takes the next character literally) and expands `%` specifiers; `$` is
//! not special there. Written bare, `/srv/my node` became the two words `/srv/my` and `node`:
//! systemd ignored the relative one and required the wrong mount, so lightningd could start
//! on a bare mountpoint. (`ExecStart=` arguments follow other rules: see
//! `schedule::render::systemd_quote`.)

use std::path::Path;

/// One absolute path as an item of a space-separated path list (`RequiresMountsFor=`):
/// bare when plain; else double-quoted with `\` and `"` escaped. `%` is always doubled.
/// Control characters cannot be written in a unit file; the caller refuses such paths.
pub fn path_list_item(path: &Path) -> String {
    let s = path.to_string_lossy();
    let plain = |c: char| c.is_ascii_alphanumeric() || "/_.,:@+=-%".contains(c);
    let doubled = s.replace('%', "%%");
    if !s.is_empty() && s.chars().all(plain) {
        return doubled;
    }
    let mut out = String::from("\"");
    for c in doubled.chars() {
        if c == '\\' || c == '"' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Whether `s` can be written into a unit file at all (one line, no control characters).
pub fn is_unit_safe(s: &str) -> bool {
    !s.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// systemd's own splitting of a path list (extract_first_word with EXTRACT_UNQUOTE, then
    /// specifier expansion of `%%`), written independently of the escaping above.
    fn systemd_split(value: &str) -> Vec<String> {
        let (mut words, mut cur, mut inq, mut esc, mut any) =
            (vec![], String::new(), false, false, false);
        for c in value.chars() {
            match c {
                _ if esc => {
                    cur.push(c);
                    esc = false;
                }
                '\\' => esc = true,
                '"' => {
                    inq = !inq;
                    any = true;
                }
                ' ' | '\t' if !inq => {
                    if any || !cur.is_empty() {
                        words.push(std::mem::take(&mut cur));
                    }
                    any = false;
                }
                c => cur.push(c),
            }
        }
        if any || !cur.is_empty() {
            words.push(cur);
        }
        words.into_iter().map(|w| w.replace("%%", "%")).collect()
    }

    #[test]
    fn odd_paths_survive_systemd_splitting() {
        for p in [
            "/mnt/lnraid",
            "/srv/my node",
            "/srv/it's \"quoted\"",
            "/srv/100%",
            "/srv/back\\slash",
            "/srv/$HOME and %n",
            "/srv/tab\there",
        ] {
            let item = path_list_item(Path::new(p));
            assert_eq!(systemd_split(&item), vec![p.to_string()], "{p} -> {item}");
        }
        assert_eq!(path_list_item(Path::new("/mnt/lnraid")), "/mnt/lnraid");
        assert_eq!(path_list_item(Path::new("/srv/100%")), "/srv/100%%");
        assert_eq!(
            path_list_item(Path::new("/srv/my node")),
            "\"/srv/my node\""
        );
        assert!(!is_unit_safe("/srv/a\nb") && is_unit_safe("/srv/a b"));
    }
}
