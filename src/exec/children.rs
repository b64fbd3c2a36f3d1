//! Children never outlive lnraid.
//!
//! Seen: `kill -9` of lnraid during mkfs left `mkfs.btrfs` running; an `--abort` right after
//! reported success while the device still received the new filesystem. So every child the
//! real runner starts
//! - gets `PR_SET_PDEATHSIG = SIGKILL`: the kernel kills it when lnraid dies, however lnraid
//!   dies (`kill -9` included), and it refuses to start when lnraid died while it was forking;
//! - leads its own process group, so a timeout kills the tool *and* whatever it started
//!   (`sh -c` alert commands, helpers of btrfs-progs);
//! - is registered here while it runs, so SIGINT/SIGTERM/SIGHUP (Ctrl-C, `systemctl stop`, a
//!   closed terminal) kill those process groups before lnraid dies of the signal. A child in
//!   its own group no longer receives the terminal's Ctrl-C itself; this handler forwards it.
//!
//! The signal handler only does async-signal-safe work: atomic loads, `kill`, `signal`,
//! `raise`. Caveat: PDEATHSIG fires when the spawning *thread* ends; the runner waits for each
//! child on the thread that spawned it, so the child is gone before that thread can end.

use std::io;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Once;

use nix::libc;
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

/// At most this many children are tracked at once (parallel probes use a handful).
const SLOTS: usize = 64;
static GROUPS: [AtomicI32; SLOTS] = [const { AtomicI32::new(0) }; SLOTS];
static INSTALL: Once = Once::new();

/// The signals after which lnraid kills its children's process groups, then dies as before.
const FATAL: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP];

/// Runs in the forked child right before `exec`: only async-signal-safe calls, no allocation.
/// `parent` is lnraid's pid, read before forking.
pub(super) fn in_child(parent: libc::pid_t) -> io::Result<()> {
    // SAFETY: prctl and getppid are async-signal-safe and take no pointers here.
    unsafe {
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
            return Err(io::Error::last_os_error());
        }
        // lnraid died between fork and prctl: the signal was never armed. Do not start.
        if libc::getppid() != parent {
            return Err(io::Error::from_raw_os_error(libc::ESRCH));
        }
    }
    Ok(())
}

/// Installs the forwarding handlers (once per process). A signal the process ignores (e.g.
/// SIGHUP under `nohup`) stays ignored.
pub(super) fn install_handlers() {
    INSTALL.call_once(|| {
        let forward = SigAction::new(
            SigHandler::Handler(on_fatal_signal),
            SaFlags::SA_RESTART,
            SigSet::empty(),
        );
        for sig in FATAL {
            // SAFETY: the handler only calls async-signal-safe functions.
            unsafe {
                if let Ok(old) = sigaction(sig, &forward) {
                    if old.handler() != SigHandler::SigDfl {
                        let _ = sigaction(sig, &old);
                    }
                }
            }
        }
    });
}

extern "C" fn on_fatal_signal(sig: libc::c_int) {
    kill_all();
    // SAFETY: signal and raise are async-signal-safe. The signal is blocked while this
    // handler runs, so the re-raised one is delivered, with the default action, on return.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}

fn kill_all() {
    for slot in &GROUPS {
        let pgid = slot.load(Ordering::SeqCst);
        if pgid > 0 {
            kill_group(pgid);
        }
    }
}

/// SIGKILL to every process of the group `pgid`.
pub(super) fn kill_group(pgid: libc::pid_t) {
    // SAFETY: kill takes no pointers; a negative pid addresses a process group.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
}

/// A running child's process group, tracked until dropped.
pub(super) struct Tracked(Option<usize>);

pub(super) fn track(pgid: libc::pid_t) -> Tracked {
    for (i, slot) in GROUPS.iter().enumerate() {
        if slot
            .compare_exchange(0, pgid, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            return Tracked(Some(i));
        }
    }
    tracing::debug!(
        pgid,
        "more than {SLOTS} children at once: this one is not tracked"
    );
    Tracked(None)
}

impl Drop for Tracked {
    fn drop(&mut self) {
        if let Some(i) = self.0 {
            GROUPS[i].store(0, Ordering::SeqCst);
        }
    }
}
