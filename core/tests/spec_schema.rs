//! The published JSON Schema of the spec format is the one the code accepts.
//! After changing the format, run `PGSHAPE_BLESS=1 cargo test -p pgshape-core --test spec_schema`.

use std::path::Path;

use pgshape_core::spec::Spec;

#[test]
fn published_spec_schema_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/schemas/spec.schema.json");
    let current = serde_json::to_string_pretty(&Spec::json_schema()).unwrap() + "\n";
    if std::env::var_os("PGSHAPE_BLESS").is_some() {
        std::fs::write(&path, &current).unwrap();
    }
    let published = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        published == current,
        "{} is stale: run PGSHAPE_BLESS=1 cargo test -p pgshape-core --test spec_schema",
        path.display()
    );
}

#[test]
fn schema_closes_objects() {
    // deny_unknown_fields must reach the schema: every object definition is closed.
    let schema = Spec::json_schema();
    let text = schema.to_string();
    assert!(
        text.contains("\"additionalProperties\":false"),
        "no closed object in the schema"
    );
}
