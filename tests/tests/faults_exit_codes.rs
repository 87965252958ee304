//! The exit-code table of `docs/runbook.md`, row by row: a representative case of each code
//! for each binary that can give it (the generator never connects, so it has no 3; code 5 is
//! a bug and has no representative case).

use std::path::Path;

use pgshape_e2e::{extract_pack, repo_root, run, run_ok, TestDb};

const SALT: &str = "3c1f0e9d8b7a6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d";

fn tiny_spec(dir: &Path) -> String {
    let mut spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(repo_root().join("specs/chat/spec.json")).unwrap())
            .unwrap();
    spec["bands"]["ci"]["rows"] =
        serde_json::json!({"users": 20, "conversations": 20, "messages": 200});
    let path = dir.join("spec.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&spec).unwrap()).unwrap();
    std::fs::copy(
        repo_root().join("specs/chat/schema.sql"),
        dir.join("schema.sql"),
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

fn write_json(path: &Path, v: &serde_json::Value) -> String {
    std::fs::write(path, serde_json::to_vec_pretty(v).unwrap()).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn each_exit_code_of_each_binary_has_a_representative_case() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let production = TestDb::new("exit_codes_prod");
    production.load_fixture("0.02");
    let pack = extract_pack(&production, w, SALT); // sampler, 0
    let pack_s = pack.to_str().unwrap().to_string();
    let pack_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&pack).unwrap()).unwrap();
    let spec = tiny_spec(w);
    let dataset = w.join("dataset");
    let ds = dataset.to_str().unwrap().to_string();
    run_ok(
        "pgshape-generator",
        &[
            "generate", "--spec", &spec, "--band", "ci", "--seed", "x", "--output", &ds,
        ],
        &[],
    ); // generator, 0
    let target = TestDb::new("exit_codes_target");
    let meta = w.join("meta").to_str().unwrap().to_string();
    let load = |url: &str, env: &str| {
        run(
            "pgshape-loader",
            &[
                "load",
                "--dataset",
                &ds,
                "--schema",
                "synth",
                "--create-schema",
                "--environment",
                env,
                "--metadata-dir",
                &meta,
            ],
            &[("DATABASE_URL", url)],
        )
    };
    let closed = "postgresql://postgres:pw-exitcodes-9f8e@127.0.0.1:1/postgres";

    // Inputs for the other rows.
    let mut tainted = pack_json.clone();
    tainted["tables"]["public.users"]["count_method"] = "jane.doe@example.com".into();
    let tainted = write_json(&w.join("tainted.json"), &tainted);
    let mut bad_spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&spec).unwrap()).unwrap();
    bad_spec["tabels"] = serde_json::json!({});
    let bad_spec = write_json(&w.join("bad_spec.json"), &bad_spec);
    let mut expired = pack_json.clone();
    expired["expires_at"] = "2020-01-01T00:00:00Z".into();
    let expired = write_json(&w.join("expired.json"), &expired);
    let mut other = pack_json.clone();
    for (_, t) in other["tables"].as_object_mut().unwrap().iter_mut().take(1) {
        let rows = t["total_rows"].as_u64().unwrap_or(1);
        t["total_rows"] = (rows * 50 + 1000).into();
    }
    let other = write_json(&w.join("other.json"), &other);
    let no_report = w.join("no_report");
    std::fs::create_dir_all(&no_report).unwrap();
    let pii_db = TestDb::new("exit_codes_pii");
    pii_db
        .client()
        .batch_execute(
            "CREATE TABLE t (id int CONSTRAINT \"chk_jane.doe@example.com\" CHECK (id > 0))",
        )
        .unwrap();

    let out_json = w.join("out.json");
    let out_s = out_json.to_str().unwrap().to_string();
    let salted = [("ANONYMIZATION_SALT", SALT)];
    type Case<'a> = (&'a str, u8, Vec<&'a str>, Vec<(&'a str, &'a str)>);
    let cases: Vec<Case<'_>> = vec![
        ("pgshape-sampler", 1, vec!["validate", &tainted], vec![]),
        (
            "pgshape-sampler",
            2,
            vec!["extract", "--output", &out_s],
            vec![
                ("DATABASE_URL", production.url.as_str()),
                ("ANONYMIZATION_SALT", ""),
            ],
        ),
        (
            "pgshape-sampler",
            3,
            vec!["extract", "--output", &out_s],
            vec![("DATABASE_URL", closed), salted[0]],
        ),
        (
            "pgshape-sampler",
            4,
            vec!["extract", "--output", &out_s],
            vec![("DATABASE_URL", pii_db.url.as_str()), salted[0]],
        ),
        (
            "pgshape-generator",
            0,
            vec!["hash", "--spec", &spec, "--band", "ci", "--seed", "x"],
            vec![],
        ),
        (
            "pgshape-generator",
            1,
            vec!["compare", "--production", &pack_s, "--synthetic", &other],
            vec![],
        ),
        (
            "pgshape-generator",
            2,
            vec!["hash", "--spec", &bad_spec, "--band", "ci", "--seed", "x"],
            vec![],
        ),
        (
            "pgshape-generator",
            4,
            vec![
                "calibrate",
                "--spec",
                &spec,
                "--pack",
                &expired,
                "--output",
                &out_s,
            ],
            vec![],
        ),
        (
            "pgshape-loader",
            2,
            vec![
                "load",
                "--dataset",
                no_report.to_str().unwrap(),
                "--schema",
                "s",
                "--create-schema",
                "--environment",
                "ci",
                "--metadata-dir",
                &meta,
            ],
            vec![("DATABASE_URL", target.url.as_str())],
        ),
        (
            "pgshape-loader",
            3,
            vec![
                "load",
                "--dataset",
                &ds,
                "--schema",
                "s",
                "--create-schema",
                "--environment",
                "ci",
                "--metadata-dir",
                &meta,
            ],
            vec![("DATABASE_URL", closed)],
        ),
    ];
    let mut table = Vec::new();
    for (bin, code, args, env) in &cases {
        let o = run(bin, args, env);
        let stderr = String::from_utf8_lossy(&o.stderr).to_string();
        assert_eq!(
            o.status.code(),
            Some(i32::from(*code)),
            "{bin} {args:?}: {stderr}"
        );
        assert!(
            !stderr.contains("pw-exitcodes-9f8e"),
            "{bin}: the password leaked: {stderr}"
        );
        if *code >= 2 {
            assert!(
                stderr.lines().any(|l| l.starts_with("error: ")),
                "{bin} {args:?}: {stderr}"
            );
        }
        let first = stderr.lines().find(|l| l.starts_with("error: "));
        table.push(format!("{bin} {code}: {}", first.unwrap_or("")));
    }
    // The loader's 4, 0 and 1: production refused, then a load, then a verify after a change.
    let o = load(&target.url, "production");
    assert_eq!(
        o.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = load(&target.url, "ci");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    target
        .client()
        .batch_execute(
            "UPDATE synth.users SET created_at = created_at + interval '1 second' WHERE id = (SELECT min(id) FROM synth.users)",
        )
        .unwrap();
    let o = run(
        "pgshape-loader",
        &["verify"],
        &[("DATABASE_URL", &target.url)],
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    eprintln!("{}", table.join("\n"));
}
