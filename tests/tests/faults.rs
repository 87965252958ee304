//! Faults injected into real runs (issue 18), each against the real PostgreSQL: the output's
//! file system full or made read-only while generating, SIGTERM and SIGINT to the generator and
//! the loader, and the loader's connection cut (`pg_terminate_backend` from a second
//! connection) during a COPY, a key rebuild and a foreign key's validation, and the server
//! restarted (a cluster of the test's own) during a key rebuild and a validation.
//!
//! Each case: the documented exit code (2 for a file that cannot be written, 3 for the
//! database, 143 and 130 for a clean stop on SIGTERM and SIGINT), a clear message, nothing a
//! later run takes for complete, and the same command run again resuming to the content
//! hashes of a clean run (`pgshape-generator hash`). Every output of every case, at `-vv`, is searched for the
//! password of `DATABASE_URL` and the salt.
//!
//! The file-system cases mount a small tmpfs (root on Linux); where that is impossible they
//! say so on stderr and check nothing else.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use pgshape_e2e::{bin, repo_root, TestDb, TEST_NOW};

const SPEC: &str = "specs/chat/spec.json";
const PASSWORD: &str = "pw-7f3e9c1d-never-printed";
const SALT: &str = "9b1f2e3d4c5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

/// A tmpfs mounted for the test's lifetime.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("SKIPPED: cannot mount a tmpfs here (needs root on Linux)");
        }
        ok.then(|| Tmpfs(at.into()))
    }
}

/// `cmd` run as nobody when this process is root (so that permissions apply to it).
fn unprivileged(cmd: Command) -> Command {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    if !root {
        return cmd;
    }
    let mut wrapped = Command::new("setpriv");
    wrapped.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]);
    wrapped.arg(cmd.get_program()).args(cmd.get_args());
    if let Some(d) = cmd.get_current_dir() {
        wrapped.current_dir(d);
    }
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => wrapped.env(k, v),
            None => wrapped.env_remove(k),
        };
    }
    wrapped
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// The URL with a password for its user (the sandbox trusts local connections, so the
/// password is carried and never checked: exactly what must not leak).
fn with_password(url: &str) -> String {
    url.replacen("postgres@", &format!("postgres:{PASSWORD}@"), 1)
}

fn command<S: AsRef<std::ffi::OsStr>>(name: &str, args: &[S], url: Option<&str>) -> Command {
    let mut cmd = Command::new(bin(name));
    cmd.arg("-vv")
        .args(args)
        .current_dir(repo_root())
        .env("PGSHAPE_NOW", TEST_NOW)
        .env("ANONYMIZATION_SALT", SALT)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG");
    if let Some(u) = url {
        cmd.env("DATABASE_URL", u);
    }
    cmd
}

/// Every output of the fault cases, searched for secrets at the end.
#[derive(Default)]
struct Seen(Vec<String>);

