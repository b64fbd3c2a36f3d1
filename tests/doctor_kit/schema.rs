//! JSON Schema validation by python3-jsonschema (Debian package `python3-jsonschema`,
//! installed by scripts/install-deps), the same approach as the status helper's
//! tests/common/schema.rs (kept separate until both land; then one can go). Without the
//! validator the test prints a visible SKIPPED line.
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

/// Validates every document; false (after a SKIPPED line) without a validator; panics with
/// every violation otherwise. Returns the validator's verdict line on success.
pub fn validate(name: &str, docs: &[serde_json::Value]) -> Result<bool, String> {
    assert!(!docs.is_empty(), "no {name} documents to validate");
    let input = serde_json::to_vec(docs).unwrap();
    let schema = schema_path(name);
    let cmd = Cmd::read_only("python3", ["-c", VALIDATE, schema.to_str().unwrap()]).stdin(input);
    let out = match RealRunner.output(&cmd) {
        Ok(o) => o,
        Err(e) => {
            println!("SKIPPED: {name} schema validation: python3 not runnable ({e}); apt-get install python3-jsonschema");
            return Ok(false);
        }
    };
    if out.stdout.trim() == "NO-VALIDATOR" {
        println!("SKIPPED: {name} schema validation: python3-jsonschema not installed (scripts/install-deps)");
        return Ok(false);
    }
    if out.status.success() && out.stdout.trim_end().ends_with("OK") {
        Ok(true)
    } else {
        Err(format!("{}{}", out.stdout, out.stderr))
    }
}
