//! PII detection from a sample of values: innocuously named columns that hold emails, phone
//! numbers or IBANs are classified `pii` (in the pack and in `inspect`), free text that
//! mentions PII once stays text, the policy wins, and no sampled value is ever printed.

use pgshape_core::pack::Pack;
use pgshape_e2e::{run, run_ok, TestDb};

use super::SALT;

/// 20,000 rows (analyzed, so the value sample goes through TABLESAMPLE SYSTEM).
const PLANTED: &str = "
CREATE TABLE crm_notes (id bigint PRIMARY KEY, note text, memo text, status text, body text,
                        extra jsonb, kept text, created_at timestamptz NOT NULL);
INSERT INTO crm_notes
SELECT g,
       'planted.person' || g || '@crm-canary.test',
       CASE WHEN g % 3 = 0 THEN 'ring +1-415-555-' || lpad((g % 10000)::text, 4, '0') ELSE 'left a message' END,
       CASE WHEN g % 2 = 0 THEN 'GB82WEST12345698765432' ELSE 'DE89370400440532013000' END,
       CASE WHEN g = 777 THEN 'write to planted.once@crm-canary.test' ELSE 'the meeting moved to friday' END,
       jsonb_build_object('contact', 'planted.json' || g || '@crm-canary.test'),
       'planted.kept' || g || '@crm-canary.test',
       timestamptz '2026-12-02 12:00:00+00' - g * interval '1 minute'
  FROM generate_series(1, 20000) g;
ANALYZE crm_notes;
";

#[test]
fn columns_whose_values_are_pii_are_classified_pii_without_printing_a_value() {
    let db = TestDb::new("sampler_detect");
    db.client().batch_execute(PLANTED).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.json");
    std::fs::write(
        &policy,
        r#"{"policy_version": 1, "tables": {"public.crm_notes": {"columns": {"kept": {"role": "text"}}}}}"#,
    )
    .unwrap();
    let pack = dir.path().join("crm.json");
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("ANONYMIZATION_SALT", SALT),
    ];
    let out = run(
        "pgshape-sampler",
        &[
            "-vv",
            "extract",
            "--output",
            pack.to_str().unwrap(),
            "--policy",
            policy.to_str().unwrap(),
        ],
        &env,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("classified pii from a sample of its values"),
        "{stderr}"
    );

    let text = std::fs::read_to_string(&pack).unwrap();
    let p: Pack = serde_json::from_str(&text).unwrap();
    let cols = &p.tables["public.crm_notes"].columns;
    for (col, role) in [
        ("note", "pii"),
        ("memo", "pii"),
        ("status", "pii"),
        ("extra", "pii"),
        ("body", "text"),
        ("kept", "text"),
        ("created_at", "timestamp"),
    ] {
        assert_eq!(cols[col].role, role, "{col}");
    }
    assert!(
        cols["status"].categories.is_none(),
        "a pii column exports no frequencies, not even tokens"
    );

    let table = run_ok(
        "pgshape-sampler",
        &["inspect", "--policy", policy.to_str().unwrap()],
        &env,
    );
    for (col, why) in [
        ("note", "email"),
        ("memo", "phone"),
        ("status", "iban"),
        ("extra", "email"),
    ] {
        let line = table
            .lines()
            .find(|l| l.starts_with(&format!("| public.crm_notes | {col} |")))
            .unwrap();
        assert!(
            line.contains(&format!("| pii (values look like {why}")),
            "{line}"
        );
    }

    // No sampled value anywhere: pack, manifest, logs, inspect.
    let manifest = std::fs::read_to_string(dir.path().join("crm_mapping.json")).unwrap();
    for (what, s) in [
        ("pack", &text),
        ("manifest", &manifest),
        ("stderr", &stderr.to_string()),
        ("inspect", &table),
    ] {
        for needle in [
            "crm-canary",
            "planted",
            "415-555",
            "GB82WEST",
            "DE89370400",
            "left a message",
        ] {
            assert!(!s.contains(needle), "{what} contains a value ({needle})");
        }
    }
}
