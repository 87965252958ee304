//! The published JSON Schemas of the pack, the manifest, the generation report and the load run
//! record are the ones
//! the code accepts, and they are closed: every object with properties forbids any other key.
//! After changing a format, run
//! `PGSHAPE_BLESS=1 cargo test -p pgshape-core --test pack_schema`.

use std::path::Path;

use pgshape_core::dataset_report::{Report, REPORT_VERSION};
use pgshape_core::pack::{Manifest, Pack, PACK_VERSION};
use pgshape_core::run_record::{RunRecord, RunStatus};
use serde_json::Value;

fn check_published(file: &str, current: &Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs/schemas")
        .join(file);
    let current = serde_json::to_string_pretty(current).unwrap() + "\n";
    if std::env::var_os("PGSHAPE_BLESS").is_some() {
        std::fs::write(&path, &current).unwrap();
    }
    let published = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        published == current,
        "{} is stale: run PGSHAPE_BLESS=1 cargo test -p pgshape-core --test pack_schema",
        path.display()
    );
}

#[test]
fn published_pack_and_manifest_schemas_are_current() {
    check_published("pack.schema.json", &Pack::json_schema());
    check_published("manifest.schema.json", &Manifest::json_schema());
}

#[test]
fn published_report_schema_is_current() {
    check_published("report.schema.json", &Report::json_schema());
    let report = Report::json_schema();
    assert_eq!(
        report["properties"]["report_version"]["const"],
        REPORT_VERSION
    );
    assert_eq!(
        report["$defs"]["Format"]["enum"],
        serde_json::json!(["binary", "csv"]),
        "the chunk format is an enum"
    );
}

/// Every object schema that lists properties must say `additionalProperties: false`; returns
/// the JSON pointers of those that do not.
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
fn schemas_are_closed_and_versioned() {
    for schema in [
        Pack::json_schema(),
        Manifest::json_schema(),
        Report::json_schema(),
    ] {
        let mut open = Vec::new();
        open_objects(&schema, "#", &mut open);
        assert!(
            open.is_empty(),
            "objects without additionalProperties: false: {open:?}"
        );
        assert!(schema["$id"].as_str().unwrap().ends_with(":v1"));
    }
    let pack = Pack::json_schema();
    assert_eq!(pack["properties"]["pack_version"]["const"], PACK_VERSION);
    // The column metrics carry every role's figures.
    let col = &pack["$defs"]["ColumnMetrics"]["properties"];
    for field in [
        "distinct_ratio",
        "daily",
        "number",
        "length",
        "categories",
        "hourly",
    ] {
        assert!(
            col.get(field).is_some(),
            "ColumnMetrics.{field} missing from the schema"
        );
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
        "{} is stale: run PGSHAPE_BLESS=1 cargo test -p pgshape-core --test pack_schema",
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
