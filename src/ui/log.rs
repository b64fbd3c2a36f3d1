//! How diagnostics look on stderr: the one event format behind every `tracing` event lnraid
//! emits. Info events are the plain progress lines an operator reads (`[2/7] mkfs.btrfs ...`);
//! warnings and errors carry the `lnraid: warning:` / `lnraid: error:` prefix scripts grep for;
//! debug and trace events show their fields (`command=...`). Colour (bold red errors, yellow
//! warnings, dim debug) only when the writer allows ANSI, which `main` decides (a terminal,
//! and no `NO_COLOR`). May not print anything itself.

use std::fmt;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// lnraid's event format (see the module doc).
pub struct Format;

impl<S, N> FormatEvent<S, N> for Format
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let level = *event.metadata().level();
        let (prefix, colour) = match level {
            Level::ERROR => ("lnraid: error: ", "\x1b[1;31m"),
            Level::WARN => ("lnraid: warning: ", "\x1b[33m"),
            Level::INFO => ("", ""),
            Level::DEBUG => ("lnraid: debug: ", "\x1b[2m"),
            Level::TRACE => ("lnraid: trace: ", "\x1b[2m"),
        };
        let ansi = writer.has_ansi_escapes() && !colour.is_empty();
        if ansi {
            write!(writer, "{colour}")?;
        }
        write!(writer, "{prefix}")?;
        ctx.format_fields(writer.by_ref(), event)?;
        if ansi {
            write!(writer, "\x1b[0m")?;
        }
        writeln!(writer)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;

    use super::Format;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buf {
        type Writer = Buf;
        fn make_writer(&'a self) -> Buf {
            self.clone()
        }
    }

    fn render(ansi: bool, level: &str, f: impl FnOnce()) -> String {
        let buf = Buf::default();
        let sub = tracing_subscriber::fmt()
            .with_writer(buf.clone())
            .with_ansi(ansi)
            .with_env_filter(level)
            .event_format(Format)
            .finish();
        tracing::subscriber::with_default(sub, f);
        let out = buf.0.lock().unwrap().clone();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn prefixes_by_level_and_colours_only_when_allowed() {
        let emit = || {
            tracing::error!("disk on fire");
            tracing::warn!("could not restore {}", "/sys/x");
            tracing::info!("[1/3] mkfs.btrfs");
            tracing::debug!(command = "btrfs scrub start", "running");
        };
        let plain = render(false, "debug", emit);
        assert_eq!(
            plain,
            "lnraid: error: disk on fire\nlnraid: warning: could not restore /sys/x\n\
             [1/3] mkfs.btrfs\nlnraid: debug: running command=\"btrfs scrub start\"\n"
        );
        assert!(!plain.contains('\x1b'));
        let colour = render(true, "debug", emit);
        assert!(
            colour.contains("\x1b[1;31mlnraid: error: disk on fire\x1b[0m"),
            "{colour:?}"
        );
        assert!(
            colour.contains("\n[1/3] mkfs.btrfs\n"),
            "info stays plain: {colour:?}"
        );
        // -q: errors only.
        assert_eq!(
            render(false, "error", emit),
            "lnraid: error: disk on fire\n"
        );
    }
}
