//! The plans of `lnraid schedule install` and `schedule remove`. Pure: the caller probes what
//! is installed ([`crate::schedule::plan_changes`] turns that into per-file [`Change`]s),
//! which timers already run, and the config; this orders it into steps the executor walks and
//! the dry run prints.
//!
//! Order, and why: the alert file and the config first (no job file ever names a file not yet
//! written); per directory, live timers are disabled before their files go, files are written
//! or removed, systemd is reloaded after files changed, then the timers not yet running are
//! enabled; a dropped alert command's file goes last, after no job names it any more.
//! Unchanged files get no step, so an install that changes nothing rewrites nothing.

use std::path::PathBuf;

use super::{Action, Plan, Secret, Step, Tag};
use crate::exec::Cmd;
use crate::schedule::{is_live_name, timer_names, Change, Scheduler};

/// One scheduler directory's changes.
#[derive(Debug, Clone)]
pub struct DirChanges {
    pub scheduler: Scheduler,
    /// The live systemd unit directory: systemctl runs (never for cron or `--unit-dir`).
    pub live: bool,
    pub changes: Vec<Change>,
    /// Timers already enabled and active (`enable --now` would change nothing for them).
    pub running: Vec<String>,
}

/// lnraid's config file, when it changes.
#[derive(Debug, Clone)]
pub struct ConfigChange {
    pub path: PathBuf,
    pub content: String,
    /// `new       PATH` / `changed   PATH`.
    pub header: String,
    pub diff: String,
}

/// What happens to the alert command's 0600 file.
#[derive(Debug, Clone)]
pub enum AlertStep {
    Write {
        path: PathBuf,
        secret: Secret,
        header: String,
    },
    Remove {
        path: PathBuf,
    },
}

pub fn plan_install(
    title: String,
    config: Option<ConfigChange>,
    alert: Option<AlertStep>,
    dirs: &[DirChanges],
) -> Plan {
    let mut steps = Vec::new();
    if let Some(AlertStep::Write {
        path,
        secret,
        header,
    }) = &alert
    {
        steps.push(Step::new(
            "alert-command",
            Tag::Safe,
            header.clone(),
            vec![Action::WriteSecret {
                path: path.clone(),
                secret: secret.clone(),
            }],
        ));
    }
    if let Some(c) = config {
        steps.push(Step::new(
            "config",
            Tag::Safe,
            c.header,
            vec![Action::PutFile {
                path: c.path,
                content: c.content,
                mode: 0o644,
                diff: c.diff,
            }],
        ));
    }
    steps.extend(dirs.iter().flat_map(dir_steps));
    if let Some(AlertStep::Remove { path }) = alert {
        steps.push(Step::new(
            "alert-command-remove",
            Tag::Safe,
            format!("remove    {} (the alert command)", path.display()),
            vec![Action::RemoveSecret { path }],
        ));
    }
    Plan::new(title, steps)
}

pub fn plan_remove(title: String, dirs: &[DirChanges]) -> Plan {
    Plan::new(title, dirs.iter().flat_map(dir_steps).collect())
}

fn run(id: String, describe: String, cmd: Cmd) -> Step {
    Step::new(&id, Tag::Safe, describe, vec![Action::Run { cmd }])
}

/// One directory's steps: disable, files, reload, enable.
fn dir_steps(d: &DirChanges) -> Vec<Step> {
    let s = d.scheduler.name();
    let systemd = d.live && d.scheduler == Scheduler::Systemd;
    let mut steps = Vec::new();
    let removed = d.changes.iter().filter(|c| matches!(c, Change::Remove(_)));
    let gone = timer_names(removed.map(Change::path).filter(|p| {
        p.file_name()
            .is_some_and(|n| is_live_name(d.scheduler, &n.to_string_lossy()))
    }));
    if d.live && !gone.is_empty() {
        steps.push(run(
            format!("{s}:disable"),
            format!("stop and disable {} before their files go", gone.join(", ")),
            Cmd::mutating("systemctl", ["disable", "--now"])
                .args_from(gone.iter().map(String::as_str)),
        ));
    }
    for c in &d.changes {
        if let Some(step) = file_step(s, c) {
            steps.push(step);
        }
    }
    if systemd && d.changes.iter().any(Change::is_change) {
        steps.push(run(
            "systemd:daemon-reload".into(),
            "make systemd read the changed units".into(),
            Cmd::mutating("systemctl", ["daemon-reload"]),
        ));
    }
    let kept = d
        .changes
        .iter()
        .filter(|c| !matches!(c, Change::Remove(_)))
        .map(Change::path);
    let idle: Vec<String> = timer_names(kept)
        .into_iter()
        .filter(|t| !d.running.contains(t))
        .collect();
    if systemd && !idle.is_empty() {
        steps.push(run(
            "systemd:enable".into(),
            format!("enable and start {}", idle.join(", ")),
            Cmd::mutating("systemctl", ["enable", "--now"])
                .args_from(idle.iter().map(String::as_str)),
        ));
    }
    steps
}

