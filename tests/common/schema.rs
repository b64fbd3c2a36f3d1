//! JSON Schema validation for tests, by python3-jsonschema (Debian package
//! `python3-jsonschema`, installed by scripts/install-deps): the documents lnraid writes are
//! checked against the schema files in `schemas/`. Without the validator a test prints a
//! visible SKIPPED line instead of passing silently.
#![allow(dead_code)]

use std::path::PathBuf;

use lnraid::exec::{Cmd, RealRunner, Runner};

const VALIDATE: &str = r#"
import json, sys
try:
    import jsonschema
except ImportError:
    print("NO-VALIDATOR"); sys.exit(0)
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
docs = json.loads(sys.stdin.read())
bad = 0
for i, doc in enumerate(docs):
    for e in jsonschema.Draft202012Validator(schema).iter_errors(doc):
        bad += 1
        print(f"document {i}: {'/'.join(map(str, e.absolute_path))}: {e.message}")
print("OK" if bad == 0 else "INVALID")
"#;

pub fn schema_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("schemas")
        .join(format!("{name}.schema.json"))
}

/// Validates every document against `schemas/<name>.schema.json`. Returns false (after a
/// SKIPPED line) when no validator is installed; panics with every violation otherwise.
pub fn validate(name: &str, docs: &[serde_json::Value]) -> bool {
    assert!(!docs.is_empty(), "no {name} documents to validate");
    let input = serde_json::to_vec(docs).unwrap();
    let schema = schema_path(name);
    let cmd = Cmd::read_only("python3", ["-c", VALIDATE, schema.to_str().unwrap()]).stdin(input);
    let out = match RealRunner.output(&cmd) {
        Ok(o) => o,
        Err(e) => {
            println!("SKIPPED: {name} schema validation: python3 not runnable ({e}); apt-get install python3-jsonschema");
            return false;
        }
    };
    if out.stdout.trim() == "NO-VALIDATOR" {
        println!("SKIPPED: {name} schema validation: python3-jsonschema not installed (scripts/install-deps)");
        return false;
    }
    assert!(
        out.status.success() && out.stdout.trim_end().ends_with("OK"),
        "{} documents do not match {}:\n{}{}\n{}",
        name,
        schema.display(),
        out.stdout,
        out.stderr,
        serde_json::to_string_pretty(docs).unwrap()
    );
    true
}
