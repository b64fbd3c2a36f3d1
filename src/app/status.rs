//! `lnraid status`: gather → evaluate → print; the exit code is the Nagios verdict.
//!
//! Every failure is `unknown` (exit 3), never a warning and never silence: with `--json` a
//! document with verdict `unknown` and the error is still printed, so a wrapper always gets
//! JSON on stdout. May not: change anything.

use std::path::PathBuf;

use crate::cli::StatusArgs;
use crate::exec::Runner;
use crate::records::now_unix;
use crate::status::doc::StatusDoc;
use crate::status::gather::{targets, GatherCtx};
use crate::status::render::{render, render_error};
use crate::status::{ArrayStatus, Severity};

/// Status of every target, and the overall verdict.
pub fn collect(
    runner: &dyn Runner,
    ctx: &GatherCtx,
    given: Option<&std::path::Path>,
) -> anyhow::Result<(Vec<ArrayStatus>, Severity)> {
    let now = now_unix();
    let arrays: Vec<ArrayStatus> = targets(ctx, given)?
        .iter()
        .map(|t| crate::backend::array_status(runner, ctx, t, &md_conf(), now))
        .collect();
    // No array at all is unknown: monitoring must not read "nothing found" as healthy.
    let overall = if arrays.is_empty() {
        Severity::Unknown
    } else {
        arrays
            .iter()
            .map(|a| a.verdict)
            .fold(Severity::Ok, Severity::worst)
    };
    Ok((arrays, overall))
}

/// mdadm.conf as `LNRAID_MDADM_CONF` names it (tests, the VM), else Debian's.
fn md_conf() -> PathBuf {
    std::env::var_os("LNRAID_MDADM_CONF")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(crate::backend::md::DEFAULT_CONF))
}

pub fn ctx_from(host: &crate::host::HostPaths, lightning_dir: Option<PathBuf>) -> GatherCtx {
    GatherCtx {
        fstab: host.fstab.clone(),
        state_dir: host.state_dir.clone(),
        sys_root: PathBuf::from("/sys"),
        lightning_dir,
    }
}

/// The JSON document for a finished (or failed) run.
pub fn document(result: &anyhow::Result<(Vec<ArrayStatus>, Severity)>, now: u64) -> StatusDoc {
    let host = crate::alert::hostname();
    match result {
        Ok((arrays, _)) => StatusDoc::new(
            now,
            host,
            arrays.iter().map(crate::backend::to_doc).collect(),
        ),
        Err(e) => StatusDoc::unknown(now, host, format!("{e:#}")),
    }
}

pub fn run(args: &StatusArgs, runner: &dyn Runner) -> anyhow::Result<i32> {
    let ctx = ctx_from(&args.host, args.lightning_dir.clone());
    let result = collect(runner, &ctx, args.mountpoint.as_deref());
    let code = match &result {
        Ok((_, overall)) => overall.exit_code(),
        Err(_) => Severity::Unknown.exit_code(),
    };
    // Hook (recover): record each mounted array's members and generations for `lnraid
    // recover`'s stale-disk check. Best effort; never changes the verdict.
    if let Ok((arrays, _)) = &result {
        crate::members::observe_all(
            runner,
            &ctx.state_dir,
            arrays.iter().map(|a| a.facts.mountpoint.as_path()),
            "status",
        );
    }
    if args.json {
        let doc = document(&result, now_unix());
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        let text = match &result {
            Ok((arrays, overall)) => render(arrays, *overall),
            Err(e) => render_error(&format!("{e:#}")),
        };
        print!("{}", crate::ui::sanitize_multiline(&text));
    }
    Ok(code)
}
