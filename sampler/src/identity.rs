//! Which database an extraction read: the cluster's `system_identifier` (from
//! `pg_control_system()`, readable by a plain role on PostgreSQL 15) and the database's
//! name and OID, plus the salt's fingerprint. The budget ledger and the audit log key on it.

use postgres::GenericClient;
use serde::{Deserialize, Serialize};

use pgshape_core::{Error, Result};

/// A database, as the ledger and the audit log name it. No host, port or user: they change
/// with the network path, the database does not.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DbIdentity {
    /// `pg_control_system().system_identifier` as text; `None` where the server does not
    /// let the role read it (then name and OID alone identify the database).
    pub system_identifier: Option<String>,
    pub database: String,
    pub database_oid: u32,
    /// The salt's fingerprint (an HMAC of a fixed label, never the salt).
    pub salt_fingerprint: String,
}

impl DbIdentity {
    /// Reads the identity on `client` (outside a transaction: a refused
    /// `pg_control_system()` must not abort one).
    pub fn read(client: &mut impl GenericClient, salt_fingerprint: &str) -> Result<DbIdentity> {
        let system_identifier = match client.query_one(
            "SELECT system_identifier::text FROM pg_control_system()",
            &[],
        ) {
            Ok(row) => Some(row.get::<_, String>(0)),
            Err(_) => {
                tracing::warn!("pg_control_system() is not readable by this role: the database is identified by its name and OID only");
                None
            }
        };
        let row = client
            .query_one(
                "SELECT current_database()::text, oid FROM pg_database WHERE datname = current_database()",
                &[],
            )
            .map_err(Error::db("reading the database's name and OID"))?;
        Ok(DbIdentity {
            system_identifier,
            database: row.get(0),
            database_oid: row.get::<_, postgres::types::Oid>(1),
            salt_fingerprint: salt_fingerprint.to_string(),
        })
    }

    /// The same database whatever the salt.
    pub fn same_database(&self, other: &DbIdentity) -> bool {
        self.system_identifier == other.system_identifier
            && self.database == other.database
            && self.database_oid == other.database_oid
    }
}
