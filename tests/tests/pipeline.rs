//! The whole pipeline against the sandbox: production fixture → sampler → generator → loader,
//! with exact row counts and zero orphan rows for every foreign key, checked by SQL of this
//! test (not by the loader's own checks).

use std::path::Path;

use pgshape_e2e::{extract_pack, orphans, read_report, repo_root, run_ok, TestDb};

const SALT: &str = "pipeline-test-salt-0123456789abcdef0123456789";

#[test]
fn fixture_to_sampler_to_generator_to_loader() {
    let work = tempfile::tempdir().unwrap();
    let production = TestDb::new("pipeline_prod");
    production.load_fixture("0.02");

    // Sampler on the "production" database.
    let pack = extract_pack(&production, work.path(), SALT);
    let pack_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&pack).unwrap()).unwrap();
    let tables = pack_json["tables"].as_object().expect("pack has tables");
    let mut prod = production.client();
    for (name, metrics) in tables {
        let (schema, table) = name.split_once('.').unwrap();
        let truth: i64 = prod
            .query_one(
                &format!("SELECT count(*) FROM \"{schema}\".\"{table}\""),
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(
            metrics["total_rows"].as_i64(),
            Some(truth),
            "pack count of {name}"
        );
    }
    assert!(tables.len() >= 6, "every fixture table is in the pack");

    // Generator: the ci band of the chat spec.
    let dataset = work.path().join("dataset");
    run_ok(
        "pgshape-generator",
        &[
            "generate",
            "--spec",
            "specs/chat/spec.json",
            "--band",
            "ci",
            "--seed",
            "pipeline",
            "--output",
            dataset.to_str().unwrap(),
        ],
        &[],
    );
    let report = read_report(&dataset);

    // Loader into an empty database.
    let target = TestDb::new("pipeline_target");
    let metadata = work.path().join("perf-data");
    run_ok(
        "pgshape-loader",
        &[
            "load",
            "--dataset",
            dataset.to_str().unwrap(),
            "--schema",
            "synthetic",
            "--create-schema",
            "--environment",
            "ci",
            "--metadata-dir",
            metadata.to_str().unwrap(),
        ],
        &[("DATABASE_URL", &target.url)],
    );

    let mut client = target.client();
    assert_eq!(report.tables.len(), 6);
    for (table, t) in &report.tables {
        let n: i64 = client
            .query_one(&format!("SELECT count(*) FROM synthetic.\"{table}\""), &[])
            .unwrap()
            .get(0);
        assert_eq!(n as u64, t.rows, "row count of {table}");
        assert!(n > 0, "{table} is not empty");
    }
    let orphans = orphans(&mut client, "synthetic");
    assert!(orphans.len() >= 8, "{orphans:?}");
    for (fk, n) in &orphans {
        assert_eq!(*n, 0, "orphan rows for foreign key {fk}");
    }
    assert!(Path::new(&repo_root())
        .join("specs/chat/spec.json")
        .exists());
}
