//! Connection settings: `--database-url`, else `DATABASE_URL`, else libpq's `PG*` variables.
//! The password is kept inside [`postgres::Config`] and never rendered: [`Target::describe`]
//! is what logs, errors and artifacts show.
//!
//! TLS follows libpq: `sslmode` (and `sslrootcert`, `sslcert`, `sslkey`) from the URL, else
//! from `PGSSLMODE` (`PGSSLROOTCERT`, ...), default `prefer`; see [`SslMode`] for what each
//! mode checks, and "Connecting over TLS" in `docs/runbook.md`.

use std::path::PathBuf;
use std::time::Duration;

use postgres::config::{Host, SslMode as DriverMode};
use postgres::{Client, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::{Error, Result};

mod params;
mod tls;

pub use params::SslMode;

/// Where to connect, resolved once at the binary edge.
#[derive(Clone)]
pub struct Target {
    config: postgres::Config,
    tls: tls::Tls,
}

/// Session settings applied right after connecting.
#[derive(Debug, Clone, Default)]
pub struct Session {
    /// `application_name`, e.g. `pgshape-sampler`.
    pub application_name: String,
    /// Statements run `SET ...` right after connect, e.g. `statement_timeout`.
    pub settings: Vec<(String, String)>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Target {
    /// Resolves settings from an explicit URL (flag or `DATABASE_URL`, already merged by clap)
    /// or from the `PG*` environment variables.
    pub fn resolve(url: Option<&str>) -> Result<Target> {
        Self::resolve_with(url, |k| std::env::var(k).ok())
    }

    /// [`Target::resolve`] with an injectable environment (tests).
    pub fn resolve_with(url: Option<&str>, env: impl Fn(&str) -> Option<String>) -> Result<Target> {
        let (config, params) = match url.filter(|u| !u.is_empty()) {
            Some(url) => {
                // The parser's message may echo the URL, password included: do not pass it on.
                let malformed = || {
                    Error::Config("the database URL is malformed (expected postgresql://user@host:port/db or key=value pairs)".into())
                };
                // libpq's TLS parameters the driver does not know are taken out first.
                let (rest, params) = params::split_params(url).ok_or_else(malformed)?;
                (
                    rest.parse::<postgres::Config>().map_err(|_| malformed())?,
                    params,
                )
            }
            None => {
                let mut c = postgres::Config::new();
                let host = env("PGHOST").unwrap_or_else(|| "localhost".into());
                for h in host.split(',') {
                    c.host(h);
                }
                if let Some(port) = env("PGPORT") {
                    let port: u16 = port.parse().map_err(|_| {
                        Error::Config(format!("PGPORT is not a port number: {port:?}"))
                    })?;
                    c.port(port);
                }
                let user = env("PGUSER")
                    .or_else(|| env("USER"))
                    .unwrap_or_else(|| "postgres".into());
                c.user(&user);
                if let Some(pw) = env("PGPASSWORD") {
                    c.password(pw);
                }
                c.dbname(&env("PGDATABASE").unwrap_or(user));
                (c, params::Params::default())
            }
        };
        let tls = tls::Tls::resolve(&params.with_env(&env), env("HOME").map(PathBuf::from))?;
        Ok(Target { config, tls })
    }

    /// The `sslmode` applied (after libpq's rules: `require` with a root file is `verify-ca`).
    pub fn ssl_mode(&self) -> SslMode {
        self.tls.mode
    }

    /// `user@host:port/dbname` — never the password.
    pub fn describe(&self) -> String {
        let c = &self.config;
        let host = c
            .get_hosts()
            .iter()
            .map(|h| match h {
                Host::Tcp(s) => s.clone(),
                Host::Unix(p) => p.display().to_string(),
            })
            .collect::<Vec<_>>()
            .join(",");
        let port = c.get_ports().first().copied().unwrap_or(5432);
        format!(
            "{}@{}:{}/{}",
            c.get_user().unwrap_or("?"),
            if host.is_empty() {
                "localhost".into()
            } else {
                host
            },
            port,
            c.get_dbname().unwrap_or("?")
        )
    }

    /// The database name.
    pub fn dbname(&self) -> Option<&str> {
        self.config.get_dbname()
    }

    /// A copy of these settings pointing at another database of the same server.
    pub fn with_dbname(&self, dbname: &str) -> Target {
        let mut config = self.config.clone();
        config.dbname(dbname);
        Target {
            config,
            tls: self.tls.clone(),
        }
    }

    /// Connects and applies the session settings.
    pub fn connect(&self, session: &Session) -> Result<Client> {
        let mut config = self.config.clone();
        if !session.application_name.is_empty() {
            config.application_name(&session.application_name);
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(15));
        }
        let mut client = self.open(&config)?;
        for (k, v) in &session.settings {
            client
                .batch_execute(&format!("SET {k} = {}", crate::ident::literal(v)))
                .map_err(Error::db(format!("SET {k}")))?;
        }
        Ok(client)
    }
}

impl Target {
    /// Asks the server to cancel what the session of `token` (one of this target's
    /// connections) is running, over TLS when that session's settings ask for it.
    pub fn cancel(&self, token: &postgres::CancelToken) -> Result<()> {
        let sent = match &self.tls.connector {
            Some(connector) => token.cancel_query(connector.clone()),
            None => token.cancel_query(NoTls),
        };
        sent.map_err(|source| Error::Db {
            context: format!("cancelling a statement on {}", self.describe()),
            source,
        })
    }

    /// Opens the connection the way libpq's `sslmode` says (TLS never over a Unix socket).
    fn open(&self, config: &postgres::Config) -> Result<Client> {
        let unix_only = config
            .get_hosts()
            .iter()
            .all(|h| matches!(h, Host::Unix(_)))
            && !config.get_hosts().is_empty();
        let connector = self.tls.connector.as_ref().filter(|_| !unix_only);
        let Some(connector) = connector else {
            return attempt(config, None).map_err(|e| self.failed(e, None));
        };
        match self.tls.mode {
            SslMode::Disable => attempt(config, None).map_err(|e| self.failed(e, None)),
            SslMode::Allow => match attempt(config, None) {
                Err(e) if refused_by_hba(&e) => {
                    tracing::debug!(target = %self.describe(), "plaintext refused; trying TLS (sslmode=allow)");
                    attempt(config, Some((DriverMode::Require, connector)))
                        .map_err(|e| self.failed(e, None))
                }
                other => other.map_err(|e| self.failed(e, None)),
            },
            SslMode::Prefer => {
                let e = match attempt(config, Some((DriverMode::Prefer, connector))) {
                    Ok(client) => return Ok(client),
                    Err(e) => e,
                };
                let why = self.tls.failure(&e, &self.host()).or_else(|| {
                    refused_by_hba(&e).then(|| "pg_hba.conf refused the TLS session".to_string())
                });
                let Some(why) = why else {
                    return Err(self.failed(e, None));
                };
                tracing::warn!(target = %self.describe(), "{why}; connecting without TLS (sslmode=prefer)");
                attempt(config, None).map_err(|e| self.failed(e, Some(&why)))
            }
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                attempt(config, Some((DriverMode::Require, connector)))
                    .map_err(|e| self.failed(e, None))
            }
        }
    }

    /// The error of a failed connection: what failed on the TLS side, if it did, in words.
    fn failed(&self, source: postgres::Error, earlier: Option<&str>) -> Error {
        let mut context = format!(
            "connecting to {} with sslmode={}",
            self.describe(),
            self.tls.mode
        );
        if let Some(earlier) = earlier {
            context.push_str(&format!(" (without TLS, after: {earlier})"));
        }
        if let Some(what) = self.tls.failure(&source, &self.host()) {
            context.push_str(&format!(": {what}"));
        }
        Error::Db { context, source }
    }

    /// The first host name (what a server certificate is checked against).
    fn host(&self) -> String {
        self.config
            .get_hosts()
            .iter()
            .find_map(|h| match h {
                Host::Tcp(s) => Some(s.clone()),
                Host::Unix(_) => None,
            })
            .unwrap_or_default()
    }
}

