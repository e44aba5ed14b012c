//! Who a request is from: the configured tokens by role, the Entra token of an AKS workload
//! identity for Azure DevOps, a GitHub App's installation token for GitHub, and the
//! `Authorization` header each API's scheme wants.

use super::{entra, path_of, redact, transport_error, unix_now, Client, Failure, MAX_ANSWER_BYTES};
use super::{github_app, Network};
use crate::config::{GitHubApp, Instance, Secret};
use crate::hosts::github;
use crate::request::{Api, Credential, Exchanged, Method, Request, Scheme, Target};
use std::io::Read;
use std::time::Duration;

/// A token and where it came from (`env PAT`, `file /run/secrets/token (git_token_file)`), so
/// that a refusal can name what to fix.
#[derive(Clone, Debug)]
pub struct Token {
    pub secret: Secret,
    pub from: String,
}

/// What requests may carry; built from one instance.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub git: Option<Token>,
    pub orchestrator: Option<Token>,
    /// Azure DevOps requests carry this identity's Entra token instead of a token above.
    pub azure: Option<crate::config::WorkloadIdentity>,
    /// GitHub requests carry this App's installation token instead of a token above.
    pub github_app: Option<GitHubApp>,
    /// The CAs trusted and the proxy used.
    pub network: super::Network,
    pub allow_http: bool,
}

impl Credentials {
    pub fn of(instance: &Instance) -> Credentials {
        let token = |secret: &Option<Secret>, from: &Option<crate::config::Source>| {
            secret.clone().map(|secret| Token {
                secret,
                from: from.as_ref().map(ToString::to_string).unwrap_or_default(),
            })
        };
        Credentials {
            git: token(&instance.git_token, &instance.git_token_from),
            orchestrator: token(
                &instance.orchestrator_token,
                &instance.orchestrator_token_from,
            ),
            azure: instance.azure_identity.clone(),
            github_app: instance.github_app.clone(),
            network: instance.network.clone(),
            allow_http: instance.allow_http,
        }
    }

    fn for_target(&self, target: &Target) -> Option<&Token> {
        match target.credential() {
            Credential::GitHost => self.git.as_ref(),
            Credential::Orchestrator => self.orchestrator.as_ref(),
            Credential::None => None,
        }
    }
}

/// What a request is authorised with.
pub(super) struct Auth {
    pub(super) secret: Option<Secret>,
    /// An Entra token (sent as Bearer), not a configured one.
    pub(super) bearer: bool,
    /// The Entra token was fetched for this request (else it came from the cache).
    pub(super) fetched: bool,
    /// Where it came from, for messages: `env PAT`, `workload identity CLIENT`.
    pub(super) from: String,
}

impl Client {
    /// The token a request carries: the workload identity's Entra token for Azure DevOps when the
    /// instance has one, else the configured token of the target's role.
    pub(super) fn authorization(
        &self,
        credentials: &Credentials,
        target: &Target,
        timeout: Duration,
        refused: Option<&Secret>,
    ) -> Result<Auth, Failure> {
        let network = &credentials.network;
        let exchanged = match (target.api().exchanged, credentials) {
            (
                Some(Exchanged::GitHubApp),
                Credentials {
                    github_app: Some(app),
                    ..
                },
            ) => Some((
                self.cached_token(&github_app::cache_key(app), refused, || {
                    self.fetch_app_token(app, network, timeout)
                })?,
                format!("GitHub App {}", app.app_id),
            )),
            (
                Some(Exchanged::Entra),
                Credentials {
                    azure: Some(identity),
                    ..
                },
            ) => Some((
                self.cached_token(&entra::cache_key(identity), refused, || {
                    self.fetch_entra_token(identity, network, timeout)
                })?,
                format!("workload identity {}", identity.client_id),
            )),
            _ => None,
        };
        if let Some(((token, fetched), from)) = exchanged {
            return Ok(Auth {
                secret: Some(token),
                bearer: true,
                fetched,
                from,
            });
        }
        let token = credentials.for_target(target);
        Ok(Auth {
            secret: token.map(|t| t.secret.clone()),
            bearer: false,
            fetched: false,
            from: token.map_or_else(|| "none".into(), |t| t.from.clone()),
        })
    }

