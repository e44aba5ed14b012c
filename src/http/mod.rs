//! The one HTTP client. It alone sees tokens: it adds the headers each API wants, sends, and
//! sorts every answer into delivered, worth retrying (with how long to wait), or final.
//! Redirects are not followed, so a token never travels to an origin it was not meant for.

mod advice;
mod classify;
pub mod entra;

pub use classify::{classify, retry_after, Fix, Limit, Meta, Sorted};

use crate::config::{Instance, Secret};
use crate::request::{Api, Credential, Method, Request, Scheme, Target};
use crate::url;
use serde_json::Value;
use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const USER_AGENT: &str = concat!("gitops-connector/", env!("CARGO_PKG_VERSION"));
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Bodies we read back are small JSON documents; a larger answer is cut, never buffered whole.
const MAX_ANSWER_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Temporary: a connection error, a timeout, 429, a 5xx. `after` is what the host asked for;
    /// `answer` the HTTP status, when there was an answer.
    Retry {
        why: String,
        after: Option<Duration>,
        answer: Option<u16>,
    },
    /// The host refused this request for good (a 422 for a malformed status, most other 4xx).
    Final { why: String, answer: Option<u16> },
    /// Configuration must change first: a missing or refused token, a repository the token cannot
    /// see, plain http, a redirect. Stays owed; `answer` when a host answered.
    Config { why: String, answer: Option<u16> },
}

impl Failure {
    pub fn why(&self) -> &str {
        match self {
            Failure::Retry { why, .. }
            | Failure::Final { why, .. }
            | Failure::Config { why, .. } => why,
        }
    }
}

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

pub struct Client {
    agent: ureq::Agent,
    /// Where Entra tokens are kept between invocations (beside the state file).
    token_cache: Option<PathBuf>,
    /// The Entra token this process already has: (cache key, token, expires at, in seconds).
    entra_memo: std::sync::Mutex<Option<(String, Secret, u64)>>,
}

impl Default for Client {
    fn default() -> Self {
        Client::new()
    }
}

impl Client {
    pub fn new() -> Client {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(USER_AGENT)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            // ureq's 128 KiB buffers are zeroed per connection; our requests and answers are a
            // few KiB of JSON (headers up to the default limit still fit).
            .input_buffer_size(64 * 1024)
            .output_buffer_size(16 * 1024)
            .build()
            .new_agent();
        Client {
            agent,
            token_cache: None,
            entra_memo: std::sync::Mutex::default(),
        }
    }

    /// Keeps Entra tokens in `path` between invocations.
    pub fn caching_tokens_in(self, path: Option<PathBuf>) -> Client {
        Client {
            token_cache: path,
            ..self
        }
    }

    /// Sends one request within `timeout`. Never puts a token into the error text. A cached
    /// Entra token that Azure DevOps does not take is dropped and a fresh one tried, once.
    pub fn send(
        &self,
        request: &Request,
        credentials: &Credentials,
        timeout: Duration,
    ) -> Result<Answer, Failure> {
        match self.send_once(request, credentials, timeout, false) {
            Err(Sent::StaleToken) => match self.send_once(request, credentials, timeout, true) {
                Err(Sent::Failed(failure)) => Err(failure),
                Err(Sent::StaleToken) => unreachable!("a token fetched just now is never stale"),
                Ok(answer) => Ok(answer),
            },
            Err(Sent::Failed(failure)) => Err(failure),
            Ok(answer) => Ok(answer),
        }
    }

