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

    // The library's extraction of the same database tells of every table as it goes (what
    // the sampler's progress bar shows) and writes the same pack.
    use pgshape_sampler::extract::{self, Options, Step};
    let target = pgshape_core::conn::Target::resolve(Some(&db.url)).unwrap();
    let limits = pgshape_sampler::session::Limits::default();
    let opts = Options {
        output: dir.path().join("library.json"),
        window_days: 60,
        now: Some(pgshape_core::cli::parse_instant(NOW).unwrap()),
        schemas: pgshape_sampler::session::schemas(&target, &limits, &[]).unwrap(),
        k_min: 10,
        limits,
        sample: pgshape_sampler::sample::Sample::full(),
        policy: Default::default(),
        dp: None,
        read_ahead: Default::default(),
    };
    let salt = pgshape_core::token::Salt::new(Some(SALT.as_bytes().to_vec())).unwrap();
    let steps = std::cell::RefCell::new(Vec::new());
    let written =
        extract::extract_observed(&target, &salt, &opts, &|s| steps.borrow_mut().push(s)).unwrap();
    let library = canonical(&std::fs::read(&written.pack).unwrap());
    assert_eq!(first_difference("$", &want, &library), None);
    let steps = steps.into_inner();
    let Some(Step::Tables(order)) = steps.first() else {
        panic!("the tables first: {steps:?}");
    };
    let mut sorted = order.clone();
    sorted.sort();
    let tables: Vec<String> = want["tables"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(sorted, tables, "every table of the pack, once");
    assert!(
        matches!(steps.get(1), Some(Step::ReadingAhead { figures }) if *figures > 0),
        "an exact extraction reads ahead before it measures: {steps:?}"
    );
    let measured: Vec<(String, u64)> = steps[2..]
        .iter()
        .map(|s| match s {
            Step::Measured { table, rows, .. } => (table.clone(), *rows),
            other => panic!("{other:?} after the tables"),
        })
        .collect();
    let rows = |t: &String| want["tables"][t]["total_rows"].as_u64().unwrap();
    let expected: Vec<(String, u64)> = order.iter().map(|t| (t.clone(), rows(t))).collect();
    assert_eq!(
        measured, expected,
        "each table measured in order, with its rows"
    );
}

/// The read-ahead refused by the server (here its own timeout, too short for any read) is
/// rolled back and every figure runs on its own in the same snapshot; `--no-read-ahead` never
/// tries it. Either way the pack is the pinned one, and the first says why on stderr.
#[test]
fn without_the_read_ahead_the_pack_is_the_same() {
    let db = super::fixture();
    let pinned = pgshape_e2e::repo_root().join("tests/fixtures/pack-fixture-0.02.json");
    let want = canonical(&std::fs::read(&pinned).expect("the pinned pack"));
    for (flags, warned) in [
        (&["--read-ahead-timeout", "1ms"][..], true),
        (&["--no-read-ahead"][..], false),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let pack = dir.path().join("pack.json");
        let args = [
            &[
                "extract",
                "--output",
                pack.to_str().unwrap(),
                "--window-days",
                "60",
                "--no-dp",
                "--now",
                NOW,
            ][..],
            flags,
        ]
        .concat();
        let out = pgshape_e2e::run(
            "pgshape-sampler",
            &args,
            &[("DATABASE_URL", &db.url), ("ANONYMIZATION_SALT", SALT)],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{flags:?}: {stderr}");
        assert_eq!(
            stderr.contains("refused the read-ahead"),
            warned,
            "{flags:?}: the fallback is told exactly when it happens: {stderr}"
        );
        let got = canonical(&std::fs::read(&pack).unwrap());
        if let Some(d) = first_difference("$", &want, &got) {
            panic!("{flags:?}: the pack differs from the pinned one at {d}");
        }
    }
}
