//! A runner that delegates to another and records every command it was given, so a test can
//! compare what ran with what the dry run printed.

use std::sync::Mutex;

use super::{Cmd, CmdError, Output, Runner};

pub struct Recorder<'a> {
    inner: &'a dyn Runner,
    log: Mutex<Vec<Cmd>>,
}

impl<'a> Recorder<'a> {
    pub fn new(inner: &'a dyn Runner) -> Recorder<'a> {
        Recorder {
            inner,
            log: Mutex::new(Vec::new()),
        }
    }

    /// The shell lines of the mutating commands run so far, in order.
    pub fn mutating_lines(&self) -> Vec<String> {
        self.log
            .lock()
            .expect("recorder lock")
            .iter()
            .filter(|c| c.is_mutating())
            .map(ToString::to_string)
            .collect()
    }
}

impl Runner for Recorder<'_> {
    fn output(&self, cmd: &Cmd) -> Result<Output, CmdError> {
        self.log.lock().expect("recorder lock").push(cmd.clone());
        self.inner.output(cmd)
    }
}
