//! Helpers for the end-to-end tests: a fresh database per test on the sandbox server, the
//! built binaries, the production fixture and its canaries, a cluster of a test's own
//! ([`OwnCluster`]).
//!
//! Tests need a real PostgreSQL: `scripts/test.sh` starts the sandbox and sets `DATABASE_URL`.
//! Without it these helpers panic with that instruction rather than skip silently.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

mod cluster;
pub mod plans;

pub use cluster::OwnCluster;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The sandbox server's URL (`DATABASE_URL`).
pub fn server_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| {
        panic!("DATABASE_URL is not set: run the tests with scripts/test.sh, which starts a sandbox PostgreSQL")
    })
}

/// A database created for one test and dropped when the value is dropped.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    /// Creates `pgshape_<prefix>_<pid>_<n>` on the sandbox server.
    pub fn new(prefix: &str) -> TestDb {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "pgshape_{prefix}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = connect(&server_url());
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
            .expect("drop old test database");
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create test database");
        let url = with_dbname(&server_url(), &name);
        TestDb { name, url }
    }

    /// A client connected to this database.
    pub fn client(&self) -> postgres::Client {
        connect(&self.url)
    }

    /// Runs psql with a file (used for the fixture and DDL, as a user would).
    pub fn psql_file(&self, file: &Path, vars: &[(&str, &str)]) {
        let mut cmd = Command::new("psql");
        cmd.arg("-X").arg("-q").arg("-v").arg("ON_ERROR_STOP=1");
        for (k, v) in vars {
            cmd.arg("-v").arg(format!("{k}={v}"));
        }
        let out = cmd
            .arg("-f")
            .arg(file)
            .arg(&self.url)
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "psql -f {} failed: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Loads the production fixture (`scripts/production-fixture.sql`) at `scale`.
    pub fn load_fixture(&self, scale: &str) {
        self.psql_file(
            &repo_root().join("scripts/production-fixture.sql"),
            &[("scale", scale)],
        );
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if std::env::var_os("PGSHAPE_KEEP_TEST_DB").is_some() {
            return;
        }
        if let Ok(mut admin) = postgres::Client::connect(&server_url(), postgres::NoTls) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// Connects or panics with the URL's host part.
pub fn connect(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls)
        .unwrap_or_else(|e| panic!("connect to the sandbox: {e}"))
}

/// `url` with its database name replaced.
pub fn with_dbname(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].rfind('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    format!("{base}/{db}{query}")
}

/// The path of a workspace binary built next to the test executable.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build --workspace` first (scripts/test.sh does)",
        path.display()
    );
    path
}

/// "Now" for every binary the tests run (`PGSHAPE_NOW`): what a test produces must not depend
/// on the day it runs. Fixtures that place rows relative to "now" use the same instant
/// (`timestamptz '2026-12-02 12:00:00+00'`), never the server's `now()`.
pub const TEST_NOW: &str = "2026-12-02T12:00:00Z";

/// A workspace binary as a command, with the tests' fixed "now" ([`TEST_NOW`]).
pub fn command(name: &str) -> Command {
    let mut cmd = Command::new(bin(name));
    cmd.env("PGSHAPE_NOW", TEST_NOW);
    cmd
}

/// Runs a workspace binary with args and env (which may override `PGSHAPE_NOW`); returns its
/// output.
pub fn run(name: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = command(name);
    cmd.args(args).current_dir(repo_root());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run binary")
}