/// The step of one file's change (none when unchanged). Its text is the change's own: the
/// header (`new       PATH (mode 0644)`) as the step, the diff under the action.
fn file_step(scheduler: &str, c: &Change) -> Option<Step> {
    let text = c.render();
    let mut lines = text.lines();
    let header = lines.next()?.trim_end_matches(':').to_string();
    let diff: String = lines
        .map(|l| format!("{}\n", l.strip_prefix("    ").unwrap_or(l)))
        .collect();
    let name = c.path().file_name()?.to_string_lossy().into_owned();
    let action = match c {
        Change::Unchanged(_) => return None,
        Change::New(f) | Change::Changed { file: f, .. } => Action::PutFile {
            path: f.path.clone(),
            content: f.content.clone(),
            mode: f.mode,
            diff,
        },
        Change::Remove(i) => Action::RemoveOwnFile {
            path: i.path.clone(),
            content: i.content.clone(),
        },
    };
    Some(Step::new(
        &format!("{scheduler}:{name}"),
        Tag::Safe,
        header,
        vec![action],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::{Installed, ScheduleFile};

    fn file(name: &str) -> ScheduleFile {
        ScheduleFile {
            path: PathBuf::from("/u").join(name),
            content: format!("{}\n[Timer]\n", crate::schedule::MARKER),
            mode: 0o644,
        }
    }

    /// Live systemd: disable before the files go, reload after, enable only idle timers;
    /// unchanged files get no step.
    #[test]
    fn systemd_order_and_no_step_for_unchanged() {
        let old = Installed {
            path: "/u/lnraid-scrub-old.timer".into(),
            content: "x".into(),
            mode: 0o644,
        };
        let d = DirChanges {
            scheduler: Scheduler::Systemd,
            live: true,
            changes: vec![
                Change::New(file("lnraid-scrub-a.timer")),
                Change::Unchanged(file("lnraid-balance-a.timer")),
                Change::Remove(old),
            ],
            running: vec!["lnraid-balance-a.timer".into()],
        };
        let p = plan_install("t".into(), None, None, std::slice::from_ref(&d));
        let ids: Vec<&str> = p.steps.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "systemd:disable",
                "systemd:lnraid-scrub-a.timer",
                "systemd:lnraid-scrub-old.timer",
                "systemd:daemon-reload",
                "systemd:enable"
            ]
        );
        let lines: Vec<String> = p.commands().iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "systemctl disable --now lnraid-scrub-old.timer",
                "systemctl daemon-reload",
                "systemctl enable --now lnraid-scrub-a.timer"
            ]
        );
        // Not live (--unit-dir): files only, no systemctl.
        let quiet = plan_install("t".into(), None, None, &[DirChanges { live: false, ..d }]);
        assert!(quiet.commands().is_empty());
        assert_eq!(quiet.steps.len(), 2);
    }

    #[test]
    fn secret_first_removal_last_and_never_rendered() {
        let w = AlertStep::Write {
            path: "/etc/x/alert-command".into(),
            secret: Secret("curl https://h/?token=SECRET".into()),
            header: "new       /etc/x/alert-command".into(),
        };
        let c = ConfigChange {
            path: "/etc/x/lnraid.toml".into(),
            content: "version = 1\n".into(),
            header: "new       /etc/x/lnraid.toml".into(),
            diff: "+version = 1\n".into(),
        };
        let p = plan_install("t".into(), Some(c), Some(w), &[]);
        assert_eq!(p.steps[0].id, "alert-command");
        assert_eq!(p.steps[1].id, "config");
        let shown = format!(
            "{}{:?}{}",
            super::super::render_plan(&p),
            p,
            serde_json::to_string(&p).unwrap()
        );
        assert!(!shown.contains("SECRET"), "{shown}");
        let r = plan_install(
            "t".into(),
            None,
            Some(AlertStep::Remove {
                path: "/etc/x/alert-command".into(),
            }),
            &[DirChanges {
                scheduler: Scheduler::Cron,
                live: false,
                changes: vec![Change::New(file("lnraid"))],
                running: vec![],
            }],
        );
        assert_eq!(r.steps.last().unwrap().id, "alert-command-remove");
    }
}
