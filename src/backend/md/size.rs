//! Member sizes. Pure. lnraid creates the array with `--size` a little below the smallest
//! member, so a replacement disk "of the same size" that is a few MiB smaller (models differ
//! by vendor and revision) still fits; and it refuses a replacement that cannot hold the
//! used device size before anything changes.

use crate::types::Bytes;

const MIB: u64 = 1024 * 1024;

/// Room mdadm needs in front of the data: superblock, bitmap and the data-offset headroom
/// (mdadm 4.x reserves up to 128 MiB, less on small devices).
pub fn offset_reserve(member: Bytes) -> u64 {
    (member.0 / 512).clamp(8 * MIB, 130 * MIB)
}

/// The slack left for a slightly smaller replacement: 0.5%, at least 16 MiB, at most 4 GiB.
pub fn margin(member: Bytes) -> u64 {
    (member.0 / 200).clamp(16 * MIB, 4096 * MIB)
}

/// The `--size` (KiB, whole MiB) for members whose smallest is `smallest`; `None` when the
/// device is too small to hold anything after reserve and margin.
pub fn create_size_kib(smallest: Bytes) -> Option<u64> {
    let usable = smallest
        .0
        .checked_sub(offset_reserve(smallest))?
        .checked_sub(margin(smallest))?;
    let mib = usable / MIB;
    (mib >= 16).then_some(mib * 1024)
}

/// Whether a device of `size` can take the place of a member whose used size is
/// `used_dev_size` (mdadm's `Used Dev Size`).
pub fn fits(size: Bytes, used_dev_size: Bytes) -> bool {
    size.0 >= used_dev_size.0.saturating_add(offset_reserve(size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_is_a_little_below_the_smallest_member_and_a_same_size_disk_fits() {
        let gib = 1024 * MIB;
        let kib = create_size_kib(Bytes(1000 * gib)).unwrap();
        let used = Bytes(kib * 1024);
        assert!(used.0 < 1000 * gib - 4 * gib + 1, "{kib}");
        assert!(used.0 > 1000 * gib - 5 * gib, "{kib}");
        // A "1 TB" disk of another vendor, 200 MiB smaller, still fits.
        assert!(fits(Bytes(1000 * gib - 200 * MIB), used));
        assert!(!fits(Bytes(used.0), used), "no room for the superblock");
        let small = create_size_kib(Bytes(1126 * MIB)).unwrap();
        assert_eq!(small, (1126 - 8 - 16) * 1024);
        assert_eq!(create_size_kib(Bytes(20 * MIB)), None);
    }
}
