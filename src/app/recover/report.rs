//! What `recover` tells the operator: the note on the btrfs tree log, and the
//! next steps from Core Lightning's backup guide with its one warning. Pure text.

use std::path::Path;

/// Why lnraid mounts `ro` and not `ro,nologreplay` (DESIGN §4).
pub const LOG_REPLAY_NOTE: &str = "\
Note: a read-only btrfs mount may still replay the filesystem's tree log, a small write to the
  survivor, when the node was fsyncing at the moment of the failure. lnraid accepts that: with
  `nologreplay` the last fsynced SQLite commits would be dropped, and a node started on that
  stale channel state can be punished by its peers (penalty transactions take the funds).";

/// The closing text: the guide's two ways on, and the one warning.
pub fn next_steps(dest: &Path, source_dir: &str, missing_devids: &[u64], existing: bool) -> String {
    let start = if dest.file_name().is_some_and(|n| n == source_dir) {
        format!(
            "       lightningd --lightning-dir={}   (the network directory is {source_dir}/)",
            dest.parent().unwrap_or(Path::new("/")).display()
        )
    } else {
        format!(
            "       copy {dest} to a fresh node directory named {source_dir} on the new media\n       (e.g. /NEW/.lightning/{source_dir}), then: lightningd --lightning-dir=/NEW/.lightning",
            dest = dest.display()
        )
    };
    let old = match missing_devids {
        [] => "DEVID-OR-OLD-DEVICE".to_string(),
        ids => ids
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" / "),
    };
    let from_array = if existing {
        "keep running from the array"
    } else {
        "start the node from the array as before"
    };
    format!(
        "\nNext steps (Core Lightning's backup guide, \"Filesystem Redundancy\") — choose ONE:\n\
         \n  A. Leave the array: start ONE lightningd on these files, on the new media:\n{start}\n\
         \x20    Check `config` first for paths that pointed into the old array. Then close all channels\n\
         \x20    and move all funds to on-chain cold storage you control, and set up a new node.\n\
         \n  B. Keep the array: connect a new device and restore redundancy, then {from_array}:\n\
         \x20      lnraid replace --old {old} --new /dev/NEW-DEVICE\n\
         \x20    The copies in {dest} are then only an emergency copy: never start a node on them.\n\
         \nWARNING: never run two nodes from copies of the same state — not even once, not even briefly.\n\
         \x20 The older one would broadcast revoked channel states, and the peers' penalty transactions\n\
         \x20 take the channel funds. Start lightningd from these copies OR from the array, never both;\n\
         \x20 once you have chosen, destroy or lock away the other copy.\n",
        dest = dest.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_steps_name_the_command_and_the_warning() {
        let t = next_steps(Path::new("/media/usb/bitcoin"), "bitcoin", &[2], false);
        assert!(t.contains("lightningd --lightning-dir=/media/usb "), "{t}");
        assert!(t.contains("lnraid replace --old 2 --new"), "{t}");
        assert!(
            t.contains("never run two nodes from copies of the same state"),
            "{t}"
        );
        let t = next_steps(Path::new("/media/usb/recovered"), "bitcoin", &[], true);
        assert!(t.contains("named bitcoin"), "{t}");
        assert!(t.contains("--old DEVID-OR-OLD-DEVICE"), "{t}");
        assert!(t.contains("keep running from the array"), "{t}");
    }

    #[test]
    fn replay_note_explains_nologreplay() {
        assert!(LOG_REPLAY_NOTE.contains("nologreplay") && LOG_REPLAY_NOTE.contains("penalty"));
    }
}