impl Seen {
    fn run(&mut self, name: &str, args: &[&str], url: Option<&str>) -> Output {
        let out = command(name, args, url).output().unwrap();
        self.add(&out);
        out
    }
    fn add(&mut self, out: &Output) {
        self.0
            .push(String::from_utf8_lossy(&out.stdout).into_owned());
        self.0
            .push(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    fn add_dir(&mut self, dir: &Path) {
        for e in walk(dir) {
            self.0
                .push(String::from_utf8_lossy(&std::fs::read(e).unwrap()).into_owned());
        }
    }
    fn assert_no_secret(&self) {
        for text in &self.0 {
            assert!(!text.contains(PASSWORD), "the password leaked:\n{text}");
            assert!(!text.contains(SALT), "the salt leaked:\n{text}");
        }
        assert!(self.0.len() >= 6, "the outputs were collected");
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `pgshape-generator hash` of `spec`'s ci band: `table rows hash` lines, sorted.
fn clean_hashes(seen: &mut Seen, spec: &str, seed: &str) -> Vec<String> {
    let out = seen.run(
        "pgshape-generator",
        &["hash", "--spec", spec, "--band", "ci", "--seed", seed],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect();
    lines.sort();
    lines
}

/// The `table rows hash` lines of a finished dataset, from its report.
fn dataset_hashes(dir: &Path) -> Vec<String> {
    let report = pgshape_e2e::read_report(dir);
    let mut lines: Vec<String> = report
        .tables
        .iter()
        .map(|(t, r)| {
            format!(
                "{t} {} {}",
                r.rows,
                r.content_hash.clone().unwrap_or_default()
            )
        })
        .collect();
    lines.sort();
    lines
}

fn has_report(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.starts_with("report_"))
        })
}

/// A child whose stdout and stderr go to files (a `-vv` log would fill a pipe and stall it).
struct Spawned {
    child: Child,
    logs: tempfile::TempDir,
}

impl Spawned {
    fn new(mut cmd: Command) -> Spawned {
        let logs = tempfile::tempdir().unwrap();
        let file = |n: &str| std::fs::File::create(logs.path().join(n)).unwrap();
        let child = cmd
            .stdout(file("stdout"))
            .stderr(file("stderr"))
            .spawn()
            .unwrap();
        Spawned { child, logs }
    }

    fn id(&self) -> u32 {
        self.child.id()
    }

    fn wait(mut self) -> Output {
        let status = self.child.wait().unwrap();
        let read = |n: &str| std::fs::read(self.logs.path().join(n)).unwrap();
        Output {
            status,
            stdout: read("stdout"),
            stderr: read("stderr"),
        }
    }
}

/// Waits until `cond` holds or the child exits (then returns false).
fn wait_for(child: &mut Spawned, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if child.child.try_wait().unwrap().is_some() {
            return false;
        }
        if cond() {
            return true;
        }
        std::thread::yield_now();
    }
    false
}

fn chunk_files(dir: &Path) -> usize {
    walk(dir)
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "bin"))
        .count()
}

/// A dataset the loader must refuse as incomplete (exit 2, "incomplete").
fn assert_refused_as_incomplete(seen: &mut Seen, dir: &Path, db: &TestDb) {
    let out = seen.run(
        "pgshape-loader",
        &[
            "load",
            "--dataset",
            dir.to_str().unwrap(),
            "--schema",
            "synth",
            "--create-schema",
            "--environment",
            "ci",
            "--metadata-dir",
            dir.join("meta").to_str().unwrap(),
        ],
        Some(&with_password(&db.url)),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("incomplete"), "{}", stderr(&out));
}

