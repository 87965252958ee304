//! Connection settings: `--database-url`, else `DATABASE_URL`, else libpq's `PG*` variables.
//! The password is kept inside [`postgres::Config`] and never rendered: [`Target::describe`]
//! is what logs, errors and artifacts show.

use std::time::Duration;

use postgres::config::{Host, SslMode};
use postgres::{Client, NoTls};

use crate::{Error, Result};

/// Where to connect, resolved once at the binary edge.
#[derive(Clone)]
pub struct Target {
    config: postgres::Config,
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
        let config = match url.filter(|u| !u.is_empty()) {
            Some(url) => url.parse::<postgres::Config>().map_err(|_| {
                // The parser's message may echo the URL, password included: do not pass it on.
                Error::Config("the database URL is malformed (expected postgresql://user@host:port/db or key=value pairs)".into())
            })?,
            None => {
                let mut c = postgres::Config::new();
                let host = env("PGHOST").unwrap_or_else(|| "localhost".into());
                for h in host.split(',') {
                    c.host(h);
                }
                if let Some(port) = env("PGPORT") {
                    let port: u16 = port
                        .parse()
                        .map_err(|_| Error::Config(format!("PGPORT is not a port number: {port:?}")))?;
                    c.port(port);
                }
                let user = env("PGUSER").or_else(|| env("USER")).unwrap_or_else(|| "postgres".into());
                c.user(&user);
                if let Some(pw) = env("PGPASSWORD") {
                    c.password(pw);
                }
                c.dbname(&env("PGDATABASE").unwrap_or(user));
                if let Some(mode) = env("PGSSLMODE") {
                    c.ssl_mode(parse_sslmode(&mode)?);
                }
                c
            }
        };
        Ok(Target { config })
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
        Target { config }
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
        if config.get_ssl_mode() == SslMode::Require {
            return Err(Error::Config(format!(
                "{}: sslmode=require is not supported by this build yet; use a local socket or an SSH tunnel",
                self.describe()
            )));
        }
        let mut client = config.connect(NoTls).map_err(|source| Error::Db {
            context: format!("connecting to {}", self.describe()),
            source,
        })?;
        for (k, v) in &session.settings {
            client
                .batch_execute(&format!("SET {k} = {}", crate::ident::literal(v)))
                .map_err(Error::db(format!("SET {k}")))?;
        }
        Ok(client)
    }
}

fn parse_sslmode(mode: &str) -> Result<SslMode> {
    match mode {
        "disable" => Ok(SslMode::Disable),
        "allow" | "prefer" => Ok(SslMode::Prefer),
        "require" | "verify-ca" | "verify-full" => Ok(SslMode::Require),
        other => Err(Error::Config(format!(
            "PGSSLMODE {other:?} is not a libpq sslmode"
        ))),
    }
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
