//! Gitea and Forgejo: commit statuses (`POST /repos/{owner}/{repo}/statuses/{sha}`), the
//! combined status of a commit, and the commits between two (`GET …/compare/{base}...{head}`),
//! under `{gitea_url}/api/v1`, with `Authorization: token …`.

use super::{github, Between, Host, HostKind, MAX_BETWEEN};
use crate::config::keys::{key, Key, Kind};
use crate::config::{ConfigError, Settings};
use crate::event::CommitId;
use crate::report::{CommitStatus, Outcome};
use crate::request::{Api, Credential, Request, Scheme, Target, TargetKind};
use crate::url::encode;
use serde_json::{json, Value};
use std::sync::Arc;

pub static API: Api = Api {
    name: "Gitea",
    headers: &[("Accept", "application/json")],
    auth: Some(Scheme::Token),
    sign_in_page: false,
    secondary_rate_limit: false,
    // Every URL we send names the configured repository.
    repos_path: Some("/api/v1/repos/"),
    exchanged: None,
    same_status: None,
};

pub static STATUSES: TargetKind = TargetKind {
    key: "gitea",
    api: &API,
    credential: Credential::GitHost,
    settings: "gitea_url (GITOPS_CONNECTOR_GITEA_URL), gitea_owner and gitea_manifests_repo",
    scopes: "it needs the write:repository scope (a scoped access token)",
};

const KEYS: &[Key] = &[
    key(
        "gitea_url",
        Some("GITOPS_CONNECTOR_GITEA_URL"),
        Kind::Url,
        "Gitea or Forgejo base URL, e.g. https://gitea.acme.internal (the API is under /api/v1)",
    ),
    key(
        "gitea_owner",
        Some("GITOPS_CONNECTOR_GITEA_OWNER"),
        Kind::Text,
        "Gitea user or organisation that owns the manifests repository",
    ),
    key(
        "gitea_manifests_repo",
        Some("GITOPS_CONNECTOR_GITEA_MANIFESTS_REPO"),
        Kind::Text,
        "Gitea repository the operator deploys from",
    ),
];

pub static HOST: HostKind = HostKind {
    names: &["gitea", "forgejo"],
    keys: KEYS,
    targets: &[&STATUSES],
    build: |settings| Ok(Arc::new(Statuses::from_settings(settings)?)),
};

/// Commit statuses on one Gitea (or Forgejo) repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statuses {
    /// `https://HOST[/PATH]/api/v1`, no trailing slash.
    pub api: String,
    pub owner: String,
    pub repo: String,
}

impl Statuses {
    fn from_settings(settings: &Settings) -> Result<Statuses, ConfigError> {
        let why = "when git_host is gitea";
        let base = settings.required_url("gitea_url", why)?;
        Ok(Statuses {
            api: format!("{base}/api/v1"),
            owner: settings.required("gitea_owner", why)?,
            repo: settings.required("gitea_manifests_repo", why)?,
        })
    }

    fn repo_url(&self) -> String {
        format!(
            "{}/repos/{}/{}",
            self.api,
            encode(&self.owner),
            encode(&self.repo)
        )
    }
}

impl Host for Statuses {
    /// Gitea takes GitHub's four states (and `warning`, which we do not use).
    fn status_request(
        &self,
        commit: &CommitId,
        status: &CommitStatus,
        app_url: Option<&str>,
    ) -> Request {
        let mut body = json!({
            "state": github::state(status),
            "context": status.name,
            "description": status.message,
        });
        if let Some(url) = app_url {
            body["target_url"] = json!(url);
        }
        Request::post(
            Target::Kind(&STATUSES),
            format!("{}/statuses/{commit}", self.repo_url()),
            body,
        )
    }

    fn ended_request(&self, commit: &CommitId) -> Option<Request> {
        Some(Request::get(
            Target::Kind(&STATUSES),
            format!("{}/commits/{commit}/status", self.repo_url()),
        ))
    }

    /// The worst state of the commit's statuses: `success`, or `failure`/`error` for an end.
    fn ended_outcome(&self, answer: &Value) -> Option<Outcome> {
        match answer.get("state")?.as_str()? {
            "success" => Some(Outcome::Success),
            "failure" | "error" => Some(Outcome::Failure),
            _ => None,
        }
    }

    fn between_request(&self, base: &CommitId, head: &CommitId) -> Option<Request> {
        Some(Request::get(
            Target::Kind(&STATUSES),
            format!(
                "{}/compare/{base}...{head}?limit={}",
                self.repo_url(),
                MAX_BETWEEN + 1
            ),
        ))
    }

    /// Gitea's compare answers as GitHub's does.
    fn between(&self, answer: &Value, base: &CommitId, head: &CommitId) -> Option<Between> {
        github::compared(answer, base, head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Unknown;

    fn statuses() -> Statuses {
        Statuses {
            api: "https://gitea.acme/api/v1".into(),
            owner: "org".into(),
            repo: "manifests".into(),
        }
    }

    #[test]
    fn a_status_is_posted_with_githubs_four_states() {
        let commit = CommitId::parse(&"a".repeat(40)).unwrap();
        let status = CommitStatus {
            name: "prod/Status".into(),
            state: "HealthCheckFailed".into(),
            message: "Health check failed".into(),
            genre: "Kustomization".into(),
            unknown_as: Unknown::Pending,
            environment: None,
        };
        let request = statuses().status_request(&commit, &status, Some("https://app/x"));
        assert_eq!(
            request.url,
            format!("https://gitea.acme/api/v1/repos/org/manifests/statuses/{commit}")
        );
        assert_eq!(
            request.body.unwrap(),
            json!({"state": "failure", "context": "prod/Status",
                   "description": "Health check failed", "target_url": "https://app/x"})
        );
        assert_eq!(
            statuses().ended_outcome(&json!({"state": "error"})),
            Some(Outcome::Failure)
        );
        assert_eq!(statuses().ended_outcome(&json!({"state": "pending"})), None);
    }
}