#[test]
fn generating_onto_a_full_or_read_only_file_system_fails_clearly_and_leaves_no_dataset() {
    let work = tempfile::tempdir().unwrap();
    let mut seen = Seen::default();
    let Some(fs) = Tmpfs::mount(&work.path().join("small"), "8m") else {
        return;
    };
    let db = TestDb::new("faults_fs");
    let out_dir = fs.0.join("out");
    let gen = |out: &Path, extra: &[&str]| {
        let mut a = vec![
            "generate", "--spec", SPEC, "--band", "ci", "--seed", "faults", "--output",
        ];
        a.push(out.to_str().unwrap());
        a.extend(extra);
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let args = gen(&out_dir, &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    // Refused before it starts: the estimate does not fit.
    let out = seen.run("pgshape-generator", &args, None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the dataset needs about"),
        "{}",
        stderr(&out)
    );
    assert!(!out_dir.exists(), "nothing written");

    // Forced: the disk fills up in the middle.
    let forced = gen(&out_dir, &["--no-space-check"]);
    let forced: Vec<&str> = forced.iter().map(String::as_str).collect();
    let out = seen.run("pgshape-generator", &forced, None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("No space left on device"),
        "{}",
        stderr(&out)
    );
    assert!(!has_report(&out_dir));
    assert!(
        !walk(&out_dir)
            .iter()
            .any(|p| p.to_string_lossy().ends_with(".tmp")),
        "no temp file left"
    );
    assert_refused_as_incomplete(&mut seen, &out_dir, &db);
    eprintln!(
        "disk full: exit 2: {}",
        stderr(&out).lines().last().unwrap_or("")
    );

    let clean = clean_hashes(&mut seen, SPEC, "faults");
    // The full disk's run, moved to a larger file system, resumes there too (the directory
    // holds paths relative to itself only).
    let moved = work.path().join("moved");
    let cp = Command::new("cp")
        .args(["-a"])
        .arg(&out_dir)
        .arg(&moved)
        .status()
        .unwrap();
    assert!(cp.success());
    let args = gen(&moved, &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = seen.run("pgshape-generator", &args, None);
    assert_resumed(&out, &moved, &clean, "disk full, moved");
    seen.add_dir(&moved);

    // The output directory made read-only in the middle of the run (root ignores permissions:
    // the generator then runs as nobody), on a file system large enough for the whole band
    // (a tmpfs: world-writable, unlike the test's temp dir).
    std::fs::remove_dir_all(&out_dir).unwrap();
    let Some(large) = Tmpfs::mount(&work.path().join("large"), "512m") else {
        return;
    };
    let ro_dir = large.0.join("ro");
    let ro = gen(&ro_dir, &["--no-space-check", "--threads", "1"]);
    let mut child = Spawned::new(unprivileged(command("pgshape-generator", &ro, None)));
    let landed = wait_for(&mut child, || chunk_files(&ro_dir) >= 1);
    let chmod = Command::new("chmod")
        .args(["-R", "a-w"])
        .arg(&ro_dir)
        .status()
        .unwrap();
    assert!(chmod.success());
    let out = child.wait();
    seen.add(&out);
    assert!(
        landed,
        "the generation ended before the directory was made read-only: {}",
        stderr(&out)
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Permission denied"),
        "{}",
        stderr(&out)
    );
    assert!(!has_report(&ro_dir));
    assert_refused_as_incomplete(&mut seen, &ro_dir, &db);
    eprintln!(
        "read-only: exit 2: {}",
        stderr(&out).lines().last().unwrap_or("")
    );

    // Made writable again, the same command resumes it to a clean run's hashes.
    let chmod = Command::new("chmod")
        .args(["-R", "u+w"])
        .arg(&ro_dir)
        .status()
        .unwrap();
    assert!(chmod.success());
    let out = Spawned::new(unprivileged(command("pgshape-generator", &ro, None))).wait();
    seen.add(&out);
    assert_resumed(&out, &ro_dir, &clean, "read-only");

    seen.assert_no_secret();
}

/// `out`, a rerun of a stopped generation into `dir`, resumed it (kept at least one chunk)
/// and ended with the content hashes of a clean run, its resume state removed.
fn assert_resumed(out: &Output, dir: &Path, clean: &[String], what: &str) {
    let err = stderr(out);
    assert!(out.status.success(), "{what}: {err}");
    let kept = err
        .lines()
        .find(|l| l.contains("resuming an unfinished run"))
        .unwrap_or_else(|| panic!("{what}: not resumed: {err}"));
    assert!(!kept.contains(" done=0 "), "{what}: nothing kept: {kept}");
    assert_eq!(dataset_hashes(dir), clean, "{what}: resumed dataset");
    assert!(
        !dir.join(".pgshape-generate").exists(),
        "{what}: resume state left"
    );
    eprintln!("{what}: the rerun resumed ({kept}) to a clean run's hashes");
}

#[test]
fn sigterm_and_sigint_leave_no_generator_report_and_the_loader_resumes_to_a_clean_run() {
    let work = tempfile::tempdir().unwrap();
    let mut seen = Seen::default();
    let db = TestDb::new("faults_signal");
    let clean = clean_hashes(&mut seen, SPEC, "signals");
    for signal in ["TERM", "INT"] {
        let dir = work.path().join(format!("gen-{signal}"));
        let args = [
            "generate",
            "--spec",
            SPEC,
            "--band",
            "ci",
            "--seed",
            "signals",
            "--threads",
            "1",
            "--output",
        ];
        let mut cmd = command("pgshape-generator", &args, None);
        cmd.arg(&dir);
        let mut child = Spawned::new(cmd);
        let landed = wait_for(&mut child, || chunk_files(&dir) >= 1);
        kill(&child, signal);
        let out = child.wait();
        seen.add(&out);
        assert!(landed, "generate ended before SIG{signal}");
        assert_stopped_by(&out, signal, "generate");
        assert!(!has_report(&dir), "a stopped generation has no report");
        assert_refused_as_incomplete(&mut seen, &dir, &db);
        let mut cmd = command("pgshape-generator", &args, None);
        cmd.arg(&dir);
        let out = Spawned::new(cmd).wait();
        seen.add(&out);
        assert_resumed(&out, &dir, &clean, &format!("generate, SIG{signal}"));
    }

    let url = with_password(&db.url);
    for signal in ["TERM", "INT"] {
        let schema = format!("sig_{}", signal.to_lowercase());
        let args = stream_args(&schema, "signals", &work.path().join("meta"));
        let mut child = Spawned::new(command("pgshape-loader", &args, Some(&url)));
        let mut watcher = db.client();
        let landed = wait_for(&mut child, || ledger_chunks(&mut watcher, &schema) >= 2);
        kill(&child, signal);
        let out = child.wait();
        seen.add(&out);
        assert!(
            landed,
            "the load ended before SIG{signal}: {}",
            stderr(&out)
        );
        assert_stopped_by(&out, signal, "load");
        resume_matches(&mut seen, &db.url, &args, &schema, &clean);
    }
    seen.assert_no_secret();
}

/// A load blocked in a statement (here: waiting for a lock the test holds on the ledger) is
/// still stopped by SIGTERM: the loader cancels what its sessions are running, exits 143, and
/// the same command resumes to a clean run's hashes. Without the cancel it would wait for the
/// lock forever.
#[test]
fn sigterm_cancels_a_statement_under_way_and_the_load_resumes() {
    let work = tempfile::tempdir().unwrap();
    let mut seen = Seen::default();
    let db = TestDb::new("faults_cancel");
    let clean = clean_hashes(&mut seen, SPEC, "cancel");
    let schema = "sig_cancel";
    let args = stream_args(schema, "cancel", &work.path().join("meta"));
    let url = with_password(&db.url);
    let mut child = Spawned::new(command("pgshape-loader", &args, Some(&url)));
    let mut watcher = db.client();
    let landed = wait_for(&mut child, || ledger_chunks(&mut watcher, schema) >= 1);
    assert!(landed, "the load ended before its first chunk");
    let mut holder = db.client();
    let mut lock = holder.transaction().unwrap();
    lock.batch_execute("LOCK TABLE _pgshape.chunks IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    let blocked = wait_for(&mut child, || {
        watcher
            .query_one(
                "SELECT count(*) FROM pg_stat_activity
                  WHERE application_name = 'pgshape-loader' AND wait_event_type = 'Lock'",
                &[],
            )
            .map(|r| r.get::<_, i64>(0) > 0)
            .unwrap_or(false)
    });
    assert!(blocked, "the loader never waited for the lock");
    let signalled = Instant::now();
    kill(&child, "TERM");
    let exited = wait_for_exit(&mut child, Duration::from_secs(20));
    let stopped_in = signalled.elapsed();
    lock.rollback().unwrap();
    let out = child.wait();
    seen.add(&out);
    assert!(exited, "SIGTERM did not stop a blocked load within 20 s");
    assert_stopped_by(&out, "TERM", "blocked load");
    eprintln!(
        "blocked load, SIGTERM: exit 143 after {:.2} s with the lock still held",
        stopped_in.as_secs_f64()
    );
    resume_matches(&mut seen, &db.url, &args, schema, &clean);
    seen.add_dir(&work.path().join("meta"));
    seen.assert_no_secret();
}

/// `out` is a clean stop by SIG`signal` (`TERM` or `INT`): exit 128 + its number, the signal
/// named and the resume hint given.
fn assert_stopped_by(out: &Output, signal: &str, what: &str) {
    let code = if signal == "TERM" { 143 } else { 130 };
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "{what}: {err}");
    assert!(
        err.contains(&format!("stopped by SIG{signal}"))
            && err.contains("run the same command again to resume"),
        "{what}: {err}"
    );
    let last: Vec<&str> = err.lines().rev().take(2).collect();
    eprintln!("{what}, SIG{signal}: exit {code}: {}", last.join(" / "));
}

/// Waits until the child exits (true) or `limit` passes (false).
fn wait_for_exit(child: &mut Spawned, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if child.child.try_wait().unwrap().is_some() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn a_connection_cut_during_copy_rebuild_or_validation_exits_3_and_the_rerun_resumes() {
    let work = tempfile::tempdir().unwrap();
    let mut seen = Seen::default();
    let db = TestDb::new("faults_cut");
    let url = with_password(&db.url);
    let clean = clean_hashes(&mut seen, SPEC, "cut");
    for (cut, (phase, pattern)) in [
        ("COPY", "COPY %"),
        ("key rebuild", "%ADD CONSTRAINT%"),
        ("foreign key validation", "%VALIDATE CONSTRAINT%"),
    ]
    .into_iter()
    .enumerate()
    {
        let schema = format!("cut_{cut}");
        let args = stream_args(&schema, "cut", &work.path().join("meta"));
        let mut child = Spawned::new(command("pgshape-loader", &args, Some(&url)));
        let mut killer = db.client();
        let landed = wait_for(&mut child, || {
            killer
                .query_one(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                      WHERE datname = current_database() AND pid <> pg_backend_pid()
                        AND state = 'active' AND query ILIKE $1",
                    &[&pattern],
                )
                .map(|r| r.get::<_, i64>(0) > 0)
                .unwrap_or(false)
        });
        let out = child.wait();
        seen.add(&out);
        if !landed {
            eprintln!("{phase}: the load ended before a statement could be cut: not exercised");
            assert!(phase != "COPY", "a COPY was never seen");
            continue;
        }
        assert_stopped_with_resume_hint(phase, &out);
        resume_matches(&mut seen, &db.url, &args, &schema, &clean);
    }
    seen.assert_no_secret();
}

/// A load stopped by a database fault: exit 3 and the hint to run it again (printed with the
/// error lines, for the note).
fn assert_stopped_with_resume_hint(what: &str, out: &Output) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(3), "{what}: {err}");
    assert!(
        err.contains("run the same command again to resume"),
        "{what}: {err}"
    );
    eprintln!(
        "{what}: exit 3: {}",
        err.lines()
            .filter(|l| l.starts_with("error") || l.contains("caused by"))
            .collect::<Vec<_>>()
            .join(" / ")
    );
}

