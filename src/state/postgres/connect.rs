//! Reaching a PostgreSQL state: the libpq URL (`postgres://user@host:port/db?sslmode=…`), the
//! password (never in a message), and TLS through rustls.
//!
//! libpq's conventions where they fit: the password comes from the URL, else the
//! `state_password_file` key, else `PGPASSWORD`, else the password file (`PGPASSFILE`, or
//! `~/.pgpass`); `sslmode` is `disable`, `prefer` (the default: encrypted when the server can,
//! certificate not checked), `require` (encrypted, certificate not checked unless a root is
//! given), `verify-ca` (the chain checked) or `verify-full` (the chain and the host name);
//! `sslrootcert` (or `PGSSLROOTCERT`) names the CA file, else the bundled Mozilla roots are used.

use anyhow::{bail, Context, Result};
use postgres::config::{Host, SslMode};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How far the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    Nothing,
    Chain,
    ChainAndName,
}

/// A parsed state URL: the client's configuration, with the TLS settings it cannot hold.
/// (`postgres::Config` prints its password redacted.)
#[derive(Debug)]
pub struct Target {
    pub config: postgres::Config,
    pub tls: Option<Verify>,
    pub root_cert: Option<PathBuf>,
}

pub fn is_url(location: &str) -> bool {
    let lower = location.get(..13).unwrap_or(location).to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// Parses the URL and finds the password. `env` is how the process environment is read (a map in
/// tests).
pub fn target(
    url: &str,
    password_file: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Target> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut ssl_mode = env("PGSSLMODE");
    let mut root_cert = env("PGSSLROOTCERT").map(PathBuf::from);
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_encoding::percent_decode_str(value)
            .decode_utf8()
            .with_context(|| format!("the state URL's {key} is not UTF-8"))?
            .into_owned();
        match key {
            "sslmode" => ssl_mode = Some(value),
            "sslrootcert" => root_cert = Some(PathBuf::from(value)),
            "sslcert" | "sslkey" => bail!(
                "the state URL's {key}: client certificates are not supported; use a password (state_password_file, PGPASSWORD or PGPASSFILE)"
            ),
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    let mut config: postgres::Config = url.parse().map_err(|e| {
        anyhow::anyhow!(
            "the state URL {} cannot be read ({e}): write it as postgres://USER@HOST:PORT/DATABASE?sslmode=verify-full",
            crate::url::without_credentials(&url)
        )
    })?;
    let (mode, tls) = match ssl_mode.as_deref().unwrap_or("prefer") {
        "disable" => (SslMode::Disable, None),
        "allow" | "prefer" => (SslMode::Prefer, Some(Verify::Nothing)),
        "require" if root_cert.is_some() => (SslMode::Require, Some(Verify::Chain)),
        "require" => (SslMode::Require, Some(Verify::Nothing)),
        "verify-ca" => (SslMode::Require, Some(Verify::Chain)),
        "verify-full" => (SslMode::Require, Some(Verify::ChainAndName)),
        other => bail!(
            "the state URL's sslmode is {other:?}: give disable, prefer, require, verify-ca or verify-full"
        ),
    };
    config.ssl_mode(mode);
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(5));
    }
    if config.get_application_name().is_none() {
        config.application_name("gitops-connector");
    }
    if config.get_password().is_none() {
        if let Some(password) = password(&config, password_file, env)? {
            config.password(password);
        }
    }
    Ok(Target {
        config,
        tls,
        root_cert,
    })
}

/// The password the URL does not hold, from where libpq would look (and `state_password_file`
/// first: a mounted Secret is how Kubernetes hands it over).
fn password(
    config: &postgres::Config,
    password_file: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<String>> {
    if let Some(file) = password_file {
        let text = std::fs::read_to_string(file).with_context(|| {
            format!(
                "cannot read the state's password file {} (state_password_file)",
                file.display()
            )
        })?;
        return Ok(Some(text.trim_end_matches(['\n', '\r']).to_string()));
    }
    if let Some(password) = env("PGPASSWORD") {
        return Ok(Some(password));
    }
    let file = env("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|home| Path::new(&home).join(".pgpass")));
    let Some(text) = file.and_then(|f| std::fs::read_to_string(f).ok()) else {
        return Ok(None);
    };
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(host)) => host.clone(),
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_string(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let user = config.get_user().unwrap_or_default();
    let database = config.get_dbname().unwrap_or(user);
    Ok(pgpass_lookup(&text, [&host, &port, database, user]))
}

/// The password of the first line of a `.pgpass` file matching host, port, database and user
/// (`*` matches anything; `\:` and `\\` are a colon and a backslash).
fn pgpass_lookup(text: &str, wanted: [&str; 4]) -> Option<String> {
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => field.extend(chars.next()),
                ':' if fields.len() < 4 => fields.push(std::mem::take(&mut field)),
                c => field.push(c),
            }
        }
        fields.push(field);
        if fields.len() == 5
            && fields[..4]
                .iter()
                .zip(wanted)
                .all(|(have, want)| have == "*" || have == want)
        {
            return fields.pop();
        }
    }
    None
}

