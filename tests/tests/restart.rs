//! A server restart in the middle of a load: the loader stops with a clear error that says how
//! to resume, and running the same command again finishes with the hashes of a clean load.
//!
//! The test restarts a cluster of its own (`scripts/pg-sandbox.sh` with its own
//! `PGSANDBOX_DIR`), never the shared one the other tests use.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pgshape_e2e::{bin, connect, repo_root, run, run_ok, OwnCluster};

/// The run's server-side hashes and its content hashes (from the ledger).
fn hashes(url: &str) -> serde_json::Value {
    connect(url)
        .query_one(
            "SELECT jsonb_build_object('server', record->'result'->'hashes', 'content', record->'result'->'content_hashes')
               FROM _pgshape.runs ORDER BY started_at DESC LIMIT 1",
            &[],
        )
        .unwrap()
        .get(0)
}

fn chunks_in_ledger(url: &str) -> i64 {
    let Ok(mut c) = postgres::Client::connect(url, postgres::NoTls) else {
        return 0;
    };
    c.query_one(
        "SELECT CASE WHEN to_regclass('_pgshape.chunks') IS NULL THEN 0 ELSE (SELECT count(*) FROM _pgshape.chunks) END",
        &[],
    )
    .map(|r| r.get(0))
    .unwrap_or(0)
}

#[test]
fn a_server_restart_mid_load_fails_clearly_and_the_rerun_resumes_to_the_same_hashes() {
    let work = tempfile::tempdir().unwrap();
    let cluster = OwnCluster::start(&work.path().join("cluster"));
    let meta = work.path().join("meta");
    let args = [
        "load",
        "--spec",
        "specs/chat/spec.json",
        "--band",
        "ci",
        "--seed",
        "restart",
        "--schema",
        "synth",
        "--create-schema",
        "--environment",
        "ci",
        "--jobs",
        "1",
        "--metadata-dir",
        meta.to_str().unwrap(),
    ];
    let clean = cluster.create_db("clean");
    run_ok("pgshape-loader", &args, &[("DATABASE_URL", &clean)]);

    let target = cluster.create_db("target");
    let log = work.path().join("stderr");
    let mut child = Command::new(bin("pgshape-loader"))
        .args(args)
        .current_dir(repo_root())
        .env("DATABASE_URL", &target)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    // Restart once a few chunks are in: by progress, not by time (machines differ).
    let deadline = Instant::now() + Duration::from_secs(60);
    while chunks_in_ledger(&target) < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let loaded_before = chunks_in_ledger(&target);
    let out = cluster.sandbox("restart");
    assert!(
        out.status.success(),
        "pg-sandbox restart: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status = child.wait().unwrap();
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert!(
        loaded_before >= 3,
        "the ledger never reached 3 chunks before the restart"
    );
    assert_eq!(
        status.code(),
        Some(3),
        "a lost server is a database error (exit 3): {stderr}"
    );
    assert!(
        stderr.contains("run the same command again to resume"),
        "the error says how to go on: {stderr}"
    );

    let out = run("pgshape-loader", &args, &[("DATABASE_URL", &target)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("resuming an unfinished run"), "{stderr}");
    assert_eq!(hashes(&target), hashes(&clean));
}