/// Active statements of the database matching `pattern` (ILIKE), other than the caller's.
fn active(c: &mut postgres::Client, pattern: &str) -> i64 {
    c.query_one(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
            AND pid <> pg_backend_pid() AND state = 'active' AND query ILIKE $1",
        &[&pattern],
    )
    .map(|r| r.get(0))
    .unwrap_or(0)
}

#[test]
fn a_server_restart_during_key_rebuild_or_validation_exits_3_and_the_rerun_resumes() {
    let work = tempfile::tempdir().unwrap();
    let cluster = pgshape_e2e::OwnCluster::start(&work.path().join("cluster"));
    let mut seen = Seen::default();
    let clean = clean_hashes(&mut seen, SPEC, "restart");
    let mut exercised = 0;
    for (i, (phase, pattern)) in [
        ("key rebuild", "%ADD CONSTRAINT%"),
        ("foreign key validation", "%VALIDATE CONSTRAINT%"),
    ]
    .into_iter()
    .enumerate()
    {
        let url = cluster.create_db(&format!("restart_{i}"));
        let args = stream_args("synth", "restart", &work.path().join("meta"));
        let mut child = Spawned::new(command("pgshape-loader", &args, Some(&with_password(&url))));
        let mut watcher = pgshape_e2e::connect(&url);
        let landed = wait_for(&mut child, || active(&mut watcher, pattern) > 0);
        if landed {
            let o = cluster.sandbox("restart");
            assert!(o.status.success(), "{}", stderr(&o));
        }
        let out = child.wait();
        seen.add(&out);
        if !landed {
            eprintln!("{phase}: the load ended before the restart: not exercised");
            continue;
        }
        exercised += 1;
        assert_stopped_with_resume_hint(&format!("restart during {phase}"), &out);
        resume_matches(&mut seen, &url, &args, "synth", &clean);
    }
    assert!(
        exercised > 0,
        "no restart landed in the phases it is meant for"
    );
    seen.assert_no_secret();
}

