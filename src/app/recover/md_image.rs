//! md recover without device-mapper, once the operator agreed (src/recover/no_overlay.rs
//! decides): the survivor's image is copied onto the destination media and mounted read-only
//! through a loop device, so ext4 replays its journal into the copy and the survivor is only
//! read. The [`super::md::Overlay`] guard detaches the loop device and deletes the image on
//! every exit path.

use std::fs;

use anyhow::{Context, Result};

use super::md::Overlay;
use super::romount::ReadOnlyMount;
use crate::app::Refused;
use crate::cli::RecoverArgs;
use crate::exec::{Cmd, Runner};
use crate::recover::dest::Dest;
use crate::types::DevPath;

/// No device-mapper: explain, ask (typed `yes`, or `--yes`; no terminal refuses), then copy the
/// survivor's image onto the destination media and mount that copy read-only — the journal is
/// replayed into the copy, the survivor only read (src/recover/no_overlay.rs decides).
pub(super) fn image_mount<'r>(
    args: &RecoverArgs,
    runner: &'r dyn Runner,
    src: &DevPath,
    bytes: u64,
    ov: &mut Overlay,
    dest: &Dest,
) -> Result<ReadOnlyMount<'r>> {
    use crate::recover::no_overlay::{decide, image_cmd, question, Consent, Decision};
    use std::io::IsTerminal;
    let image = dest
        .anchor
        .join(format!(".lnraid-recover-image-{}", std::process::id()));
    let free = crate::recover::partial::free_bytes(&dest.anchor)?;
    let consent = if args.yes {
        Consent::Given
    } else if !std::io::stdin().is_terminal() {
        Consent::NoTerminal
    } else if crate::ui::confirm::confirm(
        &question(&image, bytes),
        &crate::ui::confirm::Challenge::yes(),
        false,
    )? {
        Consent::Given
    } else {
        Consent::Declined
    };
    if let Decision::Refuse(why) = decide(consent, free, bytes) {
        return Err(Refused(vec![why]).into());
    }
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&image)
        .with_context(|| format!("creating {}", image.display()))?;
    ov.cow = Some(image.clone());
    let cmd = image_cmd(&src.to_string(), &image);
    tracing::info!("  $ {cmd}");
    runner.run_ok(&cmd)?;
    let out = runner.run_ok(&Cmd::mutating(
        "losetup",
        ["--find", "--show", &image.to_string_lossy()],
    ))?;
    let lo = out.stdout.trim().to_string();
    ov.loopdev = Some(lo.clone());
    println!(
        "The journal is replayed into the copy {}; the survivor was only read.",
        image.display()
    );
    ReadOnlyMount::new(runner, |mp| {
        Cmd::mutating(
            "mount",
            [
                "-t",
                crate::backend::md::FSTYPE,
                "-o",
                "ro,nodev,nosuid,noexec",
                lo.as_str(),
                &mp.to_string_lossy(),
            ],
        )
    })
}