/// Runs a binary and panics with its stderr unless it exits 0; returns stdout.
pub fn run_ok(name: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = run(name, args, env);
    assert!(
        out.status.success(),
        "{name} {args:?} exited {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

/// The planted canaries: (kind, value) from `tests/fixtures/canaries.tsv`.
pub fn canaries() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(repo_root().join("tests/fixtures/canaries.tsv"))
        .expect("canaries.tsv");
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l.split_once('\t').expect("kind<TAB>value");
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// Runs `pgshape-sampler extract --no-dp` on `db` into `dir` (60-day window): exact figures,
/// for tests that check them against ground truth or test something else than the noise.
/// Returns the pack's path (the manifest is beside it, `..._mapping.json`).
pub fn extract_pack(db: &TestDb, dir: &Path, salt: &str) -> PathBuf {
    extract_pack_with(db, dir, salt, &["--no-dp"])
}

/// Asserts that `validate`'s output `out` found exactly one thing: the pack was extracted
/// with `--no-dp` (exit 1, see docs/runbook.md).
pub fn assert_only_the_no_dp_finding(out: &std::process::Output) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    assert!(
        lines[0].contains("$.privacy.dp: no differential privacy"),
        "{stdout}"
    );
}

/// [`extract_pack`] with `extra` arguments instead of `--no-dp` (empty: DP on, the default).
pub fn extract_pack_with(db: &TestDb, dir: &Path, salt: &str, extra: &[&str]) -> PathBuf {
    let pack = dir.join("shape-metrics-20261122.json");
    let args = [
        "extract",
        "--output",
        pack.to_str().expect("utf-8 path"),
        "--window-days",
        "60",
    ];
    run_ok(
        "pgshape-sampler",
        &[&args[..], extra].concat(),
        &[("DATABASE_URL", &db.url), ("ANONYMIZATION_SALT", salt)],
    );
    pack
}

/// Generates `band` of `spec` with `seed` into `work/dataset` and loads it into schema
/// `synthetic` of `target` (created), as a user would: the two binaries. Returns the dataset.
pub fn generate_and_load(
    spec: &Path,
    band: &str,
    seed: &str,
    work: &Path,
    target: &TestDb,
) -> PathBuf {
    let dataset = work.join("dataset");
    let args = [
        "generate",
        "--spec",
        path(spec),
        "--band",
        band,
        "--seed",
        seed,
    ];
    run_ok(
        "pgshape-generator",
        &[&args[..], &["--output", path(&dataset)]].concat(),
        &[],
    );
    run_ok(
        "pgshape-loader",
        &[
            "load",
            "--dataset",
            path(&dataset),
            "--schema",
            "synthetic",
            "--create-schema",
            "--environment",
            "ci",
            "--metadata-dir",
            path(&work.join("perf-data")),
        ],
        &[("DATABASE_URL", &target.url)],
    );
    dataset
}

/// The reviewer's check of a round trip: extracts schema `synthetic` of `target` (with
/// `extract_args`, e.g. the production pack's `--window-days`) and runs `compare --json` against
/// `production`. The synthetic side is extracted with `--no-dp` unless `extract_args` name an
/// `--epsilon` (a round trip under DP). Returns compare's exit code (0 every figure within its threshold, 1 some
/// over) and its document; any other exit fails the test.
pub fn compare_synthetic(
    production: &Path,
    target: &TestDb,
    salt: &str,
    work: &Path,
    extract_args: &[&str],
) -> (i32, serde_json::Value) {
    let (synthetic, json) = (work.join("synthetic.json"), work.join("compare.json"));
    let args = [
        "extract",
        "--output",
        path(&synthetic),
        "--schema",
        "synthetic",
    ];
    let no_dp: &[&str] = if extract_args.contains(&"--epsilon") {
        &[]
    } else {
        &["--no-dp"]
    };
    run_ok(
        "pgshape-sampler",
        &[&args[..], extract_args, no_dp].concat(),
        &[("DATABASE_URL", &target.url), ("ANONYMIZATION_SALT", salt)],
    );
    let o = run(
        "pgshape-generator",
        &[
            "compare",
            "--production",
            path(production),
            "--synthetic",
            path(&synthetic),
            "--json",
            path(&json),
        ],
        &[],
    );
    let code = o.status.code().unwrap_or(-1);
    assert!(
        matches!(code, 0 | 1),
        "compare exited {code}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let doc = serde_json::from_slice(&std::fs::read(&json).expect("compare --json wrote"))
        .expect("compare --json is JSON");
    (code, doc)
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// Orphan rows per foreign key of schema `schema` (composite keys included): child rows whose
/// key is set and matches no parent row, counted by the test's own SQL.
pub fn orphans(client: &mut postgres::Client, schema: &str) -> Vec<(String, i64)> {
    let fks = client
        .query(
            "SELECT c.conname::text, cl.relname::text, pl.relname::text, pn.nspname::text,
                    ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
                          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i),
                    ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
                          JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i)
               FROM pg_constraint c
               JOIN pg_class cl ON cl.oid = c.conrelid JOIN pg_namespace cn ON cn.oid = cl.relnamespace
               JOIN pg_class pl ON pl.oid = c.confrelid JOIN pg_namespace pn ON pn.oid = pl.relnamespace
              WHERE c.contype = 'f' AND cn.nspname = $1",
            &[&schema],
        )
        .expect("foreign keys");
    assert!(!fks.is_empty(), "schema {schema} has foreign keys");
    fks.iter()
        .map(|r| {
            let (name, ct, pt, ps): (String, String, String, String) =
                (r.get(0), r.get(1), r.get(2), r.get(3));
            let (cc, pc): (Vec<String>, Vec<String>) = (r.get(4), r.get(5));
            let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
            let not_null = cc
                .iter()
                .map(|c| format!("c.{} IS NOT NULL", q(c)))
                .collect::<Vec<_>>()
                .join(" AND ");
            let join = cc
                .iter()
                .zip(&pc)
                .map(|(c, p)| format!("p.{} = c.{}", q(p), q(c)))
                .collect::<Vec<_>>()
                .join(" AND ");
            let sql = format!(
                "SELECT count(*) FROM {}.{} c WHERE {not_null} AND NOT EXISTS (SELECT 1 FROM {}.{} p WHERE {join})",
                q(schema),
                q(&ct),
                q(&ps),
                q(&pt)
            );
            (name, client.query_one(&sql, &[]).expect("orphans").get::<_, i64>(0))
        })
        .collect()
}

/// The generation report of dataset directory `dir` (the one `report_*.json` in it), typed.
pub fn read_report(dir: &Path) -> pgshape_core::dataset_report::Report {
    let path = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("report_"))
        })
        .unwrap_or_else(|| panic!("no report in {}", dir.display()));
    pgshape_core::dataset_report::Report::read(&path).unwrap()
}

