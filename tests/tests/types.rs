//! Column types and key shapes on a schema of their own (issue 6), end to end.
//!
//! 1. The binary encoders against the server: values COPYed in binary and read back as text.
//! 2. A schema with numeric (and a numeric domain), interval, bytea, inet, jsonb, arrays,
//!    char/varchar(n), identity and serial columns, unique non-key text and numbers, check
//!    constraints (a range, a positive amount, labels), a composite primary key, composite
//!    foreign keys (one that groups, one that picks) and a partitioned table: pack → init →
//!    generate → load with zero orphans; every value read back is checked against its type
//!    and against production's check constraints; the comparison is printed.
//! 3. What init still refuses: an error naming the table and column, nothing written.

use std::path::{Path, PathBuf};

use pgshape_core::copy;
use pgshape_core::pack::Pack;
use pgshape_core::spec::{Rows, Spec};
use pgshape_e2e::{compare_synthetic, generate_and_load, orphans, run, run_ok, TestDb};

const SALT: &str = "38b51e570fd1ffc34c764067023a38ed0d8ba677564f41c7134080b23fee1871";

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// COPYs one binary row per field into `table (v)` and returns the values as text, in order.
fn round_trip(client: &mut postgres::Client, ty: &str, fields: &[Vec<u8>]) -> Vec<String> {
    client
        .batch_execute(&format!(
            "DROP TABLE IF EXISTS rt; CREATE TABLE rt (i integer, v {ty})"
        ))
        .unwrap();
    let mut data = Vec::new();
    copy::header(&mut data);
    for (i, f) in fields.iter().enumerate() {
        copy::row(&mut data, 2);
        copy::int4(&mut data, i as i32);
        data.extend_from_slice(f);
    }
    copy::trailer(&mut data);
    let mut w = client
        .copy_in("COPY rt (i, v) FROM STDIN (FORMAT binary)")
        .unwrap();
    std::io::Write::write_all(&mut w, &data).unwrap();
    w.finish().unwrap();
    client
        .query("SELECT v::text FROM rt ORDER BY i", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

fn field(f: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
    let mut b = Vec::new();
    f(&mut b);
    b
}

#[test]
fn binary_encoders_read_back_from_the_server() {
    let db = TestDb::new("types_encoders");
    let mut c = db.client();
    let decimals = [
        "0",
        "7",
        "-0.5",
        "123.45",
        "-1234567.8",
        "0.00001234",
        "10000",
        "99999999.99",
        "0.10",
        "-100000000.0001",
        "12345678901234567890.123456789",
    ];
    let fields: Vec<Vec<u8>> = decimals
        .iter()
        .map(|d| field(|b| copy::numeric(b, d).unwrap()))
        .collect();
    assert_eq!(round_trip(&mut c, "numeric", &fields), decimals);
    // A column's scale rounds what is sent.
    let got = round_trip(
        &mut c,
        "numeric(8,2)",
        &[field(|b| copy::numeric(b, "1.005").unwrap())],
    );
    assert_eq!(got, ["1.01"]);
    let got = round_trip(
        &mut c,
        "interval",
        &[
            field(|b| copy::interval(b, 90_000_000)),
            field(|b| copy::interval(b, 86_400_000_000 + 1)),
        ],
    );
    assert_eq!(got, ["00:01:30", "24:00:00.000001"]);
    let mut v6 = [0u8; 16];
    v6[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    v6[15] = 9;
    let got = round_trip(
        &mut c,
        "inet",
        &[
            field(|b| copy::inet(b, &[192, 0, 2, 7])),
            field(|b| copy::inet(b, &v6)),
        ],
    );
    assert_eq!(got, ["192.0.2.7/32", "2001:db8::9/128"]);
    let got = round_trip(&mut c, "bytea", &[field(|b| copy::bytes(b, &[0, 1, 0xfe]))]);
    assert_eq!(got, ["\\x0001fe"]);
    let json = r#"{"k1": "ab", "k2": true}"#;
    let got = round_trip(&mut c, "jsonb", &[field(|b| copy::jsonb(b, json))]);
    assert_eq!(got, [json]);
    let array = |oid: u32, elems: &[Vec<u8>]| {
        let mut payload = Vec::new();
        copy::array_header(&mut payload, oid, elems.len());
        for e in elems {
            payload.extend_from_slice(e);
        }
        field(|b| copy::bytes(b, &payload))
    };
    let got = round_trip(
        &mut c,
        "integer[]",
        &[
            array(
                23,
                &[field(|b| copy::int4(b, 5)), field(|b| copy::int4(b, -1))],
            ),
            array(23, &[]),
        ],
    );
    assert_eq!(got, ["{5,-1}", "{}"]);
    let got = round_trip(
        &mut c,
        "varchar(5)[]",
        &[array(1043, &[field(|b| copy::bytes(b, b"a b"))])],
    );
    assert_eq!(got, ["{\"a b\"}"]);
    let got = round_trip(
        &mut c,
        "numeric(6,2)[]",
        &[array(1700, &[field(|b| copy::numeric(b, "1.5").unwrap())])],
    );
    assert_eq!(got, ["{1.50}"]);
}

/// Production: every type and key shape of the issue, integer keys.
const SCHEMA: &str = "
CREATE SCHEMA shop;
SET search_path = shop;
CREATE DOMAIN amount AS numeric(12,2);
CREATE DOMAIN tag_list AS text[];
CREATE TYPE tier AS ENUM ('free', 'pro', 'enterprise');
CREATE TABLE store (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code varchar(8) NOT NULL UNIQUE,
    serial_no bigint NOT NULL UNIQUE,
    ext_id uuid NOT NULL UNIQUE,
    tier tier NOT NULL,
    rating smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
    status text NOT NULL CHECK (status IN ('open', 'closed', 'paused')),
    floor_area numeric(8,1) CHECK (floor_area > 0),
    budget amount,
    addr inet,
    settings jsonb,
    logo bytea,
    open_for interval,
    tags text[],
    scores integer[],
    labels varchar(6)[],
    extra tag_list,
    opened date NOT NULL,
    region_code char(3) NOT NULL
);
CREATE TABLE stock (
    store_id integer NOT NULL REFERENCES store (id),
    sku integer NOT NULL,
    qty integer NOT NULL CHECK (qty >= 0),
    price numeric(10,2) NOT NULL CHECK (price > 0),
    PRIMARY KEY (store_id, sku)
);
CREATE TABLE movement (
    id bigserial PRIMARY KEY,
    store_id integer NOT NULL REFERENCES store (id),
    sku integer NOT NULL,
    at timestamptz NOT NULL,
    delta integer NOT NULL,
    ratio double precision,
    weight real,
    FOREIGN KEY (store_id, sku) REFERENCES stock (store_id, sku)
);
CREATE TABLE audit (
    id bigint PRIMARY KEY,
    store_id integer NOT NULL REFERENCES store (id),
    sku integer,
    noted timestamp NOT NULL,
    FOREIGN KEY (store_id, sku) REFERENCES stock (store_id, sku)
);
CREATE TABLE event (
    id bigint NOT NULL,
    store_id integer NOT NULL REFERENCES store (id),
    at timestamptz NOT NULL,
    kind text NOT NULL,
    PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
CREATE TABLE event_old PARTITION OF event FOR VALUES FROM (MINVALUE) TO ('2026-10-01');
CREATE TABLE event_new PARTITION OF event FOR VALUES FROM ('2026-10-01') TO (MAXVALUE);
INSERT INTO store (code, serial_no, ext_id, tier, rating, status, floor_area, budget, addr, settings, logo,
                   open_for, tags, scores, labels, extra, opened, region_code)
SELECT 'S' || g, 1000000 + g * 7, md5(g::text)::uuid, (ARRAY['free','pro','enterprise']::tier[])[g % 3 + 1],
       1 + g % 5, (ARRAY['open','closed','paused'])[1 + g % 3], CASE WHEN g % 9 <> 0 THEN 20 + (g % 400) * 1.3 END,
       CASE WHEN g % 4 <> 0 THEN (g * 37 % 100000) / 100.0 END,
       ('10.1.' || (g % 250) || '.' || (g % 200))::inet,
       CASE WHEN g % 3 <> 0 THEN jsonb_build_object('theme', 'dark', 'n', g, 'big', g % 2 = 0) END,
       decode(repeat(md5(g::text), 1 + g % 4), 'hex'),
       (g % 48) * interval '30 minutes',
       (ARRAY['red', 'green', 'blue', 'big', 'small'])[1:(g % 4)],
       ARRAY[g % 7, g % 11],
       (ARRAY['ab', 'cd', 'efg'])[1:(g % 3)]::varchar(6)[], ARRAY['x', 'y'],
       date '2024-01-01' + g % 700, 'R' || lpad((g % 50)::text, 2, '0')
  FROM generate_series(1, 2000) g;
INSERT INTO stock SELECT s, k, k % 10, 1 + (s * k % 500) / 4.0 FROM generate_series(1, 2000) s, generate_series(1, 1 + s % 7) k;
INSERT INTO movement (store_id, sku, at, delta, ratio, weight)
SELECT st.store_id, st.sku, timestamptz '2026-12-02 12:00:00+00' - ((st.store_id * 13 + st.sku * m) % 50000) * interval '1 minute', m % 9 - 4,
       CASE WHEN m % 6 <> 0 THEN m / 7.0 END, (m % 20) / 4.0
  FROM stock st, generate_series(1, 1 + (st.store_id + st.sku) % 6) m;
INSERT INTO audit SELECT g, 1 + g % 2000, CASE WHEN g % 5 <> 0 THEN 1 END, timestamptz '2026-12-02 12:00:00+00' - g * interval '7 minutes'
  FROM generate_series(1, 3000) g;
INSERT INTO event SELECT g, 1 + g % 2000, timestamptz '2026-12-02 12:00:00+00' - (g % 80000) * interval '1 minute', (ARRAY['open', 'sale', 'close'])[1 + g % 3]
  FROM generate_series(1, 6000) g;
";

/// Production's check constraints, added to the loaded synthetic tables: each must hold.
const CHECKS: &[(&str, &str)] = &[
    ("store", "rating BETWEEN 1 AND 5"),
    ("store", "status IN ('open', 'closed', 'paused')"),
    ("store", "floor_area > 0"),
    ("stock", "qty >= 0"),
    ("stock", "price > 0"),
];

fn extract(db: &TestDb, schema: &str, out: &Path, policy: Option<&Path>) {
    let mut args = vec![
        "extract",
        "--no-dp",
        "--output",
        out.to_str().unwrap(),
        "--schema",
        schema,
        "--window-days",
        "60",
    ];
    if let Some(p) = policy {
        args.extend(["--policy", p.to_str().unwrap()]);
    }
    run_ok(
        "pgshape-sampler",
        &args,
        &[("DATABASE_URL", &db.url), ("ANONYMIZATION_SALT", SALT)],
    );
}

fn init(pack: &Path, output: &Path) -> std::process::Output {
    run(
        "pgshape-generator",
        &[
            "init",
            "--pack",
            pack.to_str().unwrap(),
            "--output",
            output.to_str().unwrap(),
        ],
        &[],
    )
}

fn count(client: &mut postgres::Client, sql: &str) -> i64 {
    client
        .query_one(sql, &[])
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

#[test]
fn every_type_and_key_shape_round_trips() {
    let work = tempfile::tempdir().unwrap();
    let prod = TestDb::new("types_prod");
    prod.client().batch_execute(SCHEMA).unwrap();
    // The status labels are allow-listed (the check constraint names them anyway).
    let policy = work.path().join("policy.json");
    std::fs::write(
        &policy,
        r#"{"policy_version": 1, "tables": {"shop.store": {"columns": {
            "status": {"role": "category", "labels": ["open", "closed", "paused"]}}}}}"#,
    )
    .unwrap();
    let pack = work.path().join("types-pack.json");
    extract(&prod, "shop", &pack, Some(&policy));
    let parsed: Pack = serde_json::from_slice(&std::fs::read(&pack).unwrap()).unwrap();
    let event = parsed.schema.table("event").unwrap();
    assert!(event.partitioned, "the partitioned parent is listed");
    assert!(
        parsed.schema.table("event_old").is_none(),
        "partitions are not"
    );
    assert_eq!(parsed.tables["shop.event"].total_rows, 6000);

    let spec_path = work.path().join("types.json");
    let o = init(&pack, &spec_path);
    assert!(o.status.success(), "{}", text(&o.stderr));
    eprintln!("{}", text(&o.stderr));
    let spec = Spec::read(&spec_path).unwrap();
    let store = &spec.tables["store"].columns;
    assert!(store["id"].sequence.is_some());
    assert_eq!(store["budget"].number.as_ref().unwrap().decimals, Some(2));
    assert!(store["serial_no"].sequence.is_some(), "unique number");
    assert!(store["code"].text.as_ref().unwrap().unique, "unique text");
    assert!(store["addr"].inet.is_some());
    assert!(store["settings"].json.is_some());
    assert!(store["logo"].bytes.is_some());
    assert!(store["tags"].array.is_some() && store["tags"].text.is_some());
    assert!(store["scores"].array.is_some() && store["scores"].number.is_some());
    let rating = store["rating"].number.as_ref().unwrap();
    assert_eq!(
        (rating.dist.quantile(0.0), rating.dist.quantile(1.0)),
        (1.0, 5.0),
        "the range the pack reveals"
    );
    let movement = &spec.tables["movement"];
    assert!(
        matches!(&movement.rows, Rows::PerParent(pp) if pp.parent == "stock"),
        "grouped by its composite foreign key"
    );
    assert!(
        movement.columns["store_id"].parent.is_some() && movement.columns["sku"].parent.is_some()
    );
    let audit = &spec.tables["audit"].columns;
    let pick = audit["sku"]
        .pick
        .as_ref()
        .expect("a pick under the shared parent");
    assert_eq!(
        (pick.table.as_str(), pick.via.as_str()),
        ("stock", "store_id")
    );
    assert!(spec.tables["event"].columns["id"].sequence.is_some());
    let ddl = std::fs::read_to_string(work.path().join("types.schema.sql")).unwrap();
    assert!(
        ddl.contains("CREATE DOMAIN amount AS numeric(12,2)"),
        "{ddl}"
    );
    assert!(ddl.contains("CREATE DOMAIN tag_list AS text[]"), "{ddl}");
    assert!(
        store["extra"].array.is_some(),
        "a domain over an array is an array"
    );
    assert!(ddl.contains("GENERATED ALWAYS AS IDENTITY"), "{ddl}");
    assert!(ddl.contains("\"id\" bigserial"), "{ddl}");
    assert_eq!(event.partition_key.as_deref(), Some("RANGE (at)"));
    assert!(ddl.contains("PARTITION BY RANGE (at)"), "{ddl}");

    let target = TestDb::new("types_target");
    generate_and_load(&spec_path, "ci", "types", work.path(), &target);
    let mut c = target.client();
    for (fk, n) in orphans(&mut c, "synthetic") {
        assert_eq!(n, 0, "orphan rows for foreign key {fk}");
    }
    for t in ["store", "stock", "movement", "audit", "event"] {
        let n = count(&mut c, &format!("SELECT count(*) FROM synthetic.{t}"));
        assert!(n > 100, "{t}: {n} rows");
    }
    // The partitioned table was loaded through its parent.
    let parts = count(
        &mut c,
        "SELECT count(*) FROM pg_inherits WHERE inhparent = 'synthetic.event'::regclass",
    );
    assert_eq!(parts, 1);
    // Values by type.
    let none = |c: &mut postgres::Client, what: &str, sql: &str| {
        let n = count(c, sql);
        assert_eq!(n, 0, "{what}: {n} values fail ({sql})");
    };
    none(
        &mut c,
        "numeric(12,2) domain",
        "SELECT count(*) FROM synthetic.store WHERE scale(budget) > 2 OR abs(budget) >= 1e10",
    );
    none(
        &mut c,
        "numeric(8,1)",
        "SELECT count(*) FROM synthetic.store WHERE scale(floor_area) > 1",
    );
    none(&mut c, "inet in documentation ranges",
        "SELECT count(*) FROM synthetic.store WHERE NOT (addr << inet '192.0.2.0/24' OR addr << inet '198.51.100.0/24'
                                                 OR addr << inet '203.0.113.0/24' OR addr << inet '2001:db8::/32')");
    none(
        &mut c,
        "jsonb objects",
        "SELECT count(*) FROM synthetic.store WHERE jsonb_typeof(settings) <> 'object'",
    );
    none(
        &mut c,
        "bytea lengths",
        "SELECT count(*) FROM synthetic.store WHERE octet_length(logo) NOT BETWEEN 1 AND 200",
    );
    none(&mut c, "one-dimensional arrays", "SELECT count(*) FROM synthetic.store WHERE coalesce(array_ndims(tags), 1) <> 1 OR coalesce(array_ndims(scores), 1) <> 1 OR coalesce(array_ndims(extra), 1) <> 1 OR cardinality(tags) > 10");
    none(
        &mut c,
        "varchar(6) elements",
        "SELECT count(*) FROM synthetic.store, unnest(labels) l WHERE length(l) > 6",
    );
    none(
        &mut c,
        "intervals",
        "SELECT count(*) FROM synthetic.store WHERE open_for < interval '0'",
    );
    none(
        &mut c,
        "char(3)",
        "SELECT count(*) FROM synthetic.store WHERE octet_length(region_code) <> 3",
    );
    none(
        &mut c,
        "varchar(8)",
        "SELECT count(*) FROM synthetic.store WHERE length(code) > 8",
    );
    let filled = count(&mut c, "SELECT count(*) FROM synthetic.store WHERE settings IS NOT NULL AND logo IS NOT NULL AND addr IS NOT NULL AND tags IS NOT NULL AND open_for IS NOT NULL AND budget IS NOT NULL");
    assert!(filled > 0, "the new types are generated, not left NULL");
    let domain: String = c
        .query_one(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'synthetic.store'::regclass AND attname = 'budget'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(domain.ends_with("amount"), "{domain}");
    // Production's check constraints hold on the synthetic rows.
    for (i, (t, check)) in CHECKS.iter().enumerate() {
        c.batch_execute(&format!(
            "ALTER TABLE synthetic.{t} ADD CONSTRAINT prod_check_{i} CHECK ({check})"
        ))
        .unwrap_or_else(|e| panic!("{t}: CHECK ({check}) fails on synthetic rows: {e}"));
    }
    // The identity column's sequence was moved past the loaded ids.
    let next = count(
        &mut c,
        "SELECT nextval(pg_get_serial_sequence('synthetic.store', 'id')) - (SELECT max(id) FROM synthetic.store)",
    );
    assert_eq!(next, 1);
    let next = count(
        &mut c,
        "SELECT nextval(pg_get_serial_sequence('synthetic.movement', 'id')) - (SELECT max(id) FROM synthetic.movement)",
    );
    assert_eq!(next, 1, "the serial column's sequence too");

    // The CSV encoding of the same rows reads back to the same values (every new type and
    // the arrays' `{...}` text included).
    let csv = work.path().join("csv");
    run_ok(
        "pgshape-generator",
        &[
            "generate",
            "--spec",
            spec_path.to_str().unwrap(),
            "--band",
            "ci",
            "--seed",
            "types",
            "--tables",
            "store",
            "--format",
            "csv",
            "--output",
            csv.to_str().unwrap(),
        ],
        &[],
    );
    c.batch_execute("CREATE TABLE synthetic.csv_store (LIKE synthetic.store)")
        .unwrap();
    let mut files: Vec<PathBuf> = std::fs::read_dir(csv.join("store"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for f in files {
        let mut w = c
            .copy_in("COPY synthetic.csv_store FROM STDIN (FORMAT csv)")
            .unwrap();
        std::io::Write::write_all(&mut w, &std::fs::read(&f).unwrap()).unwrap();
        w.finish().unwrap();
    }
    let stores = count(&mut c, "SELECT count(*) FROM synthetic.store");
    assert_eq!(
        count(&mut c, "SELECT count(*) FROM synthetic.csv_store"),
        stores
    );
    let differ = count(
        &mut c,
        "SELECT count(*) FROM ((SELECT * FROM synthetic.store EXCEPT ALL SELECT * FROM synthetic.csv_store)
                               UNION ALL (SELECT * FROM synthetic.csv_store EXCEPT ALL SELECT * FROM synthetic.store)) d",
    );
    assert_eq!(differ, 0, "binary and CSV rows differ");
    c.batch_execute("DROP TABLE synthetic.csv_store").unwrap();

    // The comparison, for the record.
    let (_, doc) = compare_synthetic(&pack, &target, SALT, work.path(), &["--window-days", "60"]);
    eprintln!(
        "types compare: {} of {} figures fail",
        doc["failed"], doc["checked"]
    );
    for f in doc["figures"].as_array().unwrap() {
        if f["status"] == "fail" {
            eprintln!(
                "  FAIL {} {}: production {} synthetic {} value {}",
                f["subject"], f["metric"], f["production"], f["synthetic"], f["value"]
            );
        }
    }
}

/// What init still refuses: range, xml and enum-array columns, a unique timestamp, and
/// a composite foreign key in neither shape the generator keeps (not NULL with a text column,
/// so it cannot group; no shared grouping column to pick under).
const UNSUPPORTED: &str = "
CREATE SCHEMA shop;
SET search_path = shop;
CREATE TYPE tier AS ENUM ('free', 'pro', 'enterprise');
CREATE TABLE region (code text PRIMARY KEY, parent_code text REFERENCES region (code), capital_store bigint);
CREATE TABLE store (id bigint PRIMARY KEY, region_code text NOT NULL REFERENCES region (code), opened date NOT NULL,
                    ext_id uuid NOT NULL UNIQUE, settings jsonb, revenue numeric(14,2), tags text[], addr inet,
                    period tstzrange, tiers tier[], doc xml, tier tier NOT NULL, seen timestamptz UNIQUE);
ALTER TABLE region ADD FOREIGN KEY (capital_store) REFERENCES store (id) DEFERRABLE INITIALLY DEFERRED;
CREATE TABLE stock (store_id bigint REFERENCES store (id), sku text, qty integer NOT NULL, PRIMARY KEY (store_id, sku));
CREATE TABLE movement (id bigserial PRIMARY KEY, store_id bigint NOT NULL, sku text NOT NULL, at timestamptz NOT NULL, delta integer NOT NULL,
                       FOREIGN KEY (store_id, sku) REFERENCES stock (store_id, sku));
INSERT INTO region SELECT 'R' || g, CASE WHEN g > 3 THEN 'R' || (g % 3 + 1) END, NULL FROM generate_series(1, 30) g;
INSERT INTO store SELECT g, 'R' || (g % 30 + 1), date '2025-01-01' + g, md5(g::text)::uuid, jsonb_build_object('k', g),
                         g * 10.5, ARRAY['a', 'b'], '10.0.0.1', tstzrange(timestamptz '2026-12-02 12:00:00+00', timestamptz '2026-12-02 12:00:00+00' + interval '1 day'),
                         ARRAY['free']::tier[], '<a/>', (ARRAY['free','pro','enterprise']::tier[])[g % 3 + 1]
                  FROM generate_series(1, 300) g;
INSERT INTO stock SELECT s, 'SKU' || k, k FROM generate_series(1, 300) s, generate_series(1, 1 + s % 7) k;
";

fn shop_pack(sql: &str, dir: &Path, name: &str) -> PathBuf {
    let db = TestDb::new(name);
    db.client().batch_execute(sql).unwrap();
    let pack = dir.join(format!("{name}.json"));
    extract(&db, "shop", &pack, None);
    pack
}

#[test]
fn what_init_still_refuses_is_named() {
    let work = tempfile::tempdir().unwrap();
    // What the generator cannot produce yet: a clear error naming the table and column, and
    // no file written.
    let bad = shop_pack(UNSUPPORTED, work.path(), "types_unsupported");
    let out = work.path().join("bad.json");
    let o = init(&bad, &out);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    // Text keys are generated (`region.code` and its self-reference `parent_code`): the first
    // refusal is a column of the store table.
    assert!(err.contains("table store, column "), "{err}");
    assert!(!err.contains("table region"), "{err}");
    assert!(!out.exists());
    // Each unsupported column, one at a time, through the library.
    let mut parsed: Pack = serde_json::from_slice(&std::fs::read(&bad).unwrap()).unwrap();
    let opts = pgshape_generator::authoring::init::Options {
        name: "shop".into(),
        ddl_file: "shop.schema.sql".into(),
        ..Default::default()
    };
    let mut seen = Vec::new();
    for _ in 0..20 {
        let Err(e) = pgshape_generator::authoring::init::init(&parsed, "0", &opts) else {
            break;
        };
        let msg = e.to_string();
        let (table, column) = {
            let rest = msg.split_once("table ").unwrap().1;
            let (t, rest) = rest.split_once(", column ").unwrap();
            (t.to_string(), rest.split_once(':').unwrap().0.to_string())
        };
        eprintln!("unsupported: {msg}");
        seen.push(format!("{table}.{column}"));
        // Drop the column (or the key) and go on.
        let t = parsed
            .schema
            .tables
            .iter_mut()
            .find(|t| t.name == table)
            .unwrap();
        let cols: Vec<String> = column.split(", ").map(String::from).collect();
        t.foreign_keys
            .retain(|fk| !fk.columns.iter().any(|c| cols.contains(c)));
        if cols.len() == 1 {
            t.columns.retain(|c| c.name != cols[0]);
            t.unique_keys.retain(|k| !k.contains(&cols[0]));
            if t.primary_key.as_ref().is_some_and(|k| k.contains(&cols[0])) {
                t.primary_key = None;
            }
        } else {
            t.primary_key = None;
        }
    }
    assert!(
        !seen.iter().any(|s| s.starts_with("region.")),
        "text keys are supported: {seen:?}"
    );
    for want in [
        "store.period",
        "store.tiers",
        "store.doc",
        "store.seen",
        "movement.store_id, sku",
    ] {
        assert!(seen.iter().any(|s| s == want), "{want} reported: {seen:?}");
    }
}
