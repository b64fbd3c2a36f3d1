//! The confirmation before destruction: default no, shows model, serial, size and current
//! contents of each disk (sanitized), and refuses without a terminal unless `--yes`.

use std::io::IsTerminal;

use anyhow::Result;

use super::sanitize;
use crate::probe::blkid::Identity;
use crate::probe::lsblk::BlockDev;

/// The lines describing what will be destroyed.
pub fn describe_targets(targets: &[(BlockDev, Option<Identity>)]) -> String {
    let mut out = String::from("These devices will be ERASED; everything on them is lost:\n");
    for (d, id) in targets {
        let contents = match id {
            Some(i) if i.is_blank() => "blank".to_string(),
            Some(i) => [
                i.fstype.as_ref().map(|t| format!("{t} filesystem")),
                i.pttype.as_ref().map(|p| format!("{p} partition table")),
                i.label.as_ref().map(|l| format!("label {l:?}")),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", "),
            None => "unknown".to_string(),
        };
        out.push_str(&sanitize(&format!(
            "  {}  {}  model {}  serial {}  now holds: {}",
            d.path,
            d.size,
            d.model.as_deref().unwrap_or("-"),
            d.serial.as_deref().unwrap_or("-"),
            contents
        )));
        out.push('\n');
    }
    out
}

/// Asks "Erase them?" with default no. `--yes` answers for the operator; without a terminal
/// and without `--yes`, the answer is no.
pub fn confirm_destruction(summary: &str, yes: bool) -> Result<bool> {
    eprint!("{summary}");
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        eprintln!("no terminal to confirm on: rerun with --yes to proceed without a prompt");
        return Ok(false);
    }
    Ok(dialoguer::Confirm::new()
        .with_prompt("Erase them and continue?")
        .default(false)
        .interact()?)
}
