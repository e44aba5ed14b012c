//! The one HTTP client. It alone sees tokens: it adds the headers each API wants, sends, and
//! sorts every answer into delivered, worth retrying (with how long to wait), or final.
//! Redirects are not followed, so a token never travels to an origin it was not meant for.

use crate::config::{Instance, Secret};
use crate::request::{Api, Credential, Method, Request};
use crate::url;
use serde_json::Value;
use std::io::Read;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const USER_AGENT: &str = concat!("gitops-connector/", env!("CARGO_PKG_VERSION"));
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Bodies we read back are small JSON documents; a larger answer is cut, never buffered whole.
const MAX_ANSWER_BYTES: u64 = 4 * 1024 * 1024;
/// GitHub's secondary rate limit without Retry-After: wait at least a minute.
const SECONDARY_RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);

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
    /// The host refused this request for good (most 4xx, authentication, a redirect).
    Final { why: String, answer: Option<u16> },
    /// We refused to send it: configuration must change first (plain http, a missing token).
    Config { why: String },
}

impl Failure {
    pub fn why(&self) -> &str {
        match self {
            Failure::Retry { why, .. } | Failure::Final { why, .. } | Failure::Config { why } => {
                why
            }
        }
    }
}

/// What requests may carry; built from one instance.
#[derive(Clone)]
pub struct Credentials {
    pub git: Option<Secret>,
    pub orchestrator: Option<Secret>,
    pub allow_http: bool,
}

impl Credentials {
    pub fn of(instance: &Instance) -> Credentials {
        Credentials {
            git: instance.git_token.clone(),
            orchestrator: instance.orchestrator_token.clone(),
            allow_http: instance.allow_http,
        }
    }
}

pub struct Client {
    agent: ureq::Agent,
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
        Client { agent }
    }

    /// Sends one request within `timeout`. Never puts a token into the error text.
    pub fn send(
        &self,
        request: &Request,
        credentials: &Credentials,
        timeout: Duration,
    ) -> Result<Answer, Failure> {
        let secret = match request.target.credential() {
            Credential::GitHost => credentials.git.as_ref(),
            Credential::Orchestrator => credentials.orchestrator.as_ref(),
            Credential::None => None,
        };
        let redact = |text: &str| redact(text, secret);
        if !url::is_https(&request.url)
            && !url::is_loopback(&request.url)
            && !credentials.allow_http
        {
            return Err(Failure::Config {
                why: format!(
                    "{} {}: plain http is refused; use https, or set allow_http = true for this instance",
                    request.method.as_str(),
                    request.url
                ),
            });
        }
        let api = request.target.api();
        if api != Api::Plain && secret.is_none() {
            let role = match request.target.credential() {
                Credential::GitHost => "Git host (GITOPS_CONNECTOR_GIT_TOKEN, PAT or git_token_file)",
                _ => "orchestrator (GITOPS_CONNECTOR_ORCHESTRATOR_TOKEN, PAT or orchestrator_token_file)",
            };
            return Err(Failure::Config {
                why: format!("no token is configured for the {role}"),
            });
        }

        let mut headers: Vec<(&str, String)> = Vec::new();
        match api {
            Api::GitHub => {
                headers.push(("Accept", "application/vnd.github+json".into()));
                headers.push(("X-GitHub-Api-Version", "2022-11-28".into()));
                if let Some(token) = secret {
                    headers.push(("Authorization", format!("token {}", token.expose())));
                }
            }
            Api::AzureDevOps => {
                headers.push(("Accept", "application/json".into()));
                // Without it a bad token gets a 302 to a sign-in page instead of a 401.
                headers.push(("X-TFS-FedAuthRedirect", "Suppress".into()));
                if let Some(token) = secret {
                    headers.push((
                        "Authorization",
                        format!("Basic {}", base64(&format!(":{}", token.expose()))),
                    ));
                }
            }
            Api::Plain => headers.push(("Accept", "application/json".into())),
        }

        let result = match request.method {
            Method::Get => with_headers(self.agent.get(&request.url), &headers)
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
                with_headers(self.agent.post(&request.url), &headers)
                    .header("Content-Type", "application/json")
                    .config()
                    .timeout_global(Some(timeout))
                    .build()
                    .send(body.as_bytes())
            }
        };
        let place = format!(
            "{} {} {}",
            request.target,
            request.method.as_str(),
            path_of(&request.url)
        );
        let mut response = match result {
            Ok(r) => r,
            Err(e) => {
                return Err(Failure::Retry {
                    why: redact(&format!("{place}: {}", transport_error(&e))),
                    after: None,
                    answer: None,
                })
            }
        };
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = header("content-type").unwrap_or_default();
        let location = header("location");
        let retry_after = header("retry-after")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let ratelimit_remaining = header("x-ratelimit-remaining");
        let ratelimit_reset =
            header("x-ratelimit-reset").and_then(|v| v.trim().parse::<u64>().ok());
        let mut body = String::new();
        let read = response
            .body_mut()
            .as_reader()
            .take(MAX_ANSWER_BYTES)
            .read_to_string(&mut body);
        if let Err(e) = read {
            if (200..300).contains(&status) {
                return Err(Failure::Retry {
                    why: redact(&format!("{place}: answer cut off: {e}")),
                    after: None,
                    answer: Some(status),
                });
            }
        }
        let said =
            |status: u16| redact(&format!("{place} answered {status}{}", host_message(&body)));

        let answer = Some(status);
        let retry =
            |why: String, after: Option<Duration>| Err(Failure::Retry { why, after, answer });
        let fail = |why: String| Err(Failure::Final { why, answer });
        match status {
            203 if api == Api::AzureDevOps => fail(format!(
                "{place} answered 203 with a sign-in page: the token was not accepted; check it and its scopes"
            )),
            200..=299 if api == Api::AzureDevOps && content_type.starts_with("text/html") => fail(format!(
                "{place} answered an HTML page: the token was not accepted; check it and its scopes"
            )),
            200..=299 => Ok(Answer { status, body }),
            300..=399 => fail(redact(&format!(
                "{place} answered {status}, a redirect to {}; not followed, so the token stays with its host: fix the URL",
                location.as_deref().unwrap_or("nowhere")
            ))),
            403 | 429 if ratelimit_remaining.as_deref() == Some("0") => {
                let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
                let wait = ratelimit_reset.map(|reset| Duration::from_secs(reset.saturating_sub(now).max(1)));
                retry(said(status) + " (rate limit)", wait)
            }
            403 if api == Api::GitHub
                && (retry_after.is_some() || body.to_ascii_lowercase().contains("secondary rate limit")) =>
            {
                retry(
                    said(status) + " (secondary rate limit)",
                    Some(retry_after.unwrap_or(SECONDARY_RATE_LIMIT_WAIT)),
                )
            }
            429 => retry(said(status), retry_after),
            501 => fail(said(status)),
            500..=599 => retry(said(status), retry_after),
            _ => fail(said(status)),
        }
    }
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
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = input.as_bytes();
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
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
