//! The differencing attack of issue 13 against a real PostgreSQL: two databases one person
//! apart, extracted again and again. With DP on, the difference of the packs' row counts is
//! as noisy as the pack's recorded mechanism says (its variance within a wide band of the
//! discrete Laplace variance at the recorded ε and bounds) and the person's exact row count
//! comes out no more often than the mechanism allows; with `--no-dp` the same statistics see
//! the person every time (checked here too, so the test can fail).

use pgshape_core::pack::Pack;
use pgshape_e2e::{run, run_ok, TestDb};
use pgshape_sampler::dp::mechanism::{exact_probability, variance};
use pgshape_sampler::volume;

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

/// The person's rows, and each of the 100 others'.
const PERSON_ROWS: u64 = 10;
const BASE_ROWS: u64 = 6;
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
        "--now",
        "2026-12-02T12:00:00Z",
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
/// records: the counts family's ε over one release per table, of which the count's part
/// (`pgshape_sampler::volume`), at the sensitivity of the recorded count clip (the figures
/// read at most `MAX_ROWS`), with the in-window count.
fn recorded_scale(p: &Pack) -> f64 {
    let dp = p.privacy.dp.as_ref().expect("a DP pack records its noise");
    assert_eq!(dp.mechanism, "discrete_laplace");
    assert_eq!(dp.bounds.max_rows_per_unit, MAX_ROWS);
    let events = &p.tables["public.events"];
    let clip = events
        .count_clip
        .expect("a clipped table records its count's clip");
    let per_release = dp.split["counts"] / p.tables.len() as f64 * volume::COUNT_PART;
    let windowed = events.window_column.is_some();
    volume::count_sensitivity(clip, clip.min(MAX_ROWS), windowed) as f64 / per_release
}

/// What the person adds to the events count of B over A, at each pack's clip: every person
/// counts up to the clip.
fn contribution(pa: &Pack, pb: &Pack) -> f64 {
    let clip = |p: &Pack| p.tables["public.events"].count_clip.unwrap();
    let (ca, cb) = (clip(pa), clip(pb));
    (100 * BASE_ROWS.min(cb) + PERSON_ROWS.min(cb)) as f64 - (100 * BASE_ROWS.min(ca)) as f64
}

/// Whether the standardised differences `z` ((B − A − contribution) over the standard
/// deviation of the two releases' noise) look like noise: their variance within [0.15, 5]
/// (30 draws of a heavy-tailed variable: a wide band), their mean within 5 standard errors
/// of 0.
fn consistent_with_noise(z: &[f64]) -> bool {
    let n = z.len() as f64;
    let mean = z.iter().sum::<f64>() / n;
    let var = z.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
    eprintln!("standardised differences: mean {mean:.2}, variance {var:.2} (noise: 0 and 1)");
    (0.15..=5.0).contains(&var) && mean.abs() <= 5.0 / n.sqrt()
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

    let (mut diffs, mut z) = (Vec::new(), Vec::new());
    let mut least_scale = f64::INFINITY;
    let mut sd = 0.0;
    for i in 0..RUNS {
        let (pa, pb) = (
            extract(&a, dir.path(), i, true),
            extract(&b, dir.path(), i, true),
        );
        // The clip is chosen from noisy bins (crate::volume): the noise of the empty ones
        // makes it leap (and drown the count) at about 3e-8, so the table is counted in every pack.
        for p in [&pa, &pb] {
            assert_eq!(p.tables["public.events"].count_method, "noisy", "run {i}");
        }
        let (sa, sb) = (recorded_scale(&pa), recorded_scale(&pb));
        least_scale = least_scale.min(sa).min(sb);
        sd = (variance(sa) + variance(sb)).sqrt();
        let d = events_rows(&pb) - events_rows(&pa);
        diffs.push(d);
        z.push((d - contribution(&pa, &pb)) / sd);
    }
    assert!(consistent_with_noise(&z), "{diffs:?} ({z:?})");
    let exact = diffs.iter().filter(|&&d| d == PERSON_ROWS as f64).count();
    assert!(
        exact <= allowed_exact(z.len(), least_scale),
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
    let plain_z: Vec<f64> = plain
        .iter()
        .map(|d| (d - PERSON_ROWS as f64) / sd)
        .collect();
    assert!(!consistent_with_noise(&plain_z));
    assert!(plain.len() > allowed_exact(plain.len(), least_scale));
}

/// 136 people, 100 of them with 4 events each, none at 03 UTC.
const HOURS_BASE: &str = "
CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL);
INSERT INTO accounts SELECT g, 'member' || g || '@example.com' FROM generate_series(1, 136) g;
CREATE TABLE events (id bigserial PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts,
                     happened_at timestamptz NOT NULL);
