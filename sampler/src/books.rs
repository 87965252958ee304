//! The bookkeeping around one extraction: before it, the budget ledger's check and the audit
//! log's verification (both refuse before anything is read); after the pack is written, the
//! ledger's charge and the audit record. Only when `--budget-ledger` or `--audit-log` is given.

use std::path::PathBuf;

use chrono::{DateTime, SecondsFormat, Utc};

use pgshape_core::artifact;
use pgshape_core::conn::Target;
use pgshape_core::token::Salt;
use pgshape_core::Result;

use crate::audit::{self, Head, Record};
use crate::identity::DbIdentity;
use crate::ledger::{Extraction, Ledger, Verdict};
use crate::session::{self, Limits};

/// What the books need to know of an extraction.
#[derive(Debug, Clone)]
pub struct Request {
    pub ledger: Option<PathBuf>,
    /// ε the database may spend in all (with `ledger`).
    pub total: f64,
    pub audit_log: Option<PathBuf>,
    /// ε of this pack; `None` with `--no-dp`.
    pub epsilon: Option<f64>,
    pub operator: String,
    pub schemas: Vec<String>,
    pub k_min: u64,
    pub policy: Option<PathBuf>,
    pub now: DateTime<Utc>,
}

/// Checked books, ready to record the extraction.
#[derive(Debug)]
pub struct Books {
    req: Request,
    identity: DbIdentity,
    ledger: Option<Ledger>,
    head: Option<Head>,
}

/// The outcome of [`open`].
#[derive(Debug)]
pub enum Opened {
    /// No ledger and no audit log asked for.
    None,
    Ready(Box<Books>),
    /// Refused for safety (exit 4): the budget is spent or the audit log is broken.
    Refused(String),
}

/// Reads the database's identity, checks the ledger and verifies the audit log.
pub fn open(req: Request, target: &Target, salt: &Salt, limits: &Limits) -> Result<Opened> {
    if req.ledger.is_none() && req.audit_log.is_none() {
        return Ok(Opened::None);
    }
    let mut client = session::connect(target, limits)?;
    let identity = DbIdentity::read(&mut client, &salt.fingerprint())?;
    let ledger = match &req.ledger {
        None => None,
        Some(path) => {
            let ledger = Ledger::read(path)?;
            match ledger.check(&identity, req.epsilon, req.total) {
                Verdict::Refused(msg) => {
                    return Ok(Opened::Refused(format!("{}: {msg}", path.display())))
                }
                Verdict::Allowed { spent, after } => {
                    tracing::info!(spent, after, total = req.total, "privacy budget checked");
                }
            }
            Some(ledger)
        }
    };
    let head = match &req.audit_log {
        None => None,
        Some(path) => match audit::verify(path)? {
            Ok(head) => Some(head),
            Err(b) => {
                return Ok(Opened::Refused(format!(
                    "{}: line {}: {}; the audit log is not intact, nothing was extracted",
                    path.display(),
                    b.line,
                    b.reason
                )))
            }
        },
    };
    Ok(Opened::Ready(Box::new(Books {
        req,
        identity,
        ledger,
        head,
    })))
}

impl Books {
    /// Charges the ledger, then appends the audit record, for the pack written.
    pub fn record(self, pack_sha256: &str) -> Result<()> {
        let at = self.req.now.to_rfc3339_opts(SecondsFormat::Secs, true);
        if let (Some(ledger), Some(path), Some(epsilon)) =
            (self.ledger, &self.req.ledger, self.req.epsilon)
        {
            let extraction = Extraction {
                at: at.clone(),
                pack_sha256: pack_sha256.into(),
                epsilon,
                noise_applied: true,
            };
            ledger.record(path, &self.identity, extraction)?;
        }
        if let (Some(head), Some(path)) = (&self.head, &self.req.audit_log) {
            let policy_sha256 = match &self.req.policy {
                Some(p) => Some(artifact::sha256_file(p)?),
                None => None,
            };
            let record = Record {
                seq: 0,
                at,
                operator: self.req.operator.clone(),
                database: self.identity.clone(),
                schemas: self.req.schemas.clone(),
                pack_sha256: pack_sha256.into(),
                epsilon: self.req.epsilon,
                noise_applied: self.req.epsilon.is_some(),
                k_min: self.req.k_min,
                policy_sha256,
                prev: String::new(),
                hash: String::new(),
            };
            let r = audit::append(path, head, record)?;
            tracing::info!(seq = r.seq, hash = %r.hash, "audit record appended");
        }
        Ok(())
    }
}
