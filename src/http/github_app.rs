//! GitHub App installation tokens: a JWT signed RS256 with the App's private key, exchanged for
//! an installation token (`POST /app/installations/{id}/access_tokens`), the installation found
//! from the manifests repository when it is not configured (`GET /repos/{owner}/{repo}/installation`).
//!
//! Installation tokens live an hour; a relay runs one process per event. They are cached beside
//! the state in a file only this user can read (the same locked cache as Entra tokens, never the
//! journal or outbox) and reused until five minutes before they expire. Pure here: the JWT, the
//! requests' URLs, and the reading of the answers; `auth.rs` sends.

use crate::config::GitHubApp;
use base64::Engine as _;
use serde_json::{json, Value};

/// GitHub refuses a JWT whose `exp` is more than ten minutes ahead; nine leaves room for skew.
const JWT_LIFETIME_SECONDS: u64 = 9 * 60;
/// `iat` a minute in the past, against a clock that runs ahead of GitHub's.
const JWT_BACKDATE_SECONDS: u64 = 60;

fn base64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The App's JWT (RS256): `iss` the App id, `iat` a minute ago, `exp` nine minutes ahead.
/// The key is a PEM file as GitHub hands it out (PKCS#1 `RSA PRIVATE KEY`) or PKCS#8.
pub fn jwt(app: &GitHubApp, now: u64) -> Result<String, String> {
    let not_rsa = || {
        format!(
            "the GitHub App private key ({}) is not a PEM RSA key (-----BEGIN RSA PRIVATE KEY----- or -----BEGIN PRIVATE KEY-----)",
            app.private_key_from
        )
    };
    let pem = ureq::tls::PrivateKey::from_pem(app.private_key.expose().as_bytes())
        .map_err(|_| not_rsa())?;
    // PKCS#1 as GitHub hands keys out, else PKCS#8 (ring knows both DER forms).
    let key = ring::signature::RsaKeyPair::from_der(pem.der())
        .or_else(|_| ring::signature::RsaKeyPair::from_pkcs8(pem.der()))
        .map_err(|e| {
            format!(
                "the GitHub App private key ({}) is not a usable RSA key: {e}",
                app.private_key_from
            )
        })?;
    let header = base64url(br#"{"alg":"RS256","typ":"JWT"}"#);
    let claims = base64url(
        json!({
            "iat": now.saturating_sub(JWT_BACKDATE_SECONDS),
            "exp": now + JWT_LIFETIME_SECONDS,
            "iss": app.app_id,
        })
        .to_string()
        .as_bytes(),
    );
    let signing_input = format!("{header}.{claims}");
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        signing_input.as_bytes(),
        &mut signature,
    )
    .map_err(|_| "could not sign the GitHub App JWT".to_string())?;
    Ok(format!("{signing_input}.{}", base64url(&signature)))
}

/// Where the installation of the App on the manifests repository is read.
pub fn installation_url(app: &GitHubApp) -> String {
    format!(
        "{}/repos/{}/{}/installation",
        app.api,
        crate::url::encode(&app.owner),
        crate::url::encode(&app.repo)
    )
}

pub fn token_url(app: &GitHubApp, installation: u64) -> String {
    format!("{}/app/installations/{installation}/access_tokens", app.api)
}

/// The cache's key: one token per App, installation (or repository it was found from) and API.
pub fn cache_key(app: &GitHubApp) -> String {
    match app.installation_id {
        Some(id) => format!("github-app:{}:{}:installation:{id}", app.api, app.app_id),
        None => format!(
            "github-app:{}:{}:repo:{}/{}",
            app.api, app.app_id, app.owner, app.repo
        ),
    }
}

/// The installation id in `GET …/installation`'s answer.
pub fn installation_id(answer: &Value) -> Option<u64> {
    answer.get("id")?.as_u64()
}

/// The token and its lifetime in seconds from `now`, from the access-token answer.
pub fn granted(answer: &Value, now: u64) -> Option<(String, u64)> {
    let token = answer.get("token")?.as_str()?.to_string();
    let expires_at = crate::event::time::parse_rfc3339(answer.get("expires_at")?.as_str()?)?;
    let expires_at = u64::try_from(expires_at).ok()?;
    Some((token, expires_at.saturating_sub(now)))
}

