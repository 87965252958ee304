//! The floor of k and the integrity of the handover: `--k-min` below 5 is refused (exit 2)
//! unless `--unsafe-k`, and `validate` fails such a pack; `validate` recomputes the pack's
//! sha256 against its manifest, so an edited pack fails (exit 1).

use pgshape_e2e::{run, run_ok, TestDb};

use super::SALT;

const READINGS: &str = "
CREATE TABLE readings (id bigint PRIMARY KEY, value integer NOT NULL, taken_at timestamptz NOT NULL);
INSERT INTO readings SELECT g, g % 37, now() - g * interval '7 minutes' FROM generate_series(1, 400) g;
";

#[test]
fn k_below_the_floor_is_refused_and_an_edited_pack_fails_validate() {
    let db = TestDb::new("sampler_handover");
    db.client().batch_execute(READINGS).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("ANONYMIZATION_SALT", SALT),
    ];
    let pack = dir.path().join("p.json");
    let p = pack.to_str().unwrap();
    for k in ["1", "0", "4"] {
        let out = run(
            "pgshape-sampler",
            &["extract", "--output", p, "--k-min", k],
            &env,
        );
        assert_eq!(out.status.code(), Some(2), "--k-min {k}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("below the floor of 5"), "{stderr}");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "nothing written"
        );
    }
    // Forced: written, but validate fails it and report prints the k.
    run_ok(
        "pgshape-sampler",
        &["extract", "--output", p, "--k-min", "2", "--unsafe-k"],
        &env,
    );
    let out = run("pgshape-sampler", &["validate", p], &[]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("$.privacy.k_min: k_min 2 is below the floor of 5"),
        "{stdout}"
    );
    let report = run_ok("pgshape-sampler", &["report", p], &[]);
    assert!(report.contains("✗ k = 2"), "{report}");

    // At the default k: both files pass; edit one figure of the pack and both fail.
    run_ok("pgshape-sampler", &["extract", "--output", p], &env);
    let manifest = dir.path().join("p_mapping.json");
    let m = manifest.to_str().unwrap();
    let out = run("pgshape-sampler", &["validate", p, m], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let report = run_ok("pgshape-sampler", &["report", p], &[]);
    assert!(report.contains("✓ k = 10"), "{report}");
    let text = std::fs::read_to_string(&pack).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let rows = v["tables"]["public.readings"]["total_rows"]
        .as_u64()
        .unwrap();
    v["tables"]["public.readings"]["total_rows"] = (rows + 1).into();
    std::fs::write(&pack, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    for file in [p, m] {
        let out = run("pgshape-sampler", &["validate", file], &[]);
        assert_eq!(out.status.code(), Some(1), "{file}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("$.pack_sha256: ") && stdout.contains("edited after extraction"),
            "{stdout}"
        );
    }
    // A pack without its manifest cannot be checked: a finding too.
    std::fs::remove_file(&manifest).unwrap();
    let out = run("pgshape-sampler", &["validate", p], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no readable manifest"));
}
