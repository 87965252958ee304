//! TLS with libpq's `sslmode` semantics, against a server with a certificate of a test CA.
//!
//! The test runs a cluster of its own (`scripts/pg-sandbox.sh` with its own `PGSANDBOX_DIR`),
//! makes a CA and a server certificate for `localhost` and 127.0.0.1 with `rcgen` (nothing to
//! install), turns `ssl` on, then checks each mode, the errors of a wrong CA and a wrong host
//! name (which never print the password), a `hostssl`-only pg_hba.conf, and the binaries over
//! TLS.

use std::time::{Duration, Instant};

use pgshape_core::conn::{Session, SslMode, Target};
use pgshape_e2e::{run, OwnCluster};

const PASSWORD: &str = "tls-test-pw-Zq81";

/// A CA and what it signed, as PEM.
struct Pki {
    ca: String,
    server_cert: String,
    server_key: String,
    /// For the role `postgres` (the common name is the role, for `cert` authentication).
    client_cert: String,
    client_key: String,
}

fn ca(name: &str) -> (rcgen::Certificate, rcgen::Issuer<'static, rcgen::KeyPair>) {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert, rcgen::Issuer::new(params, key))
}

fn pki() -> Pki {
    let (ca_cert, issuer) = ca("pgshape test CA");
    let mut params =
        rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    let mut client = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    client
        .distinguished_name
        .push(rcgen::DnType::CommonName, "postgres");
    client.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let client_key = rcgen::KeyPair::generate().unwrap();
    let client_cert = client.signed_by(&client_key, &issuer).unwrap();
    Pki {
        ca: ca_cert.pem(),
        server_cert: cert.pem(),
        server_key: key.serialize_pem(),
        client_cert: client_cert.pem(),
        client_key: client_key.serialize_pem(),
    }
}

/// Connects with the core's connection code (what the binaries use), no `PG*` environment.
fn connect(url: &str) -> Result<postgres::Client, String> {
    let target = Target::resolve_with(Some(url), |_| None).map_err(|e| e.to_string())?;
    target.connect(&Session::default()).map_err(|e| {
        // The whole chain, as the binaries print it.
        let mut msg = e.to_string();
        let mut cause = std::error::Error::source(&e);
        while let Some(c) = cause {
            msg.push_str(&format!("\n  caused by: {c}"));
            cause = c.source();
        }
        msg
    })
}

fn ssl_in_use(client: &mut postgres::Client) -> bool {
    client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .unwrap()
        .get(0)
}

