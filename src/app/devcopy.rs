//! `lnraid dev-copy-verify SRC DST` (hidden): runs exactly the copy and verify phases of
//! `setup` (`copy::copy_tree`, then `copy::verify`) on any directory and prints bytes and
//! seconds per phase, so `scripts/bench-setup-copy` can time the engine without devices,
//! journal or prompts. Writes only the new `DST`; fails (exit 1) when verification finds any
//! difference.

use std::time::Instant;

use crate::cli::CopyVerifyArgs;
use crate::copy::{copy_tree, verify, CopyOptions};

pub fn run(args: &CopyVerifyArgs) -> anyhow::Result<i32> {
    let t = Instant::now();
    let manifest = copy_tree(&args.src, &args.dst, &CopyOptions::default(), &mut |_| {})?;
    let copy_secs = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let report = verify(&manifest, &args.dst, &mut |_| {})?;
    let verify_secs = t.elapsed().as_secs_f64();
    let report = report.into_result()?;
    let line = |phase: &str, bytes: u64, secs: f64| {
        println!(
            "{phase:<6} {bytes} bytes in {secs:.3} s ({:.1} MiB/s)",
            bytes as f64 / secs.max(1e-9) / (1 << 20) as f64
        )
    };
    line("copy", manifest.bytes(), copy_secs);
    line("verify", report.bytes, verify_secs);
    line(
        "total",
        manifest.bytes() + report.bytes,
        copy_secs + verify_secs,
    );
    for s in &manifest.skipped {
        println!("skipped {} ({})", s.rel.display(), s.kind);
    }
    Ok(super::exit::OK)
}
