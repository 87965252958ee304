//! Text and uuid keys through `init`: a schema whose primary keys are text (with a
//! self-reference and a `varchar(n)` bound) and uuid, referenced by foreign keys, goes through
//! sampler → init → generate → load with zero orphans, the keys written as text of production's
//! lengths and as version-4 UUIDs; a bound too short for the band's keys is a clear error naming
//! the table and column.

use std::path::Path;

use pgshape_core::spec::{KeyFormat, Spec};
use pgshape_e2e::{generate_and_load, orphans, run, run_ok, TestDb};

const SALT: &str = "4675db3a9c53ff9c9426523887f97de3ec94f75565dd9cee1b10e3ae01b24f7d";

const SCHEMA: &str = "
CREATE SCHEMA shop;
SET search_path = shop;
CREATE TABLE region (code varchar(6) PRIMARY KEY, parent_code varchar(6) REFERENCES region (code), name text NOT NULL);
CREATE TABLE customer (id uuid PRIMARY KEY, region_code varchar(6) NOT NULL REFERENCES region (code), since date NOT NULL);
CREATE TABLE purchase (id bigserial PRIMARY KEY, customer_id uuid NOT NULL REFERENCES customer (id),
                       region_code varchar(6) REFERENCES region (code), at timestamptz NOT NULL, amount double precision NOT NULL);
INSERT INTO region SELECT 'R' || lpad(g::text, 4, '0'), CASE WHEN g > 20 THEN 'R' || lpad((g % 20 + 1)::text, 4, '0') END, 'Region ' || g
  FROM generate_series(1, 200) g;
INSERT INTO customer SELECT md5('c' || g)::uuid, 'R' || lpad((g % 200 + 1)::text, 4, '0'), date '2025-01-01' + g % 300
  FROM generate_series(1, 3000) g;
INSERT INTO purchase (customer_id, region_code, at, amount)
  SELECT md5('c' || (1 + (g * 7919) % 3000))::uuid, CASE WHEN g % 5 = 0 THEN NULL ELSE 'R' || lpad((g % 37 + 1)::text, 4, '0') END,
         timestamptz '2026-12-02 12:00:00+00' - make_interval(secs => g * 97), (g % 1000) / 10.0
  FROM generate_series(1, 20000) g;
";

fn extract(db: &TestDb, out: &Path) {
    run_ok(
        "pgshape-sampler",
        &[
            "extract",
            "--no-dp",
            "--output",
            out.to_str().unwrap(),
            "--schema",
            "shop",
        ],
        &[("DATABASE_URL", &db.url), ("ANONYMIZATION_SALT", SALT)],
    );
}

#[test]
fn text_and_uuid_keys_round_trip_through_init() {
    let work = tempfile::tempdir().unwrap();
    let production = TestDb::new("textkeys_prod");
    production.client().batch_execute(SCHEMA).unwrap();
    let pack = work.path().join("pack.json");
    extract(&production, &pack);

    let spec_path = work.path().join("shop.json");
    run_ok(
        "pgshape-generator",
        &[
            "init",
            "--pack",
            pack.to_str().unwrap(),
            "--output",
            spec_path.to_str().unwrap(),
            "--band",
            "round=40000",
        ],
        &[],
    );
    let spec = Spec::read(&spec_path).unwrap();
    let format = |t: &str, c: &str| {
        spec.tables[t].columns[c]
            .sequence
            .as_ref()
            .map(|s| s.format.clone())
    };
    match format("region", "code") {
        Some(KeyFormat::Text(t)) => {
            // Every production code is 5 characters long; the pack says so.
            let q = pgshape_core::dist::Compiled::new(&t.length);
            assert_eq!(q.quantile(0.5).round(), 5.0, "{t:?}");
        }
        other => panic!("region.code is a text sequence: {other:?}"),
    }
    assert_eq!(format("customer", "id"), Some(KeyFormat::Uuid));
    assert!(spec.tables["region"].columns["parent_code"]
        .earlier
        .is_some());

    let target = TestDb::new("textkeys_target");
    generate_and_load(&spec_path, "round", "keys", work.path(), &target);
    let mut client = target.client();
    let fks = orphans(&mut client, "synthetic");
    assert_eq!(fks.len(), 4, "{fks:?}");
    for (fk, n) in &fks {
        assert_eq!(*n, 0, "orphan rows for foreign key {fk}");
    }
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM synthetic.region),
                    (SELECT count(*) FROM synthetic.region WHERE code ~ '^[0-9A-Z]{5}$'
                                                               OR (code ~ '^[0-9A-Z]{4,6}$' AND length(code) <> 5)),
                    (SELECT count(*) FROM synthetic.region WHERE code ~ '^[0-9A-Z]{5}$'),
                    (SELECT count(*) FROM synthetic.region WHERE parent_code IS NOT NULL),
                    (SELECT count(*) FROM synthetic.customer),
                    (SELECT count(*) FROM synthetic.customer WHERE id::text ~ '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'),
                    (SELECT count(*) FROM synthetic.purchase)",
            &[],
        )
        .unwrap();
    let n = |i: usize| row.get::<_, i64>(i);
    assert!(n(0) > 0 && n(4) > 0 && n(6) > 0, "rows in every table");
    // With 200 production codes the pack suppresses p1 and p99 (fewer than k codes beyond
    // them) and never exports the extremes: below p10 and above p95 the lengths run from the
    // histogram's bin start (4) to the varchar bound (6).
    assert_eq!(n(1), n(0), "region codes are 4-6 base-36 characters");
    assert!(
        n(2) as f64 >= 0.85 * n(0) as f64,
        "region codes are five characters: {} of {}",
        n(2),
        n(0)
    );
    assert!(n(3) > 0, "the self-reference is filled");
    assert_eq!(n(5), n(4), "customer ids are version-4 UUIDs");
}

#[test]
fn a_text_key_bound_too_short_for_the_band_is_an_error() {
    let work = tempfile::tempdir().unwrap();
    let production = TestDb::new("textkeys_bound");
    production
        .client()
        .batch_execute(
            "CREATE SCHEMA shop;
             CREATE TABLE shop.tag (code varchar(2) PRIMARY KEY);
             CREATE TABLE shop.item (id bigint PRIMARY KEY, tag_code varchar(2) NOT NULL REFERENCES shop.tag (code));
             INSERT INTO shop.tag SELECT lpad(g::text, 2, '0') FROM generate_series(1, 90) g;
             INSERT INTO shop.item SELECT g, lpad((g % 90 + 1)::text, 2, '0') FROM generate_series(1, 9000) g;",
        )
        .unwrap();
    let pack = work.path().join("pack.json");
    extract(&production, &pack);
    let out = work.path().join("spec.json");
    // A million tags do not fit two base-36 characters (1,296 values).
    let o = run(
        "pgshape-generator",
        &[
            "init",
            "--pack",
            pack.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
            "--band",
            "huge=100000000",
        ],
        &[],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("table tag, column code") && err.contains("character varying(2)"),
        "{err}"
    );
    assert!(!out.exists());
}
