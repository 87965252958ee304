//! The loader against the sandbox: exact loads, reproducible server-side hashes, resume after
//! SIGKILL, the production guard, refusal of foreign rows, and teardown back to the catalog the
//! target had before.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use pgshape_e2e::{bin, read_report, run, run_ok, TestDb};

const SPEC: &str = "specs/chat/spec.json";

fn generate(dir: &Path, seed: &str) {
    run_ok(
        "pgshape-generator",
        &[
            "generate",
            "--spec",
            SPEC,
            "--band",
            "ci",
            "--seed",
            seed,
            "--output",
            dir.to_str().unwrap(),
        ],
        &[],
    );
}

fn load_args<'a>(dataset: &'a str, metadata: &'a str) -> Vec<&'a str> {
    vec![
        "load",
        "--dataset",
        dataset,
        "--schema",
        "synth",
        "--create-schema",
        "--environment",
        "ci",
        "--metadata-dir",
        metadata,
    ]
}

/// The hashes the run recorded, from `_pgshape.runs`.
fn recorded_hashes(db: &TestDb) -> serde_json::Value {
    recorded(db, "hashes")
}

/// A field of the newest run's record (of its `result`, except `status`).
fn recorded(db: &TestDb, field: &str) -> serde_json::Value {
    let path: Vec<&str> = if field == "status" {
        vec![field]
    } else {
        vec!["result", field]
    };
    db.client()
        .query_one(
            "SELECT record #> $1 FROM _pgshape.runs ORDER BY started_at DESC LIMIT 1",
            &[&path],
        )
        .unwrap()
        .get(0)
}