INSERT INTO events (account_id, happened_at)
SELECT a, timestamptz '2026-12-02 00:00:00+00' - (g % 30) * interval '1 day'
          + (6 + (a * 5 + g * 7) % 18) * interval '1 hour'
  FROM generate_series(1, 100) a, generate_series(1, 4) g;
";

/// The 03 UTC cell: 36 events of 9 people (4 each: fewer than k = 10 people), or of 36
/// people (one each). The same rows after the clip of 4 rows a person.
const FEW_AT_THREE: &str = "
INSERT INTO events (account_id, happened_at)
SELECT 100 + p, timestamptz '2026-12-01 03:00:00+00' - (p * 4 + g) * interval '1 day'
  FROM generate_series(1, 9) p, generate_series(1, 4) g;
";
const MANY_AT_THREE: &str = "
INSERT INTO events (account_id, happened_at)
SELECT 100 + p, timestamptz '2026-12-01 03:00:00+00' - p * interval '1 day'
  FROM generate_series(1, 36) p;
";

/// Whether the events' hourly profile shows the 03 UTC cell.
fn shows_three(p: &Pack) -> bool {
    let events = p.tables["public.events"].columns.get("happened_at");
    events
        .and_then(|c| c.hourly.as_ref())
        .is_some_and(|h| h[3].is_some())
}

#[test]
fn under_dp_which_cells_leave_follows_the_released_rows_not_the_exact_people() {
    // With `--no-dp` the 03 UTC cell of 36 events leaves when 36 people hold them and not
    // when 9 do: the suppression pattern tells the people apart. Under DP the decision is
    // made on the noisy rows (crate::dp::people), the same in both databases, so the cell
    // leaves about as often in both.
    let (few, many) = (TestDb::new("dp_cells_few"), TestDb::new("dp_cells_many"));
    few.client().batch_execute(HOURS_BASE).unwrap();
    many.client().batch_execute(HOURS_BASE).unwrap();
    few.client().batch_execute(FEW_AT_THREE).unwrap();
    many.client().batch_execute(MANY_AT_THREE).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (pf, pm) = (
        extract(&few, dir.path(), 0, false),
        extract(&many, dir.path(), 0, false),
    );
    assert!(
        !shows_three(&pf) && shows_three(&pm),
        "the k rule by people"
    );

    let runs = 30;
    let (mut shown_few, mut shown_many, mut measured) = (0usize, 0usize, 0usize);
    for i in 1..=runs {
        let (pf, pm) = (
            extract(&few, dir.path(), i, true),
            extract(&many, dir.path(), i, true),
        );
        // The events table is counted in every pack (the clip never leaps: crate::volume);
        // its profile of 24 hours in nearly every one (the noise may, rarely, hide it).
        for p in [&pf, &pm] {
            assert_eq!(p.tables["public.events"].count_method, "noisy", "run {i}");
            let hourly = p.tables["public.events"]
                .columns
                .get("happened_at")
                .and_then(|c| c.hourly.as_ref());
            measured += usize::from(hourly.is_some_and(|h| h.len() == 24));
        }
        shown_few += usize::from(shows_three(&pf));
        shown_many += usize::from(shows_three(&pm));
    }
    assert!(
        measured >= 2 * runs * 9 / 10,
        "the hourly profile in {measured} of {} packs",
        2 * runs
    );
    // Two draws of the same Bernoulli: their shares within 4 standard errors (and one run).
    let p = (shown_few + shown_many) as f64 / (2 * runs) as f64;
    let se = (2.0 * p * (1.0 - p) / runs as f64).sqrt();
    let gap = (shown_few as f64 - shown_many as f64).abs() / runs as f64;
    eprintln!("03 UTC shown: {shown_few} of {runs} (9 people), {shown_many} of {runs} (36 people)");
    assert!(
        gap <= 4.0 * se + 1.0 / runs as f64,
        "the cell left {shown_few} of {runs} times for 9 people and {shown_many} for 36: the pattern follows the exact people"
    );
}