fn kill(child: &Spawned, signal: &str) {
    let s = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(s.success());
}

/// A streaming load of the ci band into `schema`, one connection (slow enough to interrupt),
/// its run records written into `meta`.
fn stream_args(schema: &str, seed: &str, meta: &Path) -> Vec<String> {
    let mut a: Vec<String> = [
        "load",
        "--spec",
        SPEC,
        "--band",
        "ci",
        "--seed",
        seed,
        "--schema",
        schema,
        "--create-schema",
        "--environment",
        "ci",
        "--jobs",
        "1",
        "--metadata-dir",
    ]
    .map(String::from)
    .to_vec();
    a.push(meta.to_str().unwrap().into());
    a
}

fn ledger_chunks(c: &mut postgres::Client, schema: &str) -> i64 {
    c.query_one(
        "SELECT CASE WHEN to_regclass('_pgshape.chunks') IS NULL THEN 0 ELSE
           (SELECT count(*) FROM _pgshape.chunks k JOIN _pgshape.runs r USING (run_id)
             WHERE r.target_schema = $1) END",
        &[&schema],
    )
    .map(|r| r.get(0))
    .unwrap_or(0)
}

/// Runs the same load again: it must resume (when chunks were in) and end with the content
/// hashes `pgshape-generator hash` prints.
fn resume_matches(seen: &mut Seen, url: &str, args: &[String], schema: &str, clean: &[String]) {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = seen.run("pgshape-loader", &args, Some(&with_password(url)));
    assert!(out.status.success(), "{}", stderr(&out));
    let content: serde_json::Value = pgshape_e2e::connect(url)
        .query_one(
            "SELECT record->'result'->'content_hashes' FROM _pgshape.runs
              WHERE target_schema = $1 ORDER BY started_at DESC LIMIT 1",
            &[&schema],
        )
        .unwrap()
        .get(0);
    let expected: serde_json::Map<String, serde_json::Value> = clean
        .iter()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[0].to_string(), serde_json::Value::from(f[2]))
        })
        .collect();
    assert_eq!(
        content,
        serde_json::Value::Object(expected),
        "resumed load of {schema}"
    );
    let resumed = stderr(&out).contains("resuming an unfinished run");
    eprintln!("  rerun: exit 0, resumed: {resumed}, content hashes = a clean run's");
}

