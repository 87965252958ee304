//! `pgshape-generator init`: a spec derived from a pack alone, end to end.
//!
//! 1. The chat production fixture → sampler → init → generate ci → load (zero orphans) →
//!    sampler on the synthetic schema → compare: every figure is printed and passes compare's
//!    default thresholds (exit 0).
//! 2. `calibrate(init(pack), pack) == init(pack)`, byte for byte.
//! 3. Another schema (composite keys, a self-referencing tree, a nullable and a NOT NULL FK
//!    cycle, an enum, uuid, date, boolean, varchar): the round trip loads with zero orphans
//!    and passes compare's default thresholds. (What init still refuses, and the other types
//!    and key shapes, are in `types.rs`.)

use std::path::{Path, PathBuf};
use std::time::Instant;

use pgshape_core::pack::Pack;
use pgshape_core::spec::{Rows, Spec};
use pgshape_e2e::{
    compare_synthetic, extract_pack, generate_and_load, orphans, run, run_ok, TestDb,
};
use serde_json::Value;

const SALT: &str = "903708f8087cca4eb03c3e1838f2e87422a6e5ead4ef10e799aa4f83ec1fccea";

fn init(pack: &Path, output: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "init",
        "--pack",
        pack.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run("pgshape-generator", &args, &[])
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Prints every figure of a `compare --json` document (failing ones marked), then asserts
/// that the comparison passed: exit code 0, `passed`, no figure over its threshold.
fn print_figures_and_assert_pass(label: &str, doc: &Value, code: Option<i32>) {
    let figures = doc["figures"].as_array().unwrap();
    eprintln!(
        "{label} compare: {} of {} figures fail (exit {code:?})",
        doc["failed"], doc["checked"]
    );
    for f in figures {
        eprintln!(
            "  {:7} {} {}: production {} synthetic {} value {} threshold {}",
            f["status"].as_str().unwrap_or("?"),
            f["subject"],
            f["metric"],
            f["production"],
            f["synthetic"],
            f["value"],
            f["threshold"]
        );
    }
    let failing: Vec<String> = figures
        .iter()
        .filter(|f| f["status"] == "fail")
        .map(|f| format!("{} {}", f["subject"], f["metric"]))
        .collect();
    assert!(
        failing.is_empty(),
        "{label}: figures over their thresholds: {failing:?}"
    );
    assert!(
        doc["checked"].as_u64().unwrap() > 0,
        "{label}: nothing checked"
    );
    assert_eq!(doc["passed"], true, "{label}");
    assert_eq!(code, Some(0), "{label}: compare's exit code");
}

/// The foreign keys that group a per-parent table of `spec` (its `parent` column's edge).
fn grouping_edges(spec: &Spec, pack: &Pack) -> Vec<String> {
    let mut out = Vec::new();
    for (tname, t) in &spec.tables {
        let Rows::PerParent(pp) = &t.rows else {
            continue;
        };
        let cols: Vec<String> = t
            .columns
            .iter()
            .filter(|(_, c)| c.parent.is_some())
            .map(|(n, _)| n.clone())
            .collect();
        let edge = pack
            .edges
            .iter()
            .find(|e| {
                e.child.ends_with(&format!(".{tname}"))
                    && e.parent.ends_with(&format!(".{}", pp.parent))
                    && e.columns == cols
            })
            .unwrap_or_else(|| panic!("the pack has the edge grouping {tname}"));
        out.push(edge.foreign_key.clone());
    }
    out
}

#[test]
fn chat_fixture_round_trip_without_a_hand_written_spec() {
    let started = Instant::now();
    let work = tempfile::tempdir().unwrap();
    let production = TestDb::new("init_prod");
    production.load_fixture("0.02");
    let pack_path = extract_pack(&production, work.path(), SALT);
    let pack: Pack = serde_json::from_slice(&std::fs::read(&pack_path).unwrap()).unwrap();

    let spec_path = work.path().join("derived.json");
    let o = init(
        &pack_path,
        &spec_path,
        &["--scale", "0.5", "--band", "big=1000000"],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    // Valid: the strict reader (the same types the JSON Schema is generated from) and its checks.
    let spec = Spec::read(&spec_path).unwrap();
    assert!(spec.calibrated_from.is_some());
    assert_eq!(spec.ddl.as_deref(), Some(Path::new("derived.schema.sql")));
    assert!(work.path().join("derived.schema.sql").exists());
    for t in &pack.schema.tables {
        assert!(
            spec.tables.contains_key(&t.name),
            "table {} in the spec",
            t.name
        );
    }
    for b in ["ci", "dev", "staging", "perf", "scaled", "big"] {
        assert!(spec.bands.contains_key(b), "band {b}");
        pgshape_generator::engine::Model::new(spec.clone(), b, "plan").unwrap();
    }
    let ci = pgshape_generator::engine::Model::new(spec.clone(), "ci", "plan").unwrap();
    let ci_rows: u64 = ci.tables.iter().map(|t| t.plan.rows).sum();
    assert!(
        (100_000..=400_000).contains(&ci_rows),
        "ci is a few 100k rows: {ci_rows}"
    );
    let big = pgshape_generator::engine::Model::new(spec.clone(), "big", "plan").unwrap();
    let largest = big.tables.iter().map(|t| t.plan.rows).max().unwrap();
    assert!(
        (largest as f64 / 1e6 - 1.0).abs() < 0.1,
        "--band big=1000000 sizes the largest table: {largest}"
    );

    // Generate and load; no orphan.
    let target = TestDb::new("init_target");
    generate_and_load(&spec_path, "ci", "init", work.path(), &target);
    let mut client = target.client();
    for (fk, n) in orphans(&mut client, "synthetic") {
        assert_eq!(n, 0, "orphan rows for foreign key {fk}");
    }

    // The synthetic schema's pack against production's.
    let (code, doc) = compare_synthetic(
        &pack_path,
        &target,
        SALT,
        work.path(),
        &["--window-days", "60"],
    );
    let figures = doc["figures"].as_array().unwrap();
    // Issue 6: the round trip passes compare's default thresholds, every figure.
    print_figures_and_assert_pass("chat", &doc, Some(code));
    let grouping = grouping_edges(&spec, &pack);
    assert!(grouping.len() >= 3, "{grouping:?}");
    // The largest edge: the one whose parents have the most children in all.
    let largest_edge = pack
        .edges
        .iter()
        .filter(|e| grouping.contains(&e.foreign_key))
        .max_by_key(|e| pack.tables[&e.child].total_rows)
        .unwrap();
    eprintln!("largest grouping edge: {}", largest_edge.foreign_key);
    for fk in &grouping {
        let edge_figures: Vec<&Value> = figures
            .iter()
            .filter(|f| f["kind"] == "edge" && f["foreign_key"] == fk.as_str())
            .collect();
        assert!(
            edge_figures.iter().any(|f| f["status"] == "pass"),
            "{fk} compared"
        );
        for f in edge_figures {
            assert_ne!(f["status"], "fail", "fan-out of grouping edge {fk}: {f}");
        }
    }
    // References drawn by popularity (not distinct in a group) follow their edge too, and
    // every table keeps production's share of rows.
    let mut popular = Vec::new();
    for (tname, t) in &spec.tables {
        for (cname, c) in &t.columns {
            if c.reference
                .as_ref()
                .is_some_and(|r| r.popularity.is_some() && !r.distinct)
            {
                let edge = pack
                    .edges
                    .iter()
                    .find(|e| {
                        e.child.ends_with(&format!(".{tname}")) && e.columns == [cname.clone()]
                    })
                    .unwrap_or_else(|| panic!("the pack has the edge of {tname}.{cname}"));
                popular.push(edge.foreign_key.clone());
            }
        }
    }
    assert!(
        !popular.is_empty(),
        "the chat schema has popularity references"
    );
    for f in figures.iter().filter(|f| {
        (f["kind"] == "edge" && popular.iter().any(|p| f["foreign_key"] == p.as_str()))
            || f["metric"] == "rows_share"
    }) {
        assert_ne!(f["status"], "fail", "{f}");
    }
    eprintln!("round trip took {:?}", started.elapsed());
}

#[test]
fn calibrate_of_init_is_init() {
    let work = tempfile::tempdir().unwrap();
    let production = TestDb::new("init_idem");
    production.load_fixture("0.02");
    let pack = extract_pack(&production, work.path(), SALT);
    let spec = work.path().join("spec.json");
    let o = init(&pack, &spec, &[]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let again = work.path().join("again.json");
    run_ok(
        "pgshape-generator",
        &[
            "calibrate",
            "--spec",
            spec.to_str().unwrap(),
            "--pack",
            pack.to_str().unwrap(),
            "--output",
            again.to_str().unwrap(),
        ],
        &[],
    );
    let (a, b) = (
        std::fs::read(&spec).unwrap(),
        std::fs::read(&again).unwrap(),
    );
    assert!(
        a == b,
        "calibrate(init(pack), pack) differs from init(pack)"
    );
    // The library path too.
    let parsed: Pack = serde_json::from_slice(&std::fs::read(&pack).unwrap()).unwrap();
    let s = Spec::read(&spec).unwrap();
    let sha = s.calibrated_from.as_ref().unwrap().pack_sha256.clone();
    let (c, _) = pgshape_generator::authoring::calibrate::calibrate(&s, &parsed, &sha).unwrap();
    let mut bytes = serde_json::to_vec_pretty(&c).unwrap();
    bytes.push(b'\n');
    assert!(bytes == a, "the library's calibrate of init differs");

    // With --after-parent too (calibrate keeps `after` and its offsets).
    let after = work.path().join("after.json");
    assert!(init(&pack, &after, &["--after-parent"]).status.success());
    let derived = Spec::read(&after).unwrap();
    assert!(derived.tables.values().any(|t| t.columns.values().any(|c| c
        .timestamp
        .as_ref()
        .is_some_and(|ts| ts
            .after
            .as_deref()
            .is_some_and(|a| a.starts_with("parent."))))));
    let after2 = work.path().join("after2.json");
    run_ok(
        "pgshape-generator",
        &[
            "calibrate",
            "--spec",
            after.to_str().unwrap(),
            "--pack",
            pack.to_str().unwrap(),
            "--output",
            after2.to_str().unwrap(),
        ],
        &[],
    );
    assert!(std::fs::read(&after).unwrap() == std::fs::read(&after2).unwrap());

    // An expired pack is refused; nothing is written.
    let mut expired: Value = serde_json::from_slice(&std::fs::read(&pack).unwrap()).unwrap();
    expired["expires_at"] = "2020-01-01T00:00:00Z".into();
    let old = work.path().join("old.json");
    std::fs::write(&old, serde_json::to_vec(&expired).unwrap()).unwrap();
    let out = work.path().join("x.json");
    let o = init(&old, &out, &[]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o.stderr));
    assert!(!out.exists());
    assert!(init(&old, &out, &["--allow-expired"]).status.success());
}

/// Composite primary keys, a nullable self-reference (a tree: 3 roots, every other region
/// under one of them), a nullable foreign-key cycle and a NOT NULL one, an enum, uuid, date,
/// boolean, double, varchar: what the generator supports.
const SUPPORTED: &str = "
CREATE SCHEMA shop;
SET search_path = shop;
CREATE TYPE tier AS ENUM ('free', 'pro', 'enterprise');
CREATE TABLE region (id bigint PRIMARY KEY, parent_id bigint REFERENCES region (id), capital_store bigint, label text NOT NULL);
CREATE TABLE store (id bigint PRIMARY KEY, region_id bigint NOT NULL REFERENCES region (id), opened date NOT NULL,
                    ext_id uuid NOT NULL UNIQUE, tier tier NOT NULL, active boolean NOT NULL, rating double precision);
ALTER TABLE region ADD FOREIGN KEY (capital_store) REFERENCES store (id) DEFERRABLE INITIALLY DEFERRED;
CREATE TABLE product (id integer PRIMARY KEY, label varchar(40) NOT NULL, sku varchar(12) NOT NULL UNIQUE,
                      status char(2) NOT NULL);
CREATE TABLE stock (store_id bigint NOT NULL REFERENCES store (id), product_id integer NOT NULL REFERENCES product (id),
                    qty integer NOT NULL, PRIMARY KEY (store_id, product_id));
CREATE TABLE movement (id bigint PRIMARY KEY, store_id bigint NOT NULL REFERENCES store (id), at timestamptz NOT NULL, delta integer NOT NULL);
INSERT INTO region SELECT g, CASE WHEN g > 3 THEN g % 3 + 1 END, NULL, 'region ' || g FROM generate_series(1, 30) g;
INSERT INTO store SELECT g, g % 30 + 1, date '2025-01-01' + g, md5(g::text)::uuid, (ARRAY['free','pro','enterprise']::tier[])[g % 3 + 1],
                         g % 4 <> 0, CASE WHEN g % 5 <> 0 THEN (g % 50) / 10.0 END
                  FROM generate_series(1, 300) g;
UPDATE region SET capital_store = 1 WHERE id = 1;
INSERT INTO product SELECT g, 'product ' || g, 'SKU-' || g, (ARRAY['A', 'B', 'C'])[g % 3 + 1] FROM generate_series(1, 50) g;
INSERT INTO stock SELECT s, k, k FROM generate_series(1, 300) s, generate_series(1, 1 + s % 7) k;
INSERT INTO movement SELECT row_number() OVER (), s, timestamptz '2026-12-02 12:00:00+00' - (s * k * interval '3 minutes'), k % 5 - 2
                     FROM generate_series(1, 300) s, generate_series(1, 1 + s % 11) k;
CREATE TABLE account (id bigint PRIMARY KEY, owner_id bigint NOT NULL, label text NOT NULL);
CREATE TABLE member (id bigint PRIMARY KEY, account_id bigint NOT NULL REFERENCES account (id), name text);
ALTER TABLE account ADD FOREIGN KEY (owner_id) REFERENCES member (id) DEFERRABLE INITIALLY DEFERRED;
BEGIN;
INSERT INTO account SELECT g, g * 3, 'account ' || g FROM generate_series(1, 40) g;
INSERT INTO member SELECT g, (g - 1) / 3 + 1, 'm' || g FROM generate_series(1, 120) g;
COMMIT;
";

fn shop_pack(sql: &str, dir: &Path, name: &str) -> PathBuf {
    let db = TestDb::new(name);
    db.client().batch_execute(sql).unwrap();
    let pack = dir.join(format!("{name}.json"));
    run_ok(
        "pgshape-sampler",
        &[
            "extract",
            "--no-dp",
            "--output",
            pack.to_str().unwrap(),
            "--schema",
            "shop",
            "--window-days",
            "60",
        ],
        &[("DATABASE_URL", &db.url), ("ANONYMIZATION_SALT", SALT)],
    );
    pack
}

#[test]
fn another_schema_round_trip_passes_compare() {
    let work = tempfile::tempdir().unwrap();
    let pack = shop_pack(SUPPORTED, work.path(), "init_shop");
    let spec_path = work.path().join("shop.json");
    let o = init(&pack, &spec_path, &[]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let spec = Spec::read(&spec_path).unwrap();
    let region = &spec.tables["region"].columns;
    assert!(region["parent_id"].earlier.is_some(), "self-reference");
    assert!(
        region["parent_id"].earlier.as_ref().unwrap().tree.is_some(),
        "the self-reference is a tree shaped by its edge"
    );
    // Foreign-key cycles: references into a table generated later (the loader adds foreign
    // keys after the rows), nullable or NOT NULL.
    let capital = region["capital_store"].reference.as_ref().unwrap();
    assert_eq!(capital.table, "store");
    assert!(region["capital_store"].null_fraction > 0.9);
    let owner = &spec.tables["account"].columns["owner_id"];
    assert_eq!(owner.reference.as_ref().unwrap().table, "member");
    assert_eq!(owner.null_fraction, 0.0);
    let stock = &spec.tables["stock"];
    assert!(matches!(&stock.rows, Rows::PerParent(pp) if pp.parent == "store"));
    assert!(
        stock.columns["product_id"]
            .reference
            .as_ref()
            .unwrap()
            .distinct
    );
    assert!(spec.tables["store"].columns["tier"].category.is_some());
    let product = &spec.tables["product"].columns;
    assert!(
        product["sku"].text.as_ref().unwrap().unique,
        "unique varchar"
    );
    let status = product["status"].category.as_ref().unwrap();
    assert!(status.weights.keys().all(|l| l.len() <= 2), "{status:?}");
    let target = TestDb::new("init_shop_target");
    generate_and_load(&spec_path, "ci", "init", work.path(), &target);
    let mut client = target.client();
    for (fk, n) in orphans(&mut client, "synthetic") {
        assert_eq!(n, 0, "orphan rows for foreign key {fk}");
    }
    let rows: i64 = client
        .query_one("SELECT count(*) FROM synthetic.stock", &[])
        .unwrap()
        .get(0);
    assert!(rows > 1000, "{rows}");
    // The synthetic schema's pack against production's.
    let (code, doc) =
        compare_synthetic(&pack, &target, SALT, work.path(), &["--window-days", "60"]);
    // Issue 6: the round trip passes compare's default thresholds, every figure; among them
    // the self-reference's zero-child fraction and null fraction (a tree), the distinct
    // reference's zero-child fraction and the cycle columns' null fractions.
    print_figures_and_assert_pass("shop", &doc, Some(code));
    let figure = |subject: &str, metric: &str| {
        doc["figures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["subject"].as_str().unwrap().starts_with(subject) && f["metric"] == metric)
            .unwrap_or_else(|| panic!("{subject} {metric} compared"))
            .clone()
    };
    for (subject, metric) in [
        ("region_parent_id_fkey", "zero_fraction"),
        ("shop.region.parent_id", "null_fraction"),
        ("stock_product_id_fkey", "zero_fraction"),
        ("shop.region.capital_store", "null_fraction"),
        ("region_capital_store_fkey", "zero_fraction"),
        ("account_owner_id_fkey", "zero_fraction"),
    ] {
        assert_eq!(
            figure(subject, metric)["status"],
            "pass",
            "{subject} {metric}"
        );
    }
    let roots: i64 = client
        .query_one(
            "SELECT count(*) FROM synthetic.region WHERE parent_id IS NULL",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(roots > 0, "a forest has roots");
}
