//! The mdstat and mdadm parsers on every fixture and corpus file cut at every line boundary,
//! cut inside lines and garbled: they return (mostly a ParseError), never panic; and where
//! the format allows, a cut capture is an error rather than a healthy-looking array.

#[path = "common/cuts.rs"]
mod cuts;

#[path = "common/corpus.rs"]
mod fx;

use fx::{corpus, files, root};
use std::fs;

use lnraid::probe::mdadm::{parse_detail, parse_detail_export, parse_examine};
use lnraid::probe::mdstat::parse_mdstat;

/// Every fixture and corpus file, cut at every line boundary and inside lines, and garbled:
/// each parser returns, never panics.
#[test]
fn cut_and_garbled_inputs_never_panic() {
    let mut texts: Vec<(String, String)> = Vec::new();
    for kind in [
        "mdstat",
        "mdadm-detail",
        "mdadm-detail-export",
        "mdadm-examine",
    ] {
        for (name, text) in files(&root().join("fixtures").join(kind)) {
            texts.push((format!("fixtures/{kind}/{name}"), text));
        }
    }
    if let Some(c) = corpus() {
        for kind in ["mdstat", "mdadm-detail"] {
            for (name, text) in files(&c.join(kind)) {
                texts.push((format!("corpus/{kind}/{name}"), text));
            }
        }
    }
    let mut tried = 0;
    for (name, text) in &texts {
        tried += cuts::assert_never_panics(name, text, parse_mdstat);
        tried += cuts::assert_never_panics(name, text, parse_detail);
        tried += cuts::assert_never_panics(name, text, parse_detail_export);
        tried += cuts::assert_never_panics(name, text, parse_examine);
    }
    assert!(tried > 10_000, "only {tried} variants");
}

/// A capture cut inside the member table or the health map is an error, not a healthy array.
#[test]
fn truncation_is_detected_where_the_format_allows() {
    let text =
        fs::read_to_string(root().join("fixtures/mdadm-detail/4.2-raid1-degraded-faulty.txt"))
            .unwrap();
    let table = text.find("    Number").unwrap();
    // A cut inside the last row's path (`/dev/vd`) still looks whole: not checked.
    let last_path = text.rfind("/dev/vdb").unwrap();
    for cut in cuts::cuts(&text) {
        if cut.len() < last_path && cut.len() > table {
            assert!(parse_detail(cut).is_err(), "accepted a cut table:\n{cut}");
        }
    }
    let text = fs::read_to_string(
        root().join("fixtures/mdstat/6.1.0-56-cloud-amd64-raid1-degraded-faulty.txt"),
    )
    .unwrap();
    let header_end = text.find("[U_]").unwrap();
    for cut in cuts::cuts(&text) {
        if cut.len() > "Personalities : [raid1] ".len() && cut.len() < header_end + 3 {
            assert!(parse_mdstat(cut).is_err(), "accepted a cut array:\n{cut}");
        }
    }
}
