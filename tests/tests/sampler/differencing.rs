//! The differencing attack of issue 13 against a real PostgreSQL: two databases one person
//! apart, extracted again and again. With DP on, the difference of the packs' row counts is
//! as noisy as the pack's recorded mechanism says (its variance within a wide band of the
//! discrete Laplace variance at the recorded ε and bounds) and the person's exact row count
//! comes out no more often than the mechanism allows; with `--no-dp` the same statistics see
//! the person every time (checked here too, so the test can fail).

use pgshape_core::pack::Pack;
use pgshape_e2e::{run, run_ok, TestDb};
use pgshape_sampler::dp::mechanism::{exact_probability, variance};

use super::SALT;

/// 100 people (emails: the PII table) with 6 events each, spread over the hours.
const BASE: &str = "
CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL);
INSERT INTO accounts SELECT g, 'member' || g || '@example.com' FROM generate_series(1, 100) g;
CREATE TABLE events (id bigserial PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts,
                     happened_at timestamptz NOT NULL);
INSERT INTO events (account_id, happened_at)
SELECT a, timestamptz '2026-12-02 12:00:00+00' - ((a * 7 + g * 13) % 50) * interval '1 hour'
  FROM generate_series(1, 100) a, generate_series(1, 6) g;
";

/// The added person: 10 events, all at 03 UTC.
const PERSON: &str = "
INSERT INTO accounts VALUES (101, 'added.person@example.com');
INSERT INTO events (account_id, happened_at)
SELECT 101, timestamptz '2026-12-01 03:00:00+00' - g * interval '1 day' FROM generate_series(1, 10) g;
";

/// The person's rows.
const PERSON_ROWS: u64 = 10;
const EPSILON: &str = "8";
const MAX_ROWS: u64 = 4;
const RUNS: usize = 30;

fn extract(db: &TestDb, dir: &std::path::Path, i: usize, dp: bool) -> Pack {
    let out = dir.join(format!("{}-{i}.json", db.name));
    let rows = MAX_ROWS.to_string();
    let mut args = vec![
        "extract",
        "--output",
        out.to_str().unwrap(),
        "--window-days",
        "60",
    ];
    if dp {
        args.extend(["--epsilon", EPSILON, "--max-rows-per-unit", &rows]);
    } else {
        args.push("--no-dp");
    }
    run_ok(
        "pgshape-sampler",
        &args,
        &[("DATABASE_URL", &db.url), ("ANONYMIZATION_SALT", SALT)],
    );
    serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap()
}

fn events_rows(p: &Pack) -> f64 {
    p.tables["public.events"].total_rows as f64
}

/// The discrete Laplace scale of the events table's count release, from what the pack
/// records: the counts family's ε over one release per table, a sensitivity of the rows per
/// unit times the two counts (total and in-window).
fn recorded_scale(p: &Pack) -> f64 {
    let dp = p.privacy.dp.as_ref().expect("a DP pack records its noise");
    assert_eq!(dp.mechanism, "discrete_laplace");
    assert_eq!(dp.bounds.max_rows_per_unit, MAX_ROWS);
    let per_release = dp.split["counts"] / p.tables.len() as f64;
    let counts = if p.tables["public.events"].window_column.is_some() {
        2.0
    } else {
        1.0
    };
    MAX_ROWS as f64 * counts / per_release
}

/// Whether the differences `d` (B − A) look like the difference of two releases of scale
/// `scale`: their variance within [0.15, 5] × twice the mechanism's (30 draws of a
/// heavy-tailed variable: a wide band), their mean within 5 standard errors of the clipped
/// contribution.
fn consistent_with_noise(d: &[f64], scale: f64, contribution: f64) -> bool {
    let n = d.len() as f64;
    let mean = d.iter().sum::<f64>() / n;
    let var = d.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
    let want = 2.0 * variance(scale);
    let ratio = var / want;
    eprintln!("differences: mean {mean:.1}, variance {var:.1} = {ratio:.2} x the mechanism's");
    (0.15..=5.0).contains(&ratio) && (mean - contribution).abs() <= 5.0 * (want / n).sqrt()
}

/// How often the person's exact row count may come out of `n` differences: its
/// probability (at most that of a zero difference of noise, itself at most the exact
/// probability of one release) plus four binomial standard deviations and one.
fn allowed_exact(n: usize, scale: f64) -> usize {
    let p = exact_probability(scale);
    let n = n as f64;
    (n * p + 4.0 * (n * p * (1.0 - p)).sqrt() + 1.0) as usize
}

#[test]
fn two_databases_one_person_apart_differ_only_by_the_recorded_noise() {
    let (a, b) = (TestDb::new("dp_diff_a"), TestDb::new("dp_diff_b"));
    a.client().batch_execute(BASE).unwrap();
    b.client().batch_execute(BASE).unwrap();
    b.client().batch_execute(PERSON).unwrap();
    let dir = tempfile::tempdir().unwrap();

    let mut diffs = Vec::new();
    let mut scale = 0.0;
    for i in 0..RUNS {
        let (pa, pb) = (
            extract(&a, dir.path(), i, true),
            extract(&b, dir.path(), i, true),
        );
        scale = recorded_scale(&pa);
        assert_eq!(scale, recorded_scale(&pb));
        diffs.push(events_rows(&pb) - events_rows(&pa));
    }
    // The person's clipped contribution is MAX_ROWS of their PERSON_ROWS rows.
    assert!(
        consistent_with_noise(&diffs, scale, MAX_ROWS as f64),
        "{diffs:?} at scale {scale}"
    );
    let exact = diffs.iter().filter(|&&d| d == PERSON_ROWS as f64).count();
    assert!(
        exact <= allowed_exact(RUNS, scale),
        "the person's exact count came out {exact} times of {RUNS}: {diffs:?}"
    );
    // A DP pack is clean for validate (and so matches the published schema).
    let last = dir.path().join(format!("{}-0.json", a.name));
    let out = run(
        "pgshape-sampler",
        &["validate", last.to_str().unwrap()],
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // Without noise the same statistics single the person out on every extraction.
    let plain: Vec<f64> = (0..3)
        .map(|i| {
            let (pa, pb) = (
                extract(&a, dir.path(), 100 + i, false),
                extract(&b, dir.path(), 100 + i, false),
            );
            events_rows(&pb) - events_rows(&pa)
        })
        .collect();
    assert_eq!(plain, vec![PERSON_ROWS as f64; 3]);
    assert!(!consistent_with_noise(&plain, scale, MAX_ROWS as f64));
    assert!(plain.len() > allowed_exact(plain.len(), scale));
}
