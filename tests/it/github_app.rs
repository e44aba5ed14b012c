//! GitHub App authentication: the mock GitHub checks each JWT's RS256 signature with the App's
//! public key and its claims, finds the installation on the manifests repository, and issues
//! installation tokens with an expiry, so that their reuse across invocations can be counted.

use crate::support::*;
use base64::Engine as _;
use ring::signature::KeyPair as _;
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

const APP_ID: &str = "123";
const INSTALLATION: u64 = 77;
const KEY: &str = include_str!("keys/github-app-test.pem");

/// The App's public key, from its private key.
fn public_key() -> Vec<u8> {
    let pem = ureq::tls::PrivateKey::from_pem(KEY.as_bytes()).unwrap();
    let pair = ring::signature::RsaKeyPair::from_der(pem.der()).unwrap();
    pair.public_key().as_ref().to_vec()
}

fn now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// Why a JWT is not one GitHub would take, or `None`.
fn jwt_fault(authorization: &str, public: &[u8]) -> Option<String> {
    let jwt = authorization.strip_prefix("Bearer ")?;
    let parts: Vec<&str> = jwt.split('.').collect();
    if parts.len() != 3 {
        return Some("not three parts".into());
    }
    let decode = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s);
    let signature = decode(parts[2]).ok()?;
    let key = ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        public,
    );
    if key
        .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
        .is_err()
    {
        return Some("bad signature".into());
    }
    let claims: Value = serde_json::from_slice(&decode(parts[1]).ok()?).ok()?;
    let (iat, exp) = (claims["iat"].as_i64()?, claims["exp"].as_i64()?);
    let now = now();
    if claims["iss"] != APP_ID {
        return Some(format!("iss {}", claims["iss"]));
    }
    if iat > now - 30 || exp > now + 600 || exp <= now || exp - iat > 600 {
        return Some(format!("iat {iat} exp {exp} now {now}"));
    }
    None
}

/// GitHub with the App installed on org/manifests: JWT-checked App endpoints issuing
/// `ghs_N` valid `lifetime` seconds, and the repository APIs taking only issued tokens.
struct GitHub {
    host: MockHost,
    token_requests: Arc<AtomicU64>,
    lifetime: Arc<AtomicI64>,
    revoked: Arc<Mutex<Vec<String>>>,
}

impl GitHub {
    fn start() -> GitHub {
        let public = public_key();
        let token_requests = Arc::new(AtomicU64::new(0));
        let lifetime = Arc::new(AtomicI64::new(3600));
        let revoked: Arc<Mutex<Vec<String>>> = Arc::default();
        let (count, life, gone) = (token_requests.clone(), lifetime.clone(), revoked.clone());
        let host = MockHost::with(move |r| {
            let auth = r.header("Authorization").unwrap_or("").to_string();
            // GitHub Enterprise Server serves the same API under /api/v3.
            let path = r.path().trim_start_matches("/api/v3");
            let app_endpoint = path == "/repos/org/manifests/installation"
                || path == format!("/app/installations/{INSTALLATION}/access_tokens");
            if app_endpoint {
                if let Some(fault) = jwt_fault(&auth, &public) {
                    return Some(Reply::json(
                        401,
                        json!({"message": format!("A JSON web token could not be decoded: {fault}")}),
                    ));
                }
                if path.ends_with("/installation") {
                    return Some(Reply::json(200, json!({"id": INSTALLATION, "app_id": 123})));
                }
                let n = count.fetch_add(1, Ordering::SeqCst) + 1;
                let expires =
                    jiff::Timestamp::from_second(now() + life.load(Ordering::SeqCst)).unwrap();
                return Some(Reply::json(
                    201,
                    json!({"token": format!("ghs_{n}"), "expires_at": expires.to_string()}),
                ));
            }
            let token = auth.strip_prefix("Bearer ").unwrap_or("");
            let issued =
                token.starts_with("ghs_") && !gone.lock().unwrap().iter().any(|t| t == token);
            (!issued).then(|| Reply::json(401, json!({"message": "Bad credentials"})))
        });
        GitHub {
            host,
            token_requests,
            lifetime,
            revoked,
        }
    }
}

/// The reference's GitHub environment, with the App instead of a PAT.
fn app_env(github: &GitHub, dir: &TempDir) -> Vec<(String, String)> {
    let key_file = dir.path().join("app.pem");
    std::fs::write(&key_file, KEY).unwrap();
    let mut env: Vec<(String, String)> = github_env(&github.host, dir)
        .into_iter()
        .filter(|(k, _)| k != "PAT")
        .collect();
    env.push(("GITOPS_CONNECTOR_GITHUB_APP_ID".into(), APP_ID.into()));
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        format!("github_app_private_key_file = \"{}\"\n", key_file.display()),
    )
    .unwrap();
    env.push((
        "GITOPS_CONNECTOR_CONFIG".into(),
        config.display().to_string(),
    ));
    env
}

fn flux(i: u32) -> Vec<u8> {
    flux_event(
        "flux/kustomization-reconciliation-succeeded-flux-v2.json",
        &format!("{:040x}", 0xabc0_0000 + i),
        None,
    )
}

