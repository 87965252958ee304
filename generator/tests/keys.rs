//! Text and uuid keys: a `sequence` with `format: text` or `format: uuid`, and the columns that
//! carry its key numbers (`parent`, `reference`, `earlier`, `pick`), written the same way, so
//! every foreign key value is a key of its parent; keys are unique, text keys follow their
//! length distribution, uuids are version 4; the bytes do not depend on threads.

use std::collections::{BTreeMap, HashSet};

use pgshape_core::spec::Spec;
use pgshape_generator::engine::{Engine, Format, RunOptions, Shard};

const SPEC: &str = r#"{
  "spec_version": 1,
  "name": "keys",
  "window": {"end": "2026-11-01T00:00:00Z", "days": 10},
  "bands": {"ci": {"rows": {"region": 3000}, "chunk_rows": 700}},
  "tables": {
    "region": {"rows": "band", "columns": {
      "code": {"type": "text", "sequence": {"format": {"text": {"length": {"quantiles": [[0, 1.6], [1, 3.4]]}}}}},
      "parent_code": {"type": "text", "null_fraction": 0.1, "earlier": {"column": "code"}}
    }},
    "account": {"rows": {"per_parent": {"parent": "region", "fanout": {"constant": 2}}}, "columns": {
      "id": {"type": "uuid", "sequence": {"format": "uuid"}},
      "region_code": {"type": "text", "parent": {"column": "code"}},
      "home_code": {"type": "text", "reference": {"table": "region", "column": "code", "zipf": 1.0}}
    }},
    "event": {"rows": {"per_parent": {"parent": "account", "fanout": {"constant": 3}}}, "columns": {
      "account_id": {"type": "uuid", "parent": {"column": "id"}},
      "peer_id": {"type": "uuid", "pick": {"table": "account", "column": "id", "via": "parent.region_code"}}
    }}
  }
}"#;

/// Every table's rows as CSV fields, in chunk order.
fn tables(engine: &Engine) -> BTreeMap<String, Vec<Vec<String>>> {
    let mut out: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
    for job in engine.jobs(Shard::ALL) {
        let mut bytes = Vec::new();
        engine
            .write_chunk(job, Format::Csv, &mut |b| {
                bytes.extend_from_slice(b);
                Ok(())
            })
            .unwrap();
        let rows = out
            .entry(engine.model().tables[job.table].name.clone())
            .or_default();
        for line in String::from_utf8(bytes).unwrap().lines() {
            rows.push(line.split(',').map(str::to_string).collect());
        }
    }
    out
}

fn is_uuid_v4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
        && parts[2].starts_with('4')
        && matches!(parts[3].chars().next(), Some('8' | '9' | 'a' | 'b'))
}

#[test]
fn text_and_uuid_keys_hold_every_foreign_key() {
    let spec: Spec = serde_json::from_str(SPEC).unwrap();
    spec.check(std::path::Path::new("keys.json")).unwrap();
    let engine = Engine::new(spec, "ci", "keys").unwrap();
    let t = tables(&engine);

    let codes: Vec<&str> = t["region"].iter().map(|r| r[0].as_str()).collect();
    let set: HashSet<&str> = codes.iter().copied().collect();
    assert_eq!(codes.len(), 3000);
    assert_eq!(set.len(), codes.len(), "text keys are unique");
    assert!(codes.iter().all(|c| c
        .bytes()
        .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())));
    // Lengths drawn 2 or 3 (the quantile function's median is 2.33); only the 1,295 numbers
    // under 36^2 can be two characters long, the others have three digits.
    let two = codes.iter().filter(|c| c.len() == 2).count();
    assert!((550..1000).contains(&two), "{two} two-character keys");
    assert!(codes.iter().all(|c| (2..=3).contains(&c.len())));
    // A self-reference points at an earlier row's key.
    let mut earlier = HashSet::new();
    let mut refs = 0;
    for r in &t["region"] {
        if !r[1].is_empty() {
            assert!(earlier.contains(r[1].as_str()), "{} before {}", r[1], r[0]);
            refs += 1;
        }
        earlier.insert(r[0].as_str());
    }
    assert!(refs > 2000, "{refs} self-references");

    let ids: Vec<&str> = t["account"].iter().map(|r| r[0].as_str()).collect();
    let id_set: HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(ids.len(), 6000);
    assert_eq!(id_set.len(), ids.len(), "uuid keys are unique");
    assert!(ids.iter().all(|u| is_uuid_v4(u)), "{:?}", &ids[..3]);
    for r in &t["account"] {
        assert!(set.contains(r[1].as_str()), "parent key {}", r[1]);
        assert!(set.contains(r[2].as_str()), "reference {}", r[2]);
    }
    // A pick among the accounts of the same region: a key of that region's accounts.
    let region_of: BTreeMap<&str, &str> = t["account"]
        .iter()
        .map(|r| (r[0].as_str(), r[1].as_str()))
        .collect();
    assert_eq!(t["event"].len(), 18_000);
    for r in &t["event"] {
        let region = region_of[r[0].as_str()];
        assert_eq!(
            region_of[r[1].as_str()],
            region,
            "the peer is in the same region"
        );
    }
}

#[test]
fn text_and_uuid_keys_do_not_depend_on_threads_or_format() {
    let spec: Spec = serde_json::from_str(SPEC).unwrap();
    let engine = Engine::new(spec, "ci", "keys").unwrap();
    let hashes = |threads: usize, format: Format| {
        let opts = RunOptions {
            threads,
            shard: Shard { index: 1, count: 1 },
            format,
            output: None,
            on_chunk: &|_, _| {},
            tables: None,
            journal: None,
            done: None,
        };
        let report = engine.run("test", &opts, 0).unwrap();
        report
            .tables
            .iter()
            .map(|(t, r)| (t.clone(), r.content_hash.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(hashes(1, Format::Binary), hashes(3, Format::Binary));
    assert_eq!(hashes(1, Format::Binary), hashes(2, Format::Csv));
}