/// What to do when GitHub refuses the App (`status` to the JWT).
pub fn refusal_advice(app: &GitHubApp, status: u16, what: &str) -> String {
    match status {
        401 => format!(
            "GitHub refused the App's JWT for {what} ({status}): check github_app_id ({}) and that the private key ({}) is this App's",
            app.app_id, app.private_key_from
        ),
        404 => format!(
            "GitHub knows no installation for {what} ({status}): install the App on {}/{}, or fix github_app_installation_id",
            app.owner, app.repo
        ),
        _ => format!("GitHub answered {status} to {what}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn app() -> GitHubApp {
        GitHubApp {
            app_id: "123".into(),
            installation_id: None,
            private_key: Secret::new(include_str!("../../tests/it/keys/github-app-test.pem")),
            private_key_from: "file key.pem (github_app_private_key_file)".into(),
            api: "https://api.github.com".into(),
            owner: "org".into(),
            repo: "manifests".into(),
        }
    }

    #[test]
    fn the_jwt_is_rs256_with_backdated_iat_and_a_short_exp() {
        let token = jwt(&app(), 1_000_000).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let decode = |s: &str| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(s)
                .unwrap()
        };
        let header: Value = serde_json::from_slice(&decode(parts[0])).unwrap();
        assert_eq!(header, json!({"alg": "RS256", "typ": "JWT"}));
        let claims: Value = serde_json::from_slice(&decode(parts[1])).unwrap();
        assert_eq!(
            claims,
            json!({"iat": 999_940, "exp": 1_000_540, "iss": "123"})
        );
        // The signature verifies with the key's public half.
        let pem = ureq::tls::PrivateKey::from_pem(app().private_key.expose().as_bytes()).unwrap();
        let pair = ring::signature::RsaKeyPair::from_der(pem.der()).unwrap();
        let public = ring::signature::UnparsedPublicKey::new(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            pair.public().as_ref(),
        );
        public
            .verify(
                format!("{}.{}", parts[0], parts[1]).as_bytes(),
                &decode(parts[2]),
            )
            .unwrap();
    }

    #[test]
    fn a_pkcs8_key_signs_the_same_jwt() {
        let pkcs8 = GitHubApp {
            private_key: Secret::new(include_str!(
                "../../tests/it/keys/github-app-test-pkcs8.pem"
            )),
            ..app()
        };
        assert_eq!(
            jwt(&pkcs8, 1_000_000).unwrap(),
            jwt(&app(), 1_000_000).unwrap()
        );
    }

    #[test]
    fn a_key_that_is_not_pem_is_refused_with_its_source_and_never_its_text() {
        let bad = GitHubApp {
            private_key: Secret::new("ghp_not_a_key"),
            ..app()
        };
        let e = jwt(&bad, 0).unwrap_err();
        assert!(
            e.contains("file key.pem (github_app_private_key_file)"),
            "{e}"
        );
        assert!(!e.contains("ghp_not_a_key"));
    }

    #[test]
    fn answers_give_the_installation_and_the_token_with_its_lifetime() {
        assert_eq!(installation_id(&json!({"id": 42, "app_id": 123})), Some(42));
        let now = u64::try_from(crate::event::time::parse_rfc3339("2026-11-28T10:00:00Z").unwrap())
            .unwrap();
        assert_eq!(
            granted(
                &json!({"token": "ghs_x", "expires_at": "2026-11-28T11:00:00Z"}),
                now
            ),
            Some(("ghs_x".into(), 3600))
        );
        assert_eq!(granted(&json!({"message": "Bad credentials"}), now), None);
        assert_eq!(
            token_url(&app(), 42),
            "https://api.github.com/app/installations/42/access_tokens"
        );
        assert_eq!(
            installation_url(&app()),
            "https://api.github.com/repos/org/manifests/installation"
        );
    }
}