/// Groups owned by people, and posts by people in anyone's groups: the added author writes 3
/// posts in each of 40 groups, the 40 owners one post in their own group and one in the next.
const POSTS: &str = "
CREATE TABLE person (id bigint PRIMARY KEY, email text NOT NULL);
INSERT INTO person SELECT g, 'p' || g || '@example.com' FROM generate_series(1, 41) g;
CREATE TABLE groups (id bigint PRIMARY KEY, owner_id bigint NOT NULL REFERENCES person);
INSERT INTO groups SELECT g, g FROM generate_series(1, 40) g;
CREATE TABLE posts (id bigserial PRIMARY KEY, group_id bigint NOT NULL REFERENCES groups,
                    author_id bigint NOT NULL REFERENCES person);
INSERT INTO posts (group_id, author_id) SELECT g, g FROM generate_series(1, 40) g;
INSERT INTO posts (group_id, author_id) SELECT 1 + g % 40, g FROM generate_series(1, 40) g;
INSERT INTO posts (group_id, author_id) SELECT g, 41 FROM generate_series(1, 40) g, generate_series(1, 3);
";

#[test]
fn a_fan_out_counts_a_childs_person_under_at_most_m_parents_with_all_their_rows_there() {
    use pgshape_core::catalog::ForeignKey;
    use pgshape_sampler::fanout::{children, Spread};
    use pgshape_sampler::unit::Unit;

    let db = TestDb::new("dp_fanout_spread");
    let mut client = db.client();
    client.batch_execute(POSTS).unwrap();
    let fk = |name: &str, column: &str, parent: &str| ForeignKey {
        name: name.into(),
        columns: vec![column.into()],
        ref_schema: "public".into(),
        ref_table: parent.into(),
        ref_columns: vec!["id".into()],
        deferrable: false,
    };
    let person = |path: Vec<ForeignKey>| Unit::Table {
        table: "public.person".into(),
        path,
        key: vec!["id".into()],
        nullable: false,
    };
    let by_group = fk("posts_group_id_fkey", "group_id", "groups");
    let posts_unit = person(vec![fk("posts_author_id_fkey", "author_id", "person")]);
    let groups_unit = person(vec![fk("groups_owner_id_fkey", "owner_id", "person")]);
    let spread = Spread::of(&by_group, &posts_unit, Some(&groups_unit), 4);
    assert!(matches!(spread, Spread::Clipped { m: 4, .. }), "{spread:?}");
    let rel = children("public.posts", &by_group, Some(&spread));
    let mut drawn = std::collections::BTreeSet::new();
    for _ in 0..6 {
        let rows = client
            .query(
                &format!(
                    "SELECT author_id, count(DISTINCT group_id), count(*), array_agg(DISTINCT group_id ORDER BY group_id)
                       FROM {rel} c GROUP BY author_id ORDER BY author_id"
                ),
                &[],
            )
            .unwrap();
        assert_eq!(rows.len(), 41, "every author keeps some rows");
        for r in &rows {
            let (author, parents, n): (i64, i64, i64) = (r.get(0), r.get(1), r.get(2));
            if author == 41 {
                assert_eq!((parents, n), (4, 12), "4 groups, every post there");
                drawn.insert(r.get::<_, Vec<i64>>(3));
            } else {
                assert_eq!((parents, n), (2, 2), "an author within m keeps every row");
            }
        }
    }
    assert!(
        drawn.len() > 1,
        "the groups kept are drawn at random: {drawn:?}"
    );
}
