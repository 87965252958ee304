//! The libpq connection parameters the driver's parser does not take (`sslmode`,
//! `sslrootcert`, `sslcert`, `sslkey`, `sslpassword`), taken out of a URL or a key/value
//! string and filled from `PG*` variables; and [`SslMode`], what each mode means.

/// libpq's `sslmode`.
///
/// | `sslmode` | TLS | server certificate |
/// |---|---|---|
/// | `disable` | never | — |
/// | `allow` | only if plaintext is refused | not checked |
/// | `prefer` (default) | tried first; plaintext if the server has none or the handshake fails | not checked |
/// | `require` | always | not checked; checked as `verify-ca` when a root file is given (libpq) |
/// | `verify-ca` | always | chains to `sslrootcert` (or the system's roots) |
/// | `verify-full` | always | as `verify-ca`, and is issued for the host name connected to |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    /// Never TLS.
    Disable,
    /// Plaintext first; TLS only when the server refuses plaintext.
    Allow,
    /// TLS first, without checking the certificate; plaintext when TLS is not to be had.
    #[default]
    Prefer,
    /// TLS, without checking the certificate (unless a root certificate file is given).
    Require,
    /// TLS, the certificate must chain to a trusted root.
    VerifyCa,
    /// TLS, the certificate must chain to a trusted root and be issued for the host.
    VerifyFull,
}

impl SslMode {
    /// Parses libpq's spelling.
    pub fn parse(s: &str) -> Option<SslMode> {
        Some(match s {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }

    /// libpq's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// Whether the server's certificate is checked against trusted roots.
    pub fn verifies(self) -> bool {
        matches!(self, SslMode::VerifyCa | SslMode::VerifyFull)
    }
}

impl std::fmt::Display for SslMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The libpq TLS parameters the driver's parser does not take, as given (URL or environment).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Params {
    pub sslmode: Option<String>,
    pub sslrootcert: Option<String>,
    pub sslcert: Option<String>,
    pub sslkey: Option<String>,
    /// Whether `sslpassword` was given; its value is never kept.
    pub sslpassword: bool,
    /// libpq TLS parameters given that this build does not implement.
    pub unsupported: Vec<String>,
}

impl Params {
    fn take(&mut self, key: &str, value: String) -> bool {
        let slot = match key {
            "sslmode" => &mut self.sslmode,
            "sslrootcert" => &mut self.sslrootcert,
            "sslcert" => &mut self.sslcert,
            "sslkey" => &mut self.sslkey,
            "sslpassword" => {
                self.sslpassword = true;
                return true;
            }
            // libpq's defaults, which rustls follows: server name indication on, no compression.
            "sslsni" | "sslcompression" => return true,
            "sslcrl"
            | "sslcrldir"
            | "sslcertmode"
            | "ssl_min_protocol_version"
            | "ssl_max_protocol_version"
            | "requiressl"
            | "gssencmode" => {
                self.unsupported.push(key.to_string());
                return true;
            }
            _ => return false,
        };
        *slot = Some(value);
        true
    }

