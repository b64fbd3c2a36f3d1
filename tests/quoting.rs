//! systemd values lnraid writes, checked by systemd itself: the lightningd drop-in's
//! `RequiresMountsFor=` for mountpoints with spaces, quotes, `%` and backslashes passes
//! `systemd-analyze verify` without a warning, while the unescaped form it used to write does
//! not (so the check can fail). SKIPPED without systemd-analyze.

use std::fs;
use std::path::Path;

use lnraid::exec::{Cmd, Output, RealRunner, Runner};
use lnraid::plan::setup::dropin_content;

const ODD_MOUNTPOINTS: &[&str] = &[
    "/mnt/lnraid",
    "/srv/my node",
    "/srv/node's \"array\"",
    "/srv/100%c full",
    "/srv/back\\slash",
    "/srv/$HOME",
];

/// `systemd-analyze verify` of a lightningd.service whose drop-in holds `dropin`.
fn verify(analyze: &Path, dropin: &str) -> Output {
    let t = tempfile::Builder::new()
        .prefix("lnraid-quoting-")
        .tempdir()
        .unwrap();
    let unit = t.path().join("lightningd.service");
    fs::write(
        &unit,
        "[Unit]\nDescription=node\n[Service]\nExecStart=/bin/true\n",
    )
    .unwrap();
    fs::create_dir(t.path().join("lightningd.service.d")).unwrap();
    fs::write(t.path().join("lightningd.service.d/lnraid.conf"), dropin).unwrap();
    let cmd = Cmd::read_only(
        analyze.to_str().unwrap(),
        ["verify", "--man=no", unit.to_str().unwrap()],
    )
    .env("SYSTEMD_UNIT_PATH", format!("{}:", t.path().display()));
    RealRunner.output(&cmd).unwrap()
}

#[test]
fn dropin_requires_mounts_for_odd_paths_verifies_clean() {
    let Some(analyze) = lnraid::host::find_program("systemd-analyze") else {
        println!("SKIPPED: dropin_requires_mounts_for_odd_paths_verifies_clean: systemd-analyze is not installed");
        return;
    };
    for mp in ODD_MOUNTPOINTS {
        let content = dropin_content(Path::new(mp));
        let out = verify(&analyze, &content);
        assert!(
            out.status.success() && out.stderr.trim().is_empty(),
            "{mp}: {content}\n-> {}\n{}",
            out.status,
            out.stderr
        );
    }
    // The control: the bare value lnraid wrote before is split at the space and warned about.
    let bare = verify(&analyze, "[Unit]\nRequiresMountsFor=/srv/my node\n");
    assert!(
        bare.stderr.contains("not absolute"),
        "systemd-analyze no longer warns about a split path: {}",
        bare.stderr
    );
    let pct = verify(&analyze, "[Unit]\nRequiresMountsFor=/srv/100%c\n");
    assert!(
        pct.stderr.contains("%c"),
        "no warning for an undoubled %: {}",
        pct.stderr
    );
}
