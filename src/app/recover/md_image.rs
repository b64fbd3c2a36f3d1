//! md recover without device-mapper: the operator's consent before the plan's `image` step
//! (src/recover/no_overlay.rs decides): a typed `yes` (or `--yes`) and room on the destination
//! media for the survivor's image; no terminal and no `--yes` refuses. Nothing is written
//! before this answer.

use std::path::Path;

use anyhow::Result;

use crate::app::Refused;
use crate::cli::RecoverArgs;

/// Asks (or takes `--yes`), and refuses unless the image copy may go ahead.
pub(super) fn consent(args: &RecoverArgs, image: &Path, bytes: u64, anchor: &Path) -> Result<()> {
    use crate::recover::no_overlay::{decide, question, Consent, Decision};
    use std::io::IsTerminal;
    let free = crate::recover::partial::free_bytes(anchor)?;
    let consent = if args.yes {
        Consent::Given
    } else if !std::io::stdin().is_terminal() {
        Consent::NoTerminal
    } else if crate::ui::confirm::confirm(
        &question(image, bytes),
        &crate::ui::confirm::Challenge::yes(),
        false,
    )? {
        Consent::Given
    } else {
        Consent::Declined
    };
    match decide(consent, free, bytes) {
        Decision::Refuse(why) => Err(Refused(vec![why]).into()),
        Decision::ImageCopy => Ok(()),
    }
}
