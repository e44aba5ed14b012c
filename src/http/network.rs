//! How requests reach the hosts: which certificate authorities are trusted (the bundled Mozilla
//! roots, or the operating system's bundle, plus private CAs) and which proxy carries them.
//!
//! Each distinct setting gets its own agent, built once per process; the default (bundled roots,
//! no proxy) is the agent every request used before.

use std::path::{Path, PathBuf};

/// The trust and proxy settings of one instance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Network {
    /// Trust the operating system's bundle instead of the bundled Mozilla roots.
    pub system_roots: bool,
    /// Certificates (DER) trusted besides the roots, as the configuration read them from
    /// `ca_file`.
    pub private_cas: Vec<Vec<u8>>,
    /// Files and folders of CAs trusted besides the roots, from `SSL_CERT_FILE` and
    /// `SSL_CERT_DIR`: read when an https agent is first built, not at every start. Images
    /// often point these at the whole system bundle, hundreds of certificates that a process
    /// talking plain http, or not at all, never needs.
    pub ca_paths: Vec<PathBuf>,
    /// `http://[user:password@]host:port`: https requests go through it with CONNECT, so the
    /// proxy sees only the TLS stream, never a token.
    pub proxy: Option<String>,
    /// Hosts (`example.com`, `.example.com`, `*`) that are reached directly.
    pub no_proxy: Vec<String>,
}

/// Where operating systems keep their bundle of trusted CAs, most common first.
const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// The operating system's bundle, if this machine has one.
pub fn system_bundle() -> Option<PathBuf> {
    SYSTEM_BUNDLES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// The certificates (DER) of a PEM file, or of every `.pem`/`.crt` file of a directory, each
/// once (a folder such as `/etc/ssl/certs` holds every CA twice: alone, and in the bundle).
pub fn certificates(path: &Path) -> Result<Vec<Vec<u8>>, String> {
    let files: Vec<PathBuf> = if path.is_dir() {
        let entries = std::fs::read_dir(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut files: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "pem" || x == "crt"))
            .collect();
        files.sort();
        files
    } else {
        vec![path.to_path_buf()]
    };
    let mut seen = std::collections::HashSet::new();
    let mut certs = Vec::new();
    for file in files {
        let pem = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        for der in pem_certificates(&pem) {
            if seen.insert(der.clone()) {
                certs.push(der);
            }
        }
    }
    if certs.is_empty() {
        return Err(format!(
            "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        ));
    }
    Ok(certs)
}

/// The `CERTIFICATE` blocks of a PEM text, decoded. Certificates are public: the plain base64
/// decoder does, about ten times faster than the constant-time one meant for keys (a system
/// bundle took 5 ms of every start with it).
fn pem_certificates(pem: &[u8]) -> Vec<Vec<u8>> {
    use base64::Engine as _;
    const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
    const END: &[u8] = b"-----END CERTIFICATE-----";
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle);
    let mut certs = Vec::new();
    let mut rest = pem;
    while let Some(start) = find(rest, BEGIN) {
        let body = &rest[start + BEGIN.len()..];
        let Some(end) = find(body, END) else { break };
        let text: Vec<u8> = body[..end]
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(text) {
            certs.push(der);
        }
        rest = &body[end + END.len()..];
    }
    certs
}

impl Network {
    /// What a plain `http://` request needs of this network: its proxy, no CAs (so no bundle
    /// is read for a loopback host or a proxy given by address).
    pub fn for_url(&self, url: &str) -> std::borrow::Cow<'_, Network> {
        let plain = url
            .get(..7)
            .is_some_and(|s| s.eq_ignore_ascii_case("http://"));
        if !plain || (!self.system_roots && self.private_cas.is_empty() && self.ca_paths.is_empty())
        {
            return std::borrow::Cow::Borrowed(self);
        }
        std::borrow::Cow::Owned(Network {
            system_roots: false,
            private_cas: Vec::new(),
            ca_paths: Vec::new(),
            ..self.clone()
        })
    }
}

/// The roots an agent trusts for `network`.
fn roots(network: &Network) -> Result<ureq::tls::RootCerts, String> {
    if !network.system_roots && network.private_cas.is_empty() && network.ca_paths.is_empty() {
        return Ok(ureq::tls::RootCerts::WebPki);
    }
    let mut certs: Vec<ureq::tls::Certificate<'static>> = if network.system_roots {
        let bundle = system_bundle().ok_or_else(|| {
            format!(
                "tls_roots = \"system\", but this machine has no CA bundle ({})",
                SYSTEM_BUNDLES.join(", ")
            )
        })?;
        certificates(&bundle)?
            .into_iter()
            .map(|der| ureq::tls::Certificate::from_der(&der).to_owned())
            .collect()
    } else {
        webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .map(|der| ureq::tls::Certificate::from_der(der.as_ref()).to_owned())
            .collect()
    };
    for path in &network.ca_paths {
        let read =
            certificates(path).map_err(|why| format!("SSL_CERT_FILE or SSL_CERT_DIR: {why}"))?;
        certs.extend(
            read.iter()
                .map(|der| ureq::tls::Certificate::from_der(der).to_owned()),
        );
    }
    certs.extend(
        network
            .private_cas
            .iter()
            .map(|der| ureq::tls::Certificate::from_der(der).to_owned()),
    );
    Ok(ureq::tls::RootCerts::new_with_certs(&certs))
}

