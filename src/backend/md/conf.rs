//! mdadm.conf, edited losslessly: every line lnraid does not add is kept byte for byte; lnraid
//! adds its `ARRAY` line (the one `mdadm --detail --brief` prints), a `HOMEHOST` line when
//! there is none (udev's last-resort degraded start skips "foreign" arrays), and a `PROGRAM`
//! line when neither `MAILADDR` nor `PROGRAM` exists (without one `mdadm --monitor` refuses to
//! run and Debian's monitor service monitors nothing). Pure; the executor writes atomically
//! (config/atomic.rs: temp, fsync, rename, `.bak`).

/// The comment line above the lines lnraid appends (how `--abort` finds them again).
pub const COMMENT: &str = "# added by lnraid setup (the array holding the Lightning node's data)";

/// The ARRAY line lnraid plans (identical to `mdadm --detail --brief` of the new array).
pub fn array_line(path: &str, name_with_host: &str, md_uuid: &str) -> String {
    format!("ARRAY {path} metadata=1.2 name={name_with_host} UUID={md_uuid}")
}

fn keyword(line: &str) -> Option<String> {
    let w = line.split_whitespace().next()?;
    (!w.starts_with('#')).then(|| w.to_ascii_uppercase())
}

/// Whether the text has an ARRAY line for `md_uuid` (mdadm prints UUIDs in lower case).
pub fn has_array(text: &str, md_uuid: &str) -> bool {
    let want = format!("uuid={}", md_uuid.to_ascii_lowercase());
    text.lines().any(|l| {
        keyword(l).as_deref() == Some("ARRAY")
            && l.split_whitespace().any(|t| t.to_ascii_lowercase() == want)
    })
}

/// Lines lnraid appends to `current` (empty: nothing to do; idempotent).
pub fn lines_to_add(
    current: &str,
    array: &str,
    md_uuid: &str,
    homehost: &str,
    program: &str,
) -> Vec<String> {
    let has = |k: &str| current.lines().any(|l| keyword(l).as_deref() == Some(k));
    let mut add = Vec::new();
    if !has("HOMEHOST") {
        add.push(format!("HOMEHOST {homehost}"));
    }
    if !has("MAILADDR") && !has("PROGRAM") {
        add.push(format!("PROGRAM {program}"));
    }
    if !has_array(current, md_uuid) {
        add.push(array.to_string());
    }
    add
}

/// `current` with `lines` appended under a comment naming lnraid.
pub fn append(current: &str, lines: &[String]) -> String {
    if lines.is_empty() {
        return current.to_string();
    }
    let mut out = current.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(COMMENT);
    out.push('\n');
    for l in lines {
        out.push_str(l);
        out.push('\n');
    }
    out
}

/// Appends the lines `current` lacks to the file at `path` (created 0644 when missing),
/// atomically with a `.bak`. Called by the executor for `Action::ConfAppend`.
pub fn apply_append(path: &std::path::Path, lines: &[String], md_uuid: &str) -> anyhow::Result<()> {
    use anyhow::Context;
    let current = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let missing: Vec<String> = lines
        .iter()
        .filter(|l| {
            let kw = keyword(l);
            match kw.as_deref() {
                Some("ARRAY") => !has_array(&current, md_uuid),
                Some(k @ ("HOMEHOST" | "PROGRAM")) => {
                    let alt = if k == "PROGRAM" { "MAILADDR" } else { k };
                    !current.lines().any(|c| {
                        let ck = keyword(c);
                        ck.as_deref() == Some(k) || ck.as_deref() == Some(alt)
                    })
                }
                _ => !current.lines().any(|c| c == l.as_str()),
            }
        })
        .cloned()
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let new = append(&current, &missing);
    crate::config::atomic::write_atomic(path, new.as_bytes(), 0o644, &mut |_| Ok(()))?;
    Ok(())
}

/// `current` without what lnraid appended: its comment line and the following lines that are
/// among `lines` (the block [`append`] wrote), and any other ARRAY line of `md_uuid` (the
/// array is going away). Every other line kept byte for byte. Pure; idempotent.
pub fn remove_own(current: &str, lines: &[String], md_uuid: &str) -> String {
    let mut out = String::with_capacity(current.len());
    let mut in_block = false;
    for l in current.split_inclusive('\n') {
        let bare = l.trim_end_matches('\n');
        if bare == COMMENT {
            in_block = true;
            continue;
        }
        if in_block && lines.iter().any(|x| x == bare) {
            continue;
        }
        in_block = false;
        if has_array(bare, md_uuid) {
            continue;
        }
        out.push_str(l);
    }
    out
}

