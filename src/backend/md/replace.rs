//! `replace` on md, as a plan. Pure.
//!
//! Old member still readable (active, in sync): `--add` the new one as a spare, then
//! `--replace OLD --with NEW` — md copies onto the new member while the old one still serves
//! reads, so redundancy never drops; wait (with progress) until the kernel marks the old one
//! faulty, `--remove` it, zero its superblock so it is never assembled into the array again.
//! Old member dead or gone: `--fail` / `--remove` what is still listed, `--add` the new one,
//! wait for the recovery. A target that cannot hold the used device size is refused before
//! anything changes; when every member is then larger, the array grows (`--grow --size=max`)
//! and ext4 with it (`resize2fs`, online). The md UUID never changes, so mdadm.conf's ARRAY
//! line stays valid; status re-checks it afterwards.

use super::size;
use crate::backend::health::{Health, MemberState};
use crate::exec::Cmd;
use crate::plan::{Action, Plan, Step, Tag};
use crate::types::{Bytes, DevPath};

/// What the operator asked, resolved against the array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdReplace {
    /// `/dev/md127`.
    pub array: DevPath,
    /// The member to replace (`None`: an empty slot, `--old missing`).
    pub old: Option<DevPath>,
    pub new: DevPath,
    pub new_size: Bytes,
    /// `Used Dev Size` of the array.
    pub used_dev_size: Bytes,
    /// Sizes of the members that stay (all but `old`).
    pub staying_sizes: Vec<Bytes>,
}

/// Why a replacement cannot be planned (said before anything changes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplaceRefusal {
    #[error("{new} ({new_size}) is smaller than the array needs: each member must hold {used} plus md's superblock and bitmap; use a device of at least {need}")]
    TooSmall {
        new: DevPath,
        new_size: Bytes,
        used: Bytes,
        need: Bytes,
    },
    #[error("{0} is not a member of the array (see `lnraid status`)")]
    NotAMember(DevPath),
    #[error("the array has no empty slot and no member was named: give --old DEV")]
    NothingToReplace,
    #[error("{0} is already a member of the array")]
    AlreadyMember(DevPath),
}

fn md(array: &DevPath, args: &[&str]) -> Cmd {
    Cmd::mutating("mdadm", [array.to_string().as_str()]).args_from(args.iter().copied())
}

fn run(cmd: Cmd) -> Action {
    Action::Run { cmd }
}

fn state_of<'a>(h: &'a Health, dev: &DevPath) -> Option<&'a MemberState> {
    h.members
        .iter()
        .find(|m| m.path.as_ref() == Some(dev))
        .map(|m| &m.state)
}

/// Plans the replacement, or says why not.
pub fn plan_replace(h: &Health, r: &MdReplace) -> Result<Plan, ReplaceRefusal> {
    if !size::fits(r.new_size, r.used_dev_size) {
        let need = Bytes(r.used_dev_size.0 + size::offset_reserve(r.new_size));
        return Err(ReplaceRefusal::TooSmall {
            new: r.new.clone(),
            new_size: r.new_size,
            used: r.used_dev_size,
            need,
        });
    }
    if state_of(h, &r.new).is_some() {
        return Err(ReplaceRefusal::AlreadyMember(r.new.clone()));
    }
    let a = &r.array;
    let new = r.new.to_string();
    let add = Step::new(
        "md-add",
        Tag::Destructive,
        format!("add {new} to {a} (its contents are overwritten by the rebuild)"),
        vec![run(md(a, &["--add", &new]))],
    );
    let mut steps = Vec::new();
    match &r.old {
        Some(old) => match state_of(h, old) {
            None => return Err(ReplaceRefusal::NotAMember(old.clone())),
            Some(MemberState::Active) => {
                steps.push(add);
                steps.push(readable(a, old, &new));
            }
            Some(_) => {
                // A slot must be free before the new member can rebuild into it.
                steps.push(remove_failed(a, old));
                steps.push(add);
            }
        },
        None if h.members.iter().any(|m| m.state == MemberState::Missing) => steps.push(add),
        None => return Err(ReplaceRefusal::NothingToReplace),
    }
    steps.push(Step::new(
        "md-wait",
        Tag::Long,
        format!("wait until {new} is in sync (progress from /proc/mdstat); until then the array is not redundant"),
        vec![Action::AwaitSync { array: a.to_string() }],
    ));
    if let Some(old) = &r.old {
        if matches!(state_of(h, old), Some(MemberState::Active)) {
            retire(&mut steps, a, old);
        }
    }
    grow(&mut steps, a, r);
    let title = format!(
        "lnraid replace: {} of md array {a} with {new}; the md UUID stays, so mdadm.conf stays valid",
        r.old.as_ref().map(|o| o.to_string()).unwrap_or_else(|| "the missing member".into())
    );
    Ok(Plan::new(title, steps))
}

/// The old member still reads: copy onto the new one while both serve.
fn readable(a: &DevPath, old: &DevPath, new: &str) -> Step {
    let old = old.to_string();
    Step::new(
        "md-replace",
        Tag::Long,
        format!("copy {old} onto {new} while {old} still serves reads (redundancy never drops)"),
        vec![run(md(a, &["--replace", &old, "--with", new]))],
    )
}

/// The old member failed or is gone: take it out of the array.
fn remove_failed(a: &DevPath, old: &DevPath) -> Step {
    let old = old.to_string();
    Step::new(
        "md-remove-failed",
        Tag::Safe,
        format!("mark {old} failed (if md has not yet) and remove it from {a}"),
        vec![
            Action::Try {
                cmd: md(a, &["--fail", &old]),
            },
            run(md(a, &["--remove", &old])),
        ],
    )
}

fn retire(steps: &mut Vec<Step>, a: &DevPath, old: &DevPath) {
    let o = old.to_string();
    steps.push(Step::new(
        "md-retire-old",
        Tag::Destructive,
        format!("remove the replaced {o} from {a} and erase its md superblock, so it is never assembled into the array again"),
        vec![
            run(md(a, &["--remove", &o])),
            run(Cmd::mutating("mdadm", ["--zero-superblock", o.as_str()])),
        ],
    ));
}

/// Every member larger than the array uses: grow md, then ext4 (online).
fn grow(steps: &mut Vec<Step>, a: &DevPath, r: &MdReplace) {
    let smallest = r
        .staying_sizes
        .iter()
        .copied()
        .chain([r.new_size])
        .min()
        .unwrap_or(Bytes(0));
    let Some(kib) = size::create_size_kib(smallest) else {
        return;
    };
    if kib * 1024 <= r.used_dev_size.0 + 64 * 1024 * 1024 {
        return;
    }
    steps.push(Step::new(
        "md-grow",
        Tag::Long,
        format!(
            "every member is now larger: grow {a} to {} per member, then ext4 with it (online)",
            Bytes(kib * 1024)
        ),
        vec![
            run(md(a, &["--grow", &format!("--size={kib}")])),
            Action::AwaitSync {
                array: a.to_string(),
            },
            run(Cmd::mutating("resize2fs", [a.to_string().as_str()])),
        ],
    ));
}
