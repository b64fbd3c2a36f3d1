//! The plans of `lnraid snapshot create|prune|migrate`, `backup` and `restore`. Pure: every
//! name and path (the aside directory's timestamp included) is chosen by the caller, so the
//! dry run prints exactly the value the executor walks.
//!
//! Safety fields: a restore or migration checks no `lightningd` uses the node's directory
//! before the copy and again right before each rename ([`Check::NodeStopped`]); the current
//! directory is moved aside by a rename, never deleted; a migration proves the source
//! unchanged since its copy before it is moved aside. Renames resume by
//! [`Resume::SkipIfDone`].

use std::path::{Path, PathBuf};

use super::hotcopy::HotAction;
use super::{Action, Check, Plan, Resume, Step, Tag};

fn hot(a: HotAction) -> Vec<Action> {
    vec![Action::Hotcopy(a)]
}

/// `snapshot create`: one step.
pub fn plan_snapshot(home: &Path, dir: &Path, wait_ms: u64, cap_ms: u64) -> Plan {
    Plan::new(
        format!(
            "lnraid snapshot create: a read-only snapshot of {}",
            home.display()
        ),
        vec![Step::new(
            "snapshot",
            Tag::Safe,
            "snapshot the node's subvolume under SQLite's lock, then verify it",
            hot(HotAction::Snapshot {
                home: home.to_path_buf(),
                dir: dir.to_path_buf(),
                wait_ms,
                cap_ms,
            }),
        )],
    )
}

/// `snapshot prune` (and `create --prune`): one step per snapshot to delete.
pub fn plan_prune(dir: &Path, delete: &[String]) -> Plan {
    let steps = delete
        .iter()
        .map(|name| {
            Step::new(
                &format!("delete-{name}"),
                Tag::Safe,
                format!("delete the snapshot {name} (the retention policy does not keep it)"),
                hot(HotAction::DeleteSnapshot {
                    dir: dir.to_path_buf(),
                    name: name.clone(),
                }),
            )
        })
        .collect();
    Plan::new(
        format!(
            "lnraid snapshot prune: {} snapshot(s) in {}",
            delete.len(),
            dir.display()
        ),
        steps,
    )
}

/// What `backup --to` does, as the executor's one action plus its description.
pub fn plan_backup(action: HotAction) -> Plan {
    let to = match &action {
        HotAction::Backup { to, .. } => to.display().to_string(),
        _ => String::new(),
    };
    Plan::new(
        format!("lnraid backup --to {to}"),
        vec![Step::new(
            "backup",
            Tag::Long,
            "take a point-in-time source under a lock of milliseconds, copy it to DEST, read it back, prune DEST",
            hot(action),
        )],
    )
}

/// The swap shared by restore and migrate: copy into `partial`, then (node re-checked
/// stopped before each rename) move the current `home` aside and put the copy in its place.
pub struct Swap {
    pub src: PathBuf,
    pub home: PathBuf,
    pub partial: PathBuf,
    /// Where the current directory goes; `None` when there is none.
    pub aside: Option<PathBuf>,
    pub renamed: Vec<(String, String)>,
    pub extra: Vec<String>,
    /// A migration: the source is the home itself, proven unchanged before it moves.
    pub migrate: bool,
}

pub fn plan_swap(title: String, s: &Swap) -> Plan {
    let stopped = Check::NodeStopped {
        dir: s.home.clone(),
    };
    let mut steps = vec![Step::new(
        "copy",
        Tag::Long,
        format!(
            "copy {} into a new home beside {}",
            s.src.display(),
            s.home.display()
        ),
        hot(HotAction::CopyIn {
            src: s.src.clone(),
            partial: s.partial.clone(),
            renamed: s.renamed.clone(),
            extra: s.extra.clone(),
        }),
    )
    .check(stopped.clone())];
    if let Some(aside) = &s.aside {
        let mut actions = Vec::new();
        if s.migrate {
            actions.extend(hot(HotAction::ProveUnchanged {
                dir: s.home.clone(),
            }));
        }
        actions.push(Action::Rename {
            from: s.home.clone(),
            to: aside.clone(),
        });
        steps.push(
            Step::new(
                "move-aside",
                Tag::Safe,
                format!(
                    "keep the current directory as {} (never deleted)",
                    aside.display()
                ),
                actions,
            )
            .check(stopped.clone())
            .resume(Resume::SkipIfDone),
        );
    }
    steps.push(
        Step::new(
            "publish",
            Tag::Safe,
            format!("put the verified copy in place as {}", s.home.display()),
            vec![Action::Rename {
                from: s.partial.clone(),
                to: s.home.clone(),
            }],
        )
        .check(stopped)
        .resume(Resume::SkipIfDone),
    );
    Plan {
        protect: Some(s.home.clone()),
        ..Plan::new(title, steps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restore_moves_the_current_state_aside_by_rename_with_the_node_checked_stopped() {
        let s = Swap {
            src: "/mnt/lnraid/.lnraid-snapshots/bitcoin/2026-12-01T00:00:00Z".into(),
            home: "/mnt/lnraid/bitcoin".into(),
            partial: "/mnt/lnraid/.lnraid-pre-restore-partial-bitcoin".into(),
            aside: Some("/mnt/lnraid/bitcoin.pre-restore-X".into()),
            renamed: vec![],
            extra: vec![],
            migrate: false,
        };
        let p = plan_swap("t".into(), &s);
        let ids: Vec<&str> = p.steps.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["copy", "move-aside", "publish"]);
        for st in &p.steps {
            assert!(
                st.checks.contains(&Check::NodeStopped {
                    dir: s.home.clone()
                }),
                "{}",
                st.id
            );
            assert!(!st.is_destructive());
        }
        assert_eq!(
            p.steps[1].actions,
            vec![Action::Rename {
                from: s.home.clone(),
                to: s.aside.clone().unwrap()
            }]
        );
        assert!(p.commands().is_empty(), "no command deletes anything");
        let m = plan_swap("m".into(), &Swap { migrate: true, ..s });
        assert!(matches!(
            m.steps[1].actions[0],
            Action::Hotcopy(HotAction::ProveUnchanged { .. })
        ));
        let text = super::super::render_plan(&m);
        assert!(
            text.contains("rename /mnt/lnraid/bitcoin -> /mnt/lnraid/bitcoin.pre-restore-X"),
            "{text}"
        );
    }

    #[test]
    fn prune_deletes_exactly_the_named_snapshots() {
        let p = plan_prune(
            Path::new("/m/.lnraid-snapshots/b"),
            &["2026-01-01T00:00:00Z".into()],
        );
        let cmds: Vec<String> = p.commands().iter().map(ToString::to_string).collect();
        assert_eq!(
            cmds,
            ["btrfs subvolume delete /m/.lnraid-snapshots/b/2026-01-01T00:00:00Z"]
        );
    }
}