/// Removes lnraid's lines from the file at `path` (atomically, with a `.bak`). A missing
/// file or one without lnraid's lines: nothing to do. Called by the executor for
/// `MdAction::ConfRemove`.
pub fn apply_remove(path: &std::path::Path, lines: &[String], md_uuid: &str) -> anyhow::Result<()> {
    use anyhow::Context;
    let current = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let new = remove_own(&current, lines, md_uuid);
    if new != current {
        crate::config::atomic::write_atomic(path, new.as_bytes(), 0o644, &mut |_| Ok(()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEBIAN: &str = "# mdadm.conf\n#\nHOMEHOST <system>\n\n# instruct the monitoring daemon where to send mail alerts\nMAILADDR root\n\nARRAY /dev/md/0  metadata=1.2 UUID=11111111:22222222:33333333:44444444 name=box:0\n";

    #[test]
    fn appends_only_the_array_line_to_a_debian_conf_and_keeps_every_byte() {
        let a = array_line(
            "/dev/md/lnraid",
            "node:lnraid",
            "aaaaaaaa:bbbbbbbb:cccccccc:dddddddd",
        );
        let add = lines_to_add(
            DEBIAN,
            &a,
            "aaaaaaaa:bbbbbbbb:cccccccc:dddddddd",
            "node",
            "/usr/sbin/lnraid-alert",
        );
        assert_eq!(add, vec![a.clone()]);
        let new = append(DEBIAN, &add);
        assert!(new.starts_with(DEBIAN));
        assert!(new.ends_with(&format!("{a}\n")));
        // Idempotent: a second run adds nothing.
        assert!(
            lines_to_add(&new, &a, "AAAAAAAA:bbbbbbbb:cccccccc:dddddddd", "node", "x").is_empty()
        );
    }

    #[test]
    fn remove_own_gives_back_the_debian_conf_byte_for_byte() {
        let u = "aaaaaaaa:bbbbbbbb:cccccccc:dddddddd";
        let a = array_line("/dev/md/lnraid", "node:lnraid", u);
        for before in [DEBIAN, "", "#MAILADDR root\nDEVICE partitions\n"] {
            let lines = vec!["HOMEHOST node".to_string(), "PROGRAM /p".into(), a.clone()];
            let add = lines_to_add(before, &a, u, "node", "/p");
            let after = append(before, &add);
            assert_ne!(after, before);
            assert_eq!(remove_own(&after, &lines, u), before);
            // Idempotent, and a second abort changes nothing.
            assert_eq!(remove_own(before, &lines, u), before);
        }
    }

    #[test]
    fn remove_own_keeps_an_operators_identical_line_outside_lnraids_block_but_drops_our_array() {
        let u = "aaaaaaaa:bbbbbbbb:cccccccc:dddddddd";
        let a = array_line("/dev/md/lnraid", "node:lnraid", u);
        // The operator's own HOMEHOST above, and a `mdadm --detail --scan >>` copy of ours.
        let text = format!("HOMEHOST node\n{COMMENT}\n{a}\nARRAY /dev/md/lnraid metadata=1.2 UUID={u}\nARRAY /dev/md/0 UUID=11111111:22222222:33333333:44444444\n");
        let lines = vec!["HOMEHOST node".to_string(), a];
        assert_eq!(
            remove_own(&text, &lines, u),
            "HOMEHOST node\nARRAY /dev/md/0 UUID=11111111:22222222:33333333:44444444\n"
        );
    }

    #[test]
    fn empty_conf_gets_homehost_and_program_so_monitor_watches_something() {
        let a = array_line(
            "/dev/md/lnraid",
            "node:lnraid",
            "aaaaaaaa:bbbbbbbb:cccccccc:dddddddd",
        );
        let add = lines_to_add(
            "",
            &a,
            "aaaaaaaa:bbbbbbbb:cccccccc:dddddddd",
            "node",
            "/bin/true",
        );
        assert_eq!(
            add,
            vec!["HOMEHOST node".to_string(), "PROGRAM /bin/true".into(), a]
        );
        // A commented-out MAILADDR is not one.
        let add = lines_to_add("#MAILADDR root\n", "ARRAY x", "u", "h", "p");
        assert!(add.contains(&"PROGRAM p".to_string()));
    }
}