/// What `pgshape-generator hash` prints for the ci band and `seed`: table → content hash.
fn generator_hashes(seed: &str) -> serde_json::Value {
    let out = run_ok(
        "pgshape-generator",
        &["hash", "--spec", SPEC, "--band", "ci", "--seed", seed],
        &[],
    );
    out.lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 3, "`table rows hash`: {l}");
            (f[0].to_string(), serde_json::Value::from(f[2]))
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// Relations, types and schemas of the database (what teardown must restore).
fn catalog(db: &TestDb) -> Vec<String> {
    db.client()
        .query(
            "SELECT n.nspname::text || '.' || c.relname::text || ':' || c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
             UNION ALL SELECT 'schema:' || nspname::text FROM pg_namespace
             UNION ALL SELECT n.nspname::text || '.' || t.typname::text FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
              WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
             ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[test]
fn a_ci_load_is_exact_and_reproducible_and_teardown_restores_the_catalog() {
    let work = tempfile::tempdir().unwrap();
    let ds = work.path().join("ds");
    generate(&ds, "loader-test");
    let meta = work.path().join("meta");
    let (a, b) = (TestDb::new("loader_a"), TestDb::new("loader_b"));
    a.client()
        .batch_execute("CREATE TABLE keep_me (x int); INSERT INTO keep_me VALUES (1);")
        .unwrap();
    let before = catalog(&a);

    for db in [&a, &b] {
        let out = run_ok(
            "pgshape-loader",
            &load_args(ds.to_str().unwrap(), meta.to_str().unwrap()),
            &[("DATABASE_URL", &db.url)],
        );
        assert!(
            out.contains("✓ All referential integrity constraints satisfied"),
            "{out}"
        );
    }
    // The same dataset gives the same server-side hashes in two databases.
    assert_eq!(recorded_hashes(&a), recorded_hashes(&b));
    assert!(recorded_hashes(&a)["messages"]["rows_hash"].is_string());
    assert_eq!(recorded_hashes(&a)["messages"]["method"], "record");
    // The content hashes recomputed from the ledger (hashes of the bytes sent) are the
    // generator's for the same spec, band and seed.
    let expected = generator_hashes("loader-test");
    assert_eq!(expected.as_object().unwrap().len(), 6);
    assert_eq!(recorded(&a, "content_hashes"), expected);
    assert_eq!(recorded(&b, "content_hashes"), expected);
    let out = run_ok("pgshape-loader", &["verify"], &[("DATABASE_URL", &a.url)]);
    assert!(
        out.contains("rows, content hashes, server-side hashes and 9 foreign keys verified"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "✓ messages: content hash {} (ledger) = the report's",
            expected["messages"].as_str().unwrap()
        )),
        "{out}"
    );
    // Constraints and indexes are back after the load.
    let idx: i64 = a
        .client()
        .query_one(
            "SELECT count(*) FROM pg_indexes WHERE schemaname = 'synth'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(
        idx,
        9 + 6 + 2,
        "9 secondary indexes, 6 primary keys, 2 unique keys"
    );
    assert_eq!(
        std::fs::read_dir(&meta).unwrap().count(),
        2,
        "one run record per load"
    );

    // A changed row is caught by verify.
    a.client()
        .batch_execute("UPDATE synth.messages SET content = content || 'x' WHERE id = 7")
        .unwrap();
    let out = run("pgshape-loader", &["verify"], &[("DATABASE_URL", &a.url)]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("✗ messages: server hashes changed since the load"),
        "{stdout}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("server hashes of messages"));

    run_ok(
        "pgshape-loader",
        &["teardown", "--no-confirm"],
        &[("DATABASE_URL", &a.url)],
    );
    assert_eq!(catalog(&a), before, "teardown leaves the catalog as it was");
    let kept: i64 = a
        .client()
        .query_one("SELECT count(*) FROM keep_me", &[])
        .unwrap()
        .get(0);
    assert_eq!(kept, 1);
}

#[test]
fn production_is_refused_and_nothing_is_written() {
    let work = tempfile::tempdir().unwrap();
    let ds = work.path().join("ds");
    generate(&ds, "guard");
    let db = TestDb::new("loader_guard");
    let before = catalog(&db);
    for env in ["production", "prod", ""] {
        let mut args = vec!["load", "--dataset", ds.to_str().unwrap(), "--create-schema"];
        if !env.is_empty() {
            args.extend(["--environment", env]);
        }
        let out = Command::new(bin("pgshape-loader"))
            .args(&args)
            .env("DATABASE_URL", &db.url)
            .env_remove("PGSHAPE_ENV")
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(4),
            "{env}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("refusing to write"));
    }
    assert_eq!(catalog(&db), before);
}

#[test]
fn foreign_rows_are_refused() {
    let work = tempfile::tempdir().unwrap();
    let ds = work.path().join("ds");
    generate(&ds, "foreign");
    let db = TestDb::new("loader_foreign");
    let ddl = std::fs::read_to_string(ds.join("schema.sql")).unwrap();
    db.client()
        .batch_execute(&format!(
            "CREATE SCHEMA synth; SET search_path = synth; {ddl}"
        ))
        .unwrap();
    db.client()
        .batch_execute("INSERT INTO synth.users VALUES (1, now(), 'h', 'n', 'e', 'c', NULL, now())")
        .unwrap();
    // A ledger as an older loader made it, without the chunks' hash column.
    db.client()
        .batch_execute(
            "CREATE SCHEMA _pgshape;
             CREATE TABLE _pgshape.runs (run_id text PRIMARY KEY, started_at timestamptz NOT NULL DEFAULT now(),
                 finished_at timestamptz, status text NOT NULL, target_schema text NOT NULL,
                 report_sha256 text NOT NULL, record jsonb NOT NULL);
             CREATE TABLE _pgshape.chunks (run_id text NOT NULL REFERENCES _pgshape.runs ON DELETE CASCADE,
                 table_name text NOT NULL, chunk_index integer NOT NULL, rows bigint NOT NULL,
                 loaded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
                 PRIMARY KEY (run_id, table_name, chunk_index));",
        )
        .unwrap();
    let out = run(
        "pgshape-loader",
        &load_args(
            ds.to_str().unwrap(),
            work.path().join("m").to_str().unwrap(),
        ),
        &[("DATABASE_URL", &db.url)],
    );
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("already hold rows"));
    let has_hash: bool = db
        .client()
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM information_schema.columns
                             WHERE table_schema = '_pgshape' AND table_name = 'chunks' AND column_name = 'hash')",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(has_hash, "an older ledger gets the chunks' hash column");
}