    /// Fills what the connection string left out from libpq's `PGSSL*` variables.
    pub fn with_env(mut self, env: &impl Fn(&str) -> Option<String>) -> Params {
        for (slot, var) in [
            (&mut self.sslmode, "PGSSLMODE"),
            (&mut self.sslrootcert, "PGSSLROOTCERT"),
            (&mut self.sslcert, "PGSSLCERT"),
            (&mut self.sslkey, "PGSSLKEY"),
        ] {
            if slot.is_none() {
                *slot = env(var).filter(|v| !v.is_empty());
            }
        }
        self
    }
}

/// Takes libpq's TLS parameters out of a connection string (a `postgresql://` URL or
/// `key=value` pairs) and returns the rest for the driver's parser. `None` when the string
/// cannot be read: the driver's parser then reports it.
pub(crate) fn split_params(conn: &str) -> Option<(String, Params)> {
    if conn.starts_with("postgresql://") || conn.starts_with("postgres://") {
        split_url(conn)
    } else {
        split_key_values(conn)
    }
}

fn split_url(url: &str) -> Option<(String, Params)> {
    let mut params = Params::default();
    let Some((base, query)) = url.split_once('?') else {
        return Some((url.to_string(), params));
    };
    let mut kept = Vec::new();
    for pair in query.split('&') {
        let taken = match pair.split_once('=') {
            Some((k, v)) => params.take(&percent_decode(k)?, percent_decode(v)?),
            None => false,
        };
        if !taken {
            kept.push(pair);
        }
    }
    Some(if kept.is_empty() {
        (base.to_string(), params)
    } else {
        (format!("{base}?{}", kept.join("&")), params)
    })
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `key = value` pairs as libpq reads them: values bare (backslash escapes) or single-quoted.
fn split_key_values(conn: &str) -> Option<(String, Params)> {
    let mut params = Params::default();
    let mut kept = String::new();
    let mut chars = conn.char_indices().peekable();
    loop {
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let Some(&(start, _)) = chars.peek() else {
            break;
        };
        let mut key = String::new();
        while let Some((_, c)) = chars.next_if(|(_, c)| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        chars.next_if(|(_, c)| *c == '=')?;
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if(|(_, c)| *c == '\'').is_some() {
            loop {
                match chars.next()?.1 {
                    '\'' => break,
                    '\\' => value.push(chars.next()?.1),
                    c => value.push(c),
                }
            }
        } else {
            while let Some((_, c)) = chars.next_if(|(_, c)| !c.is_whitespace()) {
                value.push(if c == '\\' { chars.next()?.1 } else { c });
            }
        }
        let end = chars.peek().map_or(conn.len(), |&(i, _)| i);
        if !params.take(&key, value) {
            kept.push_str(conn[start..end].trim_end());
            kept.push(' ');
        }
    }
    Some((kept.trim_end().to_string(), params))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_tls_parameters_are_taken_out_and_decoded() {
        let (rest, p) = split_params(
            "postgresql://u:p%3Fw@h:5432/db?sslmode=verify-full&application_name=x&sslrootcert=%2Ftmp%2Fca.crt&sslpassword=secret",
        )
        .unwrap();
        assert_eq!(rest, "postgresql://u:p%3Fw@h:5432/db?application_name=x");
        assert_eq!(p.sslmode.as_deref(), Some("verify-full"));
        assert_eq!(p.sslrootcert.as_deref(), Some("/tmp/ca.crt"));
        assert!(p.sslpassword);
        assert!(!format!("{p:?}").contains("secret"));
        let (rest, _) = split_params("postgres://u@h/db?sslmode=require").unwrap();
        assert_eq!(rest, "postgres://u@h/db");
    }

    #[test]
    fn key_value_tls_parameters_are_taken_out() {
        let (rest, p) = split_params(
            "host=h  sslmode = verify-ca password='a b\\'c' sslrootcert='/x y/ca.crt' dbname=d",
        )
        .unwrap();
        assert_eq!(rest, "host=h password='a b\\'c' dbname=d");
        assert_eq!(p.sslmode.as_deref(), Some("verify-ca"));
        assert_eq!(p.sslrootcert.as_deref(), Some("/x y/ca.crt"));
        assert!(split_params("host=h sslmode='unterminated").is_none());
    }

    #[test]
    fn environment_fills_only_what_the_string_left_out() {
        let env = |k: &str| match k {
            "PGSSLMODE" => Some("verify-full".to_string()),
            "PGSSLROOTCERT" => Some("/env/ca.crt".to_string()),
            _ => None,
        };
        let (_, p) = split_params("postgresql://h/db?sslmode=disable").unwrap();
        let p = p.with_env(&env);
        assert_eq!(p.sslmode.as_deref(), Some("disable"));
        assert_eq!(p.sslrootcert.as_deref(), Some("/env/ca.crt"));
    }
}
