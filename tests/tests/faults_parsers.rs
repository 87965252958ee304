//! Hostile input for every reader of a file or a stored document (issue 18): the pack, the
//! spec, the policy, the generation report, the load's run record and the dataset's chunk
//! files, each fed random bytes, truncations, deep nesting, huge numbers, NaN/∞, a wrong type
//! at every JSON path and unknown keys (property tests, `proptest`).
//!
//! The property: the reader returns (no panic, no abort: an allocation from an untrusted size
//! aborts the whole test binary), and when it refuses, the message names the file and, for a
//! format error, the JSON path (`file: at $.tables.x.rows: ...`). What a later stage refuses
//! (planning a spec, deriving a spec from a pack) names the table and column instead.
//!
//! Cases per reader and kind of damage: `PROPTEST_CASES` (default 24, a few seconds in all);
//! `scripts/fuzz.sh` runs them for minutes under a virtual-memory limit.

use std::path::{Path, PathBuf};

use pgshape_core::artifact::parse_json;
use pgshape_core::dataset_report::Report;
use pgshape_core::pack::Pack;
use pgshape_core::run_record::RunRecord;
use pgshape_core::spec::Spec;
use pgshape_e2e::{extract_pack, read_report, repo_root, run_ok, TestDb};
use pgshape_generator::authoring::init;
use pgshape_generator::Model;
use pgshape_loader::source::Source;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::Value;

const SALT: &str = "0c4f6e1d2b3a59687766554433221100ffeeddccbbaa99887766554433221100";

/// Values put in place of a valid one, as raw JSON text (some are not JSON at all).
fn hostile_values() -> Vec<String> {
    let mut v: Vec<String> = [
        "null",
        "true",
        "-1",
        "0",
        "-0",
        "0.5",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775809",
        "99999999999999999999999999999999999999",
        "1e308",
        "-1e308",
        "1e999",
        "NaN",
        "Infinity",
        "-Infinity",
        "\"NaN\"",
        "\"Infinity\"",
        "\"\"",
        "\"x\"",
        "\"\\ud800\"",
        "[]",
        "{}",
        "[null]",
        "{\"a\": 1}",
        "[18446744073709551615, -1, 1e308]",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push(format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)));
    v.push(format!("{}1{}", "{\"a\":".repeat(200), "}".repeat(200)));
    v.push(format!("\"{}\"", "x".repeat(100_000)));
    v
}

/// One step of a JSON path.
#[derive(Debug, Clone)]
enum Seg {
    Key(String),
    At(usize),
}

