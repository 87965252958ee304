//! The production-safe session: every statement runs in one read-only, repeatable-read
//! transaction (one consistent snapshot, no writes possible), under statement and lock
//! timeouts, as `application_name = pgshape-sampler`.

use pgshape_core::conn::{Session, Target};
use pgshape_core::{Error, Result};
use postgres::{Client, Transaction};

/// Limits of a sampler session.
#[derive(Debug, Clone)]
pub struct Limits {
    /// `statement_timeout`, e.g. `5min`.
    pub statement_timeout: String,
    /// `lock_timeout`, e.g. `5s`.
    pub lock_timeout: String,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            statement_timeout: "5min".into(),
            lock_timeout: "5s".into(),
        }
    }
}

/// Connects with the sampler's session settings (`default_transaction_read_only` included, so
/// even a statement outside [`snapshot`] cannot write).
pub fn connect(target: &Target, limits: &Limits) -> Result<Client> {
    target.connect(&Session {
        application_name: "pgshape-sampler".into(),
        settings: vec![
            ("default_transaction_read_only".into(), "on".into()),
            ("statement_timeout".into(), limits.statement_timeout.clone()),
            ("lock_timeout".into(), limits.lock_timeout.clone()),
            ("idle_in_transaction_session_timeout".into(), "10min".into()),
            // Profiles and windows are in UTC; timestamps without a time zone are read as UTC.
            ("TimeZone".into(), "UTC".into()),
        ],
    })
}

/// Opens the read-only repeatable-read transaction all extraction runs in.
pub fn snapshot(client: &mut Client) -> Result<Transaction<'_>> {
    client
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(Error::db("starting a read-only transaction"))
}

/// Whether the connected role could write to any of the tables (`INSERT`, `UPDATE`, `DELETE`
/// or `TRUNCATE`): the sampler never does, but a production role should not be able to.
pub fn role_can_write(tx: &mut Transaction<'_>, schemas: &[String]) -> Result<bool> {
    let row = tx
        .query_one(
            "SELECT coalesce(bool_or(has_table_privilege(c.oid, 'INSERT,UPDATE,DELETE,TRUNCATE')), false)
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY($1)",
            &[&schemas],
        )
        .map_err(Error::db("checking the role's privileges"))?;
    Ok(row.get(0))
}

/// The loader's own schema on a target (runs and chunk ledger): never production data.
pub const LOADER_SCHEMA: &str = "_pgshape";

/// The schemas to read: those asked for, or when none is, every schema but the system's
/// (`pg_catalog`, `information_schema`, `pg_toast`, temp schemas: `pg_*`) and the loader's
/// own ([`LOADER_SCHEMA`]), as `pg_dump` reads every schema but the system's. In name order.
pub fn schemas(target: &Target, limits: &Limits, asked: &[String]) -> Result<Vec<String>> {
    if !asked.is_empty() {
        return Ok(asked.to_vec());
    }
    let mut client = connect(target, limits)?;
    let rows = client
        .query(
            "SELECT nspname::text FROM pg_namespace
              WHERE nspname !~ '^pg_' AND nspname <> 'information_schema' AND nspname <> $1
              ORDER BY nspname",
            &[&LOADER_SCHEMA],
        )
        .map_err(Error::db("listing the schemas"))?;
    let found: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    tracing::info!(schemas = %found.join(", "), "reading every schema but the system's (--schema to choose)");
    Ok(found)
}
