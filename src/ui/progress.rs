//! Progress for long steps: an indicatif bar on a terminal, otherwise a line on stderr at
//! most every ten seconds (logs stay readable under cron or systemd).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::types::Bytes;

const LOG_INTERVAL: Duration = Duration::from_secs(10);

pub struct Progress {
    label: &'static str,
    total: u64,
    bar: Option<ProgressBar>,
    last_log: Instant,
    started: Instant,
}

impl Progress {
    pub fn new(label: &'static str, total: u64) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = ProgressBar::new(total);
            b.set_style(
                ProgressStyle::with_template(
                    "  {msg:10} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            b.set_message(label);
            b
        });
        Progress {
            label,
            total,
            bar,
            last_log: Instant::now(),
            started: Instant::now(),
        }
    }

    pub fn set(&mut self, done: u64) {
        match &self.bar {
            Some(b) => b.set_position(done),
            None if self.last_log.elapsed() >= LOG_INTERVAL => {
                self.last_log = Instant::now();
                let pct = done
                    .saturating_mul(100)
                    .checked_div(self.total)
                    .unwrap_or(100);
                eprintln!(
                    "  {}: {} of {} ({pct}%)",
                    self.label,
                    Bytes(done),
                    Bytes(self.total)
                );
            }
            None => {}
        }
    }

    pub fn finish(self) {
        if let Some(b) = self.bar {
            b.finish_and_clear();
        }
        eprintln!(
            "  {} done: {} in {:.1}s",
            self.label,
            Bytes(self.total),
            self.started.elapsed().as_secs_f64()
        );
    }
}
