//! The exact pack of the production fixture, pinned: an extraction with `--no-dp` of the
//! fixture at scale 0.02 (a fixed database: `setseed`), a fixed salt and a fixed "now" must
//! give the pack of `tests/fixtures/pack-fixture-0.02.json` figure for figure (the tool's
//! version aside). A change to the sampler's SQL that is meant to compute the same figures
//! faster (issue 14: one scan per table) is held to it; a change meant to alter the pack
//! re-pins it with `PGSHAPE_BLESS=1` and says so in its commit.

use serde_json::Value;

use super::SALT;

const NOW: &str = "2026-12-02T12:00:00Z";

/// The first JSON path where `a` and `b` differ, with both values.
fn first_difference(path: &str, a: &Value, b: &Value) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().find_map(|k| match (x.get(k), y.get(k)) {
                (Some(v), Some(w)) => first_difference(&format!("{path}.{k}"), v, w),
                (v, w) => Some(format!("{path}.{k}: {v:?} vs {w:?}")),
            })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (v, w))| first_difference(&format!("{path}[{i}]"), v, w)),
        _ if a == b => None,
        _ => Some(format!("{path}: {a} vs {b}")),
    }
}

/// The pack without what changes with the build (the tool's version).
fn canonical(bytes: &[u8]) -> Value {
    let mut v: Value = serde_json::from_slice(bytes).expect("a pack is JSON");
    v.as_object_mut().expect("an object").remove("tool_version");
    v
}

#[test]
fn the_exact_pack_of_the_fixture_is_the_pinned_one() {
    let db = super::fixture();
    let dir = tempfile::tempdir().unwrap();
    let pack = pgshape_e2e::extract_pack_with(&db, dir.path(), SALT, &["--no-dp", "--now", NOW]);
    let got = canonical(&std::fs::read(&pack).unwrap());
    let pinned = pgshape_e2e::repo_root().join("tests/fixtures/pack-fixture-0.02.json");
    if std::env::var_os("PGSHAPE_BLESS").is_some() {
        let mut bytes = serde_json::to_vec_pretty(&got).unwrap();
        bytes.push(b'\n');
        std::fs::write(&pinned, bytes).unwrap();
    }
    let want = canonical(&std::fs::read(&pinned).expect("the pinned pack"));
    if let Some(d) = first_difference("$", &want, &got) {
        panic!(
            "the pack differs from {} (pinned vs now) at {d}",
            pinned.display()
        );
    }
}
