//! Which category labels leave under DP, against a real PostgreSQL (issue 13: "a second diff
//! showed the added person's country token going up by exactly 1"). A column's labels are
//! not known in advance, so a label only one person holds would single them out by merely
//! appearing. Two databases one person apart, the person holding a label nobody else holds:
//! over repeated extractions that label never appears and the packs' label sets are the same,
//! while every label many people hold does appear; with `--no-dp` at k = 1 the label does
//! appear (so the test can fail). An enum column's labels, a public domain, leave without the
//! selection.

use std::collections::BTreeSet;

use pgshape_core::pack::Pack;
use pgshape_core::token::Salt;
use pgshape_e2e::{run_ok, TestDb};

use super::SALT;

/// 600 people (emails: the PII table) with 6 orders each over three kinds, and three people
/// with a kind of their own together.
const BASE: &str = "
CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL);
INSERT INTO accounts SELECT g, 'member' || g || '@example.com' FROM generate_series(1, 600) g;
CREATE TYPE order_status AS ENUM ('open', 'paid', 'void');
CREATE TABLE orders (id bigserial PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts,
                     kind text NOT NULL, status order_status NOT NULL DEFAULT 'open');
INSERT INTO orders (account_id, kind, status)
SELECT a, (ARRAY['card', 'cash', 'transfer'])[1 + (a + g) % 3],
       (ARRAY['open', 'paid'])[1 + g % 2]::order_status
  FROM generate_series(1, 600) a, generate_series(1, 6) g;
INSERT INTO orders (account_id, kind) SELECT a, 'voucher' FROM generate_series(1, 3) a;
";

/// The added person: 30 orders of a kind of their own.
const PERSON: &str = "
INSERT INTO accounts VALUES (601, 'added.person@example.com');
INSERT INTO orders (account_id, kind) SELECT 601, 'gold-bullion' FROM generate_series(1, 30);
";

const RUNS: usize = 8;

fn kinds(db: &TestDb, dir: &std::path::Path, i: usize, args: &[&str]) -> (Pack, BTreeSet<String>) {
    let out = dir.join(format!("{}-{i}.json", db.name));
    let mut all = vec!["extract", "--output", out.to_str().unwrap()];
    all.extend(args);
    run_ok(
        "pgshape-sampler",
        &all,
        &[("DATABASE_URL", &db.url), ("ANONYMIZATION_SALT", SALT)],
    );
    let pack: Pack = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let cats = pack.tables["public.orders"].columns["kind"]
        .categories
        .clone()
        .expect("kind is a category column");
    (pack, cats.counts.into_keys().collect())
}

fn token(label: &str) -> String {
    let salt = Salt::new(Some(SALT.as_bytes().to_vec())).unwrap();
    salt.namespace("public.orders.kind").token(label.as_bytes())
}

#[test]
fn a_label_of_one_person_never_appears_under_dp_and_the_common_ones_always_do() {
    let (a, b) = (TestDb::new("dp_labels_a"), TestDb::new("dp_labels_b"));
    a.client().batch_execute(BASE).unwrap();
    b.client().batch_execute(BASE).unwrap();
    b.client().batch_execute(PERSON).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let common: BTreeSet<String> = ["card", "cash", "transfer"].map(token).into();
    let (person, few) = (token("gold-bullion"), token("voucher"));

    for i in 0..RUNS {
        let (pa, ka) = kinds(&a, dir.path(), i, &["--epsilon", "8"]);
        let (pb, kb) = kinds(&b, dir.path(), i, &["--epsilon", "8"]);
        assert_eq!(ka, common, "run {i}: a label of fewer than k people left");
        assert_eq!(kb, common, "run {i}: the added person's label left");
        let dp = pb.privacy.dp.as_ref().unwrap();
        assert_eq!(dp.delta, pgshape_sampler::dp::noise::DEFAULT_DELTA);
        assert_eq!(dp.bounds.max_categories_per_unit, Some(1));
        // Nothing exact about what is hidden: no exact figure of the people behind any.
        assert_eq!(pa.tables["public.orders"].min_people, None);
        // An enum's labels are the catalog's (public): released without a selection, the
        // unused one under the noise floor.
        let status = pb.tables["public.orders"].columns["status"]
            .categories
            .as_ref()
            .unwrap();
        let labels: Vec<&str> = status.counts.keys().map(String::as_str).collect();
        assert!(status.labels, "{status:?}");
        assert!(
            labels.contains(&"open") && labels.contains(&"paid"),
            "{labels:?}"
        );
    }

    // Without noise and with k at 1 the person's label is there: the check above can fail.
    let (_, plain) = kinds(
        &b,
        dir.path(),
        100,
        &["--no-dp", "--k-min", "1", "--unsafe-k"],
    );
    assert!(plain.contains(&person) && plain.contains(&few), "{plain:?}");
    // With --no-dp at the default k the k rule hides both, and a complement with them (the
    // two would otherwise be the column's total minus the labels shown).
    let (pk, kept) = kinds(&b, dir.path(), 101, &["--no-dp"]);
    assert!(kept.is_subset(&common) && kept.len() == 2, "{kept:?}");
    assert!(pk.tables["public.orders"].min_people.unwrap() >= 10);
}
