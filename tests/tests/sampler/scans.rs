//! Issue 14: an exact extraction reads each table in at most two sequential scans (the
//! server's `pg_stat_user_tables.seq_scan`, before and after), whatever figures, foreign keys
//! and privacy-unit joins it has. Under DP or sampling the figures run one statement each.

use std::collections::BTreeMap;

use super::SALT;

/// Sequential scans per table of the test database.
fn seq_scans(db: &pgshape_e2e::TestDb) -> BTreeMap<String, i64> {
    let mut c = pgshape_e2e::connect(&db.url);
    c.query(
        "SELECT relname::text, seq_scan FROM pg_stat_user_tables",
        &[],
    )
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect()
}

#[test]
fn an_exact_extraction_scans_each_table_at_most_twice() {
    let db = super::fixture();
    // The fixture's loading backend reports its own scans as it exits: wait until they stay.
    let mut before = seq_scans(&db);
    for _ in 0..20 {
        std::thread::sleep(std::time::Duration::from_millis(200));
        let now = seq_scans(&db);
        if now == before {
            break;
        }
        before = now;
    }
    assert!(before.len() >= 6, "the fixture's tables: {before:?}");
    let dir = tempfile::tempdir().unwrap();
    pgshape_e2e::extract_pack_with(&db, dir.path(), SALT, &["--no-dp"]);
    // The sampler's backend sends its counts as it exits; poll for them briefly.
    let mut scans = BTreeMap::new();
    for _ in 0..50 {
        let after = seq_scans(&db);
        scans = after
            .iter()
            .map(|(t, n)| (t.clone(), n - before.get(t).copied().unwrap_or(0)))
            .collect();
        if scans.values().all(|&n| n > 0) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        scans.values().all(|&n| n > 0),
        "every table read (the statistics arrived): {scans:?}"
    );
    eprintln!("sequential scans per table: {scans:?}");
    let over: Vec<_> = scans.iter().filter(|(_, &n)| n > 2).collect();
    assert!(
        over.is_empty(),
        "tables scanned more than twice: {over:?} (all: {scans:?})"
    );
}
