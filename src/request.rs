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

/// Who a request is for. It decides the credential and the API conventions (headers, auth scheme).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// Commit statuses on GitHub (the Git host token).
    Github,
    /// Commit statuses on Azure Repos (the Git host token).
    AzureRepos,
    /// Reads and dispatches for GitHub Actions (the orchestrator token).
    GithubActions,
    /// Reads and the task callback for Azure Pipelines (the orchestrator token).
    AzurePipelines,
    /// A custom subscriber: no token, plain JSON.
    Subscriber(String),
}

/// The HTTP conventions a target's API follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    GitHub,
    AzureDevOps,
    Plain,
}

/// Which configured token a request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    GitHost,
    Orchestrator,
    None,
}

impl Target {
    pub fn api(&self) -> Api {
        match self {
            Target::Github | Target::GithubActions => Api::GitHub,
            Target::AzureRepos | Target::AzurePipelines => Api::AzureDevOps,
            Target::Subscriber(_) => Api::Plain,
        }
    }

    pub fn credential(&self) -> Credential {
        match self {
            Target::Github | Target::AzureRepos => Credential::GitHost,
            Target::GithubActions | Target::AzurePipelines => Credential::Orchestrator,
            Target::Subscriber(_) => Credential::None,
        }
    }

    /// The name stored in the state and shown to users.
    pub fn key(&self) -> String {
        match self {
            Target::Github => "github".into(),
            Target::AzureRepos => "azure-repos".into(),
            Target::GithubActions => "github-actions".into(),
            Target::AzurePipelines => "azure-pipelines".into(),
            Target::Subscriber(name) => format!("subscriber:{name}"),
        }
    }

    pub fn from_key(key: &str) -> Option<Target> {
        Some(match key {
            "github" => Target::Github,
            "azure-repos" => Target::AzureRepos,
            "github-actions" => Target::GithubActions,
            "azure-pipelines" => Target::AzurePipelines,
            other => Target::Subscriber(other.strip_prefix("subscriber:")?.to_string()),
        })
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
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
