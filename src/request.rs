//! A planned HTTP request as plain data. Only `http` knows tokens and headers; the journal
//! stores these, `--dry-run` prints them, nothing re-derives them.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Method {
    #[serde(rename = "GET")]
    Get,
    #[serde(rename = "POST")]
    Post,
}

/// The HTTP conventions of an API: data, so that a new host declares its own in its file.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Api {
    pub name: &'static str,
    /// Headers every request carries (`Accept`, a version pin).
    pub headers: &'static [(&'static str, &'static str)],
    /// How the token is sent; `None` for APIs that get no token (subscribers).
    pub auth: Option<Scheme>,
    /// A bad token gets a 203 or an HTML sign-in page instead of a 401 (Azure DevOps).
    pub sign_in_page: bool,
    /// A 403 with `Retry-After` or "secondary rate limit" is a rate limit, not a refusal (GitHub).
    pub secondary_rate_limit: bool,
    /// Where a 404 means a wrong or invisible repository rather than a plan that is gone: a URL
    /// containing this (`""`: every URL of the API).
    pub repos_path: Option<&'static str>,
    /// The short-lived token it takes instead of the configured one, when the instance has what
    /// it is exchanged from.
    pub exchanged: Option<Exchanged>,
    /// Words by which the host refuses (400) a status identical to the one it has: that status
    /// is there, so the answer counts as delivered (GitLab).
    pub same_status: Option<&'static str>,
}

/// Short-lived tokens, exchanged for a credential that is not sent itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Exchanged {
    /// An Entra access token, for an AKS workload identity's federated token.
    Entra,
    /// A GitHub App installation token, for the App's JWT.
    GitHubApp,
}

/// How a token goes into `Authorization`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `token T` (GitHub's personal access tokens).
    Token,
    /// `Bearer T`.
    Bearer,
    /// `Basic base64(":T")` (Azure DevOps personal access tokens).
    BasicPassword,
    /// No `Authorization`: `X-Signature: sha256=<hex>`, the HMAC-SHA256 of the body keyed with
    /// the token (the generic webhook; the receiver checks it, the key never travels).
    HmacSha256,
    /// `Basic base64(T)` when the token is `user:password` (a Bitbucket app password), else
    /// `Bearer T` (an access token).
    BearerOrBasic,
    /// The `token` field of the JSON body (GitLab's pipeline trigger tokens), added as the
    /// request leaves: the stored request never holds it.
    BodyToken,
}

impl Api {
    /// Whether requests to it carry a token (and answers speak of tokens and permissions).
    pub fn takes_token(&self) -> bool {
        self.auth.is_some()
    }

    /// Whether a 404 from `url` means the configured repository is wrong.
    pub fn is_repos_api(&self, url: &str) -> bool {
        self.repos_path.is_some_and(|path| url.contains(path))
    }
}

/// One kind of target, declared once beside the code that builds its requests.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct TargetKind {
    /// The name stored in the state and shown to users: never change a registered one.
    pub key: &'static str,
    pub api: &'static Api,
    pub credential: Credential,
    /// The settings that decide where its requests go, for messages.
    pub settings: &'static str,
    /// What its token needs, for messages.
    pub scopes: &'static str,
}

/// Who a request is for. It decides the credential and the API conventions (headers, auth scheme).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// A Git host's statuses or an orchestrator's reads and notification.
    Kind(&'static TargetKind),
    /// A custom subscriber: no token, plain JSON.
    Subscriber(String),
}

/// Which configured token a request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Credential {
    GitHost,
    Orchestrator,
    None,
}

impl Target {
    pub fn api(&self) -> &'static Api {
        match self {
            Target::Kind(kind) => kind.api,
            Target::Subscriber(_) => &crate::hosts::subscribers::API,
        }
    }

    pub fn credential(&self) -> Credential {
        match self {
            Target::Kind(kind) => kind.credential,
            Target::Subscriber(_) => Credential::None,
        }
    }

    /// The name stored in the state and shown to users.
    pub fn key(&self) -> String {
        match self {
            Target::Kind(kind) => kind.key.to_string(),
            Target::Subscriber(name) => format!("subscriber:{name}"),
        }
    }

    /// The target a stored key names: a registered host's or orchestrator's, or a subscriber.
    pub fn from_key(key: &str) -> Option<Target> {
        if let Some(name) = key.strip_prefix("subscriber:") {
            return Some(Target::Subscriber(name.to_string()));
        }
        let hosts = crate::hosts::HOSTS
            .iter()
            .flat_map(|h| h.targets.iter().copied());
        let orchestrators = crate::orchestrators::ORCHESTRATORS.iter().map(|o| o.target);
        hosts
            .chain(orchestrators)
            .find(|kind| kind.key == key)
            .map(Target::Kind)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

impl Serialize for Target {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.key())
    }
}

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let key = String::deserialize(deserializer)?;
        Target::from_key(&key)
            .ok_or_else(|| serde::de::Error::custom(format!("no target is named {key:?}")))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub target: Target,
    pub method: Method,
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub body: Option<Value>,
}

impl Request {
    pub fn get(target: Target, url: String) -> Request {
        Request {
            target,
            method: Method::Get,
            url,
            body: None,
        }
    }

    pub fn post(target: Target, url: String, body: Value) -> Request {
        Request {
            target,
            method: Method::Post,
            url,
            body: Some(body),
        }
    }
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method.as_str(), self.url)
    }
}
