//! What `recover` prints while it runs: the array and its candidates (generation, device
//! UUID, why a disk is not used), and the result. Only stdout; device-supplied strings are
//! sanitized.

use std::path::Path;

use crate::backend::btrfs::recover::discover::ArrayFound;
use crate::recover::copy;
use crate::recover::manifest::RecoverManifest;
use crate::recover::{DATABASE, HSM_SECRET, MANIFEST_NAME};
use crate::ui::{sanitize, sanitize_multiline};

pub(super) fn print_array(array: &ArrayFound) {
    let members: Vec<String> = array
        .choice
        .members
        .iter()
        .map(|m| m.path.to_string())
        .collect();
    println!(
        "Array: btrfs {} (label {}), present member(s): {}",
        array.choice.uuid,
        sanitize(&format!(
            "{:?}",
            array.choice.label.as_deref().unwrap_or("none")
        )),
        members.join(", ")
    );
    for s in &array.seen {
        println!("  {}", crate::recover::generations::describe(s));
    }
    for (p, why) in &array.ignored {
        println!("  note: not using {p}: {}", sanitize(why));
    }
    match &array.existing {
        Some(ex) => println!(
            "Already mounted at {} ({}{}): lnraid reads it through a private read-only bind mount and\n  writes nothing to it, not even access times.",
            sanitize(&ex.mountpoint.to_string_lossy()),
            sanitize(&ex.options),
            if ex.root == "/" {
                String::new()
            } else {
                format!(", subvolume {}", sanitize(&ex.root))
            }
        ),
        None => println!(
            "Not mounted: the survivor {} will be mounted read-only, degraded.",
            array.survivor.path
        ),
    }
}

pub(super) fn print_result(
    dest: &Path,
    c: &copy::Copied,
    m: &RecoverManifest,
    mp: &Path,
    array: &ArrayFound,
) {
    let mut out = format!(
        "\nCopied to {} and verified (read back from disk: BLAKE3 equal to the source), {}:\n",
        dest.display(),
        crate::types::Bytes(c.bytes)
    );
    let lines = copy::summary_lines(c);
    if m.all && lines.len() > 12 {
        out.push_str(&format!(
            "  {} files (all of the node directory); see MANIFEST\n",
            lines.len()
        ));
    } else {
        for l in lines {
            out.push_str(&format!("  {l}\n"));
        }
    }
    if let Some(db) = &c.database {
        out.push_str(&format!(
            "PRAGMA integrity_check on the copied {}: {}",
            db.path, db.integrity_check
        ));
        if db.hot_journal {
            out.push_str(
                "\n  A hot -journal is next to it (lightningd was interrupted mid-transaction): keep the two\n  together; lightningd rolls the journal back on start, to the last committed state.",
            );
        }
        out.push('\n');
    }
    for n in &c.not_copied {
        let warn = n.path == DATABASE || n.path == HSM_SECRET;
        out.push_str(&format!(
            "{}{}: {}\n",
            if warn {
                "WARNING: not copied: "
            } else {
                "not copied: "
            },
            n.path,
            n.reason
        ));
    }
    out.push_str(&format!(
        "MANIFEST: {}\n",
        dest.join(MANIFEST_NAME).display()
    ));
    match &array.existing {
        Some(ex) => out.push_str(&format!(
            "Removed the read-only bind mount {}; the array stays mounted at {}.\n",
            mp.display(),
            ex.mountpoint.display()
        )),
        None => out.push_str(&format!(
            "Unmounted and removed {}. The array was only ever mounted read-only.\n",
            mp.display()
        )),
    }
    print!("{}", sanitize_multiline(&out));
}
