//! `--budget-ledger` and `--audit-log` on `extract`, and `audit verify`, against a real
//! PostgreSQL: the ledger adds up ε per database (its `system_identifier` as the test's own
//! SQL reads it) and refuses (exit 4) an extraction past the total before anything is
//! written; every extraction appends a hash-chained record that `audit verify` checks, and
//! a flipped byte, a removed or a swapped record makes it exit 1 naming the line.

use std::path::Path;

use pgshape_e2e::{run, run_ok, TestDb, TEST_NOW};

use super::SALT;

const PEOPLE: &str = "
CREATE TABLE people (id bigint PRIMARY KEY, joined timestamptz NOT NULL, score integer);
INSERT INTO people SELECT g, timestamptz '2026-12-02 12:00:00+00' - g * interval '37 minutes', g % 50
  FROM generate_series(1, 400) g;
";

fn extract(db: &TestDb, dir: &Path, name: &str, extra: &[&str]) -> std::process::Output {
    let pack = dir.join(name);
    let ledger = dir.join("ledger.json");
    let log = dir.join("audit.jsonl");
    let mut args = vec![
        "extract",
        "--output",
        pack.to_str().unwrap(),
        "--budget-ledger",
        ledger.to_str().unwrap(),
        "--budget-total",
        "2.5",
        "--audit-log",
        log.to_str().unwrap(),
        "--operator",
        "alice",
    ];
    args.extend_from_slice(extra);
    run(
        "pgshape-sampler",
        &args,
        &[("DATABASE_URL", &db.url), ("ANONYMIZATION_SALT", SALT)],
    )
}

fn verify(log: &Path) -> (Option<i32>, String) {
    let out = run(
        "pgshape-sampler",
        &["audit", "verify", log.to_str().unwrap()],
        &[],
    );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[test]
fn the_ledger_refuses_past_its_total_and_the_audit_log_is_a_chain() {
    let db = TestDb::new("sampler_budget");
    let mut client = db.client();
    client.batch_execute(PEOPLE).unwrap();
    let system: String = client
        .query_one(
            "SELECT system_identifier::text FROM pg_control_system()",
            &[],
        )
        .unwrap()
        .get(0);
    let dir = tempfile::tempdir().unwrap();
    let (ledger, log) = (
        dir.path().join("ledger.json"),
        dir.path().join("audit.jsonl"),
    );

    for (name, eps) in [("a.json", "1"), ("b.json", "1.5")] {
        let out = extract(&db, dir.path(), name, &["--epsilon", eps]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = std::fs::read_to_string(&ledger).unwrap();
    let l: serde_json::Value = serde_json::from_str(&text).unwrap();
    let accounts = l["accounts"].as_object().unwrap();
    assert_eq!(accounts.len(), 1, "{text}");
    let account = accounts.values().next().unwrap();
    assert_eq!(account["database"]["system_identifier"], system.as_str());
    assert_eq!(account["database"]["database"], db.name.as_str());
    let charges: Vec<f64> = account["extractions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["epsilon"].as_f64().unwrap())
        .collect();
    assert_eq!(charges, [1.0, 1.5]);
    let pack_a = pgshape_core::artifact::sha256_file(&dir.path().join("a.json")).unwrap();
    assert_eq!(account["extractions"][0]["pack_sha256"], pack_a.as_str());
    assert_eq!(account["extractions"][0]["noise_applied"], true);
    // The pack records the noise it was extracted under, and the report reads ε per family.
    let pack: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("a.json")).unwrap()).unwrap();
    assert_eq!(pack["privacy"]["epsilon"], 1.0);
    let dp = &pack["privacy"]["dp"];
    assert_eq!(dp["mechanism"], "discrete_laplace");
    assert_eq!(
        (dp["epsilon"].as_f64(), dp["delta"].as_f64()),
        (Some(1.0), Some(0.0))
    );
    let split: f64 = dp["split"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_f64().unwrap())
        .sum();
    assert!((split - 1.0).abs() < 1e-9, "{dp}");
    assert_eq!(dp["bounds"]["max_rows_per_unit"], 64);
    let report = run_ok(
        "pgshape-sampler",
        &["report", dir.path().join("a.json").to_str().unwrap()],
        &[],
    );
    assert!(
        report.contains("Differential privacy: discrete_laplace at ε = 1 (δ = 0)")
            && report.contains("ε fanout: 0.15")
            && report.contains("ε profiles: 0.15"),
        "{report}"
    );

    // 2.5 of 2.5 spent: a third extraction, however small, is refused before anything is
    // written; the ledger and the log are left as they were.
    let log_before = std::fs::read(&log).unwrap();
    let out = extract(&db, dir.path(), "c.json", &["--epsilon", "0.01"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(
        err.contains("privacy budget exhausted") && err.contains("2.5 of 2.5"),
        "{err}"
    );
    assert!(!dir.path().join("c.json").exists() && !dir.path().join("c_mapping.json").exists());
    assert_eq!(std::fs::read_to_string(&ledger).unwrap(), text);
    assert_eq!(std::fs::read(&log).unwrap(), log_before);
    // A bad epsilon is bad input (exit 2), and nothing is written either.
    let out = extract(&db, dir.path(), "z.json", &["--epsilon", "0"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!dir.path().join("z.json").exists());
    // --no-dp cannot be charged to a ledger.
    let out = extract(&db, dir.path(), "d.json", &["--no-dp"]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!dir.path().join("d.json").exists());

    // The log: two records, chained, with what the extraction was.
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    let r = &lines[0];
    assert_eq!(r["seq"], 1);
    assert_eq!(r["at"], TEST_NOW);
    assert_eq!(r["operator"], "alice");
    assert_eq!(r["database"]["system_identifier"], system.as_str());
    assert_eq!(r["schemas"], serde_json::json!(["public"]));
    assert_eq!(r["pack_sha256"], pack_a.as_str());
    assert_eq!(r["epsilon"], 1.0);
    assert_eq!(r["k_min"], 10);
    assert_eq!(lines[1]["prev"], r["hash"]);
    let (code, said) = verify(&log);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("2 record(s) intact"), "{said}");
    assert!(said.contains(lines[1]["hash"].as_str().unwrap()), "{said}");

    // Tampering: a flipped byte, a removed record, two records swapped.
    let bytes = std::fs::read(&log).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    let raw: Vec<&str> = text.lines().collect();
    let mut flipped = bytes.clone();
    let at = text.find("alice").unwrap();
    flipped[at] ^= 0x20; // "Alice"
    let cases: [(&str, Vec<u8>, &str); 3] = [
        ("flipped", flipped, "line 1"),
        ("removed", format!("{}\n", raw[1]).into_bytes(), "line 1"),
        (
            "swapped",
            format!("{}\n{}\n", raw[1], raw[0]).into_bytes(),
            "line 1",
        ),
    ];
    for (what, content, line) in cases {
        std::fs::write(&log, &content).unwrap();
        let (code, said) = verify(&log);
        assert_eq!(code, Some(1), "{what}: {said}");
        assert!(said.contains(line), "{what}: {said}");
    }
    // A broken log stops the next extraction (exit 4) before anything is written.
    std::fs::remove_file(&ledger).unwrap();
    let out = extract(&db, dir.path(), "e.json", &[]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("audit log is not intact"));
    assert!(!dir.path().join("e.json").exists() && !ledger.exists());
}
