//! Where recover's private read-only mounts go, and the commands that make and undo a bind.
//! Pure: commands as data (`exec::Cmd`), paths; nothing here runs or mounts anything.

use std::path::{Path, PathBuf};

use crate::exec::Cmd;

/// Where temporary mountpoints are made (a tmpfs on most systems: nothing survives a reboot).
pub const RUN_DIR: &str = "/run/lnraid";

/// The directory temporary mountpoints go in: [`RUN_DIR`], or the temp dir where `/run` does
/// not exist (some rescue systems).
pub fn run_base() -> PathBuf {
    if Path::new("/run").is_dir() {
        PathBuf::from(RUN_DIR)
    } else {
        std::env::temp_dir().join("lnraid")
    }
}

/// A fresh mountpoint name below [`run_base`], chosen when the plan is made (so the dry run
/// and the walk name the same directory): `recover-` and 12 random hex digits, not taken now.
pub fn fresh_mountpoint() -> PathBuf {
    let base = run_base();
    loop {
        let mut b = [0u8; 6];
        getrandom_fill(&mut b);
        let p = base.join(format!(
            "recover-{}",
            b.iter().map(|x| format!("{x:02x}")).collect::<String>()
        ));
        if std::fs::symlink_metadata(&p).is_err() {
            return p;
        }
    }
}

fn getrandom_fill(b: &mut [u8]) {
    use std::io::Read;
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(b))
        .is_err()
    {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
            ^ u128::from(std::process::id());
        for (i, x) in b.iter_mut().enumerate() {
            *x = (t >> (8 * i)) as u8;
        }
    }
}

/// `mount --bind -o ro EXISTING MP`: an already mounted array, read through a private
/// read-only bind (not even access times reach it).
pub fn bind_ro_cmd(existing: &Path, mp: &Path) -> Cmd {
    Cmd::mutating("mount", ["--bind", "-o", "ro"])
        .arg(existing.to_string_lossy().into_owned())
        .arg(mp.to_string_lossy().into_owned())
}

pub fn umount_cmd(mp: &Path) -> Cmd {
    Cmd::mutating("umount", [mp.to_string_lossy().into_owned()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_fresh_and_below_the_run_dir() {
        let (a, b) = (fresh_mountpoint(), fresh_mountpoint());
        assert_ne!(a, b);
        assert!(a.starts_with(run_base()));
        assert!(a
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("recover-"));
        assert_eq!(
            bind_ro_cmd(
                Path::new("/mnt/lnraid"),
                Path::new("/run/lnraid/recover-abc")
            )
            .to_string(),
            "mount --bind -o ro /mnt/lnraid /run/lnraid/recover-abc"
        );
    }
}