/// Every value's path in `v` (the root's is empty).
fn paths(v: &Value, at: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>) {
    out.push(at.clone());
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                at.push(Seg::Key(k.clone()));
                paths(x, at, out);
                at.pop();
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                at.push(Seg::At(i));
                paths(x, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

fn render(path: &[Seg]) -> String {
    let mut s = String::from("$");
    for seg in path {
        match seg {
            Seg::Key(k) => s.push_str(&format!(".{k}")),
            Seg::At(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

fn at_mut<'a>(v: &'a mut Value, path: &[Seg]) -> &'a mut Value {
    path.iter().fold(v, |v, seg| match seg {
        Seg::Key(k) => &mut v[k.as_str()],
        Seg::At(i) => &mut v[*i],
    })
}

const MARK: &str = "\u{1}hostile\u{1}";

/// A valid document's damage.
#[derive(Debug, Clone)]
enum Damage {
    /// The value at a path replaced by hostile text.
    Replace(Index, Index),
    /// An unknown key added to the object at a path (or beside it).
    Unknown(Index),
    /// The document cut short.
    Truncate(Index),
    /// One byte changed.
    Flip(Index, u8),
    /// Random bytes, optionally behind a `{`.
    Bytes(bool, Vec<u8>),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        4 => (any::<Index>(), any::<Index>()).prop_map(|(p, h)| Damage::Replace(p, h)),
        2 => any::<Index>().prop_map(Damage::Unknown),
        1 => any::<Index>().prop_map(Damage::Truncate),
        1 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Damage::Flip(i, b)),
        1 => (any::<bool>(), prop::collection::vec(any::<u8>(), 0..512))
            .prop_map(|(b, v)| Damage::Bytes(b, v)),
    ]
}

/// The damaged bytes, what was damaged (for the failure message) and whether the result can
/// still be a valid document (false: the reader must refuse it).
fn apply(doc: &Value, d: &Damage, hostile: &[String]) -> (Vec<u8>, String, bool) {
    let text = serde_json::to_string(doc).expect("serialises");
    let mut all = Vec::new();
    paths(doc, &mut Vec::new(), &mut all);
    match d {
        Damage::Replace(p, h) => {
            let path = &all[p.index(all.len())];
            let raw = &hostile[h.index(hostile.len())];
            let mut v = doc.clone();
            *at_mut(&mut v, path) = Value::String(MARK.into());
            let marked = serde_json::to_string(&Value::String(MARK.into())).unwrap();
            let out = serde_json::to_string(&v).unwrap().replacen(&marked, raw, 1);
            let what = format!("{} = {}", render(path), &raw[..raw.len().min(40)]);
            (out.into_bytes(), what, true)
        }
        Damage::Unknown(p) => {
            let objects: Vec<&Vec<Seg>> = all
                .iter()
                .filter(|p| {
                    let mut v = doc.clone();
                    at_mut(&mut v, p).is_object()
                })
                .collect();
            let path = objects[p.index(objects.len())].clone();
            let mut v = doc.clone();
            at_mut(&mut v, &path)
                .as_object_mut()
                .unwrap()
                .insert("zz_unknown_key".into(), Value::from(1));
            let what = format!("{}.zz_unknown_key", render(&path));
            (serde_json::to_vec(&v).unwrap(), what, true)
        }
        Damage::Truncate(i) => {
            let n = i.index(text.len());
            (text.as_bytes()[..n].to_vec(), format!("cut at {n}"), false)
        }
        Damage::Flip(i, b) => {
            let mut out = text.into_bytes();
            let n = i.index(out.len());
            out[n] = *b;
            (out, format!("byte {n} = {b}"), true)
        }
        Damage::Bytes(brace, bytes) => {
            let mut out = if *brace { b"{".to_vec() } else { Vec::new() };
            out.extend_from_slice(bytes);
            let what = format!("{} random bytes", out.len());
            (out, what, false)
        }
    }
}

/// How a reader answered: `Ok`, refused while reading the file (must name it), or refused by
/// a later stage (must name a table or column, or the file).
enum Answer {
    Ok,
    File(String),
    Later(String),
}

/// A runner of `PROPTEST_CASES` (default 24) × `per_case` cases, no failure file; and the
/// number of cases it runs.
fn runner(per_case: u32) -> (TestRunner, u32) {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(24u32)
        * per_case;
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    (TestRunner::new(config), cases)
}

/// Runs `PROPTEST_CASES` × `per_case` damaged copies of `doc` through `read`; returns the number
/// of cases run.
fn hostile_run(
    name: &str,
    per_case: u32,
    file: &Path,
    doc: &Value,
    read: impl Fn(&Path) -> Answer,
) -> Result<u32, String> {
    let hostile = hostile_values();
    let (mut runner, _) = runner(per_case);
    let counted = std::cell::Cell::new(0u32);
    let started = std::time::Instant::now();
    runner
        .run(&damage(), |d| {
            counted.set(counted.get() + 1);
            let (bytes, what, may_pass) = apply(doc, &d, &hostile);
            std::fs::write(file, &bytes).unwrap();
            let fail = |m: String| Err(TestCaseError::fail(format!("{name}, {what}: {m}")));
            match read(file) {
                Answer::Ok if !may_pass => fail("accepted".into()),
                Answer::Ok => Ok(()),
                Answer::File(m) => {
                    let named = m.starts_with(&format!("{}: ", file.display()));
                    let is_format = m.contains(": at $");
                    if !named {
                        fail(format!("the message does not start with the file: {m}"))
                    } else if m.contains("invalid type") && !is_format {
                        fail(format!("a type error without its JSON path: {m}"))
                    } else {
                        Ok(())
                    }
                }
                Answer::Later(m) if m.trim().is_empty() => fail("an empty message".into()),
                Answer::Later(_) => Ok(()),
            }
        })
        .map_err(|e| e.to_string())?;
    eprintln!(
        "{name}: {} cases, 0 failures ({:.1} s)",
        counted.get(),
        started.elapsed().as_secs_f64()
    );
    Ok(counted.get())
}

fn file_or_later<T>(
    read: pgshape_core::Result<T>,
    later: impl FnOnce(T) -> Result<(), String>,
) -> Answer {
    match read {
        Err(e) => Answer::File(e.to_string()),
        Ok(t) => match later(t) {
            Ok(()) => Answer::Ok,
            Err(m) => Answer::Later(m),
        },
    }
}

fn read_bytes(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap()
}

/// Every number in `v` (as text, so that 180000 and 1.8e5 differ; it does not matter here).
fn numbers(v: &Value, out: &mut std::collections::BTreeSet<String>) {
    match v {
        Value::Number(n) => {
            out.insert(n.to_string());
        }
        Value::Array(a) => a.iter().for_each(|x| numbers(x, out)),
        Value::Object(m) => m.values().for_each(|x| numbers(x, out)),
        _ => {}
    }
}

/// Whether the damage brought a number over 1000 that the valid document did not have: such a
/// document is read and checked but not planned, since a band of 10^11 rows plans in time
/// proportional to its rows (legitimately: generating it takes longer still). The bounds on
/// sizes are what `generator/tests/bad_specs` pin.
fn plannable(original: &std::collections::BTreeSet<String>, damaged: &Path) -> bool {
    let Ok(v) = serde_json::from_slice::<Value>(&read_bytes(damaged)) else {
        return false;
    };
    let mut now = std::collections::BTreeSet::new();
    numbers(&v, &mut now);
    now.difference(original)
        .all(|n| n.parse::<f64>().is_ok_and(|x| x.abs() <= 1000.0))
}

/// The spec: read and checked, then its ci band planned (the plan allocates per chunk).
fn spec_reader(original: &Value) -> impl Fn(&Path) -> Answer {
    let mut known = std::collections::BTreeSet::new();
    numbers(original, &mut known);
    move |p| {
        file_or_later(Spec::read(p), |spec| {
            if plannable(&known, p) {
                Model::new(spec, "ci", "fuzz").map_err(|e| e.to_string())?;
            }
            Ok(())
        })
    }
}

/// The pack: parsed, then a spec derived from it (`init`, which plans its ci band), checked.
fn pack_reader(p: &Path) -> Answer {
    let bytes = read_bytes(p);
    file_or_later(parse_json::<Pack>(p, &bytes), |pack| {
        let opts = init::Options {
            name: "fuzz".into(),
            ddl_file: "schema.sql".into(),
            ..init::Options::default()
        };
        let derived = init::init(&pack, "0", &opts).map_err(|e| e.to_string())?;
        derived
            .spec
            .check(Path::new("derived.json"))
            .map_err(|e| e.to_string())
    })
}

/// A small dataset of the chat spec (a few hundred rows), its pack-producing database and a
/// finished load's run record.
struct Fixtures {
    work: tempfile::TempDir,
    spec: PathBuf,
    pack: PathBuf,
    dataset: PathBuf,
    run_record: Value,
}

/// The chat spec with a ci band of a few hundred rows, and its DDL beside it, in `dir`.
fn tiny_spec(dir: &Path) -> PathBuf {
    let root = repo_root();
    let mut spec: Value =
        serde_json::from_slice(&std::fs::read(root.join("specs/chat/spec.json")).unwrap()).unwrap();
    spec["bands"]["ci"]["rows"] =
        serde_json::json!({"users": 20, "conversations": 20, "messages": 200});
    spec["bands"]["ci"]["chunk_rows"] = Value::from(64);
    let path = dir.join("spec.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&spec).unwrap()).unwrap();
    std::fs::copy(root.join("specs/chat/schema.sql"), dir.join("schema.sql")).unwrap();
    path
}

fn fixtures() -> Fixtures {
    let work = tempfile::tempdir().unwrap();
    let spec_path = tiny_spec(work.path());
    let production = TestDb::new("faults_parsers_prod");
    production.load_fixture("0.02");
    let pack = extract_pack(&production, work.path(), SALT);
    let target = TestDb::new("faults_parsers_target");
    let dataset = pgshape_e2e::generate_and_load(&spec_path, "ci", "fuzz", work.path(), &target);
    let record: String = target
        .client()
        .query_one("SELECT record::text FROM _pgshape.runs", &[])
        .unwrap()
        .get(0);
    Fixtures {
        spec: spec_path,
        pack,
        dataset,
        run_record: serde_json::from_str(&record).unwrap(),
        work,
    }
}

fn json_of(p: &Path) -> Value {
    serde_json::from_slice(&read_bytes(p)).unwrap()
}

#[test]
fn every_reader_refuses_hostile_json_naming_the_file_and_path() {
    let started = std::time::Instant::now();
    let fx = fixtures();
    eprintln!("fixtures: {:.1} s", started.elapsed().as_secs_f64());
    let scratch = fx.work.path().join("hostile");
    std::fs::create_dir_all(&scratch).unwrap();
    let mut total = 0;
    let mut failures = Vec::new();
    let mut check = |r: Result<u32, String>| match r {
        Ok(n) => total += n,
        Err(e) => failures.push(e),
    };
    // The spec's DDL file must be beside the damaged copy, as beside the original.
    std::fs::copy(
        fx.work.path().join("schema.sql"),
        scratch.join("schema.sql"),
    )
    .unwrap();
    let spec = json_of(&fx.spec);
    check(hostile_run(
        "spec",
        5,
        &scratch.join("spec.json"),
        &spec,
        spec_reader(&spec),
    ));
    let pack = json_of(&fx.pack);
    check(hostile_run(
        "pack",
        1, // init takes about half a second
        &scratch.join("pack.json"),
        &pack,
        pack_reader,
    ));
    let policy = repo_root().join("specs/chat/policy.json");
    check(hostile_run(
        "policy",
        5,
        &scratch.join("policy.json"),
        &json_of(&policy),
        |p| file_or_later(pgshape_sampler::policy::Policy::read(p), |_| Ok(())),
    ));
    let report = read_report(&fx.dataset);
    check(hostile_run(
        "report",
        5,
        &scratch.join("report_ci_x.json"),
        &serde_json::to_value(&report).unwrap(),
        |p| file_or_later(Report::read(p), |_| Ok(())),
    ));
    check(hostile_run(
        "run record",
        5,
        &scratch.join("run-record.json"),
        &fx.run_record,
        |p| file_or_later(parse_json::<RunRecord>(p, &read_bytes(p)), |_| Ok(())),
    ));
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    eprintln!("json readers: {total} cases in all");
}

/// A damaged chunk file: the loader's reader never panics, refuses a bad header naming the
/// file, and a change to the rows always changes the content hash it computes (so the load's
/// hash check catches it).
#[test]
fn damaged_chunk_files_are_refused_or_change_the_hash() {
    let work = tempfile::tempdir().unwrap();
    let dataset = work.path().join("dataset");
    run_ok(
        "pgshape-generator",
        &[
            "generate",
            "--spec",
            tiny_spec(work.path()).to_str().unwrap(),
            "--band",
            "ci",
            "--seed",
            "fuzz",
            "--output",
            dataset.to_str().unwrap(),
        ],
        &[],
    );
    let source = Source::open_dir(&dataset).unwrap();
    let report = read_report(&dataset);
    let (table, t) = report
        .tables
        .iter()
        .find(|(_, t)| !t.chunks.is_empty())
        .unwrap();
    let chunk = &t.chunks[0];
    let file = dataset.join(chunk.file.as_ref().unwrap());
    let original = read_bytes(&file);
    let hash_of = |source: &Source| {
        let mut sink = Vec::new();
        source
            .write_chunk(table, chunk.index, &mut sink)
            .map(|(_, h)| h)
            .map_err(|e| e.to_string())
    };
    let clean = hash_of(&source).unwrap();
    let (header, trailer) = (19usize, 2usize);
    let (mut runner, cases) = runner(4);
    let strategy = (
        any::<Index>(),
        prop_oneof![
            any::<u8>().prop_map(Some),
            Just(None), // cut the file there
        ],
    );
    runner
        .run(&strategy, |(at, byte)| {
            let n = at.index(original.len());
            let mut bytes = original.clone();
            match byte {
                Some(b) => bytes[n] = b,
                None => bytes.truncate(n),
            }
            std::fs::write(&file, &bytes).unwrap();
            let got = hash_of(&source);
            let rows_changed = bytes.len() != original.len()
                || (n >= header && n < original.len() - trailer && bytes[n] != original[n]);
            match got {
                Err(m) => prop_assert!(
                    m.starts_with(&file.display().to_string()),
                    "the message names the chunk file: {m}"
                ),
                Ok(h) if rows_changed => prop_assert_ne!(h, clean.clone(), "byte {} changed", n),
                Ok(_) => {}
            }
            Ok(())
        })
        .unwrap();
    std::fs::write(&file, &original).unwrap();
    eprintln!("chunk reader: {} cases, 0 failures", cases);
}

/// A stopped generation's journal, damaged line by line (the JSON damages above, the last
/// line cut): a resume never panics, and every chunk it keeps is exactly a clean run's.
#[test]
fn a_damaged_generation_journal_never_makes_a_resume_keep_a_wrong_chunk() {
    use pgshape_generator::engine::{Engine, Format, Journal, RunId, RunOptions, Shard};
    let work = tempfile::tempdir().unwrap();
    let spec_path = tiny_spec(work.path());
    let engine = Engine::new(Spec::read(&spec_path).unwrap(), "ci", "fuzz").unwrap();
    let dir = work.path().join("out");
    let id = RunId {
        tool_version: "test".into(),
        spec_sha256: "test".into(),
        band: "ci".into(),
        seed: "fuzz".into(),
        format: Format::Binary,
        shard: Shard::ALL,
        tables: None,
    };
    std::fs::create_dir_all(&dir).unwrap();
    let journal = Journal::start(&dir, &id).unwrap();
    let opts = RunOptions {
        threads: 1,
        shard: Shard::ALL,
        format: Format::Binary,
        output: Some(&dir),
        on_chunk: &|_, _| {},
        tables: None,
        journal: Some(&journal),
        done: None,
    };
    let report = engine.run("test", &opts, 0).unwrap();
    drop(journal);
    let clean: std::collections::HashMap<(String, usize), String> = report
        .tables
        .iter()
        .flat_map(|(t, r)| {
            r.chunks
                .iter()
                .map(move |c| ((t.clone(), c.index), c.hash.clone()))
        })
        .collect();
    let path = dir.join(".pgshape-generate/journal.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() >= 4, "{} chunks", lines.len());
    let jobs = engine.jobs(Shard::ALL);
    let names: Vec<String> = engine
        .model()
        .tables
        .iter()
        .map(|t| t.name.clone())
        .collect();
    // Undamaged, the resume keeps every chunk.
    let (_, done) = Journal::resume(&dir, engine.model(), Format::Binary, &jobs).unwrap();
    assert_eq!(done.chunks.len(), lines.len());
    // A torn last line is cut off by the resume, so the next line appended starts its own.
    let last = lines.last().unwrap();
    let torn = format!(
        "{}\n{}",
        lines[..lines.len() - 1].join("\n"),
        &last[..last.len() / 2]
    );
    std::fs::write(&path, torn).unwrap();
    let (_, done) = Journal::resume(&dir, engine.model(), Format::Binary, &jobs).unwrap();
    assert_eq!(done.chunks.len(), lines.len() - 1);
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    std::io::Write::write_all(&mut f, format!("{last}\n").as_bytes()).unwrap();
    let (_, done) = Journal::resume(&dir, engine.model(), Format::Binary, &jobs).unwrap();
    assert_eq!(
        done.chunks.len(),
        lines.len(),
        "the line appended after a torn one"
    );

    let hostile = hostile_values();
    let (mut runner, cases) = runner(5);
    let started = std::time::Instant::now();
    runner
        .run(&(any::<Index>(), damage()), |(which, d)| {
            let n = which.index(lines.len());
            let doc: Value = serde_json::from_str(lines[n]).unwrap();
            let (bad, what, _) = apply(&doc, &d, &hostile);
            let mut out = Vec::new();
            for (i, l) in lines.iter().enumerate() {
                if i == n {
                    out.extend_from_slice(&bad);
                    // A damage that cuts the line leaves it the last, torn.
                    if matches!(d, Damage::Truncate(_)) {
                        break;
                    }
                } else {
                    out.extend_from_slice(l.as_bytes());
                }
                out.push(b'\n');
            }
            std::fs::write(&path, &out).unwrap();
            let (_, done) = Journal::resume(&dir, engine.model(), Format::Binary, &jobs)
                .map_err(|e| TestCaseError::fail(format!("line {n}, {what}: {e}")))?;
            for ((ti, chunk), r) in &done.chunks {
                let want = &clean[&(names[*ti].clone(), *chunk)];
                if &r.hash != want {
                    return Err(TestCaseError::fail(format!(
                        "line {n}, {what}: kept {}/{chunk} with hash {} instead of {want}",
                        names[*ti], r.hash
                    )));
                }
            }
            // A changed line never keeps its chunk (its checksum, or its file, disagrees),
            // unless the damage left the same document (a value replaced by an equal one).
            let changed = serde_json::from_slice::<Value>(&bad).map_or(true, |v| v != doc);
            let e = &doc["entry"];
            let ti = names.iter().position(|t| *t == e["table"]).unwrap();
            let key = (ti, e["chunk"].as_u64().unwrap() as usize);
            if changed && done.chunks.contains_key(&key) {
                return Err(TestCaseError::fail(format!(
                    "line {n}, {what}: a changed line kept its chunk"
                )));
            }
            Ok(())
        })
        .unwrap();
    eprintln!(
        "journal: {} cases, 0 failures ({:.1} s)",
        cases,
        started.elapsed().as_secs_f64()
    );
}