#[test]
fn many_invocations_share_one_installation_token_found_from_the_repository() {
    let github = GitHub::start();
    let dir = TempDir::new("app-reuse");
    let env = app_env(&github, &dir);
    for i in 0..10 {
        let run = connector(&["handle", "-v"], &env, Some(&flux(i)));
        assert_eq!(run.code, 0, "{}", run.stderr);
        for text in [&run.stdout, &run.stderr] {
            assert!(
                !text.contains("ghs_") && !text.contains("PRIVATE KEY"),
                "{text}"
            );
        }
    }
    assert_eq!(
        github.token_requests.load(Ordering::SeqCst),
        1,
        "one token for ten events"
    );
    let requests = github.host.requests();
    let lookups = requests
        .iter()
        .filter(|r| r.path().ends_with("/installation"))
        .count();
    assert_eq!(lookups, 1, "the installation is found once, with the token");
    // Every repository request (statuses, reads, dispatches) carried the installation token.
    let repo_requests: Vec<&Recorded> = requests
        .iter()
        .filter(|r| r.path().starts_with("/repos/org/") && !r.path().ends_with("/installation"))
        .collect();
    assert!(repo_requests.len() >= 10 * 3, "{}", repo_requests.len());
    assert!(repo_requests
        .iter()
        .all(|r| r.header("Authorization") == Some("Bearer ghs_1")));
    // The cache is private, and the journal holds neither the token nor the key.
    let cache = dir.token_cache();
    assert_eq!(
        std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let state = dir.state_dump();
    assert!(!state.contains("ghs_1") && !state.contains("PRIVATE KEY"));
    let shown = connector(&["events", "show", "1"], &env, None);
    assert!(!shown.stdout.contains("ghs_"), "{}", shown.stdout);
    let config = connector(&["config"], &env, None);
    assert!(
        config
            .stdout
            .contains("github app private key: *** from file"),
        "{}",
        config.stdout
    );
    assert!(!config.stdout.contains("PRIVATE KEY"));
}

#[test]
fn a_token_near_its_end_is_renewed_and_a_refused_one_replaced_at_once() {
    let github = GitHub::start();
    let dir = TempDir::new("app-renew");
    let env = with(
        &app_env(&github, &dir),
        &[(
            "GITOPS_CONNECTOR_GITHUB_APP_INSTALLATION_ID",
            &INSTALLATION.to_string(),
        )],
    );
    // Four minutes to live: inside the five-minute margin, so each invocation asks again.
    github.lifetime.store(240, Ordering::SeqCst);
    for i in 0..2 {
        assert_eq!(connector(&["handle"], &env, Some(&flux(i))).code, 0);
    }
    assert_eq!(github.token_requests.load(Ordering::SeqCst), 2);
    assert!(
        !github
            .host
            .requests()
            .iter()
            .any(|r| r.path().ends_with("/installation")),
        "a configured installation is not looked up"
    );
    // An hour to live, then GitHub revokes it: the next request gets a fresh one, once.
    github.lifetime.store(3600, Ordering::SeqCst);
    assert_eq!(connector(&["handle"], &env, Some(&flux(2))).code, 0);
    assert_eq!(github.token_requests.load(Ordering::SeqCst), 3);
    github.revoked.lock().unwrap().push("ghs_3".into());
    let run = connector(&["handle"], &env, Some(&flux(3)));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(github.token_requests.load(Ordering::SeqCst), 4);
}

#[test]
fn a_wrong_app_id_is_owed_with_advice_naming_the_key() {
    let github = GitHub::start();
    let dir = TempDir::new("app-wrong");
    let env = with(
        &app_env(&github, &dir),
        &[("GITOPS_CONNECTOR_GITHUB_APP_ID", "999")],
    );
    let run = connector(&["handle"], &env, Some(&flux(0)));
    assert_eq!(run.code, 75, "{}", run.stderr);
    assert!(
        run.stderr.contains("check github_app_id (999)"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("PRIVATE KEY"));
    // Without a key the configuration says where to put it.
    let no_key = with(
        &github_env(&github.host, &dir),
        &[("GITOPS_CONNECTOR_GITHUB_APP_ID", APP_ID)],
    );
    let run = connector(&["handle"], &no_key, Some(&flux(1)));
    assert_eq!(run.code, 78, "{}", run.stderr);
    assert!(
        run.stderr.contains("github_app_private_key_file"),
        "{}",
        run.stderr
    );
}

#[test]
fn github_enterprise_server_takes_every_request_and_the_app_under_api_v3() {
    let github = GitHub::start();
    let dir = TempDir::new("app-ghes");
    let env = with(
        &app_env(&github, &dir),
        &[(
            "GITHUB_ORG_URL",
            &format!("{}/api/v3/repos/org", github.host.base),
        )],
    );
    let run = connector(&["handle"], &env, Some(&flux(0)));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let paths: Vec<String> = github
        .host
        .requests()
        .iter()
        .map(|r| r.path().to_string())
        .collect();
    assert!(paths.iter().all(|p| p.starts_with("/api/v3/")), "{paths:?}");
    for expected in [
        "/api/v3/repos/org/manifests/installation",
        "/api/v3/app/installations/77/access_tokens",
        "/api/v3/repos/org/app/dispatches",
    ] {
        assert!(paths.iter().any(|p| p == expected), "{expected}: {paths:?}");
    }
    assert!(paths
        .iter()
        .any(|p| p.starts_with("/api/v3/repos/org/manifests/statuses/")));
}
