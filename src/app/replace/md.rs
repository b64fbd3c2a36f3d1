//! `lnraid replace` on an md array: resolve `--old` (a member path, its md descriptor number,
//! or `missing`) and `--new` against the array as it is now, check the new device with the
//! device policy and its size before anything changes, plan (src/backend/md/replace.rs),
//! confirm, and hand the plan to the one executor (the new device re-proven right before it
//! is added). Ends with status: the md UUID is unchanged, so mdadm.conf's ARRAY line is too.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::super::{exit, Refused};
use crate::backend::md::probe::probe_array;
use crate::backend::md::replace::{plan_replace, MdReplace};
use crate::backend::md::status::PROC_MDSTAT;
use crate::cli::ReplaceArgs;
use crate::exec::Runner;
use crate::plan::{render_plan, Allow, Check, Plan, Target};
use crate::policy::{classify_request, PolicyContext};
use crate::probe::snapshot::{probe_snapshot, resolve_device, ProbeSources};
use crate::types::{Bytes, DevPath};
use crate::ui::confirm::{confirm_destruction, describe_targets};
use crate::ui::sanitize_multiline;
use crate::walk::{walk, Journal, RealMachine, Walker};

/// What the md replace journal records.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MdReplaceRecord {
    pub array: String,
    pub old: Option<String>,
    pub new: String,
    pub mountpoint: PathBuf,
}

pub fn journal_path(state_dir: &Path) -> PathBuf {
    state_dir.join("replace-md-journal.json")
}

fn resolve_old(given: &str, h: &crate::backend::Health) -> Result<Option<DevPath>> {
    if given == "missing" {
        return Ok(None);
    }
    if let Some(m) = h.members.iter().find(|m| m.id == given) {
        return Ok(m.path.clone());
    }
    let p = std::fs::canonicalize(given).unwrap_or_else(|_| PathBuf::from(given));
    Ok(Some(DevPath::new(p)))
}

/// Prepares and runs the replacement of a member of md array `array`.
pub fn run(
    args: &ReplaceArgs,
    runner: &dyn Runner,
    array: &DevPath,
    mountpoint: &Path,
) -> Result<i32> {
    let jpath = journal_path(&args.host.state_dir);
    if let Some(j) = Journal::<MdReplaceRecord>::load(&jpath)? {
        let remaining = crate::walk::resume_plan(&j);
        eprintln!(
            "resuming the md replacement recorded in {}",
            jpath.display()
        );
        print!("{}", sanitize_multiline(&render_plan(&remaining)));
        if args.dry_run {
            return Ok(exit::OK);
        }
        return execute(runner, &args.host, j, &remaining, mountpoint);
    }
    let snap = probe_array(runner, array, Path::new("/sys"), Path::new(PROC_MDSTAT));
    if !snap.errors.is_empty() {
        return Err(Refused(snap.errors.clone()).into());
    }
    let h = crate::backend::md::health::health(&snap);
    let used = snap
        .detail
        .as_ref()
        .and_then(|d| d.used_dev_size)
        .context("mdadm --detail shows no Used Dev Size")?;
    let old = resolve_old(&args.old, &h)?;
    let new = resolve_device(&args.new)?;
    let bsnap = probe_snapshot(runner, &ProbeSources::default())?;
    let new_dev = bsnap
        .device_by_num(new.devnum)
        .cloned()
        .context(format!("{} is not among the block devices", new.path))?;
    let mut problems = Vec::new();
    for r in classify_request(
        std::slice::from_ref(&new),
        &bsnap,
        &PolicyContext::new(None),
    )
    .remove(0)
    .refusals
    {
        if !(args.wipe && r.overridable_by_wipe()) {
            problems.push(format!(
                "{}: {}: {}",
                args.new.display(),
                r.message(),
                r.remedy()
            ));
        }
    }
    let staying: Vec<Bytes> = h
        .members
        .iter()
        .filter(|m| m.path.is_some() && m.path != old)
        .filter_map(|m| bsnap.device(m.path.as_ref()?).map(|d| d.size))
        .collect();
    let req = MdReplace {
        array: DevPath::new(crate::backend::md::probe::resolve(array.as_path())),
        old: old.clone(),
        new: new_dev.path.clone(),
        new_size: new_dev.size,
        used_dev_size: used,
        staying_sizes: staying,
    };
    let mut plan = match plan_replace(&h, &req) {
        Ok(p) => p,
        Err(e) => {
            problems.push(e.to_string());
            Plan::new("", Vec::new())
        }
    };
    if !problems.is_empty() {
        return Err(Refused(problems).into());
    }
    plan.targets = vec![Target::new(
        args.new.clone(),
        &new_dev,
        bsnap.identity(&new.path),
        crate::walk::machine::stable_ids(&new.path, bsnap.identity(&new.path)),
    )];
    let check = Check::Targets {
        devices: vec![new_dev.path.clone()],
        allow: Allow::Confirmed,
    };
    for s in plan.steps.iter_mut().filter(|s| s.id == "md-add") {
        s.checks.push(check.clone());
    }
    print!("{}", sanitize_multiline(&render_plan(&plan)));
    if args.dry_run {
        println!("\n(dry run: nothing was changed)");
        return Ok(exit::OK);
    }
    let summary = format!(
        "\n{}",
        describe_targets(&[(new_dev.clone(), bsnap.identity(&new.path).cloned())])
    );
    if !confirm_destruction(&summary, args.yes)? {
        return Err(Refused(vec!["not confirmed; nothing was changed".into()]).into());
    }
    let record = MdReplaceRecord {
        array: req.array.to_string(),
        old: old.map(|o| o.to_string()),
        new: req.new.to_string(),
        mountpoint: mountpoint.to_path_buf(),
    };
    let j = Journal::new(Some(jpath), record, plan.clone());
    j.save()?;
    execute(runner, &args.host, j, &plan, mountpoint)
}

fn execute(
    runner: &dyn Runner,
    host: &crate::host::HostPaths,
    mut j: Journal<MdReplaceRecord>,
    plan: &Plan,
    mountpoint: &Path,
) -> Result<i32> {
    let machine = RealMachine;
    let w = Walker::new(runner, &machine);
    walk(&w, &mut j, plan, &|j, step| {
        format!(
            "replace stopped at '{}'; completed: {}. Fix the cause and run `lnraid replace` again to continue",
            step.id,
            j.completed_list()
        )
    })?;
    let r = &j.request;
    j.archive(&format!(
        "replace-md-{}-done.json",
        r.array.trim_start_matches("/dev/")
    ))?;
    let ctx = crate::app::status::ctx_from(host, None);
    let (arrays, overall) =
        crate::app::status::collect(runner, &ctx, Some(mountpoint)).context("final status")?;
    println!(
        "\nReplacement done: {} is now a member of {} in place of {}. The md UUID is unchanged, so the ARRAY line in mdadm.conf stays valid.",
        r.new,
        r.array,
        r.old.as_deref().unwrap_or("the missing member")
    );
    print!(
        "{}",
        sanitize_multiline(&crate::status::render::render(&arrays, overall))
    );
    Ok(overall.exit_code())
}
