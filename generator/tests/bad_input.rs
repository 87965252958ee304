//! Bad specs get clear errors: each `tests/bad_specs/NAME.json` must fail with a message that
//! names the file and contains `NAME.expected` (the JSON path or the table and column).

use std::path::Path;

use pgshape_core::spec::Spec;
use pgshape_generator::Model;

#[test]
fn every_bad_spec_fails_with_its_expected_message() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_specs");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let expected = std::fs::read_to_string(path.with_extension("expected")).unwrap();
        let expected = expected.trim();
        let err = match Spec::read(&path) {
            Err(e) => e.to_string(),
            Ok(spec) => match Model::new(spec, "ci", "seed") {
                Err(e) => e.to_string(),
                Ok(_) => panic!("{} was accepted", path.display()),
            },
        };
        assert!(
            err.contains(expected),
            "{}:\n  got:      {err}\n  expected: {expected}",
            path.display()
        );
        if !err.starts_with("table ") {
            assert!(
                err.contains(path.to_str().unwrap()),
                "the message names the file: {err}"
            );
        }
        checked += 1;
    }
    assert!(checked >= 15, "{checked} cases");
}

/// The binary's exit code and message for two cases a hostile tester found (issue 18): a band
/// of u64::MAX rows aborted with a failed allocation (exit 134), a missing DDL file exited 5.
/// Both are bad input: exit 2, the message naming the spec and the value.
#[test]
fn a_huge_band_and_a_missing_ddl_exit_2_naming_the_spec() {
    let dir = tempfile::tempdir().unwrap();
    let base: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_specs/band_unknown_table.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let mut huge = base.clone();
    huge["bands"]["ci"]["rows"] = serde_json::json!({"a": u64::MAX});
    let mut no_ddl = base;
    no_ddl["bands"]["ci"]["rows"] = serde_json::json!({"a": 10});
    no_ddl["ddl"] = "missing.sql".into();
    let out = dir.path().join("out");
    let to = ["--output", out.to_str().unwrap()];
    for (name, spec, command, extra, value) in [
        (
            "huge.json",
            huge.clone(),
            "hash",
            &[][..],
            u64::MAX.to_string(),
        ),
        ("huge.json", huge, "generate", &to[..], u64::MAX.to_string()),
        (
            "no_ddl.json",
            no_ddl,
            "generate",
            &to[..],
            "missing.sql".into(),
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, serde_json::to_vec(&spec).unwrap()).unwrap();
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_pgshape-generator"))
            .args([command, "--spec", path.to_str().unwrap(), "--band", "ci"])
            .args(["--seed", "s"])
            .args(extra)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains(path.to_str().unwrap()), "{name}: {stderr}");
        assert!(stderr.contains(&value), "{name}: {stderr}");
        assert!(!out.exists(), "{name}: nothing written");
    }
}
