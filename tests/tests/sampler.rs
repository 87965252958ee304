//! The sampler against the production fixture: nothing row-level leaves, it cannot write, it
//! refuses to run without the salt, and its counts are the truth.

use std::path::Path;

use pgshape_core::conn::Target;
use pgshape_e2e::{canaries, run, TestDb};
use pgshape_sampler::session::{self, Limits};

#[path = "sampler/budget.rs"]
mod budget;
#[path = "sampler/detect.rs"]
mod detect;
#[path = "sampler/differencing.rs"]
mod differencing;
#[path = "sampler/golden.rs"]
mod golden;
#[path = "sampler/handover.rs"]
mod handover;
#[path = "sampler/labels.rs"]
mod labels;
#[path = "sampler/metadata.rs"]
mod metadata;
#[path = "sampler/metrics.rs"]
mod metrics;
#[path = "sampler/people.rs"]
mod people;
#[path = "sampler/policy.rs"]
mod policy;
#[path = "sampler/sampling.rs"]
mod sampling;
#[path = "sampler/scans.rs"]
mod scans;
#[path = "sampler/schema.rs"]
mod schema;
#[path = "sampler/timing.rs"]
mod timing;

const SALT: &str = "350e44c3f20957d44ff005271a28f8e9f18c544e54bbe9b8b8371a95a87493e9";

fn fixture() -> TestDb {
    let db = TestDb::new("sampler");
    db.load_fixture("0.02");
    db
}

/// An extraction with `--no-dp`: exact figures, for the tests of ground truth.
fn extract(db: &TestDb, dir: &Path) -> (String, String) {
    extract_with(db, dir, &["--no-dp"])
}

/// An extraction with `extra` arguments (empty: DP on).
fn extract_with(db: &TestDb, dir: &Path, extra: &[&str]) -> (String, String) {
    let pack = pgshape_e2e::extract_pack_with(db, dir, SALT, extra);
    let manifest = dir.join("shape-metrics-20261122_mapping.json");
    (
        std::fs::read_to_string(pack).unwrap(),
        std::fs::read_to_string(manifest).unwrap(),
    )
}

