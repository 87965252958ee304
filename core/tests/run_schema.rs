//! The published JSON Schema of the load run record is the one the code writes and reads, and
//! it is closed: every object with properties forbids any other key.
//! After changing the record, run `PGSHAPE_BLESS=1 cargo test -p pgshape-core --test run_schema`.

use std::path::Path;

use pgshape_core::run_record::{RunRecord, RunStatus};
use serde_json::Value;

fn open_objects(v: &Value, at: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if m.contains_key("properties")
                && m.get("additionalProperties") != Some(&Value::Bool(false))
            {
                out.push(at.to_string());
            }
            for (k, child) in m {
                open_objects(child, &format!("{at}/{k}"), out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                open_objects(child, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn the_published_run_schema_is_current_and_closed() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/schemas/run.schema.json");
    let schema = RunRecord::json_schema();
    let current = serde_json::to_string_pretty(&schema).unwrap() + "\n";
    if std::env::var_os("PGSHAPE_BLESS").is_some() {
        std::fs::write(&path, &current).unwrap();
    }
    let published = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        published == current,
        "{} is stale: run PGSHAPE_BLESS=1 cargo test -p pgshape-core --test run_schema",
        path.display()
    );
    let mut open = Vec::new();
    open_objects(&schema, "#", &mut open);
    assert!(
        open.is_empty(),
        "objects without additionalProperties: false: {open:?}"
    );
    assert_eq!(schema["$id"], "urn:pgshape:schema:run:v1");
    // The status is an enum of the three states, as `_pgshape.runs.status` holds them.
    let status = serde_json::to_string(&schema["$defs"]["RunStatus"]).unwrap();
    for s in [
        RunStatus::Loading,
        RunStatus::Done,
        RunStatus::FailedIntegrity,
    ] {
        assert!(status.contains(&format!("\"{}\"", s.as_str())), "{status}");
    }
}

#[test]
fn a_record_with_an_unknown_key_is_refused_naming_its_path() {
    let bad = br#"{"run_id": "r", "started_at": "2026-12-03T00:00:00Z", "status": "done", "tool_version": "0",
        "environment": "ci", "target": "u@h:1/d", "schema": "s", "dataset": "x", "dataset_kind": "files",
        "schema_created": true, "created": [], "truncated": [], "tables": [],
        "set_aside": {"schema": "s", "constraints": [], "indexes": [], "extra": 1}, "jobs": 2}"#;
    let err = pgshape_core::artifact::parse_json::<RunRecord>(Path::new("run.json"), bad)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("run.json") && err.contains("set_aside"),
        "{err}"
    );
}
