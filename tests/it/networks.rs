//! Enterprise networks: a host behind a private CA (real TLS, a CA made for the test) and a
//! corporate proxy (a CONNECT proxy that records what it carries).

use crate::support::tls::{ConnectProxy, TestCa, TlsFront};
use crate::support::*;

const SUCCESS: &str = "flux/kustomization-reconciliation-succeeded-flux-v2.json";

fn event() -> Vec<u8> {
    flux_event(SUCCESS, SHA, None)
}

/// The reference's GitHub environment, its API at `base` (https).
fn env_at(base: &str, host: &MockHost, dir: &TempDir) -> Vec<(String, String)> {
    with(
        &github_env(host, dir),
        &[("GITHUB_ORG_URL", &format!("{base}/repos/org"))],
    )
}

fn delivered(host: &MockHost) -> usize {
    host.posts()
        .iter()
        .filter(|p| p.path().contains("/statuses/") || p.path().ends_with("/dispatches"))
        .count()
}

#[test]
fn a_private_ca_is_refused_until_ca_file_or_ssl_cert_file_names_it() {
    let ca = TestCa::new();
    let host = MockHost::start();
    let front = TlsFront::start(&ca, &host);
    let dir = TempDir::new("tls-ca");
    let ca_file = dir.path().join("ca.pem");
    ca.write_ca(&ca_file);
    let env = env_at(&front.base, &host, &dir);

    let run = connector(&["handle", "--budget", "1"], &env, Some(&event()));
    assert_eq!(run.code, 75, "owed, not lost: {}", run.stderr);
    assert!(
        run.stderr.contains("set ca_file to the PEM of its CA"),
        "{}",
        run.stderr
    );
    assert_eq!(delivered(&host), 0);

    let with_ca = with(
        &env,
        &[("GITOPS_CONNECTOR_CA_FILE", ca_file.to_str().unwrap())],
    );
    let run = connector(&["replay", "--failed"], &with_ca, None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(delivered(&host) >= 2, "statuses and the dispatch, over TLS");

    // SSL_CERT_FILE adds the same trust, as curl and OpenSSL read it.
    let host = MockHost::start();
    let front = TlsFront::start(&ca, &host);
    let dir = TempDir::new("tls-ssl-cert-file");
    let env = with(
        &env_at(&front.base, &host, &dir),
        &[("SSL_CERT_FILE", ca_file.to_str().unwrap())],
    );
    let run = connector(&["handle"], &env, Some(&event()));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(delivered(&host) >= 2);
}

#[test]
fn a_ca_file_without_certificates_is_a_configuration_error() {
    let dir = TempDir::new("tls-bad-ca");
    let host = MockHost::start();
    let bad = dir.path().join("ca.pem");
    std::fs::write(&bad, "not a certificate\n").unwrap();
    let env = with(
        &github_env(&host, &dir),
        &[("GITOPS_CONNECTOR_CA_FILE", bad.to_str().unwrap())],
    );
    let run = connector(&["handle"], &env, Some(&event()));
    assert_eq!(run.code, 78, "{}", run.stderr);
    assert!(
        run.stderr.contains("holds no PEM certificate"),
        "{}",
        run.stderr
    );
    assert!(host.requests().is_empty());
}

/// The environment's CAs (`SSL_CERT_FILE`, `SSL_CERT_DIR`: often the whole system bundle) are
/// read only when an https request needs them: a plain-http host never pays for them, and an
/// unreadable one is a delivery waiting on configuration that names them, not a broken start.
#[test]
fn the_environments_cas_are_read_only_for_https() {
    let dir = TempDir::new("tls-env-cas");
    let bad = dir.path().join("bundle.pem");
    std::fs::write(&bad, "not a certificate\n").unwrap();
    let host = MockHost::start();
    let plain = with(
        &github_env(&host, &dir),
        &[("SSL_CERT_FILE", bad.to_str().unwrap())],
    );
    let run = connector(&["handle"], &plain, Some(&event()));
    assert_eq!(run.code, 0, "http needs no CA: {}", run.stderr);
    assert!(delivered(&host) >= 2);

    let ca = TestCa::new();
    let host = MockHost::start();
    let front = TlsFront::start(&ca, &host);
    let dir = TempDir::new("tls-env-cas-https");
    let env = with(
        &env_at(&front.base, &host, &dir),
        &[("SSL_CERT_FILE", bad.to_str().unwrap())],
    );
    let run = connector(&["handle", "--budget", "1"], &env, Some(&event()));
    assert_eq!(run.code, 75, "{}", run.stderr);
    assert!(
        run.stderr.contains("SSL_CERT_FILE or SSL_CERT_DIR")
            && run.stderr.contains("holds no PEM certificate"),
        "{}",
        run.stderr
    );
    assert_eq!(delivered(&host), 0);
}

#[test]
fn https_goes_through_the_proxy_with_connect_and_the_token_never_in_clear() {
    let ca = TestCa::new();
    let host = MockHost::start();
    let front = TlsFront::start(&ca, &host);
    let proxy = ConnectProxy::start();
    let dir = TempDir::new("proxy");
    let ca_file = dir.path().join("ca.pem");
    ca.write_ca(&ca_file);
    let env = with(
        &env_at(&front.base, &host, &dir),
        &[
            ("GITOPS_CONNECTOR_CA_FILE", ca_file.to_str().unwrap()),
            ("HTTPS_PROXY", &proxy.url),
        ],
    );
    let run = connector(&["handle"], &env, Some(&event()));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(delivered(&host) >= 2);
    let port = front.base.rsplit(':').next().unwrap();
    let seen = proxy.seen.lock().unwrap().clone();
    assert!(!seen.is_empty());
    assert!(
        seen.iter()
            .all(|l| l.starts_with(&format!("CONNECT 127.0.0.1:{port} "))),
        "{seen:?}"
    );
    let carried = String::from_utf8_lossy(&proxy.bytes.lock().unwrap()).to_string();
    assert!(!carried.contains(TOKEN), "the proxy saw the token");
    assert!(!carried.contains("statuses"), "the proxy saw the request");

    // NO_PROXY reaches the host directly; the `proxy` key overrides the environment.
    let direct = with(&env, &[("NO_PROXY", "127.0.0.1")]);
    let before = proxy.seen.lock().unwrap().len();
    let run = connector(
        &["handle"],
        &direct,
        Some(&flux_event(SUCCESS, ARGO_SHA, None)),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(proxy.seen.lock().unwrap().len(), before);
}

#[test]
fn config_shows_urls_without_their_credentials() {
    let host = MockHost::start();
    let dir = TempDir::new("proxy-config");
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        "[subscribers]\nspektate = \"https://hook-t0ken@hooks.example/flux\"\n",
    )
    .unwrap();
    let env = with(
        &github_env(&host, &dir),
        &[
            ("GITOPS_CONNECTOR_PROXY", "http://me:s3cret@proxy.acme:3128"),
            ("GITOPS_CONNECTOR_CONFIG", config.to_str().unwrap()),
        ],
    );
    for output in ["text", "json"] {
        let run = connector(&["config", "--output", output], &env, None);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(
            run.stdout.contains("http://me:***@proxy.acme:3128"),
            "{}",
            run.stdout
        );
        assert!(
            run.stdout.contains("https://***@hooks.example/flux"),
            "{}",
            run.stdout
        );
        assert!(!run.stdout.contains("s3cret"), "{}", run.stdout);
        assert!(!run.stdout.contains("hook-t0ken"), "{}", run.stdout);
    }
}