/// One connection attempt: plaintext, or TLS in the driver's mode with the connector.
fn attempt(
    config: &postgres::Config,
    tls: Option<(DriverMode, &MakeRustlsConnect)>,
) -> std::result::Result<Client, postgres::Error> {
    let mut config = config.clone();
    match tls {
        None => config.ssl_mode(DriverMode::Disable).connect(NoTls),
        Some((mode, connector)) => config.ssl_mode(mode).connect(connector.clone()),
    }
}

/// pg_hba.conf has no entry for this kind of session (e.g. `hostssl` only, or `hostnossl`):
/// where libpq's `allow` and `prefer` try the other kind.
fn refused_by_hba(e: &postgres::Error) -> bool {
    e.code() == Some(&postgres::error::SqlState::INVALID_AUTHORIZATION_SPECIFICATION)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_password_never_described() {
        let t = Target::resolve_with(
            Some("postgresql://alice:s3cret@db.example:6543/app"),
            |_| None,
        )
        .unwrap();
        assert_eq!(t.describe(), "alice@db.example:6543/app");
        assert!(!format!("{t:?}").contains("s3cret"));
    }

    #[test]
    fn malformed_url_error_hides_password() {
        let err = Target::resolve_with(Some("postgresql://bob:hunter2@host:notaport/db"), |_| None)
            .unwrap_err()
            .to_string();
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn falls_back_to_pg_variables() {
        let env = |k: &str| match k {
            "PGHOST" => Some("127.0.0.1".to_string()),
            "PGPORT" => Some("5999".to_string()),
            "PGUSER" => Some("carol".to_string()),
            "PGPASSWORD" => Some("pw".to_string()),
            "PGDATABASE" => Some("shop".to_string()),
            _ => None,
        };
        let t = Target::resolve_with(None, env).unwrap();
        assert_eq!(t.describe(), "carol@127.0.0.1:5999/shop");
    }
}
