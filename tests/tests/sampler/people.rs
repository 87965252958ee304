//! k counts people: a table where many rows belong to few people exports no figure resting on
//! fewer than k of them (checked cell by cell by SQL here), a one-person table exports only
//! its schema and a row-count band, a suppressed cell cannot be recovered by subtracting the
//! exported ones from a total, and an identifier-like column has no quantiles.

use pgshape_core::pack::Pack;
use pgshape_e2e::{run_ok, TestDb};

use super::SALT;

/// 40 accounts (the PII table: emails); 3 heavy raters with 400 ratings each, one of them
/// alone in a genre, an hour (03 UTC), a score range and long notes; 37 light raters with 4
/// ratings each, too few per day for a daily profile but enough per week.
const RATINGS: &str = "
CREATE TYPE genre AS ENUM ('drama', 'comedy', 'horror', 'solo');
CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL);
INSERT INTO accounts SELECT g, 'user' || g || '@example.com' FROM generate_series(1, 40) g;
CREATE TABLE ratings (id bigserial PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts,
                      score integer NOT NULL, note text, genre genre NOT NULL,
                      in_reply_to_user_id bigint, rated_at timestamptz NOT NULL);
INSERT INTO ratings (account_id, score, note, genre, in_reply_to_user_id, rated_at)
SELECT a, CASE WHEN a = 1 THEN 900 + g % 50 ELSE 1 + g % 5 END,
       CASE WHEN a = 1 THEN repeat('y', 200 + g % 10) ELSE repeat('x', 1 + g % 20) END,
       CASE WHEN a = 1 THEN 'solo' ELSE (ARRAY['drama', 'comedy'])[1 + g % 2] END::genre,
       1000 + (a * 7 + g) % 500,
       timestamptz '2026-12-02 12:00:00+00' - (g % 29) * interval '1 day'
         - ((CASE WHEN a = 1 THEN 9 ELSE g % 6 END) * interval '1 hour')
  FROM generate_series(1, 3) a, generate_series(1, 400) g;
INSERT INTO ratings (account_id, score, note, genre, in_reply_to_user_id, rated_at)
SELECT a, 1 + (a + g) % 5, repeat('x', 1 + (a + g) % 20),
       (ARRAY['drama', 'comedy', 'horror'])[1 + (a + g) % 3]::genre,
       1000 + (a * 7 + g) % 500,
       timestamptz '2026-12-02 12:00:00+00' - ((a + g * 5) % 29) * interval '1 day'
         - (((a + g) % 6) * interval '1 hour')
  FROM generate_series(4, 40) a, generate_series(1, 4) g;
CREATE TABLE diary (id bigint PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts,
                    body text NOT NULL, written_at timestamptz NOT NULL);
INSERT INTO diary SELECT g, 1, repeat('d', g), timestamptz '2026-12-02 12:00:00+00' - g * interval '5 hours'
  FROM generate_series(1, 50) g;
CREATE TABLE badges (id bigint PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts);
INSERT INTO badges SELECT g, 1 + g % 37 FROM generate_series(1, 370) g;
CREATE TABLE stations (id bigint PRIMARY KEY, temp integer NOT NULL);
INSERT INTO stations SELECT g, g % 17 FROM generate_series(1, 30) g;
";

fn people(c: &mut postgres::Client, sql: &str) -> i64 {
    c.query_one(sql, &[]).unwrap().get(0)
}

/// `lo ≤ x < hi` of a bin (`None` open) as SQL.
fn within(x: &str, lo: Option<f64>, hi: Option<f64>) -> String {
    let lo = lo.map_or("true".into(), |l| format!("{x} >= {l}"));
    let hi = hi.map_or("true".into(), |h| format!("{x} < {h}"));
    format!("{lo} AND {hi}")
}