/// Every form a canary could leak in: exact, any 8-character fragment (bar runs of one
/// character), lower case, digits only, JSON-escaped, base64.
fn leak_forms(value: &str) -> Vec<String> {
    let mut forms = vec![
        value.to_string(),
        value.to_lowercase(),
        serde_json::to_string(value).unwrap(),
    ];
    let chars: Vec<char> = value.chars().collect();
    for w in chars.windows(8) {
        let frag: String = w.iter().collect();
        if frag.chars().any(|c| c != w[0]) {
            forms.push(frag);
        }
    }
    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
    if digits.len() >= 8 {
        forms.push(digits);
    }
    forms.push(base64(value.as_bytes()));
    forms
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn leaks(text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    let mut found = Vec::new();
    for (kind, value) in canaries() {
        for form in leak_forms(&value) {
            if text.contains(&form) || lower.contains(&form.to_lowercase()) {
                found.push(format!("{kind}: a form of a canary ({} chars)", form.len()));
            }
        }
    }
    found
}

#[test]
fn no_planted_canary_reaches_the_pack_or_the_manifest() {
    let db = fixture();
    // The canaries are really in the source database.
    let mut c = db.client();
    for (_, value) in canaries() {
        let n: i64 = c
            .query_one(
                "SELECT (SELECT count(*) FROM users WHERE email = $1 OR display_name = $1)
                      + (SELECT count(*) FROM messages WHERE strpos(content, $1) > 0)",
                &[&value],
            )
            .unwrap()
            .get(0);
        assert!(
            n > 0,
            "a canary of tests/fixtures/canaries.tsv is missing from the fixture"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    // DP on (the default): the pack that leaves production.
    let (pack, manifest) = extract_with(&db, dir.path(), &[]);
    assert!(leaks(&pack).is_empty(), "pack: {:?}", leaks(&pack));
    assert!(
        leaks(&manifest).is_empty(),
        "manifest: {:?}",
        leaks(&manifest)
    );
    assert!(
        !pack.contains(SALT) && !manifest.contains(SALT),
        "the salt itself leaked"
    );

    // validate passes both files...
    let files = [
        dir.path().join("shape-metrics-20261122.json"),
        dir.path().join("shape-metrics-20261122_mapping.json"),
    ];
    let out = run(
        "pgshape-sampler",
        &[
            "validate",
            files[0].to_str().unwrap(),
            files[1].to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // ...and both checks fail once a canary is injected into the pack.
    let mut value: serde_json::Value = serde_json::from_str(&pack).unwrap();
    let (_, email) = canaries().into_iter().find(|(k, _)| k == "email").unwrap();
    value["tables"]["public.users"]["count_method"] = serde_json::Value::String(email.clone());
    let tainted = serde_json::to_string_pretty(&value).unwrap();
    assert!(
        !leaks(&tainted).is_empty(),
        "the leak search must see an injected canary"
    );
    let bad = dir.path().join("tainted.json");
    std::fs::write(&bad, &tainted).unwrap();
    let out = run("pgshape-sampler", &["validate", bad.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("$.tables.public.users.count_method: email"),
        "{stdout}"
    );
    assert!(
        !stdout.contains(&email) && !String::from_utf8_lossy(&out.stderr).contains(&email),
        "validate printed the value"
    );
}

#[test]
fn counts_equal_ground_truth() {
    let db = fixture();
    let dir = tempfile::tempdir().unwrap();
    let (pack, _) = extract(&db, dir.path());
    let pack: pgshape_core::pack::Pack = serde_json::from_str(&pack).unwrap();
    let mut c = db.client();
    assert_eq!(pack.tables.len(), 6);
    for (name, m) in &pack.tables {
        let (schema, table) = name.split_once('.').unwrap();
        let truth: i64 = c
            .query_one(
                &format!("SELECT count(*) FROM \"{schema}\".\"{table}\""),
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(m.total_rows, truth as u64, "{name}");
        if let Some(col) = &m.window_column {
            let sql = format!(
                "SELECT count(*) FROM \"{schema}\".\"{table}\" WHERE \"{col}\" >= $1::text::timestamptz AND \"{col}\" < $2::text::timestamptz"
            );
            let w: i64 = c
                .query_one(&sql, &[&pack.window.start, &pack.window.end])
                .unwrap()
                .get(0);
            assert_eq!(m.window_rows, Some(w as u64), "{name} in window");
        }
    }
    let fks: usize = pack
        .schema
        .tables
        .iter()
        .map(|t| t.foreign_keys.len())
        .sum();
    assert_eq!(fks, 9, "the chat schema's foreign keys are in the pack");
}

#[test]
fn the_sampler_session_cannot_write() {
    let db = TestDb::new("sampler_ro");
    db.client().batch_execute("CREATE TABLE t (x int)").unwrap();
    let target = Target::resolve(Some(&db.url)).unwrap();
    let mut client = session::connect(&target, &Limits::default()).unwrap();
    // Inside the extraction snapshot...
    let mut tx = session::snapshot(&mut client).unwrap();
    let message = |e: postgres::Error| {
        e.as_db_error()
            .map(|d| d.message().to_string())
            .unwrap_or_default()
    };
    let err = message(tx.execute("INSERT INTO t VALUES (1)", &[]).unwrap_err());
    assert!(err.contains("read-only transaction"), "{err}");
    drop(tx);
    // ...and outside it: the session default is read-only too.
    let err = message(client.execute("INSERT INTO t VALUES (1)", &[]).unwrap_err());
    assert!(err.contains("read-only transaction"), "{err}");
    let n: i64 = db
        .client()
        .query_one("SELECT count(*) FROM t", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 0);
}

#[test]
fn a_missing_short_or_weak_salt_exits_non_zero_and_writes_nothing() {
    let db = TestDb::new("sampler_salt");
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("p.json");
    let weak = "a".repeat(32);
    let words = "production-salt-of-the-sampler-v1-2026";
    for salt in [
        None,
        Some("too-short-a-salt"),
        Some(weak.as_str()),
        Some(words),
    ] {
        let mut env = vec![("DATABASE_URL", db.url.as_str())];
        if let Some(s) = salt {
            env.push(("ANONYMIZATION_SALT", s));
        }
        let mut cmd = pgshape_e2e::command("pgshape-sampler");
        cmd.args(["extract", "--output", out_path.to_str().unwrap()])
            .env_remove("ANONYMIZATION_SALT");
        for (k, v) in &env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("FATAL") && stderr.contains("ANONYMIZATION_SALT"),
            "{stderr}"
        );
        if let Some(s) = salt {
            assert!(!stderr.contains(s), "the salt value was printed");
            assert!(stderr.contains("openssl rand -hex 32"), "{stderr}");
        }
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "nothing written"
        );
    }
}

#[test]
fn fanout_quantiles_and_hourly_profile_equal_ground_truth() {
    let db = fixture();
    let dir = tempfile::tempdir().unwrap();
    let (pack, _) = extract(&db, dir.path());
    let pack: pgshape_core::pack::Pack = serde_json::from_str(&pack).unwrap();
    let mut c = db.client();
    let edge = pack
        .edges
        .iter()
        .find(|e| e.child == "public.messages" && e.columns == ["conversation_id"])
        .expect("messages per conversation");
    // Independent SQL: children per parent, nearest-rank quantiles over parents with children.
    let truth = c
        .query_one(
            "WITH f AS (SELECT count(m.id) AS n FROM conversations c LEFT JOIN messages m ON m.conversation_id = c.id GROUP BY c.id)
             SELECT count(*), avg((n = 0)::int)::float8,
                    percentile_disc(0.5) WITHIN GROUP (ORDER BY n) FILTER (WHERE n > 0)::float8,
                    percentile_disc(0.9) WITHIN GROUP (ORDER BY n) FILTER (WHERE n > 0)::float8
               FROM f",
            &[],
        )
        .unwrap();
    assert_eq!(edge.parents as i64, truth.get::<_, i64>(0));
    assert!((edge.zero_fraction - truth.get::<_, f64>(1)).abs() < 1e-6);
    // Each quantile a value k = 10 people (the conversations' creators) share or bracket, or
    // their mean (issue 12), computed here from the rows.
    let per: Vec<(f64, i64)> = c
        .query(
            "SELECT count(m.id)::float8, c.created_by FROM conversations c
               JOIN messages m ON m.conversation_id = c.id GROUP BY c.id, c.created_by",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    for (name, i) in [("p50", 2), ("p90", 3)] {
        let want = pgshape_e2e::k_safe_quantile(&per, truth.get::<_, f64>(i), 10);
        let have = edge.quantiles[name].expect("exported");
        assert!(
            (have - want).abs() < 1e-6,
            "{name}: pack {have}, want {want}"
        );
    }
    // 160 conversations: fewer than k = 10 lie above p95, so it must be suppressed.
    assert_eq!(edge.quantiles["p95"], None, "small cells are suppressed");
    assert!(edge.histogram.iter().all(|b| b.count >= 10));

    let hourly = pack.tables["public.messages"].columns["created_at"]
        .hourly
        .clone()
        .unwrap();
    let rows = c
        .query("SELECT extract(hour FROM created_at AT TIME ZONE 'UTC')::int, count(*) FROM messages GROUP BY 1", &[])
        .unwrap();
    for r in rows {
        let (h, n): (i32, i64) = (r.get(0), r.get(1));
        let want = if n >= 10 { Some(n as u64) } else { None };
        assert_eq!(hourly[h as usize], want, "hour {h}");
    }
}

/// A schema unlike the chat one: composite keys, a self-reference, a foreign-key cycle, enums,
/// uuid / jsonb / numeric / array / inet columns.
const OTHER_SCHEMA: &str = "
CREATE SCHEMA shop;
SET search_path = shop;
CREATE TYPE tier AS ENUM ('free', 'pro', 'enterprise');
CREATE TABLE region (code text PRIMARY KEY, parent_code text REFERENCES region (code), capital_store bigint);
CREATE TABLE store (id bigint PRIMARY KEY, region_code text NOT NULL REFERENCES region (code), opened date NOT NULL,
                    ext_id uuid NOT NULL UNIQUE, settings jsonb, revenue numeric(14,2), tags text[], addr inet, tier tier NOT NULL);
ALTER TABLE region ADD FOREIGN KEY (capital_store) REFERENCES store (id) DEFERRABLE INITIALLY DEFERRED;
CREATE TABLE stock (store_id bigint REFERENCES store (id), sku text, qty integer NOT NULL, PRIMARY KEY (store_id, sku));
CREATE TABLE movement (id bigserial PRIMARY KEY, store_id bigint NOT NULL, sku text NOT NULL, at timestamptz NOT NULL, delta integer NOT NULL,
                       FOREIGN KEY (store_id, sku) REFERENCES stock (store_id, sku));
INSERT INTO region SELECT 'R' || g, CASE WHEN g > 3 THEN 'R' || (g % 3 + 1) END, NULL FROM generate_series(1, 30) g;
INSERT INTO store SELECT g, 'R' || (g % 30 + 1), date '2025-01-01' + g, md5(g::text)::uuid, jsonb_build_object('k', g),
                         g * 10.5, ARRAY['a', 'b'], '10.0.0.1', (ARRAY['free','pro','enterprise']::tier[])[g % 3 + 1]
                  FROM generate_series(1, 300) g;
UPDATE region SET capital_store = 1 WHERE code = 'R1';
INSERT INTO stock SELECT s, 'SKU' || k, k FROM generate_series(1, 300) s, generate_series(1, 1 + s % 7) k;
INSERT INTO movement (store_id, sku, at, delta)
  SELECT store_id, sku, timestamptz '2026-10-01' + (n * interval '37 minutes'), n % 5 - 2 FROM stock, generate_series(1, 4) n;
";

#[test]
fn works_unchanged_on_another_schema() {
    let db = TestDb::new("sampler_shop");
    db.client().batch_execute(OTHER_SCHEMA).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pack_path = dir.path().join("shop.json");
    pgshape_e2e::run_ok(
        "pgshape-sampler",
        &[
            "extract",
            "--no-dp",
            "--output",
            pack_path.to_str().unwrap(),
            "--schema",
            "shop",
            "--window-days",
            "3650",
        ],
        &[("DATABASE_URL", &db.url), ("ANONYMIZATION_SALT", SALT)],
    );
    let out = run(
        "pgshape-sampler",
        &["validate", pack_path.to_str().unwrap()],
        &[],
    );
    pgshape_e2e::assert_only_the_no_dp_finding(&out);
    let pack: pgshape_core::pack::Pack =
        serde_json::from_slice(&std::fs::read(&pack_path).unwrap()).unwrap();
    assert_eq!(pack.tables.len(), 4);
    assert_eq!(
        pack.tables["shop.movement"].total_rows,
        4 * (0..300).map(|s: u64| 1 + (s + 1) % 7).sum::<u64>()
    );
    assert_eq!(pack.schema.enums[0].labels, ["free", "pro", "enterprise"]);
    let region = pack.schema.table("region").unwrap();
    assert!(
        region
            .foreign_keys
            .iter()
            .any(|fk| fk.ref_table == "region"),
        "self-reference"
    );
    assert!(
        region
            .foreign_keys
            .iter()
            .any(|fk| fk.ref_table == "store" && fk.deferrable),
        "cycle edge"
    );
    // The composite foreign key's fan-out: movements per stock row, 4 each.
    let edge = pack
        .edges
        .iter()
        .find(|e| e.child == "shop.movement")
        .unwrap();
    assert_eq!(edge.columns, ["store_id", "sku"]);
    assert_eq!(edge.quantiles["p50"], Some(4.0));
    assert_eq!(edge.zero_fraction, 0.0);
    // The self-reference: regions per parent region.
    let tree = pack
        .edges
        .iter()
        .find(|e| e.child == "shop.region" && e.parent == "shop.region")
        .unwrap();
    assert_eq!(tree.parents, 30);
    let order = pgshape_core::catalog::load_order(&pack.schema);
    assert_eq!(order.tables.len(), 4);
    assert_eq!(
        order.deferred.len(),
        1,
        "one edge of the region/store cycle is deferred: {order:?}"
    );
}
