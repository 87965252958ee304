//! Catalog metadata goes through the PII detectors: an enum label or a constraint name that
//! holds an email stops `extract` with exit 4, naming the object but not the text, and
//! writing nothing; once the privacy engineer allows the label in the policy it leaves as a
//! token, and the pack passes `validate`.

use pgshape_e2e::{run, run_ok, TestDb};

use super::SALT;

const EMAIL: &str = "jane.planted@example.com";

fn schema(constraint: &str) -> String {
    format!(
        "CREATE TYPE contact_kind AS ENUM ('phone', '{EMAIL}', 'post');
         CREATE TABLE contacts (id bigint PRIMARY KEY, kind contact_kind NOT NULL,
                                CONSTRAINT \"{constraint}\" CHECK (id > 0));
         INSERT INTO contacts SELECT g, (ARRAY['phone', '{EMAIL}', 'post'])[1 + g % 3]::contact_kind
           FROM generate_series(1, 300) g;"
    )
}

#[test]
fn an_enum_label_or_a_constraint_name_holding_an_email_stops_extract() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p.json");
    let p = out.to_str().unwrap();
    for (constraint, object) in [
        ("id_positive", "label #2 of enum type public.contact_kind"),
        (
            "chk_owner_jane.planted@example.com",
            "a constraint of public.contacts",
        ),
    ] {
        let db = TestDb::new("sampler_metadata");
        let mut c = db.client();
        c.batch_execute(&schema(constraint)).unwrap();
        if constraint != "id_positive" {
            // Only the constraint name holds the email here.
            c.batch_execute(&format!(
                "ALTER TYPE contact_kind RENAME VALUE '{EMAIL}' TO 'mail'"
            ))
            .unwrap();
        }
        let env = [
            ("DATABASE_URL", db.url.as_str()),
            ("ANONYMIZATION_SALT", SALT),
        ];
        let o = run("pgshape-sampler", &["extract", "--output", p], &env);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(4), "{stderr}");
        assert!(
            stderr.contains(object) && stderr.contains("email"),
            "{stderr}"
        );
        assert!(
            !stderr.contains("planted"),
            "the flagged text was printed: {stderr}"
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "nothing written"
        );
    }

    // Allowed by the policy: the label leaves as a token, and validate passes the pair.
    let db = TestDb::new("sampler_metadata");
    db.client().batch_execute(&schema("id_positive")).unwrap();
    let policy = dir.path().join("policy.json");
    std::fs::write(
        &policy,
        format!(r#"{{"policy_version": 1, "allow_names": ["{EMAIL}"]}}"#),
    )
    .unwrap();
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("ANONYMIZATION_SALT", SALT),
    ];
    run_ok(
        "pgshape-sampler",
        &[
            "extract",
            "--no-dp",
            "--output",
            p,
            "--policy",
            policy.to_str().unwrap(),
        ],
        &env,
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(!text.contains("planted"), "the label left in plain");
    let pack: pgshape_core::pack::Pack = serde_json::from_str(&text).unwrap();
    let labels = &pack.schema.enums[0].labels;
    assert_eq!(labels[0], "phone");
    assert!(pgshape_core::token::is_token(&labels[1]), "{labels:?}");
    let counts = &pack.tables["public.contacts"].columns["kind"]
        .categories
        .as_ref()
        .unwrap()
        .counts;
    assert_eq!(counts.get(&labels[1]), Some(&100), "{counts:?}");
    let o = run("pgshape-sampler", &["validate", p], &[]);
    pgshape_e2e::assert_only_the_no_dp_finding(&o);
}
