//! Member sizes from the chunk tree: `btrfs inspect-internal dump-tree -t chunk <member>`.
//!
//! The chunk tree's DEV_ITEMs hold every member's `total_bytes`, including a missing
//! member's, which `filesystem show` prints as `size 0`. `replace` reads the size it must
//! match from here instead of guessing. Read-only (dump-tree opens the device read-only).

use std::path::Path;

use super::{btrfs_cmd, ParseError};
use crate::types::Bytes;

const WHAT: &str = "`btrfs inspect-internal dump-tree -t chunk` output";

pub fn dump_chunk_tree_cmd(member: &Path) -> crate::exec::Cmd {
    btrfs_cmd(&["inspect-internal", "dump-tree", "-t", "chunk"], member)
}

/// `(devid, total_bytes)` for every DEV_ITEM, in output order.
pub fn parse_dev_items(text: &str) -> Result<Vec<(u64, Bytes)>, ParseError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        let Some(rest) = t.strip_prefix("devid ") else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        if f.len() < 3 || f[1] != "total_bytes" {
            continue; // other "devid" lines (stripes) have another shape
        }
        let devid = f[0]
            .parse()
            .map_err(|_| ParseError::at(WHAT, i + 1, format!("bad devid in {t:?}")))?;
        let size = f[2]
            .parse()
            .map_err(|_| ParseError::at(WHAT, i + 1, format!("bad total_bytes in {t:?}")))?;
        out.push((devid, Bytes(size)));
    }
    if out.is_empty() {
        return Err(ParseError::new(
            WHAT,
            "no DEV_ITEM with total_bytes (not a chunk tree dump, or cut short)",
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_including_a_missing_member() {
        let t =
            include_str!("../../../fixtures/btrfs-dump-tree-chunk/6.2-raid1-member-missing.txt");
        assert_eq!(
            parse_dev_items(t).unwrap(),
            vec![(1, Bytes(1 << 30)), (2, Bytes(2 << 30))]
        );
        let t = include_str!("../../../fixtures/btrfs-dump-tree-chunk/6.2-raid1-1g-2g.txt");
        assert_eq!(parse_dev_items(t).unwrap().len(), 2);
        assert!(parse_dev_items("").is_err());
        assert!(parse_dev_items("devid 1 total_bytes x bytes_used 1\n").is_err());
        for cut in 0..t.len() {
            if t.is_char_boundary(cut) {
                let _ = parse_dev_items(&t[..cut]);
            }
        }
    }
}
