//! The one HTTP client. It alone sees tokens: it adds the headers each API wants, sends, and
//! sorts every answer into delivered, worth retrying (with how long to wait), or final.
//! Redirects are not followed, so a token never travels to an origin it was not meant for.

mod advice;
mod auth;
mod classify;
pub mod entra;
pub mod github_app;
pub mod network;
mod resolve;

pub use auth::{base64, Credentials, Token};
pub use classify::{classify, retry_after, Fix, Limit, Meta, Sorted};
pub use network::Network;

use crate::config::Secret;
use crate::request::{Method, Request};
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
    /// What broke the body off after the status line, when something did (for `-v`).
    pub cut: Option<String>,
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

pub struct Client {
    agent: ureq::Agent,
    /// Where Entra tokens are kept between invocations (beside the state file).
    token_cache: Option<PathBuf>,
    /// Agents for instances with their own trust or proxy, by setting.
    agents: std::sync::Mutex<std::collections::HashMap<Network, ureq::Agent>>,
    /// The Entra token this process already has: (cache key, token, expires at, in seconds).
    token_memo: std::sync::Mutex<Option<(String, Secret, u64)>>,
}

impl Default for Client {
    fn default() -> Self {
        Client::new()
    }
}

impl Client {
    pub fn new() -> Client {
        Client {
            agent: network::default_agent(),
            agents: std::sync::Mutex::default(),
            token_cache: None,
            token_memo: std::sync::Mutex::default(),
        }
    }

    /// The agent for `network`: the default one, or one built (once) for its trust and proxy.
    fn agent(&self, network: &Network) -> Result<ureq::Agent, Failure> {
        if *network == Network::default() {
            return Ok(self.agent.clone());
        }
        let mut agents = self
            .agents
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(agent) = agents.get(network) {
            return Ok(agent.clone());
        }
        let agent = network::agent(network).map_err(|why| Failure::Config { why, answer: None })?;
        agents.insert(network.clone(), agent.clone());
        Ok(agent)
    }

    /// Keeps short-lived tokens (Entra, GitHub App) in `path` between invocations.
    pub fn caching_tokens_in(self, path: Option<PathBuf>) -> Client {
        Client {
            token_cache: path,
            ..self
        }
    }

    /// Sends one request within `timeout`. Never puts a token into the error text. A cached
    /// short-lived token (Entra, GitHub App) that the host does not take is replaced and the
    /// request tried once more, with a newer token another thread may already have fetched.
    pub fn send(
        &self,
        request: &Request,
        credentials: &Credentials,
        timeout: Duration,
    ) -> Result<Answer, Failure> {
        match self.send_once(request, credentials, timeout, None) {
            Err(Sent::StaleToken(refused)) => {
                match self.send_once(request, credentials, timeout, Some(&refused)) {
                    Err(Sent::Failed(failure)) => Err(failure),
                    Err(Sent::StaleToken(_)) => Err(Failure::Config {
                        why: format!(
                            "{} refused a new short-lived token too: see the advice of the last answer",
                            request.target
                        ),
                        answer: None,
                    }),
                    Ok(answer) => Ok(answer),
                }
            }
            Err(Sent::Failed(failure)) => Err(failure),
            Ok(answer) => Ok(answer),
        }
    }