/// The TLS connector for `verify`, trusting `root_cert` (else the bundled Mozilla roots).
pub fn tls(
    verify: Verify,
    root_cert: Option<&Path>,
) -> Result<tokio_postgres_rustls::MakeRustlsConnect> {
    let verifier = verifier(verify, root_cert)?;
    let config = rustls::ClientConfig::builder_with_provider(verifier.provider.clone())
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

fn verifier(verify: Verify, root_cert: Option<&Path>) -> Result<Libpq> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = if verify == Verify::Nothing {
        None
    } else {
        let mut roots = rustls::RootCertStore::empty();
        match root_cert {
            Some(path) => {
                let certs = crate::http::network::certificates(path)
                    .map_err(|e| anyhow::anyhow!("cannot read the state's sslrootcert {e}"))?;
                if certs.is_empty() {
                    bail!(
                        "the state's sslrootcert {} holds no certificate",
                        path.display()
                    );
                }
                for der in certs {
                    roots.add(CertificateDer::from(der))?;
                }
            }
            None => {
                for cert in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
                    // A bundled root this rustls cannot parse is skipped, as ureq does.
                    let _ = roots.add(cert.clone());
                }
            }
        }
        Some(
            rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots),
                provider.clone(),
            )
            .build()?,
        )
    };
    Ok(Libpq {
        chain,
        name: verify == Verify::ChainAndName,
        provider,
    })
}

/// The server certificate checked as libpq's `sslmode` says: not at all (`prefer`, `require`
/// without a root: encrypted only), the chain (`verify-ca`), or the chain and the name
/// (`verify-full`). The handshake's signatures are always checked.
#[derive(Debug)]
struct Libpq {
    chain: Option<Arc<rustls::client::WebPkiServerVerifier>>,
    name: bool,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for Libpq {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. },
            )) if !self.name => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn a_pgpass_line_matches_with_wildcards_and_escapes() {
        let text = "# comment\nother:5432:*:u:nope\n127.0.0.1:*:db:u:pa\\:ss\n*:*:*:*:last";
        assert_eq!(
            pgpass_lookup(text, ["127.0.0.1", "5433", "db", "u"]).as_deref(),
            Some("pa:ss")
        );
        assert_eq!(
            pgpass_lookup(text, ["h", "1", "d", "x"]).as_deref(),
            Some("last")
        );
    }

    #[test]
    fn libpq_ssl_modes_map_to_checks_and_others_are_refused() {
        let t = target(
            "postgres://u@h/db?sslmode=verify-full&sslrootcert=/ca.pem",
            None,
            &no_env,
        )
        .unwrap();
        assert_eq!(t.tls, Some(Verify::ChainAndName));
        assert_eq!(t.root_cert.as_deref(), Some(Path::new("/ca.pem")));
        let t = target("postgresql://u@h/db?sslmode=disable", None, &no_env).unwrap();
        assert_eq!(t.tls, None);
        let t = target("postgres://u@h/db", None, &no_env).unwrap();
        assert_eq!(t.tls, Some(Verify::Nothing), "libpq's default: prefer");
        let e = target("postgres://u:pw@h/db?sslmode=maybe", None, &no_env).unwrap_err();
        assert!(e.to_string().contains("verify-full"), "{e}");
        let e = target("postgres://u:s3cret@h/db?bogus=1", None, &no_env).unwrap_err();
        assert!(!format!("{e:#}").contains("s3cret"), "{e:#}");
    }

    /// A CA file and a certificate it signed for `localhost`.
    fn issued(dir: &Path) -> (PathBuf, CertificateDer<'static>) {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(params, ca_key);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        let file = dir.join("ca.pem");
        std::fs::write(&file, ca.pem()).unwrap();
        (file, cert.der().clone())
    }

    #[test]
    fn verify_ca_checks_the_chain_and_verify_full_the_name_too() {
        let dir = tempfile::tempdir().unwrap();
        let (ca, cert) = issued(dir.path());
        let check = |verify: Verify, root: Option<&Path>, name: &str| {
            let verifier = verifier(verify, root).unwrap();
            let name = ServerName::try_from(name.to_string()).unwrap();
            verifier
                .verify_server_cert(&cert, &[], &name, &[], UnixTime::now())
                .is_ok()
        };
        assert!(check(Verify::ChainAndName, Some(&ca), "localhost"));
        assert!(!check(Verify::ChainAndName, Some(&ca), "db.example"));
        assert!(check(Verify::Chain, Some(&ca), "db.example"));
        let other = tempfile::tempdir().unwrap();
        let (stranger, _) = issued(other.path());
        assert!(!check(Verify::Chain, Some(&stranger), "localhost"));
        assert!(check(Verify::Nothing, None, "db.example"));
        assert!(tls(Verify::Chain, Some(&dir.path().join("missing.pem"))).is_err());
    }

    #[test]
    fn the_password_comes_from_the_file_then_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "from-file\n").unwrap();
        let env = |k: &str| (k == "PGPASSWORD").then(|| "from-env".to_string());
        let t = target("postgres://u@h/db", Some(&file), &env).unwrap();
        assert_eq!(t.config.get_password(), Some(&b"from-file"[..]));
        let t = target("postgres://u@h/db", None, &env).unwrap();
        assert_eq!(t.config.get_password(), Some(&b"from-env"[..]));
        let t = target("postgres://u:in-url@h/db", Some(&file), &env).unwrap();
        assert_eq!(t.config.get_password(), Some(&b"in-url"[..]));
    }
}