    fn send_once(
        &self,
        request: &Request,
        credentials: &Credentials,
        timeout: Duration,
        fresh_token: bool,
    ) -> Result<Answer, Sent> {
        let target = &request.target;
        let api = target.api();
        let auth = self.authorization(credentials, target, timeout, fresh_token)?;
        let secret = auth.secret.as_ref();
        let redact = |text: &str| redact(text, secret);
        refuse_before_sending(request, credentials, secret.is_some())?;

        let result = self.call(request, &headers(api, secret, auth.bearer), timeout);
        let place = format!(
            "{} {} {}",
            request.target,
            request.method.as_str(),
            path_of(&request.url)
        );
        let mut response = match result {
            Ok(r) => r,
            Err(e) => {
                return Err(Sent::Failed(Failure::Retry {
                    why: redact(&format!("{place}: {}", transport_error(&e))),
                    after: None,
                    answer: None,
                }))
            }
        };
        let Received {
            status,
            meta,
            location,
            body,
        } = receive(&mut response).map_err(|e| {
            Sent::Failed(Failure::Retry {
                why: redact(&format!("{place}: answer cut off: {e}")),
                after: None,
                answer: Some(response.status().as_u16()),
            })
        })?;
        let repos_api = api.is_repos_api(&request.url);
        let answer = Some(status);
        let said = format!("{place} answered {status}{}", host_message(&body));
        match classify(api, repos_api, status, &meta, &body, unix_now()) {
            Sorted::Delivered => Ok(Answer { status, body }),
            Sorted::Retry { after, limit } => Err(Sent::Failed(Failure::Retry {
                why: redact(&match limit {
                    Some(Limit::Primary) => format!("{said} (rate limit)"),
                    Some(Limit::Secondary) => format!("{said} (secondary rate limit)"),
                    None => said,
                }),
                after,
                answer,
            })),
            Sorted::Final => Err(Sent::Failed(Failure::Final {
                why: redact(&said),
                answer,
            })),
            Sorted::Config(Fix::Token) if auth.bearer && !auth.fetched => {
                // Revoked, or the clock of one side is off: not the cached one again.
                self.forget_entra_token(credentials.azure.as_ref());
                Err(Sent::StaleToken)
            }
            Sorted::Config(fix) => {
                let from = auth.from.as_str();
                let why = advice::for_config(fix, target, &said, from, location.as_deref());
                Err(Sent::Failed(Failure::Config {
                    why: redact(&why),
                    answer,
                }))
            }
        }
    }
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Client {
    fn call(
        &self,
        request: &Request,
        headers: &[(&str, String)],
        timeout: Duration,
    ) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
        match request.method {
            Method::Get => with_headers(self.agent.get(&request.url), headers)
                .config()
                .timeout_global(Some(timeout))
                .build()
                .call(),
            Method::Post => {
                let body = request
                    .body
                    .as_ref()
                    .map(Value::to_string)
                    .unwrap_or_default();
                with_headers(self.agent.post(&request.url), headers)
                    .header("Content-Type", "application/json")
                    .config()
                    .timeout_global(Some(timeout))
                    .build()
                    .send(body.as_bytes())
            }
        }
    }
}

/// How one try ended, when not with an answer.
enum Sent {
    Failed(Failure),
    /// Azure DevOps did not take a cached Entra token: try once more with a fresh one.
    StaleToken,
}

impl From<Failure> for Sent {
    fn from(failure: Failure) -> Sent {
        Sent::Failed(failure)
    }
}

/// An answer as read: its status, the headers `classify` reads, where it redirects, its body.
struct Received {
    status: u16,
    meta: Meta,
    location: Option<String>,
    body: String,
}

/// Reads an answer, its body cut at [`MAX_ANSWER_BYTES`]. A 2xx whose body breaks off is an
/// error (worth another try); another status's body is only for the message.
fn receive(response: &mut ureq::http::Response<ureq::Body>) -> std::io::Result<Received> {
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let meta = Meta::of(header);
    let location = header("location");
    let mut body = String::new();
    let read = response
        .body_mut()
        .as_reader()
        .take(MAX_ANSWER_BYTES)
        .read_to_string(&mut body);
    match read {
        Err(e) if (200..300).contains(&status) => Err(e),
        _ => Ok(Received {
            status,
            meta,
            location,
            body,
        }),
    }
}

/// What a request is authorised with.
struct Auth {
    secret: Option<Secret>,
    /// An Entra token (sent as Bearer), not a configured one.
    bearer: bool,
    /// The Entra token was fetched for this request (else it came from the cache).
    fetched: bool,
    /// Where it came from, for messages: `env PAT`, `workload identity CLIENT`.
    from: String,
}

