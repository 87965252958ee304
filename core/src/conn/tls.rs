//! TLS with libpq's semantics over rustls (the `ring` provider: pure Rust, no system OpenSSL,
//! no cmake).
//!
//! | `sslmode` | TLS | server certificate |
//! |---|---|---|
//! | `disable` | never | — |
//! | `allow` | only if plaintext is refused | not checked |
//! | `prefer` (default) | tried first; plaintext if the server has none or the handshake fails | not checked |
//! | `require` | always | not checked; checked as `verify-ca` when a root file is given (libpq) |
//! | `verify-ca` | always | chains to `sslrootcert` (or the system's roots) |
//! | `verify-full` | always | as `verify-ca`, and is issued for the host name connected to |
//!
//! `sslrootcert` defaults to `~/.postgresql/root.crt` when that file exists (as in libpq), else
//! the system's roots; `sslrootcert=system` names the system's roots explicitly (and, as in
//! libpq, asks for `verify-full`). A client certificate (`sslcert`, `sslkey`, defaults
//! `~/.postgresql/postgresql.crt` and `.key` when present) is sent when the server asks for one;
//! encrypted keys (`sslpassword`) are refused with an error that says so.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::params::{Params, SslMode};
use crate::{Error, Result};

/// Where trusted roots come from.
#[derive(Debug, Clone)]
enum Roots {
    File(PathBuf),
    System,
}

impl std::fmt::Display for Roots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Roots::File(p) => write!(f, "the CA file {}", p.display()),
            Roots::System => {
                f.write_str("the system's trusted roots (set sslrootcert to your CA file)")
            }
        }
    }
}

/// The resolved TLS side of a target: the mode actually applied and, unless TLS is off, the
/// connector.
#[derive(Clone)]
pub(crate) struct Tls {
    pub mode: SslMode,
    roots: Option<Roots>,
    pub connector: Option<MakeRustlsConnect>,
}

impl Tls {
    /// Applies libpq's rules to the parameters and loads the files they name.
    pub fn resolve(params: &Params, home: Option<PathBuf>) -> Result<Tls> {
        let given = match params.sslmode.as_deref() {
            None => None,
            Some(s) => Some(SslMode::parse(s).ok_or_else(|| {
                Error::Config(format!(
                    "sslmode {s:?} is not a libpq sslmode (disable, allow, prefer, require, verify-ca, verify-full)"
                ))
            })?),
        };
        if let Some(key) = params.unsupported.first() {
            return Err(Error::Config(format!(
                "{key} is not supported by pgshape (TLS is rustls: TLS 1.2 and 1.3, no CRLs); remove it from the connection string"
            )));
        }
        if params.sslpassword {
            return Err(Error::Config(
                "sslpassword is not supported: give an unencrypted client key in sslkey (mode 0600)"
                    .into(),
            ));
        }
        let home_file = |name: &str| {
            home.as_ref()
                .map(|h| h.join(".postgresql").join(name))
                .filter(|p| p.is_file())
        };
        let roots = match params.sslrootcert.as_deref() {
            Some("system") => Some(Roots::System),
            Some(path) => Some(Roots::File(PathBuf::from(path))),
            None => home_file("root.crt").map(Roots::File),
        };
        let mode = match (given, &roots) {
            (None, Some(Roots::System)) => SslMode::VerifyFull,
            (Some(m), Some(Roots::System)) if m != SslMode::VerifyFull && m != SslMode::Disable => {
                return Err(Error::Config(format!(
                    "sslrootcert=system asks for sslmode=verify-full (as in libpq), not {m}"
                )))
            }
            // libpq: with a root file, require checks the chain as verify-ca does.
            (Some(SslMode::Require), Some(Roots::File(_))) => SslMode::VerifyCa,
            (m, _) => m.unwrap_or_default(),
        };
        if mode == SslMode::Disable {
            return Ok(Tls {
                mode,
                roots: None,
                connector: None,
            });
        }
        let roots = mode.verifies().then(|| roots.unwrap_or(Roots::System));
        let cert = params
            .sslcert
            .as_deref()
            .map(PathBuf::from)
            .or_else(|| home_file("postgresql.crt"));
        let client = cert.map(|cert| {
            let key = params.sslkey.as_deref().map(PathBuf::from).or_else(|| {
                home.as_ref()
                    .map(|h| h.join(".postgresql").join("postgresql.key"))
            });
            (cert, key)
        });
        let config = client_config(mode, roots.as_ref(), client)?;
        Ok(Tls {
            mode,
            roots,
            connector: Some(MakeRustlsConnect::new(config)),
        })
    }

    /// What went wrong on the TLS side of a failed connection, in words; `None` when the
    /// failure was not about TLS.
    pub fn failure(&self, err: &postgres::Error, host: &str) -> Option<String> {
        if let Some(e) = rustls_error(err) {
            return Some(self.explain(e, host));
        }
        let text = err.to_string();
        let mut cause = std::error::Error::source(err);
        while let Some(c) = cause {
            if c.to_string().contains("server does not support TLS") {
                return Some(format!(
                    "the server does not accept TLS (its ssl setting is off); sslmode={} needs it",
                    self.mode
                ));
            }
            cause = c.source();
        }
        if text.contains("server does not support TLS") {
            return Some(format!(
                "the server does not accept TLS (its ssl setting is off); sslmode={} needs it",
                self.mode
            ));
        }
        text.starts_with("error performing TLS handshake")
            .then(|| "TLS handshake failed".to_string())
    }

