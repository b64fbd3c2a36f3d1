//! `lnraid dev-ship-files DIR` (hidden): writes the man pages (section 8: lnraid is a system
//! administration tool run as root) and the bash/zsh/fish completions, all generated from the
//! clap definitions in `cli.rs`, so the package can never document a flag the binary lacks.
//! Writes only below `DIR`; starts no process.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::{Cli, ShipFilesArgs};

pub fn run(args: &ShipFilesArgs) -> Result<i32> {
    let man = args.dir.join("man");
    let comp = args.dir.join("completions");
    for d in [&man, &comp] {
        fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let pages = write_man(&cmd, &man)?;
    for (shell, file) in [
        (Shell::Bash, "lnraid"),
        (Shell::Zsh, "_lnraid"),
        (Shell::Fish, "lnraid.fish"),
    ] {
        let path = comp.join(file);
        let mut f =
            fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        clap_complete::generate(shell, &mut Cli::command(), "lnraid", &mut f);
    }
    println!(
        "{} man pages in {}, completions in {}",
        pages,
        man.display(),
        comp.display()
    );
    Ok(super::exit::OK)
}

/// One page per visible command, `lnraid.8`, `lnraid-setup.8`, `lnraid-schedule-install.8`...
fn write_man(cmd: &clap::Command, dir: &Path) -> Result<usize> {
    let mut n = 0;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        n += write_man(sub, dir)?;
    }
    let page = clap_mangen::Man::new(cmd.clone())
        .section("8")
        .manual("System Administration")
        .source(format!("lnraid {}", crate::cli::VERSION));
    let path = dir.join(page.get_filename());
    let mut buf = Vec::new();
    page.render_title(&mut buf)?;
    page.render_name_section(&mut buf)?;
    page.render_synopsis_section(&mut buf)?;
    page.render_description_section(&mut buf)?;
    page.render_options_section(&mut buf)?;
    if cmd.has_subcommands() {
        page.render_subcommands_section(&mut buf)?;
    }
    buf.extend(examples_section(cmd).as_bytes());
    if cmd.get_version().is_some() {
        page.render_version_section(&mut buf)?;
    }
    fs::write(&path, buf).with_context(|| format!("writing {}", path.display()))?;
    Ok(n + 1)
}

/// The `--help` examples as an EXAMPLES section, lines kept as written (no fill, no
/// justification: a command line reflowed by the formatter could not be copied).
fn examples_section(cmd: &clap::Command) -> String {
    let Some(text) = cmd.get_after_help().map(|t| t.to_string()) else {
        return String::new();
    };
    let body = text.strip_prefix("Examples:\n").unwrap_or(&text);
    let mut r = roff::Roff::new();
    r.control("SH", ["EXAMPLES"]).control("nf", []);
    for line in body.lines() {
        let l = line.strip_prefix("  ").unwrap_or(line);
        if l.starts_with(' ') {
            // A continuation line: indented as in --help (roff drops leading spaces).
            r.control("RS", ["4"])
                .text([roff::roman(l.trim_start())])
                .control("RE", []);
        } else {
            r.text([roff::roman(l)]);
        }
    }
    r.control("fi", []);
    r.to_roff()
}
