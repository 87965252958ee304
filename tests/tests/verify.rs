//! `verify` after a load: exit 0 on a clean load; exit 1 naming the table for a flipped byte
//! (an `UPDATE` of one value), a deleted row and an orphan — with its foreign key dropped
//! (`verify`), and written with the foreign key's triggers bypassed (`verify --deep`).

use std::process::Output;

use pgshape_e2e::{run, run_ok, TestDb};

fn verify(db: &TestDb, deep: bool) -> Output {
    let mut args = vec!["verify"];
    if deep {
        args.push("--deep");
    }
    run("pgshape-loader", &args, &[("DATABASE_URL", &db.url)])
}

/// Asserts `verify` (or `--deep`) exits 1 with `line` on stdout and `problem` on stderr.
fn finds(db: &TestDb, deep: bool, line: &str, problem: &str) {
    let out = verify(db, deep);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains(line), "{line:?} not in:\n{stdout}");
    assert!(stderr.contains(problem), "{problem:?} not in:\n{stderr}");
}

fn clean(db: &TestDb, deep: bool) -> String {
    let out = verify(db, deep);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn verify_passes_a_clean_load_and_names_the_table_of_each_fault() {
    let work = tempfile::tempdir().unwrap();
    let db = TestDb::new("verify");
    run_ok(
        "pgshape-loader",
        &[
            "load",
            "--spec",
            "specs/chat/spec.json",
            "--band",
            "ci",
            "--seed",
            "verify",
            "--schema",
            "synth",
            "--create-schema",
            "--environment",
            "ci",
            "--metadata-dir",
            work.path().to_str().unwrap(),
        ],
        &[("DATABASE_URL", &db.url)],
    );
    let out = clean(&db, false);
    assert!(out.contains("and 9 foreign keys verified"), "{out}");
    assert!(
        out.contains(
            "✓ attachments: foreign key attachments_message_id_fkey validated by PostgreSQL"
        ),
        "{out}"
    );
    let out = clean(&db, true);
    assert!(
        out.contains("(deep: every foreign key's orphans counted"),
        "{out}"
    );
    assert!(
        out.contains("✓ attachments: foreign key attachments_message_id_fkey no orphans (counted)"),
        "{out}"
    );

    let mut c = db.client();
    let id: i64 = c
        .query_one("SELECT min(id) FROM synth.messages", &[])
        .unwrap()
        .get(0);
    // One byte of one value: the first character of a message's content.
    let original: String = c
        .query_one("SELECT content FROM synth.messages WHERE id = $1", &[&id])
        .unwrap()
        .get(0);
    c.execute(
        "UPDATE synth.messages SET content = CASE WHEN left(content, 1) = 'x' THEN 'y' ELSE 'x' END || substr(content, 2) WHERE id = $1",
        &[&id],
    )
    .unwrap();
    finds(
        &db,
        false,
        "✗ messages: server hashes changed since the load",
        "server hashes of messages",
    );
    // Undone, verify passes again: the hash is of the rows, not of time.
    c.execute(
        "UPDATE synth.messages SET content = $2 WHERE id = $1",
        &[&id, &original],
    )
    .unwrap();
    clean(&db, false);

    // An orphan written with the foreign key's triggers bypassed: the constraint is still
    // there and validated, so only --deep, which counts, sees the orphan.
    let (att, msg): (i64, i64) = c
        .query_one(
            "SELECT id, message_id FROM synth.attachments ORDER BY id LIMIT 1",
            &[],
        )
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    c.batch_execute("SET session_replication_role = replica")
        .unwrap();
    c.execute(
        "UPDATE synth.attachments SET message_id = -1 WHERE id = $1",
        &[&att],
    )
    .unwrap();
    c.batch_execute("RESET session_replication_role").unwrap();
    finds(
        &db,
        true,
        "✗ attachments: 1 orphan rows (attachments_message_id_fkey)",
        "orphans in attachments (attachments_message_id_fkey)",
    );

    // The same orphan with the foreign key dropped: plain verify names the missing key and
    // counts the orphans from the key the run recorded.
    c.batch_execute("ALTER TABLE synth.attachments DROP CONSTRAINT attachments_message_id_fkey")
        .unwrap();
    finds(
        &db,
        false,
        "✗ attachments: foreign key attachments_message_id_fkey is missing",
        "foreign key attachments_message_id_fkey of attachments",
    );
    finds(
        &db,
        false,
        "✗ attachments: 1 orphan rows (attachments_message_id_fkey)",
        "orphans in attachments (attachments_message_id_fkey)",
    );
    c.execute(
        "UPDATE synth.attachments SET message_id = $2 WHERE id = $1",
        &[&att, &msg],
    )
    .unwrap();
    c.batch_execute("ALTER TABLE synth.attachments ADD CONSTRAINT attachments_message_id_fkey FOREIGN KEY (message_id) REFERENCES synth.messages (id)")
        .unwrap();
    clean(&db, false);

    // A deleted row.
    c.execute("DELETE FROM synth.attachments WHERE id = $1", &[&att])
        .unwrap();
    finds(&db, false, "✗ attachments: rows ", "rows of attachments");
}