impl Client {
    /// The token a request carries: the workload identity's Entra token for Azure DevOps when the
    /// instance has one, else the configured token of the target's role.
    fn authorization(
        &self,
        credentials: &Credentials,
        target: &Target,
        timeout: Duration,
        fresh: bool,
    ) -> Result<Auth, Failure> {
        let entra = target.api().entra;
        if let Some(identity) = credentials.azure.as_ref().filter(|_| entra) {
            let (token, fetched) = self.entra_token(identity, timeout, fresh)?;
            return Ok(Auth {
                secret: Some(token),
                bearer: true,
                fetched,
                from: format!("workload identity {}", identity.client_id),
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

    /// An Entra token for Azure DevOps, and whether it was fetched just now (else cached).
    fn entra_token(
        &self,
        identity: &crate::config::WorkloadIdentity,
        timeout: Duration,
        fresh: bool,
    ) -> Result<(Secret, bool), Failure> {
        let key = entra::cache_key(identity);
        let now = unix_now();
        let mut memo = self
            .entra_memo
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // The token this process used for the last request: no file to open for the next one.
        if let Some((memo_key, token, expires_at)) = memo.as_ref() {
            if !fresh && *memo_key == key && *expires_at > now + entra::MARGIN_SECONDS {
                return Ok((token.clone(), false));
            }
        }
        let mut lifetime = 0;
        let (token, fetched) = match &self.token_cache {
            None => {
                let (token, expires_in) = self.fetch_entra_token(identity, timeout)?;
                lifetime = expires_in;
                (Secret::new(&token), true)
            }
            Some(path) => {
                let cache = entra::Cache { path: path.clone() };
                if fresh {
                    cache.forget(&key);
                }
                let mut fetched = false;
                let token = cache.get_or_fetch(&key, now, || {
                    fetched = true;
                    let (token, expires_in) = self.fetch_entra_token(identity, timeout)?;
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
        *memo = Some((key, token.clone(), now.saturating_add(lifetime)));
        Ok((token, fetched))
    }

    fn forget_entra_token(&self, identity: Option<&crate::config::WorkloadIdentity>) {
        *self
            .entra_memo
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        if let (Some(path), Some(identity)) = (&self.token_cache, identity) {
            entra::Cache { path: path.clone() }.forget(&entra::cache_key(identity));
        }
    }

    /// Asks Entra for a token with the federated token as it is on disk now.
    fn fetch_entra_token(
        &self,
        identity: &crate::config::WorkloadIdentity,
        timeout: Duration,
    ) -> Result<(String, u64), Failure> {
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
        let answer = self
            .agent
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

/// What is refused without connecting: plain http to a remote host, a request with no token.
fn refuse_before_sending(
    request: &Request,
    credentials: &Credentials,
    has_token: bool,
) -> Result<(), Failure> {
    let target = &request.target;
    if !url::is_https(&request.url) && !url::is_loopback(&request.url) && !credentials.allow_http {
        return Err(Failure::Config {
            why: format!(
                "{} {}: plain http is refused; use https, or set allow_http = true for this instance",
                request.method.as_str(),
                request.url
            ),
            answer: None,
        });
    }
    if target.api().takes_token() && !has_token {
        return Err(Failure::Config {
            why: format!(
                "no token is configured for the {}: set {}",
                advice::role(target),
                advice::token_settings(target)
            ),
            answer: None,
        });
    }
    Ok(())
}

/// The headers each API wants, with the token in its scheme (`bearer`: an Entra token).
fn headers(api: &Api, secret: Option<&Secret>, bearer: bool) -> Vec<(&'static str, String)> {
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
            Scheme::Bearer => format!("Bearer {}", token.expose()),
            Scheme::BasicPassword => format!("Basic {}", base64(&format!(":{}", token.expose()))),
        };
        headers.push(("Authorization", value));
    }
    headers
}

fn with_headers<B>(
    mut builder: ureq::RequestBuilder<B>,
    headers: &[(&str, String)],
) -> ureq::RequestBuilder<B> {
    for (name, value) in headers {
        builder = builder.header(*name, value);
    }
    builder
}

/// Host and path, without the query: enough to say where, never a secret.
fn path_of(url: &str) -> String {
    match url.parse::<ureq::http::Uri>() {
        Ok(uri) => format!("{}{}", uri.host().unwrap_or(""), uri.path()),
        Err(_) => url.split('?').next().unwrap_or(url).to_string(),
    }
}

fn transport_error(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(_) => "timed out".into(),
        ureq::Error::Io(io) => format!("connection failed: {io}"),
        other => one_line(&other.to_string()),
    }
}

/// The host's own words: `message` of a JSON error (GitHub and Azure DevOps both use it),
/// else the start of the body.
fn host_message(body: &str) -> String {
    let text = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| body.chars().take(200).collect());
    let text = one_line(&text);
    if text.is_empty() {
        String::new()
    } else {
        format!(": {text}")
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A host may echo what it received; whatever it says, the token is not repeated.
pub fn redact(text: &str, secret: Option<&Secret>) -> String {
    match secret {
        Some(s) if !s.expose().is_empty() => text.replace(s.expose(), "***"),
        _ => text.to_string(),
    }
}

/// Standard base64 with padding, for the Basic authorization header.
pub fn base64(input: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
            (":pat", "OnBhdA=="),
        ] {
            assert_eq!(base64(plain), encoded);
        }
    }

    #[test]
    fn redaction_removes_every_copy_of_the_token() {
        let s = Secret::new("tok123");
        assert_eq!(redact("a tok123 b tok123", Some(&s)), "a *** b ***");
    }

    #[test]
    fn host_messages_are_one_line() {
        assert_eq!(
            host_message(r#"{"message":"Bad\ncredentials"}"#),
            ": Bad credentials"
        );
        assert_eq!(host_message(""), "");
    }
}
