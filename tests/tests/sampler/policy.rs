//! `--policy FILE`: roles, window columns and allow-listed labels override detection, in the
//! pack and in `inspect`; a bad policy fails naming the file and the JSON path, writing nothing.

use pgshape_core::pack::Pack;
use pgshape_e2e::{run, run_ok, TestDb};

use super::SALT;

const TICKETS: &str = "
CREATE TABLE tickets (id bigint PRIMARY KEY, note text, kind text NOT NULL, secret text,
                      opened timestamptz NOT NULL, closed timestamptz, created_at timestamptz NOT NULL);
INSERT INTO tickets
SELECT g, 'see ticket ' || g, (ARRAY['alpha', 'beta', 'gamma', 'delta'])[1 + g % 4] || CASE WHEN g % 97 = 0 THEN '-rare' ELSE '' END,
       md5(g::text), timestamptz '2026-12-02 12:00:00+00' - g * interval '1 hour', CASE WHEN g % 3 = 0 THEN timestamptz '2026-12-02 12:00:00+00' - g * interval '10 minutes' END,
       timestamptz '2026-12-02 12:00:00+00' - interval '400 days'
  FROM generate_series(1, 600) g;
";

const POLICY: &str = r#"{
  "policy_version": 1,
  "tables": {
    "public.tickets": {
      "window_column": "closed",
      "columns": {
        "note": {"role": "pii"},
        "secret": {"role": "skip"},
        "kind": {"role": "categorical", "labels": ["alpha", "beta"]}
      }
    }
  }
}
"#;

#[test]
fn a_policy_overrides_roles_window_and_labels_in_the_pack_and_in_inspect() {
    let db = TestDb::new("sampler_policy");
    db.client().batch_execute(TICKETS).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.json");
    std::fs::write(&policy, POLICY).unwrap();
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("ANONYMIZATION_SALT", SALT),
    ];

    // Without the policy: detection decides (created_at is the window, note is text).
    let plain = dir.path().join("plain.json");
    run_ok(
        "pgshape-sampler",
        &["extract", "--no-dp", "--output", plain.to_str().unwrap()],
        &env,
    );
    let pack: Pack = serde_json::from_slice(&std::fs::read(&plain).unwrap()).unwrap();
    let t = &pack.tables["public.tickets"];
    assert_eq!(t.window_column.as_deref(), Some("created_at"));
    assert_eq!(t.columns["note"].role, "text");
    assert_eq!(t.columns["secret"].role, "text");
    assert!(!t.columns["kind"].categories.as_ref().unwrap().labels);

    let out = dir.path().join("policy-pack.json");
    let pol = policy.to_str().unwrap();
    run_ok(
        "pgshape-sampler",
        &[
            "extract",
            "--no-dp",
            "--output",
            out.to_str().unwrap(),
            "--policy",
            pol,
        ],
        &env,
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let pack: Pack = serde_json::from_str(&text).unwrap();
    let t = &pack.tables["public.tickets"];
    assert_eq!(t.window_column.as_deref(), Some("closed"));
    let in_window: i64 = db
        .client()
        .query_one(
            "SELECT count(*) FROM tickets WHERE closed >= $1::text::timestamptz AND closed < $2::text::timestamptz",
            &[&pack.window.start, &pack.window.end],
        )
        .unwrap()
        .get(0);
    assert_eq!(t.window_rows, Some(in_window as u64));
    assert_eq!(t.columns["note"].role, "pii");
    assert!(t.columns["note"].length.is_some() && t.columns["note"].categories.is_none());
    assert!(
        !t.columns.contains_key("secret"),
        "a skipped column is not read"
    );
    let kind = t.columns["kind"].categories.as_ref().unwrap();
    // 600 rows over four labels, 6 of them (every 97th) renamed to rare labels.
    assert_eq!(kind.counts.get("alpha"), Some(&149), "{kind:?}");
    // The rare labels rest on one or two people each: suppressed, and with them the smallest
    // listed label (beta, 148 rows; gamma's 148 is a token), so subtracting the listed counts
    // from the column's total reveals no one.
    assert_eq!(kind.counts.get("beta"), None, "{kind:?}");
    assert_eq!(
        (kind.suppressed_rows, kind.suppressed_categories),
        (150, 10),
        "{kind:?}"
    );
    assert!(
        !text.contains("gamma") && !text.contains("delta"),
        "labels not allow-listed stay tokens"
    );
    assert_eq!(
        kind.counts
            .keys()
            .filter(|k| pgshape_core::token::is_token(k))
            .count(),
        2
    );
    assert_eq!(
        kind.suppressed_categories, 10,
        "the four rare labels and beta, banded up to a multiple of k"
    );
    assert!(!kind.labels, "mixed labels and tokens");
    let out = run("pgshape-sampler", &["validate", out.to_str().unwrap()], &[]);
    pgshape_e2e::assert_only_the_no_dp_finding(&out);

    // inspect shows the same decisions.
    let table = run_ok("pgshape-sampler", &["inspect", "--policy", pol], &env);
    let line = |col: &str| {
        table
            .lines()
            .find(|l| l.starts_with(&format!("| public.tickets | {col} |")))
            .unwrap_or_else(|| panic!("{col} in:\n{table}"))
            .to_string()
    };
    assert!(line("note").contains("| pii |"), "{}", line("note"));
    assert!(
        line("secret").contains("| skip | nothing"),
        "{}",
        line("secret")
    );
    assert!(
        line("closed").contains("| timestamp (window) |"),
        "{}",
        line("closed")
    );
    assert!(
        line("created_at").contains("| timestamp |"),
        "{}",
        line("created_at")
    );
    assert!(
        line("kind").contains("2 allow-listed label(s)"),
        "{}",
        line("kind")
    );
}

#[test]
fn a_bad_policy_names_the_file_and_the_json_path_and_writes_nothing() {
    let db = TestDb::new("sampler_badpolicy");
    db.client().batch_execute(TICKETS).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (r#"{"policy_version": 1, "tables": {"public.tickets": {"columns": {"note": {"rol": "pii"}}}}}"#,
         "at $.tables.public.tickets.columns.note.rol: unknown field `rol`"),
        (r#"{"policy_version": 1, "tables": {"public.tickets": {"columns": {"nope": {"role": "pii"}}}}}"#,
         "at $.tables.public.tickets.columns.nope: no such column in public.tickets"),
        (r#"{"policy_version": 1, "tables": {"public.tickets": {"columns": {"note": {"role": "number"}}}}}"#,
         "at $.tables.public.tickets.columns.note.role: the column's type (text) cannot have this role"),
        (r#"{"policy_version": 1, "tables": {"public.tickets": {"window_column": "kind"}}}"#,
         "at $.tables.public.tickets.window_column: the window column must be a timestamp"),
        (r#"{"policy_version": 1, "tables": {"tickets": {}}}"#, "at $.tables.tickets: no such table"),
    ];
    for (i, (json, want)) in cases.iter().enumerate() {
        let policy = dir.path().join(format!("bad{i}.json"));
        std::fs::write(&policy, json).unwrap();
        let pack = dir.path().join("out.json");
        let out = run(
            "pgshape-sampler",
            &[
                "extract",
                "--no-dp",
                "--output",
                pack.to_str().unwrap(),
                "--policy",
                policy.to_str().unwrap(),
            ],
            &[("DATABASE_URL", &db.url), ("ANONYMIZATION_SALT", SALT)],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(&format!("bad{i}.json: {want}")), "{stderr}");
        assert!(!pack.exists(), "nothing written");
    }
}
