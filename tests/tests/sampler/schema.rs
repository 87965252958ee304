//! The published pack schema (`docs/schemas/pack.schema.json`) accepts a real pack, and
//! `validate` turns an unknown key at any depth into a finding with its JSON path.

use pgshape_e2e::{repo_root, run};
use serde_json::{json, Value};

use super::{extract, fixture};

#[test]
fn a_real_pack_matches_the_published_schema_and_unknown_keys_are_findings() {
    let db = fixture();
    let dir = tempfile::tempdir().unwrap();
    let (pack, manifest) = extract(&db, dir.path());
    let published = |f: &str| -> Value {
        serde_json::from_slice(&std::fs::read(repo_root().join("docs/schemas").join(f)).unwrap())
            .unwrap()
    };
    let pack: Value = serde_json::from_str(&pack).unwrap();
    let manifest: Value = serde_json::from_str(&manifest).unwrap();
    let check = pgshape_sampler::structure::check;
    assert_eq!(check(&pack, &published("pack.schema.json")), vec![]);
    assert_eq!(check(&manifest, &published("manifest.schema.json")), vec![]);

    // Unknown keys at four depths, one of them an email: each a finding with its path.
    let mut bad = pack.clone();
    bad["zzz_top"] = json!(1);
    bad["tables"]["public.attachments"]["columns"]["byte_size"]["number"]["histogram"][0]
        ["raw_min"] = json!(100);
    bad["edges"][0]["quantiles_min"] = json!(1);
    // The edge timings are as closed: an extreme slipped into an offset histogram is found.
    assert!(
        bad["edges"][1]["offset_seconds"].is_object(),
        "edge 1 has offsets"
    );
    bad["edges"][1]["offset_seconds"]["histogram"][0]["min"] = json!(-5);
    bad["schema"]["tables"][0]["columns"][0]["orrin.blackwood.9@pgshape-canary.test"] = json!(true);
    let file = dir.path().join("bad.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&bad).unwrap()).unwrap();
    let out = run(
        "pgshape-sampler",
        &["validate", file.to_str().unwrap()],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for path in [
        "$.zzz_top: unknown key",
        "$.tables.public.attachments.columns.byte_size.number.histogram[0].raw_min: unknown key",
        "$.edges[0].quantiles_min: unknown key",
        "$.edges[1].offset_seconds.histogram[0].min: unknown key",
    ] {
        assert!(stdout.contains(path), "{path} missing in:\n{stdout}");
    }
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("$.schema.tables[0].columns[0].<key #")
                && l.ends_with("unknown key (the format is closed)")),
        "{stdout}"
    );
    assert!(!stdout.contains("canary") && !String::from_utf8_lossy(&out.stderr).contains("canary"));
}

/// Without `--schema`, `extract` reads every schema but the system's and the loader's own
/// `_pgshape`, and logs which; with it, only those named.
#[test]
fn without_schema_every_non_system_schema_is_read_and_listed() {
    let db = pgshape_e2e::TestDb::new("schemas_default");
    db.client()
        .batch_execute(
            "CREATE SCHEMA billing; CREATE SCHEMA _pgshape;
             CREATE TABLE public.a (id int PRIMARY KEY);
             CREATE TABLE billing.b (id int PRIMARY KEY);
             CREATE TABLE _pgshape.runs (id int PRIMARY KEY);",
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tables = |extra: &[&str]| -> (Vec<String>, String) {
        let pack = dir.path().join("p.json");
        let mut args = vec!["extract", "--no-dp", "--output", pack.to_str().unwrap()];
        args.extend(extra);
        let out = run(
            "pgshape-sampler",
            &args,
            &[
                ("DATABASE_URL", &db.url),
                ("ANONYMIZATION_SALT", super::SALT),
            ],
        );
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{err}");
        let v: Value = serde_json::from_slice(&std::fs::read(&pack).unwrap()).unwrap();
        let names = v["tables"].as_object().unwrap().keys().cloned().collect();
        (names, err)
    };
    let (all, log) = tables(&[]);
    assert_eq!(all, ["billing.b", "public.a"]);
    assert!(
        log.contains("reading every schema but the system's") && log.contains("billing, public"),
        "{log}"
    );
    let (named, _) = tables(&["--schema", "billing"]);
    assert_eq!(named, ["billing.b"]);
}
