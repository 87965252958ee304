//! The budget ledger (`--budget-ledger PATH`): a JSON file the privacy engineer keeps that
//! adds up the ε of every extraction, per database and salt. An extraction that would take a
//! database's ε past `--budget-total` is refused before anything is read or written.
//!
//! The total is checked over every salt of the same database: a new salt gives new tokens,
//! not new people, so it does not restore the budget.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use pgshape_core::artifact;
use pgshape_core::{Error, Result};

use crate::identity::DbIdentity;

/// The ledger format version.
pub const LEDGER_VERSION: u32 = 1;

/// Default ε a database may spend in all (`--budget-total`): ten extractions at the default
/// ε of 1.
pub const DEFAULT_TOTAL: f64 = 10.0;

/// The ledger file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ledger {
    pub ledger_version: u32,
    /// Per database and salt ([`key`]).
    pub accounts: BTreeMap<String, Account>,
}

/// What one database, under one salt, has spent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    pub database: DbIdentity,
    pub extractions: Vec<Extraction>,
}

/// One extraction's charge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Extraction {
    /// RFC 3339 (`--now` when given).
    pub at: String,
    pub pack_sha256: String,
    /// ε charged.
    pub epsilon: f64,
    /// Whether the pack's figures were noised. `false` until the metrics are wired to the
    /// mechanisms (issue 12): the charge is then a reservation of the budget.
    pub noise_applied: bool,
}

/// The ledger key of a database under a salt.
pub fn key(db: &DbIdentity) -> String {
    format!(
        "{}/{}/{}/{}",
        db.system_identifier.as_deref().unwrap_or("unknown-system"),
        db.database,
        db.database_oid,
        db.salt_fingerprint
    )
}

/// Whether an extraction may go ahead.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Allowed { spent: f64, after: f64 },
    Refused(String),
}

impl Default for Ledger {
    fn default() -> Ledger {
        Ledger {
            ledger_version: LEDGER_VERSION,
            accounts: BTreeMap::new(),
        }
    }
}

impl Ledger {
    /// Reads the ledger; a missing file is an empty ledger (the first extraction creates it).
    pub fn read(path: &Path) -> Result<Ledger> {
        if !path.exists() {
            return Ok(Ledger::default());
        }
        let ledger: Ledger = artifact::read_json(path)?;
        if ledger.ledger_version != LEDGER_VERSION {
            return Err(Error::Invalid {
                path: path.into(),
                message: format!(
                    "ledger_version {} is not supported (expected {LEDGER_VERSION})",
                    ledger.ledger_version
                ),
            });
        }
        Ok(ledger)
    }

    /// ε spent on `db` so far, under any salt.
    pub fn spent(&self, db: &DbIdentity) -> f64 {
        self.accounts
            .values()
            .filter(|a| a.database.same_database(db))
            .flat_map(|a| &a.extractions)
            .map(|e| e.epsilon)
            .sum()
    }

    /// May an extraction of `epsilon` run on `db` under `total`? `None` (`--no-dp`) is
    /// refused: an extraction without noise spends more than any budget.
    pub fn check(&self, db: &DbIdentity, epsilon: Option<f64>, total: f64) -> Verdict {
        let Some(epsilon) = epsilon else {
            return Verdict::Refused("--no-dp cannot be charged to a budget ledger: without noise no finite epsilon describes the extraction (leave out --budget-ledger only where no person's data is read, e.g. a synthetic copy)".into());
        };
        let spent = self.spent(db);
        let after = spent + epsilon;
        // A relative slack for sums of decimal shares (0.1 + 0.2 > 0.3 in binary).
        if after > total * (1.0 + 1e-9) {
            return Verdict::Refused(format!(
                "privacy budget exhausted for database {} (system {}): {spent} of {total} epsilon spent, this extraction asks {epsilon}; nothing was extracted (raise --budget-total only with the privacy reviewer's approval)",
                db.database,
                db.system_identifier.as_deref().unwrap_or("unknown"),
            ));
        }
        Verdict::Allowed { spent, after }
    }

    /// Adds an extraction to `db`'s account and writes the ledger atomically.
    pub fn record(mut self, path: &Path, db: &DbIdentity, extraction: Extraction) -> Result<()> {
        self.accounts
            .entry(key(db))
            .or_insert_with(|| Account {
                database: db.clone(),
                extractions: Vec::new(),
            })
            .extractions
            .push(extraction);
        artifact::write_json(path, &self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(salt: &str) -> DbIdentity {
        DbIdentity {
            system_identifier: Some("7715086975692058210".into()),
            database: "app".into(),
            database_oid: 16384,
            salt_fingerprint: salt.into(),
        }
    }

    fn charge(eps: f64) -> Extraction {
        Extraction {
            at: "2026-12-02T12:00:00Z".into(),
            pack_sha256: "ab".repeat(32),
            epsilon: eps,
            noise_applied: false,
        }
    }

    #[test]
    fn charges_add_up_across_extractions_and_salts_and_past_the_total_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.json");
        for (salt, eps) in [("s1", 1.0), ("s1", 2.5), ("s2", 0.5)] {
            let l = Ledger::read(&path).unwrap();
            assert!(matches!(
                l.check(&db(salt), Some(eps), 4.0),
                Verdict::Allowed { .. }
            ));
            l.record(&path, &db(salt), charge(eps)).unwrap();
        }
        let l = Ledger::read(&path).unwrap();
        assert_eq!(l.accounts.len(), 2);
        assert_eq!(l.spent(&db("s3")), 4.0);
        assert_eq!(
            l.check(&db("s1"), Some(0.0), 4.0),
            Verdict::Allowed {
                spent: 4.0,
                after: 4.0
            }
        );
        assert!(
            matches!(l.check(&db("s1"), None, 4.0), Verdict::Refused(m) if m.contains("--no-dp"))
        );
        let Verdict::Refused(msg) = l.check(&db("s3"), Some(0.1), 4.0) else {
            panic!("not refused")
        };
        assert!(
            msg.contains("4 of 4 epsilon spent") && msg.contains("asks 0.1"),
            "{msg}"
        );
        // Another database is a separate account.
        let other = DbIdentity {
            database: "other".into(),
            ..db("s1")
        };
        assert_eq!(l.spent(&other), 0.0);
    }

    #[test]
    fn a_ledger_with_an_unknown_key_or_version_is_bad_input_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.json");
        std::fs::write(
            &path,
            r#"{"ledger_version": 1, "accounts": {}, "spent": 0}"#,
        )
        .unwrap();
        let e = Ledger::read(&path).unwrap_err().to_string();
        assert!(e.contains("ledger.json") && e.contains("spent"), "{e}");
        std::fs::write(&path, r#"{"ledger_version": 2, "accounts": {}}"#).unwrap();
        let e = Ledger::read(&path).unwrap_err().to_string();
        assert!(e.contains("ledger_version 2"), "{e}");
    }
}
