//! `lnraid status`: gather → evaluate → print; the exit code is the Nagios verdict.

use std::path::PathBuf;

use crate::cli::StatusArgs;
use crate::exec::Runner;
use crate::records::now_unix;
use crate::status::gather::{targets, GatherCtx};
use crate::status::render::render;
use crate::status::{ArrayStatus, Severity, STATUS_JSON_VERSION};

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

pub fn run(args: &StatusArgs, runner: &dyn Runner) -> anyhow::Result<i32> {
    let ctx = ctx_from(&args.host, args.lightning_dir.clone());
    let (arrays, overall) = collect(runner, &ctx, args.mountpoint.as_deref())?;
    if args.json {
        let doc = serde_json::json!({
            "version": STATUS_JSON_VERSION,
            "verdict": overall.word(),
            "exit_code": overall.exit_code(),
            "arrays": arrays,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print!(
            "{}",
            crate::ui::sanitize_multiline(&render(&arrays, overall))
        );
    }
    Ok(overall.exit_code())
}