    fn explain(&self, e: &rustls::Error, host: &str) -> String {
        let roots = self
            .roots
            .as_ref()
            .map_or_else(|| "trusted roots".to_string(), ToString::to_string);
        match e {
            rustls::Error::InvalidCertificate(c) => match c {
                CertificateError::UnknownIssuer => format!(
                    "TLS handshake failed: unknown CA: the server's certificate is not signed by {roots}"
                ),
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => format!(
                    "TLS handshake failed: host name mismatch: the server's certificate is not issued for {host:?} (sslmode=verify-full checks the name; connect by the name the certificate carries)"
                ),
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    "TLS handshake failed: the server's certificate has expired".into()
                }
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    "TLS handshake failed: the server's certificate is not valid yet".into()
                }
                other => format!("TLS handshake failed: the server's certificate was rejected: {other:?}"),
            },
            rustls::Error::AlertReceived(alert) => format!(
                "TLS handshake failed: the server ended the handshake ({alert:?}; does it require a client certificate, sslcert/sslkey?)"
            ),
            other => format!("TLS handshake failed: {other}"),
        }
    }
}

/// The rustls error inside a driver error, if any (the connector reports it as an I/O error).
fn rustls_error(err: &postgres::Error) -> Option<&rustls::Error> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    while let Some(e) = cause {
        if let Some(r) = e.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        if let Some(r) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Some(r);
        }
        cause = e.source();
    }
    None
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn client_config(
    mode: SslMode,
    roots: Option<&Roots>,
    client: Option<(PathBuf, Option<PathBuf>)>,
) -> Result<ClientConfig> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Config(format!("TLS setup: {e}")))?;
    let builder = match roots {
        None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider))),
        Some(roots) => {
            let store = Arc::new(load_roots(roots)?);
            if mode == SslMode::VerifyFull {
                builder.with_root_certificates(store)
            } else {
                let inner = WebPkiServerVerifier::builder_with_provider(store, provider)
                    .build()
                    .map_err(|e| Error::Config(format!("TLS setup: {e}")))?;
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(ChainOnly(inner)))
            }
        }
    };
    let mut config = match client {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            let key = key.ok_or_else(|| {
                Error::Config("sslcert is set but sslkey is not (and there is no home directory for the default)".into())
            })?;
            let (certs, key) = load_client(&cert, &key)?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| Error::Config(format!("sslcert {}: {e}", cert.display())))?
        }
    };
    // PostgreSQL 17 checks ALPN on direct TLS; older servers ignore it.
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    Ok(config)
}

fn load_roots(roots: &Roots) -> Result<RootCertStore> {
    let mut store = RootCertStore::empty();
    match roots {
        Roots::File(path) => {
            let certs = read_certs(path, "sslrootcert")?;
            let (added, _) = store.add_parsable_certificates(certs);
            if added == 0 {
                return Err(Error::Config(format!(
                    "sslrootcert {}: no usable CA certificate in the file",
                    path.display()
                )));
            }
        }
        Roots::System => {
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
            if store.is_empty() {
                return Err(Error::Config(
                    "no system root certificates found: set sslrootcert (or PGSSLROOTCERT) to the server's CA file".into(),
                ));
            }
        }
    }
    Ok(store)
}

fn read_certs(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| Error::Config(format!("{what} {}: {}", path.display(), pem_problem(&e))))?;
    if certs.is_empty() {
        return Err(Error::Config(format!(
            "{what} {}: no PEM certificate in the file",
            path.display()
        )));
    }
    Ok(certs)
}

fn load_client(
    cert: &Path,
    key: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let certs = read_certs(cert, "sslcert")?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
        Error::Config(format!(
            "sslkey {}: {} (an unencrypted PEM key is needed: encrypted keys are not supported)",
            key.display(),
            pem_problem(&e)
        ))
    })?;
    Ok((certs, key))
}

/// A PEM error in words that cannot quote the file's content.
fn pem_problem(e: &rustls::pki_types::pem::Error) -> String {
    use rustls::pki_types::pem::Error as E;
    match e {
        E::Io(io) => io.to_string(),
        E::NoItemsFound => "nothing of the expected kind in the file".into(),
        _ => "not a readable PEM file".into(),
    }
}

/// `require` and `prefer`: any certificate, as libpq without a root file. The handshake's
/// signatures are still checked, so the session is encrypted with the key of whoever answered.
#[derive(Debug)]
struct AcceptAnyCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain is checked, the host name is not.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        // webpki checks the chain first and the name last: a name error means the chain passed.
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conn::params::split_params;

    #[test]
    fn modes_follow_libpq() {
        let resolve = |mode: Option<&str>, root: Option<&str>| {
            Tls::resolve(
                &Params {
                    sslmode: mode.map(String::from),
                    sslrootcert: root.map(String::from),
                    ..Params::default()
                },
                None,
            )
        };
        assert_eq!(resolve(None, None).unwrap().mode, SslMode::Prefer);
        assert_eq!(
            resolve(Some("require"), None).unwrap().mode,
            SslMode::Require
        );
        assert!(resolve(Some("disable"), None).unwrap().connector.is_none());
        let err = resolve(Some("verify-all"), None).err().unwrap().to_string();
        assert!(err.contains("not a libpq sslmode"), "{err}");
        let err = resolve(Some("require"), Some("system"))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("verify-full"), "{err}");
        // A root file turns require into verify-ca; a missing file is named.
        let err = resolve(Some("require"), Some("/nonexistent/ca.crt"))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("sslrootcert /nonexistent/ca.crt"), "{err}");
        let err = Tls::resolve(
            &Params {
                sslpassword: true,
                ..Params::default()
            },
            None,
        )
        .err()
        .unwrap()
        .to_string();
        assert!(err.contains("sslpassword is not supported"), "{err}");
        let (_, p) = split_params("postgresql://h/db?sslcrl=/x.crl&sslsni=1").unwrap();
        let err = Tls::resolve(&p, None).err().unwrap().to_string();
        assert!(err.contains("sslcrl is not supported"), "{err}");
    }
}