/// A quantile as issue 12 lets it leave, computed here independently of the sampler's SQL:
/// `q` (a nearest-rank value of `values`, each `(x, unit)`) when at least `k` units hold it or
/// have values on both sides of it, else the mean, over the `k` units nearest to it, of each
/// one's value nearest to it (its smallest or largest, or `q` where it brackets it; ties by
/// the smaller value).
pub fn k_safe_quantile(values: &[(f64, i64)], q: f64, k: usize) -> f64 {
    let mut range: std::collections::BTreeMap<i64, (f64, f64)> = Default::default();
    for &(x, u) in values {
        let r = range.entry(u).or_insert((x, x));
        r.0 = r.0.min(x);
        r.1 = r.1.max(x);
    }
    if range
        .values()
        .filter(|(lo, hi)| *lo <= q && q <= *hi)
        .count()
        >= k
    {
        return q;
    }
    let mut near: Vec<(f64, f64)> = range
        .values()
        .map(|&(lo, hi)| {
            let x = if hi < q {
                hi
            } else if lo > q {
                lo
            } else {
                q
            };
            ((x - q).abs(), x)
        })
        .collect();
    near.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let n = near.len().min(k);
    near[..n].iter().map(|p| p.1).sum::<f64>() / n as f64
}

#[cfg(test)]
mod tests {
    #[test]
    fn dbname_is_replaced() {
        assert_eq!(
            super::with_dbname("postgresql://u@h:1/postgres", "x"),
            "postgresql://u@h:1/x"
        );
        assert_eq!(
            super::with_dbname("postgresql://u@h:1/postgres?sslmode=disable", "x"),
            "postgresql://u@h:1/x?sslmode=disable"
        );
    }
}
