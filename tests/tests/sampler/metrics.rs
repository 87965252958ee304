//! Column metrics against independent SQL: numeric quantiles and histograms (extremes never
//! exported), distinct ratios, daily profiles.

use pgshape_core::pack::Pack;
use pgshape_e2e::{run_ok, TestDb};

use super::{extract, fixture, SALT};

/// `x` to 3 significant digits, written independently of the sampler's code.
fn sig3(x: f64) -> f64 {
    format!("{x:.2e}").parse().unwrap()
}

#[test]
fn numeric_quantiles_histogram_distinct_ratios_and_daily_profile_equal_ground_truth() {
    let db = fixture();
    let dir = tempfile::tempdir().unwrap();
    let (text, _) = extract(&db, dir.path());
    let pack: Pack = serde_json::from_str(&text).unwrap();
    let mut c = db.client();

    let bytes = &pack.tables["public.attachments"].columns["byte_size"];
    assert_eq!(bytes.role, "number");
    let num = bytes.number.as_ref().expect("a numeric distribution");
    let truth = c
        .query_one(
            "SELECT count(byte_size), min(byte_size)::float8, max(byte_size)::float8,
                    percentile_disc(ARRAY[0.01, 0.1, 0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY byte_size::float8)
               FROM attachments",
            &[],
        )
        .unwrap();
    let n = truth.get::<_, i64>(0) as f64;
    let (min, max): (f64, f64) = (truth.get(1), truth.get(2));
    let q: Vec<f64> = truth.get(3);
    assert!(n > 100.0, "the fixture has attachments");
    for (i, name) in ["p1", "p10", "p50", "p90", "p99"].iter().enumerate() {
        let p = [0.01, 0.1, 0.5, 0.9, 0.99][i];
        let rank = (p * n).ceil();
        let safe = rank.min(n - rank + 1.0) >= 10.0;
        let want = safe.then(|| sig3(q[i]));
        assert_eq!(num.quantiles[*name], want, "{name} (rank {rank} of {n})");
    }
    // The histogram covers every value, each bin holds at least k, and neither end is shown.
    let h = &num.histogram;
    assert_eq!(h.iter().map(|b| b.count).sum::<u64>(), n as u64);
    assert!(h.iter().all(|b| b.count >= 10), "{h:?}");
    assert_eq!(h.last().unwrap().hi, None);
    assert_eq!(
        h[0].lo,
        Some(0.0),
        "sizes are non-negative: the first bin starts at 0"
    );
    for b in h {
        assert!(b.lo != Some(min) && b.hi != Some(max), "{b:?}");
    }
    for raw in [min, max] {
        assert!(
            !text.contains(&format!(": {raw}")) && !text.contains(&format!(": {raw:.1}")),
            "the raw extreme {raw} is in the pack"
        );
    }

    // The compliance report computes the same from the pack: every check passes.
    let report = run_ok(
        "pgshape-sampler",
        &[
            "report",
            dir.path()
                .join("shape-metrics-20261122.json")
                .to_str()
                .unwrap(),
        ],
        &[],
    );
    assert!(
        report.contains("No raw minimum or maximum: 1 of 1 numeric histograms"),
        "{report}"
    );
    // The one failed check: the pack is --no-dp (exact figures for this test).
    assert!(
        report.matches('✗').count() == 1 && report.contains("✗ Differential privacy: OFF"),
        "{report}"
    );

    // Distinct ratios: every column that has at least k values, rounded to 3 decimals.
    for (column, sql) in [
        (
            "mime",
            "SELECT count(DISTINCT mime)::float8 / count(mime) FROM attachments",
        ),
        (
            "message_id",
            "SELECT count(DISTINCT message_id)::float8 / count(message_id) FROM attachments",
        ),
    ] {
        let r: f64 = c.query_one(sql, &[]).unwrap().get(0);
        let got = pack.tables["public.attachments"].columns[column].distinct_ratio;
        assert_eq!(got, Some((r * 1000.0).round() / 1000.0), "{column}");
    }
    for (t, m) in &pack.tables {
        for (col, cm) in &m.columns {
            assert!(
                cm.distinct_ratio.is_some(),
                "{t}.{col} has no distinct ratio"
            );
        }
    }

    // Daily: rows per UTC day of the window, from the window's start date; cells under k null.
    let daily = pack.tables["public.messages"].columns["created_at"]
        .daily
        .clone()
        .unwrap();
    assert_eq!(daily.len(), pack.window.days as usize + 1);
    let rows = c
        .query(
            "SELECT ((created_at AT TIME ZONE 'UTC')::date - ($1::text::timestamptz AT TIME ZONE 'UTC')::date), count(*)
               FROM messages WHERE created_at >= $1::text::timestamptz AND created_at < $2::text::timestamptz GROUP BY 1",
            &[&pack.window.start, &pack.window.end],
        )
        .unwrap();
    let mut want = vec![None; daily.len()];
    for r in rows {
        let (d, n): (i32, i64) = (r.get(0), r.get(1));
        want[d as usize] = (n >= 10).then_some(n as u64);
    }
    assert_eq!(daily, want);
    assert!(daily.iter().flatten().count() > 10, "a real profile");
}

#[test]
fn numeric_domains_negative_values_and_outliers_never_leave() {
    let db = TestDb::new("sampler_num");
    db.client()
        .batch_execute(
            "CREATE DOMAIN amount AS numeric(12, 2);
             CREATE TABLE ledger (id bigint PRIMARY KEY, amount amount NOT NULL, ratio double precision, n smallint);
             INSERT INTO ledger SELECT g, (g % 200 - 50) * 1.25, CASE WHEN g % 7 = 0 THEN 0 ELSE g / 1000.0 END, g % 5
               FROM generate_series(1, 1000) g;
             INSERT INTO ledger VALUES (1001, 987654.32, 'NaN', 4), (1002, -876543.21, 'Infinity', 4);",
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.json");
    run_ok(
        "pgshape-sampler",
        &["extract", "--no-dp", "--output", path.to_str().unwrap()],
        &[("DATABASE_URL", &db.url), ("ANONYMIZATION_SALT", SALT)],
    );
    let text = std::fs::read_to_string(&path).unwrap();
    for raw in ["987654", "876543", "98765", "87654"] {
        assert!(
            !text.contains(raw),
            "an outlier's digits ({raw}) are in the pack"
        );
    }
    let pack: Pack = serde_json::from_str(&text).unwrap();
    let cols = &pack.tables["public.ledger"].columns;
    assert_eq!(
        cols["amount"].role, "number",
        "a numeric domain is a number"
    );
    let amount = cols["amount"].number.as_ref().unwrap();
    let q: Vec<f64> = db
        .client()
        .query_one(
            "SELECT percentile_disc(ARRAY[0.01, 0.5, 0.99]) WITHIN GROUP (ORDER BY amount::float8) FROM ledger",
            &[],
        )
        .unwrap()
        .get(0);
    // Rows are the units here: a quantile is a value 10 rows share, or the mean of the 10
    // values nearest to it (issue 12); each amount is held by 5 rows.
    let rows: Vec<(f64, i64)> = db
        .client()
        .query("SELECT amount::float8, id FROM ledger", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    // It leaves (coarsened) where 10 rows lie at or below it and at or above it: p1 (rank 11
    // of 1002) moves below the 11th value, and leaves only if 10 rows are still there.
    let safe = |q: f64| {
        let v = pgshape_e2e::k_safe_quantile(&rows, q, 10);
        let below = rows.iter().filter(|r| r.0 <= v).count();
        let above = rows.iter().filter(|r| r.0 >= v).count();
        (below.min(above) >= 10).then(|| sig3(v))
    };
    assert_eq!(amount.quantiles["p50"], safe(q[1]));
    assert_eq!(amount.quantiles["p1"], safe(q[0]));
    assert_eq!(amount.quantiles["p99"], safe(q[2]));
    assert!(amount.quantiles["p50"].is_some() && amount.quantiles["p99"].is_some());
    assert_eq!(amount.histogram[0].lo, None, "negative minimum hidden");
    assert_eq!(amount.histogram.iter().map(|b| b.count).sum::<u64>(), 1002);
    // NaN and ±Infinity are not amounts: left out of the float column's distribution.
    let ratio = cols["ratio"].number.as_ref().unwrap();
    assert_eq!(ratio.histogram.iter().map(|b| b.count).sum::<u64>(), 1000);
    assert_eq!(
        ratio.histogram[0].lo,
        Some(0.0),
        "no negative values: lower edge 0"
    );
    assert!(
        ratio
            .histogram
            .iter()
            .any(|b| b.lo == Some(0.0) && b.hi == Some(0.0)),
        "a bin of zeros"
    );
    assert_eq!(cols["n"].distinct_ratio, Some(0.005));
}
