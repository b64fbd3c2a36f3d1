//! `doctor --json` validates against schemas/doctor.schema.json, for documents that exercise
//! every strategy (a node with a replica, the backup plugin, Litestream, stray copies, a
//! running fake lightningd, a PostgreSQL DSN that does not answer); and a document that
//! breaks the schema is rejected, so the validation can fail. The validator is the shared
//! tests/common/schema.rs (python3-jsonschema, SKIPPED without it).

mod doctor_kit;
#[path = "common/schema.rs"]
mod schema;

use std::fs;

use doctor_kit::{make_db, Node};

#[test]
fn doctor_json_matches_schema() {
    let n = Node::new();
    let mut docs = Vec::new();
    docs.push(n.doctor(&[]).1);
    let r = n.mkdir("replica");
    make_db(&r.join("lightningd.sqlite3"), false);
    n.net_config(&format!(
        "wallet=sqlite3://{}:{}/lightningd.sqlite3\nimportant-plugin=/p/backup.py\n",
        n.db().display(),
        r.display()
    ));
    fs::write(
        &n.litestream,
        format!("dbs:\n - path: {}\n", n.db().display()),
    )
    .unwrap();
    make_db(&n.dir.join("old.sqlite3"), false);
    let base = format!("--lightning-dir={}", n.base.display());
    let p = n.fake_lightningd(&[&base, "--network=regtest"]);
    docs.push(n.doctor(&[]).1);
    drop(p);
    n.net_config("wallet=postgres://ln:pw@127.0.0.1:1/db\n");
    docs.push(n.doctor(&[]).1);
    let strategies: std::collections::BTreeSet<String> = docs
        .iter()
        .flat_map(|d| {
            d["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["strategy"].as_str().unwrap().to_string())
        })
        .collect();
    assert_eq!(
        strategies.len(),
        10,
        "not every strategy appears: {strategies:?}"
    );
    if !schema::validate("doctor", &docs) {
        return; // SKIPPED printed
    }
    // A finding with an unknown severity must be rejected.
    let mut bad = docs[0].clone();
    bad["findings"][0]["severity"] = "critical".into();
    let rejected = std::panic::catch_unwind(|| schema::validate("doctor", &[bad])).is_err();
    assert!(rejected, "the schema accepted a bad severity");
}
