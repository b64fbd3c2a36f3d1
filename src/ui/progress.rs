//! Progress for long steps: an indicatif bar on a terminal, otherwise a line on stderr at
//! most every ten seconds (logs stay readable under cron or systemd).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::types::Bytes;

const LOG_INTERVAL: Duration = Duration::from_secs(10);

/// What the numbers count. A percentage is never shown as bytes (`replacing done: 9.8 KiB`
/// was a percentage in hundredths), nor a chunk count (`1 B of 8 B`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Bytes,
    /// Positions and total in hundredths of a percent (total 10 000).
    Percent,
    /// btrfs chunks (balance: "N out of about M chunks").
    Chunks,
}

impl Unit {
    /// `done` of `total` in this unit, for a log line.
    pub fn of(self, done: u64, total: u64) -> String {
        match self {
            Unit::Bytes => {
                let pct = done.saturating_mul(100).checked_div(total).unwrap_or(100);
                format!("{} of {} ({pct}%)", Bytes(done), Bytes(total))
            }
            Unit::Percent => format!("{}.{:02}%", done / 100, done % 100),
            Unit::Chunks => format!("{done} of about {total} chunks"),
        }
    }

    /// What the whole run came to, for the final line (`None`: nothing worth a number).
    pub fn total(self, total: u64) -> Option<String> {
        match self {
            Unit::Bytes => Some(Bytes(total).to_string()),
            Unit::Percent => None,
            Unit::Chunks => Some(format!("{total} chunks")),
        }
    }

    fn template(self) -> &'static str {
        match self {
            Unit::Bytes => "  {msg:10} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            Unit::Percent => "  {msg:10} [{bar:40}] {percent}% eta {eta}",
            Unit::Chunks => "  {msg:10} [{bar:40}] {pos}/{len} chunks eta {eta}",
        }
    }
}

pub struct Progress {
    label: &'static str,
    unit: Unit,
    total: u64,
    bar: Option<ProgressBar>,
    last_log: Instant,
    started: Instant,
}

impl Progress {
    pub fn new(label: &'static str, total: u64) -> Progress {
        Progress::with_unit(label, total, Unit::Bytes)
    }

    /// A progress in `unit` (`Unit::Percent`: `total` is 10 000, positions in hundredths).
    pub fn with_unit(label: &'static str, total: u64, unit: Unit) -> Progress {
        // No bar under -q (or LNRAID_LOG filtering info out): progress is a diagnostic.
        let shown = tracing::enabled!(tracing::Level::INFO);
        let bar = (shown && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::new(total);
            b.set_style(
                ProgressStyle::with_template(unit.template())
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            b.set_message(label);
            b
        });
        Progress {
            label,
            unit,
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
                tracing::info!("  {}: {}", self.label, self.unit.of(done, self.total));
            }
            None => {}
        }
    }

    pub fn finish(self) {
        if let Some(b) = self.bar {
            b.finish_and_clear();
        }
        let secs = self.started.elapsed().as_secs_f64();
        match self.unit.total(self.total) {
            Some(t) => tracing::info!("  {} done: {t} in {secs:.1}s", self.label),
            None => tracing::info!("  {} done in {secs:.1}s", self.label),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_shown_as_themselves() {
        assert_eq!(Unit::Percent.of(4250, 10_000), "42.50%");
        assert_eq!(Unit::Percent.total(10_000), None);
        assert_eq!(Unit::Chunks.of(1, 8), "1 of about 8 chunks");
        assert_eq!(Unit::Chunks.total(8).as_deref(), Some("8 chunks"));
        assert!(Unit::Bytes.of(512, 1024).ends_with("(50%)"));
    }
}