    fn send_once(
        &self,
        request: &Request,
        credentials: &Credentials,
        timeout: Duration,
        refused: Option<&Secret>,
    ) -> Result<Answer, Sent> {
        let target = &request.target;
        let api = target.api();
        let auth = self.authorization(credentials, target, timeout, refused)?;
        let secret = auth.secret.as_ref();
        let redact = |text: &str| redact(text, secret);
        refuse_before_sending(request, credentials, secret.is_some())?;

        let agent = self.agent(&credentials.network.for_url(&request.url))?;
        let body = auth::body(request, api, secret);
        let headers = auth::headers(api, secret, auth.bearer, &body);
        let result = call(&agent, request, &headers, &body, timeout);
        let place = format!(
            "{} {} {}",
            request.target,
            request.method.as_str(),
            path_of(&request.url)
        );
        let mut response = match result {
            Ok(r) => r,
            Err(e) => {
                // Every kind of request is tried again (at least once, never lost); what is
                // known of this try is said, for the journal and `events show`.
                let known = if may_have_left(&e) {
                    "; it may have reached the host (sent, no answer), so trying again may \
                     repeat it"
                } else {
                    "; it never left (not sent)"
                };
                return Err(Sent::Failed(Failure::Retry {
                    why: redact(&format!("{place}: {}{known}", transport_error(&e))),
                    after: None,
                    answer: None,
                }));
            }
        };
        let Received {
            status,
            meta,
            location,
            body,
            cut,
        } = receive(&mut response);
        // The status line is the host's word: a 2xx was done, whatever became of the body.
        // Sending it again would repeat it (a dispatch, a deployment); a caller that needs the
        // body finds it unreadable and asks again by reading.
        let cut = cut.map(|e| {
            redact(&format!(
                "{place} answered {status}, then its body broke off ({e})"
            ))
        });
        let repos_api = api.is_repos_api(&request.url);
        let answer = Some(status);
        let said = format!("{place} answered {status}{}", host_message(&body));
        let sorted = classify(api, repos_api, status, &meta, &body, unix_now());
        // A cached short-lived token refused (revoked, or a clock is off): not that one again.
        if let (Sorted::Config(Fix::Token), Some(token)) = (sorted, &auth.secret) {
            if auth.bearer && !auth.fetched && refused.is_none() {
                return Err(Sent::StaleToken(token.clone()));
            }
        }
        match sorted {
            Sorted::Delivered => Ok(Answer { status, body, cut }),
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

fn call(
    agent: &ureq::Agent,
    request: &Request,
    headers: &[(&str, String)],
    body: &[u8],
    timeout: Duration,
) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
    match request.method {
        Method::Get => with_headers(agent.get(&request.url), headers)
            .config()
            .timeout_global(Some(timeout))
            .build()
            .call(),
        Method::Post => with_headers(agent.post(&request.url), headers)
            .header("Content-Type", "application/json")
            .config()
            .timeout_global(Some(timeout))
            .build()
            .send(body),
    }
}

/// How one try ended, when not with an answer.
enum Sent {
    Failed(Failure),
    /// The host did not take this cached short-lived token: try once more with another.
    StaleToken(Secret),
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
    /// Why the body broke off before its end, when it did: what was read is kept.
    cut: Option<std::io::Error>,
}

/// Reads an answer, its body cut at [`MAX_ANSWER_BYTES`]. A body that breaks off (a reset, a
/// timeout mid-body) leaves the status as it was: the request was answered. What was read of the
/// body stays, for messages; a caller that needs the body whole finds it does not parse.
fn receive(response: &mut ureq::http::Response<ureq::Body>) -> Received {
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
    let mut bytes = Vec::new();
    let cut = response
        .body_mut()
        .as_reader()
        .take(MAX_ANSWER_BYTES)
        .read_to_end(&mut bytes)
        .err();
    Received {
        status,
        meta,
        location,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        cut,
    }
}

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

/// Whether a request that got no answer may still have reached the host: anything but a
/// failure to resolve, connect or set up TLS, which happen before the request is written.
fn may_have_left(e: &ureq::Error) -> bool {
    use ureq::Timeout;
    !matches!(
        e,
        ureq::Error::HostNotFound
            | ureq::Error::ConnectionFailed
            | ureq::Error::BadUri(_)
            | ureq::Error::InvalidProxyUrl
            | ureq::Error::Timeout(Timeout::Resolve | Timeout::Connect)
            | ureq::Error::Rustls(_)
    ) && !matches!(e, ureq::Error::Io(io) if matches!(
        io.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::HostUnreachable
            | std::io::ErrorKind::NetworkUnreachable
            | std::io::ErrorKind::AddrNotAvailable
    )) && !transport_error(e).contains("certificate")
}

fn transport_error(e: &ureq::Error) -> String {
    let said = match e {
        ureq::Error::Timeout(_) => "timed out".into(),
        ureq::Error::Io(io) => format!("connection failed: {io}"),
        other => one_line(&other.to_string()),
    };
    // rustls' words for a certificate chain that ends at a CA nobody configured.
    if said.contains("UnknownIssuer") || said.contains("invalid peer certificate") {
        return format!(
            "{said}: the server's certificate is not signed by a CA this connector trusts; set \
             ca_file to the PEM of its CA (a private CA of GitHub Enterprise Server, a TLS-inspecting \
             proxy), or tls_roots = \"system\" to trust the operating system's bundle"
        );
    }
    said
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