#[test]
fn a_resumed_generation_checks_what_it_keeps_and_refuses_another_runs_directory() {
    let work = tempfile::tempdir().unwrap();
    let mut seen = Seen::default();
    let dir = work.path().join("gen");
    let args = |seed: &str| -> Vec<String> {
        [
            "generate",
            "--spec",
            SPEC,
            "--band",
            "ci",
            "--seed",
            seed,
            "--threads",
            "1",
            "--output",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([dir.to_str().unwrap().to_string()])
        .collect()
    };
    let gen = |seen: &mut Seen, seed: &str| {
        let a = args(seed);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        seen.run("pgshape-generator", &a, None)
    };
    let mut child = Spawned::new(command("pgshape-generator", &args("resume"), None));
    let landed = wait_for(&mut child, || chunk_files(&dir) >= 4);
    kill(&child, "TERM");
    let out = child.wait();
    seen.add(&out);
    assert!(landed, "generate ended before SIGTERM");
    assert_eq!(out.status.code(), Some(143), "{}", stderr(&out));

    // Another seed, format or spec is another run: refused, nothing touched.
    let before = walk(&dir).len();
    let out = gen(&mut seen, "other");
    assert_refused(&out, "holds an unfinished run of another seed");
    assert_eq!(walk(&dir).len(), before);

    // Damage: a kept chunk's byte flipped, another removed, the journal's last line torn.
    let mut chunks: Vec<PathBuf> = walk(&dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "bin"))
        .collect();
    chunks.sort();
    assert!(chunks.len() >= 3, "{chunks:?}");
    let mut bytes = std::fs::read(&chunks[0]).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&chunks[0], bytes).unwrap();
    std::fs::remove_file(&chunks[1]).unwrap();
    let journal = dir.join(".pgshape-generate/journal.jsonl");
    let text = std::fs::read(&journal).unwrap();
    std::fs::write(&journal, &text[..text.len() - 7]).unwrap();

    let out = gen(&mut seen, "resume");
    let err = stderr(&out);
    assert!(
        err.contains("does not match its file") && err.contains("torn last line"),
        "{err}"
    );
    assert_resumed(
        &out,
        &dir,
        &clean_hashes(&mut seen, SPEC, "resume"),
        "damaged resume",
    );

    // A complete dataset is never written into again.
    let out = gen(&mut seen, "resume");
    assert_refused(&out, "holds a complete dataset");
    seen.add_dir(&dir);
    seen.assert_no_secret();
}

/// `out` exited 2 with `why` in its message.
fn assert_refused(out: &Output, why: &str) {
    assert_eq!(out.status.code(), Some(2), "{}", stderr(out));
    assert!(stderr(out).contains(why), "{}", stderr(out));
}
