//! What the binaries print when the server refuses a statement: the condition and its SQLSTATE,
//! never the row values PostgreSQL quotes in DETAIL or in data-exception messages.

use pgshape_core::cli::render;
use pgshape_core::Error;
use pgshape_e2e::TestDb;

const CANARY: &str = "canary.errors@example.org";

fn rendered(db: &TestDb, sql: &str) -> String {
    let err = db
        .client()
        .batch_execute(sql)
        .map_err(Error::db("running the statement"))
        .unwrap_err();
    render(&anyhow::Error::new(err).context("the command stopped"))
}

#[test]
fn server_errors_are_printed_without_row_values() {
    let db = TestDb::new("errors");
    db.client()
        .batch_execute(&format!(
            "CREATE TABLE t (v text UNIQUE CHECK (v <> 'x'), n int);
             INSERT INTO t VALUES ('{CANARY}', 1);"
        ))
        .unwrap();
    for (sql, expected) in [
        (
            format!("INSERT INTO t VALUES ('{CANARY}', 2)"),
            "integrity constraint violation (SQLSTATE 23505) on constraint t_v_key",
        ),
        (
            format!("SELECT '{CANARY}'::int"),
            "data exception (SQLSTATE 22P02)",
        ),
        (
            "SELECT * FROM no_such_table".to_string(),
            "relation \"no_such_table\" does not exist (SQLSTATE 42P01)",
        ),
    ] {
        let msg = rendered(&db, &sql);
        assert!(msg.starts_with("error: the command stopped\n  caused by: running the statement\n  caused by: ERROR: "), "{msg}");
        assert!(msg.contains(expected), "{msg}");
        assert!(!msg.contains("canary") && !msg.contains("DETAIL"), "{msg}");
        assert!(!msg.contains("db error"), "{msg}");
    }
}