/// The proxy for `network`: its URL as ureq's, with the hosts reached directly.
fn proxy(network: &Network) -> Result<Option<ureq::Proxy>, String> {
    let Some(url) = &network.proxy else {
        return Ok(None);
    };
    let invalid = || {
        format!(
            "proxy {:?} is not a URL like http://host:port",
            crate::url::without_credentials(url)
        )
    };
    let uri: ureq::http::Uri = url.parse().map_err(|_| invalid())?;
    let authority = uri.authority().ok_or_else(invalid)?;
    let protocol: ureq::ProxyProtocol = uri
        .scheme_str()
        .unwrap_or("http")
        .try_into()
        .map_err(|_| invalid())?;
    let mut builder = ureq::Proxy::builder(protocol).host(authority.host());
    if let Some(port) = authority.port_u16() {
        builder = builder.port(port);
    }
    if let Some((userinfo, _)) = authority.as_str().rsplit_once('@') {
        let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .to_string()
        };
        builder = builder.username(&decode(user));
        if !password.is_empty() {
            builder = builder.password(&decode(password));
        }
    }
    for host in &network.no_proxy {
        builder = builder.no_proxy(host);
    }
    builder.build().map(Some).map_err(|_| invalid())
}

/// The agent for the default network: Mozilla's roots, no proxy.
pub fn default_agent() -> ureq::Agent {
    new_agent(shared_config().build())
}

/// An agent for `network`, on top of the settings every agent shares.
pub fn agent(network: &Network) -> Result<ureq::Agent, String> {
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(roots(network)?)
        .build();
    Ok(new_agent(
        shared_config()
            .tls_config(tls)
            .proxy(proxy(network)?)
            .build(),
    ))
}

/// An agent that looks up only names, not IP literals (see `resolve.rs`).
fn new_agent(config: ureq::config::Config) -> ureq::Agent {
    ureq::Agent::with_parts(
        config,
        ureq::unversioned::transport::DefaultConnector::default(),
        super::resolve::Literal::default(),
    )
}

/// What every agent shares: no redirects, our user agent, small buffers.
fn shared_config() -> ureq::config::ConfigBuilder<ureq::typestate::AgentScope> {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent(super::USER_AGENT)
        .timeout_connect(Some(super::CONNECT_TIMEOUT))
        // ureq's 128 KiB buffers are zeroed per connection; our requests and answers are a
        // few KiB of JSON (headers up to the default limit still fit).
        .input_buffer_size(64 * 1024)
        .output_buffer_size(16 * 1024)
        // Proxies come from the configuration (which reads the environment as curl does).
        .proxy(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_passwords_never_reach_a_message() {
        let e = proxy(&Network {
            proxy: Some("http://me:s3cret@".into()),
            ..Network::default()
        })
        .unwrap_err();
        assert!(!e.contains("s3cret"), "{e}");
    }

    #[test]
    fn a_proxy_url_keeps_its_host_port_and_exceptions() {
        let p = proxy(&Network {
            proxy: Some("http://proxy.acme:3128".into()),
            no_proxy: vec!["internal.acme".into()],
            ..Network::default()
        })
        .unwrap()
        .unwrap();
        assert_eq!(p.host(), "proxy.acme");
        assert_eq!(p.port(), 3128);
        assert!(p.is_no_proxy(&"https://internal.acme/x".parse().unwrap()));
        assert!(!p.is_no_proxy(&"https://api.github.com/x".parse().unwrap()));
        assert!(proxy(&Network::default()).unwrap().is_none());
    }

    /// Bundled roots alone stay ureq's own; a private CA is added to Mozilla's roots, not put in
    /// their place; `system` trusts the OS bundle instead of Mozilla's.
    #[test]
    fn roots_are_mozillas_plus_private_cas_or_the_systems() {
        let count = |network: &Network| match roots(network).unwrap() {
            ureq::tls::RootCerts::Specific(certs) => Some(certs.len()),
            _ => None,
        };
        assert_eq!(count(&Network::default()), None, "ureq's WebPki roots");
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["ca.test".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        std::fs::write(&ca, cert.pem()).unwrap();
        let mozilla = webpki_root_certs::TLS_SERVER_ROOT_CERTS.len();
        let with_ca = Network {
            private_cas: certificates(&ca).unwrap(),
            ..Network::default()
        };
        assert_eq!(count(&with_ca), Some(mozilla + 1));
        if let Some(bundle) = system_bundle() {
            let system = certificates(&bundle).unwrap().len();
            let with_system = Network {
                system_roots: true,
                ..with_ca.clone()
            };
            assert_eq!(count(&with_system), Some(system + 1));
        }
    }

    /// A folder such as `/etc/ssl/certs` holds each CA alone and again in the bundle: read once,
    /// as the DER the PEM encodes.
    #[test]
    fn a_folder_yields_each_certificate_once_as_its_der() {
        let dir = tempfile::tempdir().unwrap();
        let certs: Vec<rcgen::Certificate> = (0..2)
            .map(|i| {
                let key = rcgen::KeyPair::generate().unwrap();
                rcgen::CertificateParams::new(vec![format!("ca{i}.test")])
                    .unwrap()
                    .self_signed(&key)
                    .unwrap()
            })
            .collect();
        std::fs::write(dir.path().join("a.pem"), certs[0].pem()).unwrap();
        std::fs::write(
            dir.path().join("bundle.crt"),
            format!("# bundle\n{}\n{}", certs[0].pem(), certs[1].pem()),
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), certs[1].pem()).unwrap();
        let read = certificates(dir.path()).unwrap();
        let expected: Vec<Vec<u8>> = certs.iter().map(|c| c.der().to_vec()).collect();
        assert_eq!(read, expected);
    }

    #[test]
    fn a_file_without_certificates_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ca.pem");
        std::fs::write(&file, "not a certificate").unwrap();
        let e = certificates(&file).unwrap_err();
        assert!(e.contains("ca.pem holds no PEM certificate"), "{e}");
    }
}