fn over_tls(url: &str) -> bool {
    let mut c = connect(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    ssl_in_use(&mut c)
}

fn error_of(url: &str) -> String {
    let err = match connect(url) {
        Ok(_) => panic!("{url} connected, it should have failed"),
        Err(e) => e,
    };
    assert!(!err.contains(PASSWORD), "the password is printed: {err}");
    eprintln!("{err}\n");
    err
}

fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sslmodes_against_a_server_with_a_test_ca_certificate() {
    let work = tempfile::tempdir().unwrap();
    let cluster = OwnCluster::start(&work.path().join("cluster"));
    // A password in the URL (trust authentication ignores it): no error may print it.
    let base = cluster.url.replacen(
        "postgresql://postgres@",
        &format!("postgresql://postgres:{PASSWORD}@"),
        1,
    );
    assert_ne!(base, cluster.url);
    let port = cluster
        .url
        .rsplit(':')
        .next()
        .unwrap()
        .split('/')
        .next()
        .unwrap();
    let with = |query: &str| format!("{base}?{query}");

    // ssl off: prefer falls back to plaintext, require says why it cannot.
    assert!(!over_tls(&base));
    let err = error_of(&with("sslmode=require"));
    assert!(err.contains("does not accept TLS"), "{err}");

    let pki = pki();
    let (other_ca, _) = ca("some other CA");
    let ca_file = work.path().join("ca.crt");
    let wrong_ca_file = work.path().join("wrong-ca.crt");
    std::fs::write(&ca_file, &pki.ca).unwrap();
    std::fs::write(&wrong_ca_file, other_ca.pem()).unwrap();
    let ca = ca_file.to_str().unwrap();
    let wrong_ca = wrong_ca_file.to_str().unwrap();

    cluster.install("server.crt", &pki.server_cert);
    cluster.install("server.key", &pki.server_key);
    let mut admin = cluster.superuser();
    for sql in [
        "ALTER SYSTEM SET ssl_cert_file = 'server.crt'",
        "ALTER SYSTEM SET ssl_key_file = 'server.key'",
        "ALTER SYSTEM SET ssl = on",
        "SELECT pg_reload_conf()",
    ] {
        admin.batch_execute(sql).unwrap();
    }
    wait_until("ssl = on after the reload", || {
        connect(&with("sslmode=require")).is_ok()
    });

    // require: TLS, any certificate (libpq without a root file).
    assert!(over_tls(&with("sslmode=require")));
    // prefer (the default): TLS when the server has it.
    assert!(over_tls(&base));
    // disable: never TLS.
    assert!(!over_tls(&with("sslmode=disable")));
    // verify-full: the chain and the name (the IP address, then the DNS name).
    assert!(over_tls(&with(&format!(
        "sslmode=verify-full&sslrootcert={ca}"
    ))));
    let localhost = format!(
        "postgresql://postgres:{PASSWORD}@localhost:{port}/postgres?hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert={ca}"
    );
    assert!(over_tls(&localhost));
    // key=value form, and the PGSSL* variables.
    assert!(over_tls(&format!(
        "host=127.0.0.1 port={port} user=postgres dbname=postgres sslmode=verify-full sslrootcert='{ca}'"
    )));
    let from_env = Target::resolve_with(Some(&base), |k| match k {
        "PGSSLMODE" => Some("verify-full".into()),
        "PGSSLROOTCERT" => Some(ca.into()),
        _ => None,
    })
    .unwrap();
    assert_eq!(from_env.ssl_mode(), SslMode::VerifyFull);
    assert!(ssl_in_use(
        &mut from_env.connect(&Session::default()).unwrap()
    ));

    // A wrong CA: verify-full fails and says so; require with a root file checks the chain
    // (libpq's rule), so it fails the same way.
    let err = error_of(&with(&format!(
        "sslmode=verify-full&sslrootcert={wrong_ca}"
    )));
    assert!(err.contains("unknown CA"), "{err}");
    assert!(err.contains(wrong_ca), "names the CA file: {err}");
    assert!(err.contains("sslmode=verify-full"), "{err}");
    let err = error_of(&with(&format!("sslmode=require&sslrootcert={wrong_ca}")));
    assert!(err.contains("unknown CA"), "{err}");

    // A name the certificate does not carry: verify-full refuses, verify-ca does not check it.
    let wrong_name = |mode: &str| {
        format!(
            "postgresql://postgres:{PASSWORD}@db.wrong.example:{port}/postgres?hostaddr=127.0.0.1&sslmode={mode}&sslrootcert={ca}"
        )
    };
    let err = error_of(&wrong_name("verify-full"));
    assert!(err.contains("host name mismatch"), "{err}");
    assert!(err.contains("db.wrong.example"), "{err}");
    assert!(over_tls(&wrong_name("verify-ca")));

    // A CA file that is not there is a settings error naming it.
    let err = error_of(&with("sslmode=verify-full&sslrootcert=/nonexistent/ca.crt"));
    assert!(err.contains("sslrootcert /nonexistent/ca.crt"), "{err}");

    // hostssl only: plaintext is refused by the server; prefer and allow end up on TLS.
    let hba = cluster.data_dir().join("pg_hba.conf");
    std::fs::write(
        &hba,
        "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
    )
    .unwrap();
    admin.batch_execute("SELECT pg_reload_conf()").unwrap();
    wait_until("the hostssl-only pg_hba.conf", || {
        connect(&with("sslmode=disable")).is_err()
    });
    let err = error_of(&with("sslmode=disable"));
    assert!(err.contains("pg_hba.conf"), "{err}");
    assert!(over_tls(&base));
    assert!(over_tls(&with("sslmode=allow")));

    // The binaries connect through the same code: over TLS here, since plaintext is refused.
    let good = with(&format!("sslmode=verify-full&sslrootcert={ca}"));
    let out = run("pgshape-loader", &["status"], &[("DATABASE_URL", &good)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "no runs");
    let out = run("pgshape-sampler", &["inspect"], &[("DATABASE_URL", &good)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bad = with(&format!("sslmode=verify-full&sslrootcert={wrong_ca}"));
    for bin in ["pgshape-loader", "pgshape-sampler"] {
        let args: &[&str] = if bin == "pgshape-loader" {
            &["status"]
        } else {
            &["inspect"]
        };
        let out = run(bin, args, &[("DATABASE_URL", &bad)]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{bin}: {stderr}");
        assert!(stderr.contains("unknown CA"), "{bin}: {stderr}");
        assert!(
            !stderr.contains(PASSWORD),
            "{bin} printed the password: {stderr}"
        );
        eprintln!("{bin}: {stderr}");
    }

    // Client certificates: `cert` authentication, the server checks ours against the CA.
    let client_cert = work.path().join("client.crt");
    let client_key = work.path().join("client.key");
    std::fs::write(&client_cert, &pki.client_cert).unwrap();
    std::fs::write(&client_key, &pki.client_key).unwrap();
    cluster.install("ca.crt", &pki.ca);
    std::fs::write(
        &hba,
        "local all all trust\nhostssl all all 127.0.0.1/32 cert\n",
    )
    .unwrap();
    admin
        .batch_execute("ALTER SYSTEM SET ssl_ca_file = 'ca.crt'")
        .unwrap();
    admin.batch_execute("SELECT pg_reload_conf()").unwrap();
    let with_client = format!(
        "{good}&sslcert={}&sslkey={}",
        client_cert.display(),
        client_key.display()
    );
    wait_until("cert authentication", || connect(&good).is_err());
    assert!(over_tls(&with_client));
    let err = error_of(&good);
    assert!(err.contains("certificate"), "{err}");
}
