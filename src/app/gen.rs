//! `lnraid dev-gen-node-dir`: writes a realistic node directory (see `testkit`).

use anyhow::Context;

use crate::cli::GenArgs;
use crate::testkit::{generate_node_dir, NodeSpec};
use crate::types::Bytes;

pub fn run(args: &GenArgs) -> anyhow::Result<i32> {
    let size = |s: &str| Bytes::parse_human(s).with_context(|| format!("{s:?} is not a size"));
    let spec = NodeSpec {
        db_bytes: size(&args.db_size)?.0,
        gossip_bytes: size(&args.gossip_size)?.0,
        hot_journal: args.hot_journal,
    };
    generate_node_dir(&args.dir, &spec)?;
    println!("{}", args.dir.display());
    Ok(super::exit::OK)
}
