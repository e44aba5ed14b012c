//! Entra ID access tokens for Azure DevOps from an AKS workload identity: the client-credentials
//! grant with the pod's federated token as the client assertion.
//!
//! A per-event CLI must not ask Entra once per event: tokens are cached beside the state in a
//! file only this user can read (never in the journal or outbox), locked while it is read or
//! refreshed so that parallel invocations ask once, and reused until five minutes before they
//! expire. The federated token is read afresh for each request: the kubelet rotates it.

use super::Failure;
use crate::config::{Secret, WorkloadIdentity};
use serde_json::{json, Value};
use std::io::{Read, Seek, Write};
use std::path::PathBuf;

/// The Azure DevOps resource, as Entra names it.
pub const AZURE_DEVOPS_SCOPE: &str = "499b84ac-1321-427f-aa17-267ca6975798/.default";
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// A token is not used in its last five minutes: a request may take a while, clocks drift.
pub const MARGIN_SECONDS: u64 = 300;

pub fn token_url(identity: &WorkloadIdentity) -> String {
    format!(
        "{}{}/oauth2/v2.0/token",
        identity.authority,
        crate::url::encode(&identity.tenant)
    )
}

/// The form of the token request.
pub fn form(identity: &WorkloadIdentity, assertion: &str) -> [(&'static str, String); 5] {
    [
        ("grant_type", "client_credentials".into()),
        ("client_id", identity.client_id.clone()),
        ("client_assertion_type", CLIENT_ASSERTION_TYPE.into()),
        ("client_assertion", assertion.into()),
        ("scope", AZURE_DEVOPS_SCOPE.into()),
    ]
}

/// What the cache keys a token by: one identity, one authority, one resource.
pub fn cache_key(identity: &WorkloadIdentity) -> String {
    format!(
        "{}|{}|{}|{AZURE_DEVOPS_SCOPE}",
        identity.authority, identity.tenant, identity.client_id
    )
}

/// An answer of the token endpoint.
#[derive(Debug, PartialEq, Eq)]
pub enum Granted {
    Token {
        access_token: String,
        expires_in: u64,
    },
    /// Entra said no: `AADSTS70021: No matching federated identity record found…` (first line).
    Refused(String),
}

/// Reads the token endpoint's answer. `None`: not an answer of Entra's (a proxy page, a 5xx).
pub fn granted(status: u16, body: &str) -> Option<Granted> {
    let json: Value = serde_json::from_str(body).ok()?;
    if (200..300).contains(&status) {
        let access_token = json.get("access_token")?.as_str()?.to_string();
        let expires_in = match json.get("expires_in")? {
            Value::Number(n) => n.as_u64()?,
            // Some Entra endpoints send it as a string.
            Value::String(s) => s.parse().ok()?,
            _ => return None,
        };
        return Some(Granted::Token {
            access_token,
            expires_in,
        });
    }
    let description = json
        .get("error_description")
        .and_then(Value::as_str)
        .or_else(|| json.get("error").and_then(Value::as_str))?;
    let first = description.lines().next().unwrap_or(description).trim();
    Some(Granted::Refused(first.to_string()))
}

/// What to check when Entra refuses, with its own words.
pub fn refusal_advice(identity: &WorkloadIdentity, said: &str) -> String {
    format!(
        "Entra ID refused a token for workload identity {} (tenant {}): {said}: check AZURE_CLIENT_ID \
         and AZURE_TENANT_ID, and that the app registration has a federated credential for this \
         ServiceAccount (issuer: the cluster's OIDC issuer, subject: \
         system:serviceaccount:NAMESPACE:NAME, audience: api://AzureADTokenExchange)",
        identity.client_id, identity.tenant
    )
}

/// The token cache: one JSON file, `{key: {"access_token", "expires_at"}}`, mode 0600.
pub struct Cache {
    pub path: PathBuf,
}

impl Cache {
    /// A token for `key` valid for at least [`MARGIN_SECONDS`] more and not `refused`, from the
    /// cache or else from `fetch` (which answers the token and its lifetime in seconds). The file is locked from
    /// the read to the write, so that parallel invocations ask Entra once.
    pub fn get_or_fetch(
        &self,
        key: &str,
        now: u64,
        refused: Option<&str>,
        fetch: impl FnOnce() -> Result<(String, u64), Failure>,
    ) -> Result<Secret, Failure> {
        let mut file = self.open()?;
        file.lock().map_err(|e| self.unusable(&e))?;
        let mut entries = read_entries(&mut file);
        let cached = entries.get(key).and_then(|e| {
            let expires_at = e.get("expires_at")?.as_u64()?;
            let token = e.get("access_token")?.as_str()?;
            (expires_at > now + MARGIN_SECONDS && Some(token) != refused)
                .then(|| Secret::new(token))
        });
        if let Some(token) = cached {
            return Ok(token);
        }
        let (token, expires_in) = fetch()?;
        entries.insert(
            key.to_string(),
            json!({"access_token": token, "expires_at": now.saturating_add(expires_in)}),
        );
        write_entries(&mut file, &entries).map_err(|e| self.unusable(&e))?;
        Ok(Secret::new(&token))
    }

    fn open(&self) -> Result<std::fs::File, Failure> {
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        if let Some(dir) = self.path.parent().filter(|d| !d.exists()) {
            std::fs::create_dir_all(dir).map_err(|e| self.unusable(&e))?;
        }
        options.open(&self.path).map_err(|e| self.unusable(&e))
    }

    fn unusable(&self, e: &std::io::Error) -> Failure {
        Failure::Config {
            why: format!(
                "cannot use the token cache {} ({e}): it lives beside a SQLite state file, or in this user's cache folder for a PostgreSQL state; that folder must be writable",
                self.path.display()
            ),
            answer: None,
        }
    }
}

fn read_entries(file: &mut std::fs::File) -> serde_json::Map<String, Value> {
    let mut text = String::new();
    let _ = file.read_to_string(&mut text);
    serde_json::from_str(&text).unwrap_or_default()
}

fn write_entries(
    file: &mut std::fs::File,
    entries: &serde_json::Map<String, Value>,
) -> std::io::Result<()> {
    file.set_len(0)?;
    file.rewind()?;
    file.write_all(serde_json::to_string(entries)?.as_bytes())?;
    file.sync_data()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> WorkloadIdentity {
        WorkloadIdentity {
            authority: "https://login.microsoftonline.com/".into(),
            tenant: "tenant-1".into(),
            client_id: "client-1".into(),
            token_file: "/var/run/secrets/azure/tokens/azure-identity-token".into(),
        }
    }

    #[test]
    fn the_request_is_the_client_credentials_grant_with_the_federated_token() {
        let id = identity();
        assert_eq!(
            token_url(&id),
            "https://login.microsoftonline.com/tenant-1/oauth2/v2.0/token"
        );
        let form = form(&id, "eyJ.federated");
        assert_eq!(form[0], ("grant_type", "client_credentials".into()));
        assert_eq!(form[1], ("client_id", "client-1".into()));
        assert_eq!(form[2].1, CLIENT_ASSERTION_TYPE);
        assert_eq!(form[3], ("client_assertion", "eyJ.federated".into()));
        assert_eq!(
            form[4],
            (
                "scope",
                "499b84ac-1321-427f-aa17-267ca6975798/.default".into()
            )
        );
    }

    #[test]
    fn answers_are_tokens_refusals_or_not_entras() {
        assert_eq!(
            granted(
                200,
                r#"{"token_type":"Bearer","expires_in":3599,"access_token":"at"}"#
            ),
            Some(Granted::Token {
                access_token: "at".into(),
                expires_in: 3599
            })
        );
        assert_eq!(
            granted(200, r#"{"expires_in":"3599","access_token":"at"}"#),
            Some(Granted::Token {
                access_token: "at".into(),
                expires_in: 3599
            })
        );
        let refused = r#"{"error":"invalid_client","error_description":"AADSTS700016: Application with identifier 'x' was not found.\r\nTrace ID: 1","error_codes":[700016]}"#;
        assert_eq!(
            granted(400, refused),
            Some(Granted::Refused(
                "AADSTS700016: Application with identifier 'x' was not found.".into()
            ))
        );
        assert_eq!(granted(502, "<html>bad gateway</html>"), None);
        assert_eq!(granted(200, r#"{"access_token":"at"}"#), None);
    }

    #[test]
    fn the_cache_reuses_a_token_until_five_minutes_before_it_expires() {
        let dir = tempdir();
        let cache = Cache {
            path: dir.join("tokens"),
        };
        let mut asked = 0;
        let mut get = |now| {
            cache
                .get_or_fetch("k", now, None, || {
                    asked += 1;
                    Ok((format!("t{asked}"), 3600))
                })
                .unwrap()
                .expose()
                .to_string()
        };
        assert_eq!(get(1000), "t1");
        assert_eq!(get(1000 + 3600 - MARGIN_SECONDS - 1), "t1");
        assert_eq!(get(1000 + 3600 - MARGIN_SECONDS), "t2");
        // A refused token is not taken again; a newer one than the refused is.
        let refused = |cache: &Cache, refused: &str, token: &str| {
            cache
                .get_or_fetch("k", 5000, Some(refused), || Ok((token.into(), 3600)))
                .unwrap()
                .expose()
                .to_string()
        };
        assert_eq!(refused(&cache, "t2", "t3"), "t3");
        assert_eq!(
            refused(&cache, "t2", "t4"),
            "t3",
            "t3 is newer than the refused t2"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&cache.path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn tempdir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "gc-entra-{}-{}",
            std::process::id(),
            crate::state::now_ms()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