    /// A short-lived token for `key`: the one this process used last, else the cache file's,
    /// else `fetch`'s (the token and its lifetime in seconds), kept for the next invocations.
    /// `refused`: a token the host did not take; any other (a newer one another thread or
    /// invocation fetched meanwhile) will do, else a fresh one is fetched.
    fn cached_token(
        &self,
        key: &str,
        refused: Option<&Secret>,
        fetch: impl FnOnce() -> Result<(String, u64), Failure>,
    ) -> Result<(Secret, bool), Failure> {
        let now = unix_now();
        let mut memo = self
            .token_memo
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // The token this process used for the last request: no file to open for the next one.
        // One fetched here is good for this invocation's requests while it has a minute left
        // (the margin guards tokens that other invocations will read from the cache).
        if let Some((memo_key, token, expires_at)) = memo.as_ref() {
            let taken = refused.is_none_or(|r| r.expose() != token.expose());
            if taken && memo_key == key && *expires_at > now + 60 {
                return Ok((token.clone(), false));
            }
        }
        let mut lifetime = 0;
        let (token, fetched) = match &self.token_cache {
            None => {
                let (token, expires_in) = fetch()?;
                lifetime = expires_in;
                (Secret::new(&token), true)
            }
            Some(path) => {
                let cache = entra::Cache { path: path.clone() };
                let mut fetched = false;
                let token = cache.get_or_fetch(key, now, refused.map(Secret::expose), || {
                    fetched = true;
                    let (token, expires_in) = fetch()?;
                    lifetime = expires_in;
                    Ok((token, expires_in))
                })?;
                // A token read from the cache is trusted for the margin only: the cache knows
                // its expiry, this process does not keep it.
                if !fetched {
                    lifetime = entra::MARGIN_SECONDS + 60;
                }
                (token, fetched)
            }
        };
        *memo = Some((key.to_string(), token.clone(), now.saturating_add(lifetime)));
        Ok((token, fetched))
    }

    /// The App's JWT, the installation (from the manifests repository unless configured), then
    /// an installation token and its lifetime.
    fn fetch_app_token(
        &self,
        app: &GitHubApp,
        network: &Network,
        timeout: Duration,
    ) -> Result<(String, u64), Failure> {
        let agent = self.agent(network)?;
        let now = unix_now();
        let jwt = github_app::jwt(app, now).map_err(|why| Failure::Config { why, answer: None })?;
        let jwt = Secret::new(&jwt);
        let installation = if let Some(id) = app.installation_id {
            id
        } else {
            let url = github_app::installation_url(app);
            let answer = Self::app_call(&agent, app, &url, &jwt, false, timeout)?;
            github_app::installation_id(&answer).ok_or_else(|| Failure::Retry {
                why: format!(
                    "GitHub {} answered without an installation id",
                    path_of(&url)
                ),
                after: None,
                answer: None,
            })?
        };
        let url = github_app::token_url(app, installation);
        let answer = Self::app_call(&agent, app, &url, &jwt, true, timeout)?;
        github_app::granted(&answer, unix_now()).ok_or_else(|| Failure::Retry {
            why: format!("GitHub {} answered without a token", path_of(&url)),
            after: None,
            answer: None,
        })
    }

    /// One request authorised with the App's JWT; its JSON answer.
    fn app_call(
        agent: &ureq::Agent,
        app: &GitHubApp,
        url: &str,
        jwt: &Secret,
        post: bool,
        timeout: Duration,
    ) -> Result<serde_json::Value, Failure> {
        let hide = |text: &str| redact(text, Some(jwt));
        let target = Target::Kind(&github::STATUSES);
        let request = if post {
            Request::post(target, url.to_string(), serde_json::json!({}))
        } else {
            Request::get(target, url.to_string())
        };
        let body = body(&request, &github::API, None);
        let headers = headers(&github::API, Some(jwt), true, &body);
        let failed = |e: &dyn std::fmt::Display| Failure::Retry {
            why: hide(&format!("GitHub {}: {e}", path_of(url))),
            after: None,
            answer: None,
        };
        let mut response = super::call(agent, &request, &headers, &body, timeout)
            .map_err(|e| failed(&transport_error(&e)))?;
        // A body cut short does not parse: asked again, as any read is.
        let super::Received { status, body, .. } = super::receive(&mut response);
        let what = path_of(url);
        match status {
            200..=299 => serde_json::from_str(&body).map_err(|_| Failure::Retry {
                why: format!("GitHub {what} answered {status} with a body that is not JSON"),
                after: None,
                answer: Some(status),
            }),
            401 | 403 | 404 => Err(Failure::Config {
                why: hide(&github_app::refusal_advice(app, status, &what)),
                answer: Some(status),
            }),
            _ => Err(Failure::Retry {
                why: hide(&format!("GitHub {what} answered {status}")),
                after: None,
                answer: Some(status),
            }),
        }
    }

