//! `--sample-percent`: the largest edge's fan-out, offsets and inter-arrival times from a 10 %
//! sample are within 10 % of ground truth computed by independent SQL, and the pack says how it
//! was sampled.

use pgshape_core::pack::Pack;
use pgshape_e2e::run_ok;

use super::{fixture, SALT};

#[test]
fn sample_percent_10_keeps_the_largest_edge_within_10_percent() {
    let db = fixture();
    let mut c = db.client();
    // The largest edge: the foreign key of the table with the most rows, and of its foreign
    // keys the one with the most parents (children per parent is estimated from parents).
    let count = |c: &mut postgres::Client, t: &str| -> i64 {
        c.query_one(&format!("SELECT count(*) FROM {t}"), &[])
            .unwrap()
            .get(0)
    };
    let fks: Vec<(String, String, String, String)> = c
        .query(
            "SELECT cl.relname::text, a.attname::text, pcl.relname::text, pa.attname::text
               FROM pg_constraint k
               JOIN pg_class cl ON cl.oid = k.conrelid JOIN pg_class pcl ON pcl.oid = k.confrelid
               JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
               JOIN pg_attribute pa ON pa.attrelid = k.confrelid AND pa.attnum = k.confkey[1]
              WHERE k.contype = 'f' AND cardinality(k.conkey) = 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    let (child, col, parent, pcol) = fks
        .iter()
        .max_by_key(|(child, _, parent, _)| (count(&mut c, child), count(&mut c, parent)))
        .unwrap()
        .clone();
    let largest_parent = count(&mut c, &parent);
    let truth = c
        .query_one(
            &format!(
                "WITH f AS (SELECT count(c.{col}) AS n FROM {parent} p LEFT JOIN {child} c ON c.{col} = p.{pcol} GROUP BY p.{pcol})
                 SELECT avg((n = 0)::int)::float8,
                        percentile_disc(0.5) WITHIN GROUP (ORDER BY n) FILTER (WHERE n > 0)::float8,
                        percentile_disc(0.95) WITHIN GROUP (ORDER BY n) FILTER (WHERE n > 0)::float8
                   FROM f"
            ),
            &[],
        )
        .unwrap();
    let (zero, p50, p95): (f64, f64, f64) = (truth.get(0), truth.get(1), truth.get(2));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sampled.json");
    let started = std::time::Instant::now();
    run_ok(
        "pgshape-sampler",
        &[
            "extract",
            "--no-dp",
            "--output",
            path.to_str().unwrap(),
            "--window-days",
            "60",
            "--sample-percent",
            "10",
        ],
        &[("DATABASE_URL", &db.url), ("ANONYMIZATION_SALT", SALT)],
    );
    eprintln!("sampled extraction: {:?}", started.elapsed());
    let pack: Pack = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(pack.sampling.method, "tablesample_bernoulli");
    assert_eq!(pack.sampling.fraction, 0.1);
    let edge = pack
        .edges
        .iter()
        .find(|e| e.child == format!("public.{child}") && e.columns == [col.clone()])
        .expect("the largest edge is in the pack");
    let within = |got: Option<f64>, want: f64, what: &str| {
        let got = got.unwrap_or_else(|| panic!("{what} suppressed"));
        let err = (got - want).abs() / want;
        eprintln!(
            "{child}.{col} → {parent}: {what} sampled {got}, truth {want}, error {:.1} %",
            100.0 * err
        );
        assert!(err <= 0.10, "{what}: sampled {got} vs truth {want}");
    };
    within(edge.quantiles["p50"], p50, "p50");
    within(edge.quantiles["p95"], p95, "p95");
    assert!(
        (edge.zero_fraction - zero).abs() < 0.05,
        "zero fraction {} vs {zero}",
        edge.zero_fraction
    );
    // Its timings too: the sampled parents' children, in full.
    let timing = c
        .query_one(
            &format!(
                "WITH d AS (SELECT extract(epoch FROM c.{ct} - p.{pt})::float8 AS o,
                                   extract(epoch FROM c.{ct} - lag(c.{ct}) OVER (PARTITION BY c.{col} ORDER BY c.{ct}))::float8 AS g
                              FROM {child} c JOIN {parent} p ON c.{col} = p.{pcol})
                 SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY o), percentile_disc(0.9) WITHIN GROUP (ORDER BY o),
                        percentile_disc(0.5) WITHIN GROUP (ORDER BY g) FILTER (WHERE g IS NOT NULL),
                        percentile_disc(0.9) WITHIN GROUP (ORDER BY g) FILTER (WHERE g IS NOT NULL)
                   FROM d",
                ct = edge.child_column.as_deref().expect("the child has a time column"),
                pt = edge.parent_column.as_deref().expect("the parent has a time column"),
            ),
            &[],
        )
        .unwrap();
    let offsets = edge.offset_seconds.as_ref().expect("offsets");
    let gaps = edge.inter_arrival_seconds.as_ref().expect("inter-arrival");
    within(offsets.quantiles["p50"], timing.get(0), "offset p50");
    within(offsets.quantiles["p90"], timing.get(1), "offset p90");
    within(gaps.quantiles["p50"], timing.get(2), "inter-arrival p50");
    within(gaps.quantiles["p90"], timing.get(3), "inter-arrival p90");
    // Counts are scaled back from the sample.
    let parents = edge.parents as f64;
    assert!(
        (parents - largest_parent as f64).abs() / (largest_parent as f64) < 0.10,
        "parents {parents} vs {largest_parent}"
    );
    let m = &pack.tables[&format!("public.{parent}")];
    assert_eq!(m.count_method, "sampled");
    assert!((m.total_rows as f64 - largest_parent as f64).abs() / (largest_parent as f64) < 0.10);
}

#[test]
fn a_sample_percent_out_of_range_exits_2_and_writes_nothing() {
    let db = pgshape_e2e::TestDb::new("sampler_pct");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.json");
    for bad in ["0", "-5", "150", "NaN"] {
        // `=`: a negative value is the flag's value, not another flag.
        let flag = format!("--sample-percent={bad}");
        let out = pgshape_e2e::run(
            "pgshape-sampler",
            &[
                "extract",
                "--no-dp",
                "--output",
                path.to_str().unwrap(),
                &flag,
            ],
            &[("DATABASE_URL", &db.url), ("ANONYMIZATION_SALT", SALT)],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {stderr}");
        assert!(
            stderr.contains("--sample-percent must be in (0, 100]"),
            "{bad}: {stderr}"
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "nothing written"
        );
    }
}