#[test]
fn a_killed_load_resumes_to_the_same_hashes() {
    let work = tempfile::tempdir().unwrap();
    let meta = work.path().join("meta");
    // Streaming from the spec with one job: slow enough to be killed in the middle.
    let stream = [
        "load",
        "--spec",
        SPEC,
        "--band",
        "ci",
        "--seed",
        "resume",
        "--schema",
        "synth",
        "--create-schema",
        "--environment",
        "ci",
        "--jobs",
        "1",
    ];
    let clean = TestDb::new("loader_clean");
    let mut args = stream.to_vec();
    args.extend(["--metadata-dir", meta.to_str().unwrap()]);
    run_ok("pgshape-loader", &args, &[("DATABASE_URL", &clean.url)]);
    // Streaming: the content hashes of the bytes sent are what `pgshape-generator hash` prints.
    assert_eq!(
        recorded(&clean, "content_hashes"),
        generator_hashes("resume")
    );

    let mut resumed_mid_way = false;
    // Kill points by progress, not by time (machines differ): right away, and once the ledger
    // holds 2 and 6 of the ~30 chunks — in the middle of the next chunk's COPY, most likely.
    for kill_at_chunks in [0i64, 2, 6] {
        let db = TestDb::new("loader_resume");
        let mut child = Command::new(bin("pgshape-loader"))
            .args(&args)
            .current_dir(pgshape_e2e::repo_root())
            .env("DATABASE_URL", &db.url)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let mut watcher = db.client();
        loop {
            let chunks: i64 = watcher
                .query_one(
                    "SELECT CASE WHEN to_regclass('_pgshape.chunks') IS NULL THEN 0 ELSE (SELECT count(*) FROM _pgshape.chunks) END",
                    &[],
                )
                .map(|r| r.get(0))
                .unwrap_or(0);
            if chunks >= kill_at_chunks
                || std::time::Instant::now() > deadline
                || child.try_wait().unwrap().is_some()
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        assert!(!status.success(), "the load finished before it was killed");
        let loaded: i64 = db
            .client()
            .query_one("SELECT count(*) FROM _pgshape.chunks", &[])
            .map(|r| r.get(0))
            .unwrap_or(0);
        resumed_mid_way |= loaded > 0;
        let out = run("pgshape-loader", &args, &[("DATABASE_URL", &db.url)]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        if loaded > 0 {
            assert!(String::from_utf8_lossy(&out.stderr).contains("resuming an unfinished run"));
        }
        assert_eq!(
            recorded_hashes(&db),
            recorded_hashes(&clean),
            "killed with {loaded} chunks in the ledger"
        );
        // Chunks sent by the killed process and by the resuming one make up the same
        // content hashes.
        assert_eq!(
            recorded(&db, "content_hashes"),
            generator_hashes("resume"),
            "killed with {loaded} chunks in the ledger"
        );
    }
    assert!(
        resumed_mid_way,
        "no kill landed after the first chunk: the test did not exercise resume"
    );
}

/// Flips one ASCII letter inside the first value of column `column` that has one, in a binary
/// COPY file: the file stays valid COPY with the same rows, only that value changes.
fn flip_a_letter(file: &Path, column: usize) {
    let mut b = std::fs::read(file).unwrap();
    let mut pos = 19; // signature, flags, header extension length
    loop {
        let fields = i16::from_be_bytes([b[pos], b[pos + 1]]);
        assert!(fields > 0, "no value of column {column} has a letter");
        pos += 2;
        for i in 0..fields as usize {
            let len = i32::from_be_bytes(b[pos..pos + 4].try_into().unwrap());
            pos += 4;
            let value = &mut b[pos..pos + len.max(0) as usize];
            if i == column {
                if let Some(j) = value.iter().position(|c| c.is_ascii_lowercase()) {
                    value[j] = if value[j] == b'a' { b'b' } else { b'a' };
                    std::fs::write(file, b).unwrap();
                    return;
                }
            }
            pos += len.max(0) as usize;
        }
    }
}

#[test]
fn a_chunk_file_altered_by_one_byte_fails_the_load_naming_its_table() {
    let work = tempfile::tempdir().unwrap();
    let ds = work.path().join("ds");
    generate(&ds, "altered");
    // One byte of one user's display name, the report left alone.
    let report = read_report(&ds);
    let users = &report.tables["users"];
    let column = users
        .columns
        .iter()
        .position(|c| c == "display_name")
        .unwrap();
    let last = users.chunks.len() - 1;
    flip_a_letter(&ds.join(users.chunks[last].file.as_ref().unwrap()), column);

    let db = TestDb::new("loader_altered");
    let meta = work.path().join("meta");
    let args = load_args(ds.to_str().unwrap(), meta.to_str().unwrap());
    let out = run("pgshape-loader", &args, &[("DATABASE_URL", &db.url)]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("content hash of users"), "{stderr}");
    assert!(stdout.contains("[Content] ✗ users:"), "{stdout}");
    assert!(stdout.contains(&format!("chunks [{last}]")), "{stdout}");
    assert!(stdout.contains("[Content] ✓ messages:"), "{stdout}");
    assert_eq!(recorded(&db, "status"), "failed-integrity");
    assert_ne!(
        recorded(&db, "content_hashes")["users"].as_str(),
        users.content_hash.as_deref()
    );

    // verify says the same from the ledger, with the server-side hashes unchanged.
    let out = run("pgshape-loader", &["verify"], &[("DATABASE_URL", &db.url)]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("✗ users: content hash") && stdout.contains("differs from the report's"),
        "{stdout}"
    );
    assert!(
        stdout.contains("✓ users: server hashes as at load time"),
        "{stdout}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("content hash of users"));
}