    /// Asks Entra for a token with the federated token as it is on disk now.
    fn fetch_entra_token(
        &self,
        identity: &crate::config::WorkloadIdentity,
        network: &Network,
        timeout: Duration,
    ) -> Result<(String, u64), Failure> {
        let agent = self.agent(network)?;
        let assertion =
            std::fs::read_to_string(&identity.token_file).map_err(|e| Failure::Config {
                why: format!(
                "cannot read the federated token AZURE_FEDERATED_TOKEN_FILE={} ({e}): is the pod \
                 labelled azure.workload.identity/use: \"true\"?",
                identity.token_file.display()
            ),
                answer: None,
            })?;
        let assertion = Secret::new(assertion.trim());
        let hide = |text: &str| redact(text, Some(&assertion));
        let url = entra::token_url(identity);
        let answer = agent
            .post(&url)
            .config()
            .timeout_global(Some(timeout))
            .build()
            .send_form(entra::form(identity, assertion.expose()));
        let mut response = answer.map_err(|e| Failure::Retry {
            why: hide(&format!(
                "Entra ID {}: {}",
                path_of(&url),
                transport_error(&e)
            )),
            after: None,
            answer: None,
        })?;
        let status = response.status().as_u16();
        let mut body = String::new();
        let _ = response
            .body_mut()
            .as_reader()
            .take(MAX_ANSWER_BYTES)
            .read_to_string(&mut body);
        match entra::granted(status, &body) {
            Some(entra::Granted::Token {
                access_token,
                expires_in,
            }) => Ok((access_token, expires_in)),
            Some(entra::Granted::Refused(said)) => Err(Failure::Config {
                why: hide(&entra::refusal_advice(identity, &said)),
                answer: Some(status),
            }),
            None => Err(Failure::Retry {
                why: hide(&format!(
                    "Entra ID {} answered {status} with a body that is not a token answer",
                    path_of(&url)
                )),
                after: None,
                answer: Some(status),
            }),
        }
    }
}

/// The headers each API wants, with the token in its scheme (`bearer`: an Entra token).
/// The bytes a request's body is sent as (and signed over): its JSON, with the token added for
/// APIs that take it in the body.
pub(super) fn body(request: &Request, api: &Api, secret: Option<&Secret>) -> Vec<u8> {
    let Some(body) = request
        .body
        .as_ref()
        .filter(|_| request.method == Method::Post)
    else {
        return Vec::new();
    };
    match (api.auth, secret, body) {
        (Some(Scheme::BodyToken), Some(token), serde_json::Value::Object(fields)) => {
            let mut fields = fields.clone();
            fields.insert("token".into(), token.expose().into());
            serde_json::Value::Object(fields).to_string().into_bytes()
        }
        _ => body.to_string().into_bytes(),
    }
}

pub(super) fn headers(
    api: &Api,
    secret: Option<&Secret>,
    bearer: bool,
    body: &[u8],
) -> Vec<(&'static str, String)> {
    let mut headers: Vec<(&str, String)> = api
        .headers
        .iter()
        .map(|(name, value)| (*name, (*value).to_string()))
        .collect();
    let scheme = if bearer {
        Some(Scheme::Bearer)
    } else {
        api.auth
    };
    if let (Some(token), Some(scheme)) = (secret, scheme) {
        let value = match scheme {
            Scheme::Token => format!("token {}", token.expose()),
            Scheme::BasicPassword => format!("Basic {}", base64(&format!(":{}", token.expose()))),
            Scheme::BearerOrBasic if token.expose().contains(':') => {
                format!("Basic {}", base64(token.expose()))
            }
            Scheme::Bearer | Scheme::BearerOrBasic => format!("Bearer {}", token.expose()),
            Scheme::BodyToken => return headers,
            Scheme::HmacSha256 => {
                let signature = crate::signature::sign_sha256(token.expose().as_bytes(), body);
                headers.push(("X-Signature", format!("sha256={signature}")));
                return headers;
            }
        };
        headers.push(("Authorization", value));
    }
    headers
}

/// Standard base64 with padding, for the Basic authorization header.
pub fn base64(input: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(input)
}
