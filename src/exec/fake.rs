//! The recording fake runner: replays outputs captured from real runs and records every
//! command it is given, so tests can assert on the exact command lines (e.g. that execution
//! ran exactly what the dry run printed) without touching a device.

use std::collections::HashMap;
use std::sync::Mutex;

use super::{Cmd, CmdError, Output, Runner};

/// A scripted [`Runner`]. Replies are keyed by the command's shell line. A command with no
/// recorded reply is an error (never a silent success), so a test cannot pass by accident.
#[derive(Debug, Default)]
pub struct FakeRunner {
    replies: Mutex<HashMap<String, Output>>,
    fail_on: Mutex<Option<String>>,
    log: Mutex<Vec<Cmd>>,
    /// Replies for every line starting with a prefix (commands naming temp files).
    prefixes: Mutex<Vec<(String, Output)>>,
    /// (trigger, line, output): once `trigger` has run, `line` replies `output` — a device
    /// that `blkid -p` shows blank before `mkfs` and carrying the filesystem after.
    after: Mutex<Vec<(String, String, Output)>>,
}

impl FakeRunner {
    pub fn new() -> FakeRunner {
        FakeRunner::default()
    }

    /// Registers the output `cmd` produces.
    pub fn reply(&self, cmd: &Cmd, out: Output) -> &FakeRunner {
        self.replies
            .lock()
            .expect("fake runner lock")
            .insert(cmd.to_string(), out);
        self
    }

    /// Registers `stdout` (exit 0) for the command line `line`, e.g. from a fixture file.
    pub fn reply_line(&self, line: &str, stdout: &str) -> &FakeRunner {
        self.replies
            .lock()
            .expect("fake runner lock")
            .insert(line.to_string(), Output::ok(stdout));
        self
    }

    /// Makes the first command whose line contains `needle` fail with exit status 1, to
    /// inject a failure at a given step.
    pub fn fail_on(&self, needle: &str) -> &FakeRunner {
        *self.fail_on.lock().expect("fake runner lock") = Some(needle.to_string());
        self
    }

    /// Registers `out` for every command whose line starts with `prefix`.
    pub fn reply_prefix(&self, prefix: &str, out: Output) -> &FakeRunner {
        self.prefixes
            .lock()
            .expect("fake runner lock")
            .push((prefix.to_string(), out));
        self
    }

    /// Once the command line `trigger` has run (successfully), `line` replies `out`.
    pub fn reply_after(&self, trigger: &str, line: &str, out: Output) -> &FakeRunner {
        self.after.lock().expect("fake runner lock").push((
            trigger.to_string(),
            line.to_string(),
            out,
        ));
        self
    }

    /// Every command given so far, in order.
    pub fn commands(&self) -> Vec<Cmd> {
        self.log.lock().expect("fake runner lock").clone()
    }

    /// The shell lines of every command given so far.
    pub fn lines(&self) -> Vec<String> {
        self.commands().iter().map(ToString::to_string).collect()
    }
}

impl Runner for FakeRunner {
    fn output(&self, cmd: &Cmd) -> Result<Output, CmdError> {
        let line = cmd.to_string();
        self.log.lock().expect("fake runner lock").push(cmd.clone());
        let mut fail_on = self.fail_on.lock().expect("fake runner lock");
        if fail_on.as_deref().is_some_and(|n| line.contains(n)) {
            *fail_on = None;
            return Ok(Output::exited(
                1,
                "",
                "injected failure (FakeRunner::fail_on)",
            ));
        }
        drop(fail_on);
        let reply = self
            .replies
            .lock()
            .expect("fake runner lock")
            .get(&line)
            .cloned()
            .or_else(|| {
                let p = self.prefixes.lock().expect("fake runner lock");
                p.iter()
                    .find(|(pre, _)| line.starts_with(pre.as_str()))
                    .map(|(_, o)| o.clone())
            });
        if reply.as_ref().is_some_and(|o| o.status.success()) {
            let mut after = self.after.lock().expect("fake runner lock");
            let mut replies = self.replies.lock().expect("fake runner lock");
            after.retain(|(trigger, l, out)| {
                if *trigger == line {
                    replies.insert(l.clone(), out.clone());
                    false
                } else {
                    true
                }
            });
        }
        match reply {
            Some(out) => Ok(out),
            None => Err(CmdError::Spawn {
                cmd: line,
                reason: "fake runner has no reply recorded for this command".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_and_records() {
        let fake = FakeRunner::new();
        let c = Cmd::read_only("btrfs", ["filesystem", "show", "--raw"]);
        fake.reply(&c, Output::ok("Label: none"));
        assert_eq!(fake.output(&c).unwrap().stdout, "Label: none");
        let unknown = Cmd::read_only("btrfs", ["device", "stats"]);
        assert!(fake.output(&unknown).is_err());
        assert_eq!(
            fake.lines(),
            vec!["btrfs filesystem show --raw", "btrfs device stats"]
        );
    }

    #[test]
    fn fail_on_fails_once() {
        let fake = FakeRunner::new();
        let c = Cmd::mutating("mount", ["/dev/loop0", "/mnt"]);
        fake.reply(&c, Output::ok(""));
        fake.fail_on("mount");
        assert!(fake.run_ok(&c).is_err());
        assert!(fake.run_ok(&c).is_ok());
    }
}