#[test]
fn no_exported_figure_rests_on_fewer_than_k_people() {
    let db = TestDb::new("sampler_people");
    db.client().batch_execute(RATINGS).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p.json");
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("ANONYMIZATION_SALT", SALT),
    ];
    run_ok(
        "pgshape-sampler",
        &["extract", "--no-dp", "--output", out.to_str().unwrap()],
        &env,
    );
    let pack: Pack = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let k = pack.privacy.k_min as i64;
    let mut c = db.client();
    let t = &pack.tables["public.ratings"];
    assert_eq!(
        t.privacy_unit.as_deref(),
        Some("public.accounts via ratings_account_id_fkey")
    );
    assert!(t.min_people.unwrap() >= k as u64, "{:?}", t.min_people);

    // Fan-out zero fraction: 3 of 40 accounts have no badge, fewer than k people: the
    // fraction does not count them (0.075 would say "3 accounts").
    let badges = pack
        .edges
        .iter()
        .find(|e| e.child == "public.badges")
        .unwrap();
    let without: i64 = people(
        &mut c,
        "SELECT count(*) FROM accounts a WHERE NOT EXISTS (SELECT 1 FROM badges b WHERE b.account_id = a.id)",
    );
    assert!(without > 0 && without < k, "{without}");
    assert_eq!(badges.zero_fraction, 0.0, "{badges:?}");

    // Categories: 'solo' is one person's 400 rows.
    let genres = t.columns["genre"].categories.as_ref().unwrap();
    assert!(!genres.counts.contains_key("solo"), "{genres:?}");
    for (label, n) in &genres.counts {
        let (rows, who) = (
            people(
                &mut c,
                &format!("SELECT count(*) FROM ratings WHERE genre = '{label}'"),
            ),
            people(
                &mut c,
                &format!("SELECT count(DISTINCT account_id) FROM ratings WHERE genre = '{label}'"),
            ),
        );
        assert_eq!(rows as u64, *n);
        assert!(who >= k, "{label}: {who} people");
    }

    // Hourly cells, each by SQL; then the subtraction: all rows minus the exported hours.
    let hourly = t.columns["rated_at"].hourly.as_ref().unwrap();
    for (h, n) in hourly.iter().enumerate() {
        let cond = format!("extract(hour FROM rated_at AT TIME ZONE 'UTC') = {h}");
        if let Some(n) = n {
            assert_eq!(
                *n as i64,
                people(
                    &mut c,
                    &format!("SELECT count(*) FROM ratings WHERE {cond}")
                )
            );
            let who = people(
                &mut c,
                &format!("SELECT count(DISTINCT account_id) FROM ratings WHERE {cond}"),
            );
            assert!(who >= k, "hour {h}: {who} people");
        }
    }
    assert!(hourly[3].is_none(), "hour 03 is one person's: {hourly:?}");
    let exported: Vec<String> = (0..24)
        .filter(|h| hourly[*h].is_some())
        .map(|h| h.to_string())
        .collect();
    let hidden = format!(
        "extract(hour FROM rated_at AT TIME ZONE 'UTC') NOT IN ({})",
        exported.join(", ")
    );
    let rest = t.total_rows as i64 - hourly.iter().flatten().sum::<u64>() as i64;
    assert_eq!(
        rest,
        people(
            &mut c,
            &format!("SELECT count(*) FROM ratings WHERE {hidden}")
        )
    );
    let who = people(
        &mut c,
        &format!("SELECT count(DISTINCT account_id) FROM ratings WHERE {hidden}"),
    );
    assert!(
        rest == 0 || who >= k,
        "the subtraction reveals {rest} rows of {who} people"
    );
    // The same for the categories: non-null rows minus the listed ones.
    let listed: u64 = genres.counts.values().sum();
    let rest = t.total_rows - listed;
    let names: Vec<String> = genres.counts.keys().map(|l| format!("'{l}'")).collect();
    let who = people(
        &mut c,
        &format!(
            "SELECT count(DISTINCT account_id) FROM ratings WHERE genre NOT IN ({})",
            names.join(", ")
        ),
    );
    assert!(
        rest == 0 || who >= k,
        "the categories' remainder: {rest} rows of {who} people"
    );
    assert_eq!(genres.suppressed_categories % k as u64, 0, "banded");

    // Daily: coarsened until each non-empty cell holds k people.
    let rated = &t.columns["rated_at"];
    let days = rated.daily_days.unwrap_or(1) as i64;
    assert!(
        days > 1,
        "37 light raters spread over 29 days are too few per day"
    );
    for (i, n) in rated.daily.as_ref().unwrap().iter().enumerate() {
        let Some(n) = n else { continue };
        let cond = format!(
            "rated_at >= date_trunc('day', timestamptz '{start}' AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + interval '{a} days'
             AND rated_at < date_trunc('day', timestamptz '{start}' AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + interval '{b} days'
             AND rated_at >= timestamptz '{start}' AND rated_at < timestamptz '{end}'",
            start = pack.window.start, end = pack.window.end, a = i as i64 * days, b = (i as i64 + 1) * days
        );
        assert_eq!(
            *n as i64,
            people(
                &mut c,
                &format!("SELECT count(*) FROM ratings WHERE {cond}")
            ),
            "cell {i}"
        );
        let who = people(
            &mut c,
            &format!("SELECT count(DISTINCT account_id) FROM ratings WHERE {cond}"),
        );
        assert!(who >= k, "cell {i}: {who} people");
    }

    // Scores: bins and quantiles; account 1's 900s are nobody else's.
    let score = t.columns["score"].number.as_ref().unwrap();
    for b in &score.histogram {
        let who = people(
            &mut c,
            &format!(
                "SELECT count(DISTINCT account_id) FROM ratings WHERE {}",
                within("score", b.lo, b.hi)
            ),
        );
        assert!(who >= k, "{b:?}: {who} people");
    }
    for (name, q) in &score.quantiles {
        let Some(q) = q else { continue };
        for side in ["<=", ">="] {
            let who = people(
                &mut c,
                &format!("SELECT count(DISTINCT account_id) FROM ratings WHERE score {side} {q}"),
            );
            assert!(who >= k, "{name} = {q}: {who} people {side}");
        }
    }
    assert!(score.quantiles["p99"].is_none(), "{score:?}");
    // Note lengths.
    let note = t.columns["note"].length.as_ref().unwrap();
    for b in &note.histogram {
        let hi = b.hi.map(|h| h as f64 + 1.0);
        let who = people(
            &mut c,
            &format!(
                "SELECT count(DISTINCT account_id) FROM ratings WHERE {}",
                within("length(note)", Some(b.lo as f64), hi)
            ),
        );
        assert!(who >= k, "{b:?}: {who} people");
    }

    // Ratings per account: 3 accounts have 400, so p95 and above are nobody's.
    let edge = pack
        .edges
        .iter()
        .find(|e| e.child == "public.ratings")
        .unwrap();
    for (name, q) in &edge.quantiles {
        let Some(q) = q else { continue };
        for side in ["<=", ">="] {
            let who = people(&mut c, &format!("SELECT count(*) FROM (SELECT account_id FROM ratings GROUP BY 1 HAVING count(*) {side} {q}) s"));
            assert!(who >= k, "{name} = {q}: {who} accounts {side}");
        }
    }
    assert!(edge.quantiles["p95"].is_none(), "{:?}", edge.quantiles);
    for b in &edge.histogram {
        let hi = b.hi.map_or(String::new(), |h| format!(" AND n <= {h}"));
        let who = people(&mut c, &format!("SELECT count(*) FROM (SELECT a.id, count(r.id) AS n FROM accounts a LEFT JOIN ratings r ON r.account_id = a.id GROUP BY 1) s WHERE n >= {}{hi}", b.lo));
        assert!(who >= k, "{b:?}: {who} accounts");
    }

    // An identifier without a foreign key: no quantiles, no histogram.
    let reply = &t.columns["in_reply_to_user_id"];
    assert_eq!(reply.role, "other");
    assert!(reply.number.is_none() && reply.hourly.is_none());

    // One person's table: its schema and a row-count band, no profile, no edge.
    let diary = &pack.tables["public.diary"];
    assert_eq!(diary.count_method, "band");
    assert!(
        diary.columns.is_empty() && diary.window_rows.is_none(),
        "{diary:?}"
    );
    assert_eq!(diary.total_rows, 50);
    assert!(pack.edges.iter().all(|e| e.child != "public.diary"));
    assert!(pack.schema.tables.iter().any(|t| t.name == "diary"));

    // inspect says who each table's people are; report the fewest people per table.
    let inspect = run_ok("pgshape-sampler", &["inspect"], &env[..1]);
    assert!(
        inspect.contains("| public.ratings | public.accounts via ratings_account_id_fkey |"),
        "{inspect}"
    );
    assert!(
        inspect.contains("| public.accounts | public.accounts (itself) |"),
        "{inspect}"
    );
    assert!(
        inspect.contains("| public.stations | rows (no path to a table with PII) |"),
        "{inspect}"
    );
    assert!(
        inspect.contains("| in_reply_to_user_id | bigint | other (identifier-like name) |"),
        "{inspect}"
    );
    let report = run_ok("pgshape-sampler", &["report", out.to_str().unwrap()], &[]);
    assert!(
        report.contains(
            "| public.diary | public.accounts via diary_account_id_fkey | band: fewer than"
        ),
        "{report}"
    );
}
