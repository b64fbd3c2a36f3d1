//! recover's actions (hook of the recover helper, kept out of apply.rs): the read-only proof
//! of a mount lnraid just made, and the copy-out. Both only read below the mount; the copy-out
//! writes only in DEST (src/recover/copyout.rs).

use anyhow::{bail, Context, Result};

use super::Walker;
use crate::plan::recover::CopyOut;

/// Refuses unless `mp` is mounted read-only right now. The mount stays for the plan's unmount
/// (or the caller's cleanup after this failure); nothing is read through it.
pub fn require_read_only(w: &Walker, mp: &std::path::Path) -> Result<()> {
    if !w.machine.is_mounted(mp)? {
        bail!("{} is not mounted", mp.display());
    }
    let st = nix::sys::statvfs::statvfs(mp).with_context(|| format!("statvfs {}", mp.display()))?;
    if !st.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY) {
        bail!(
            "{} is mounted read-write although lnraid asked for read-only; unmounting without reading anything",
            mp.display()
        );
    }
    Ok(())
}

/// The copy-out, with the MANIFEST's array facts refined from the mount first (btrfs: devids
/// of the survivors and the missing members).
pub fn copy_out(w: &Walker, c: &CopyOut) -> Result<()> {
    let mut c = c.clone();
    if c.btrfs_devids {
        crate::backend::btrfs::recover::info::refine(w.runner, &c.mountpoint, &mut c.array);
    }
    crate::recover::copyout::run(&c)
}
