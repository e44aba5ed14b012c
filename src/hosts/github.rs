//! GitHub: commit statuses and the combined status, its API's conventions, and the settings
//! that name its repositories (the GitHub Actions orchestrator reads them too).

use super::{truncate, Between, DeploymentState, Host, HostKind, MAX_BETWEEN};
use crate::config::keys::{key, Key, Kind};
use crate::config::{ConfigError, Settings};
use crate::event::CommitId;
use crate::report::{CommitStatus, Outcome, Unknown};
use crate::request::{Api, Credential, Exchanged, Request, Scheme, Target, TargetKind};
use crate::url::encode;
use serde_json::{json, Value};
use std::sync::Arc;

/// GitHub answers 422 to a longer description; the limit counts characters, not bytes.
pub const MAX_DESCRIPTION_CHARS: usize = 140;

pub static API: Api = Api {
    name: "GitHub",
    headers: &[
        ("Accept", "application/vnd.github+json"),
        ("X-GitHub-Api-Version", "2022-11-28"),
    ],
    auth: Some(Scheme::Token),
    sign_in_page: false,
    secondary_rate_limit: true,
    // Every URL we send to GitHub names a repository the configuration gave.
    repos_path: Some(""),
    exchanged: Some(Exchanged::GitHubApp),
    same_status: None,
};

/// The settings that name GitHub repositories, for messages.
pub const SETTINGS: &str = "github_org_url (GITHUB_ORG_URL) or github_api_url and github_owner, \
                            and github_manifests_repo (GITHUB_GITOPS_MANIFEST_REPO_NAME)";

pub static STATUSES: TargetKind = TargetKind {
    key: "github",
    api: &API,
    credential: Credential::GitHost,
    settings: SETTINGS,
    scopes: "it needs the repo:status scope (classic) or Commit statuses: write (fine-grained)",
};

/// Deployments and their statuses (`github_deployments = true`), with the Git host's token.
pub static DEPLOYMENTS: TargetKind = TargetKind {
    key: "github-deployments",
    api: &API,
    credential: Credential::GitHost,
    settings: SETTINGS,
    scopes: "it needs the repo_deployment scope (classic) or Deployments: write (fine-grained)",
};

/// The keys that name GitHub repositories, shared with the GitHub Actions orchestrator.
pub const KEYS: &[Key] = &[
    key(
        "github_org_url",
        Some("GITHUB_ORG_URL"),
        Kind::Url,
        "https://api.github.com/repos/OWNER (API base and owner in one, as the reference had it)",
    ),
    key(
        "github_api_url",
        None,
        Kind::Url,
        "GitHub API base: https://api.github.com or https://HOST/api/v3",
    ),
    key(
        "github_owner",
        None,
        Kind::Text,
        "GitHub user or organisation that owns the repositories",
    ),
    key(
        "github_app_id",
        Some("GITOPS_CONNECTOR_GITHUB_APP_ID"),
        Kind::Text,
        "authenticate GitHub requests as this GitHub App (installation tokens) instead of with a token",
    ),
    key(
        "github_app_installation_id",
        Some("GITOPS_CONNECTOR_GITHUB_APP_INSTALLATION_ID"),
        Kind::Text,
        "the App's installation; default: the installation on github_manifests_repo",
    ),
    key(
        "github_app_private_key_file",
        None,
        Kind::Text,
        "file holding the App's PEM private key (or env GITOPS_CONNECTOR_GITHUB_APP_PRIVATE_KEY)",
    ),
    key(
        "github_manifests_repo",
        Some("GITHUB_GITOPS_MANIFEST_REPO_NAME"),
        Kind::Text,
        "GitHub repository the operator deploys from",
    ),
];

pub static HOST: HostKind = HostKind {
    names: &["github"],
    keys: KEYS,
    targets: &[&STATUSES, &DEPLOYMENTS],
    build: |settings| {
        let repo = Repo::from_settings(settings, "when git_host is github")?;
        Ok(Arc::new(Statuses { repo }))
    },
};

/// A GitHub repository and the API that serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repo {
    /// `https://api.github.com` or `https://HOST/api/v3`, no trailing slash.
    pub api: String,
    pub owner: String,
    pub repo: String,
}

impl Repo {
    /// The manifests repository: the API base and owner from `github_org_url`, or from
    /// `github_api_url` and `github_owner`; the name from `github_manifests_repo`.
    pub fn from_settings(settings: &Settings, why: &str) -> Result<Repo, ConfigError> {
        let (api, owner) = api_and_owner(settings)?;
        let repo = settings.required("github_manifests_repo", why)?;
        Ok(Repo { api, owner, repo })
    }
}

/// GitHub's API base and owner: from `github_org_url`, or `github_api_url` and `github_owner`.
pub fn api_and_owner(settings: &Settings) -> Result<(String, String), ConfigError> {
    if let Some(org_url) = settings.text("github_org_url") {
        settings.check_url("github_org_url", org_url)?;
        // `https://api.github.com/repos/OWNER` (or `https://HOST/api/v3/repos/OWNER`).
        return match org_url.trim_end_matches('/').rsplit_once("/repos/") {
            Some((api, owner)) if !owner.is_empty() && !owner.contains('/') => {
                Ok((api.to_string(), owner.to_string()))
            }
            _ => Err(settings.error(&format!(
                "github_org_url {org_url:?} must look like https://api.github.com/repos/OWNER"
            ))),
        };
    }
    let api = settings
        .url("github_api_url")?
        .unwrap_or_else(|| "https://api.github.com".into());
    let owner = settings.required("github_owner", "for GitHub (or github_org_url)")?;
    Ok((api, owner))
}

/// Commit statuses on one GitHub repository.
#[derive(Debug)]
pub struct Statuses {
    pub repo: Repo,
}

impl Host for Statuses {
    fn status_request(
        &self,
        commit: &CommitId,
        status: &CommitStatus,
        app_url: Option<&str>,
    ) -> Request {
        let mut body = json!({
            "state": state(status),
            "description": truncate(&status.message, MAX_DESCRIPTION_CHARS),
            "context": status.name,
        });
        if let Some(url) = app_url {
            body["target_url"] = json!(url);
        }
        Request::post(
            Target::Kind(&STATUSES),
            format!("{}/statuses/{commit}", repo_url(&self.repo)),
            body,
        )
    }

    fn ended_request(&self, commit: &CommitId) -> Option<Request> {
        // The combined status, read when the local record of a commit is missing.
        Some(Request::get(
            Target::Kind(&STATUSES),
            format!("{}/commits/{commit}/status", repo_url(&self.repo)),
        ))
    }

    fn ended_outcome(&self, answer: &Value) -> Option<Outcome> {
        combined_outcome(answer)
    }

    /// The compare API: commits reachable from `head` and not from `base`, oldest first,
    /// [`MAX_BETWEEN`] a page (its maximum `per_page`); the first page also says how many
    /// there are (`total_commits`, head included).
    fn between_request(&self, base: &CommitId, head: &CommitId) -> Option<Request> {
        Some(Request::get(
            Target::Kind(&STATUSES),
            format!(
                "{}/compare/{base}...{head}?per_page={MAX_BETWEEN}",
                repo_url(&self.repo)
            ),
        ))
    }

    fn between_page_request(&self, base: &CommitId, head: &CommitId, page: u32) -> Option<Request> {
        Some(Request::get(
            Target::Kind(&STATUSES),
            format!(
                "{}/compare/{base}...{head}?per_page={MAX_BETWEEN}&page={page}",
                repo_url(&self.repo)
            ),
        ))
    }

    fn between(&self, answer: &Value, base: &CommitId, head: &CommitId) -> Option<Between> {
        compared(answer, base, head)
    }

    fn deployments(&self) -> Option<Target> {
        Some(Target::Kind(&DEPLOYMENTS))
    }

    /// Never merges (`auto_merge: false`) and never waits on other checks (`required_contexts:
    /// []`): it records a deployment that happened, it does not ask for one.
    fn deployment_request(&self, commit: &CommitId, environment: &str) -> Option<Request> {
        Some(Request::post(
            Target::Kind(&DEPLOYMENTS),
            format!("{}/deployments", repo_url(&self.repo)),
            json!({
                "ref": commit.as_str(),
                "environment": environment,
                "auto_merge": false,
                "required_contexts": [],
                "description": "deployed by the GitOps operator, reported by gitops-connector",
            }),
        ))
    }

    fn deployment_id(&self, answer: &Value) -> Option<u64> {
        answer.get("id")?.as_u64()
    }

    /// `GET /repos/{owner}/{repo}/deployments?sha=&environment=`: newest first.
    fn deployment_lookup_request(&self, commit: &CommitId, environment: &str) -> Option<Request> {
        Some(Request::get(
            Target::Kind(&DEPLOYMENTS),
            format!(
                "{}/deployments?sha={}&environment={}&per_page=1",
                repo_url(&self.repo),
                commit.as_str(),
                encode(environment)
            ),
        ))
    }

    fn deployment_found(&self, answer: &Value) -> Option<u64> {
        answer.as_array()?.first()?.get("id")?.as_u64()
    }

    fn deployment_status_request(
        &self,
        id: u64,
        state: DeploymentState,
        description: &str,
        app_url: Option<&str>,
    ) -> Option<Request> {
        let mut body = json!({
            "state": state.as_str(),
            "description": truncate(description, MAX_DESCRIPTION_CHARS),
        });
        if let Some(url) = app_url {
            body["environment_url"] = json!(url);
        }
        Some(Request::post(
            Target::Kind(&DEPLOYMENTS),
            format!("{}/deployments/{id}/statuses", repo_url(&self.repo)),
            body,
        ))
    }
}

pub fn repo_url(repo: &Repo) -> String {
    format!(
        "{}/repos/{}/{}",
        repo.api,
        encode(&repo.owner),
        encode(&repo.repo)
    )
}

/// A compare answer (`commits` oldest first, each with its `sha`, and `total_commits`, which
/// counts `head`), as GitHub and Gitea give it.
pub fn compared(answer: &Value, base: &CommitId, head: &CommitId) -> Option<Between> {
    let commits = answer.get("commits")?.as_array()?;
    let total = answer
        .get("total_commits")
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
        .map(|n| n.saturating_sub(1));
    let ids = commits
        .iter()
        .filter_map(|c| c.get("sha").and_then(Value::as_str));
    Some(Between::from_ids(ids, false, base, head, total))
}

/// PROTOCOL §4: the operator's word → GitHub's four states.
pub fn state(status: &CommitStatus) -> &'static str {
    match status.state.as_str() {
        "ReconciliationSucceeded"
        | "NotApplicable"
        | "Succeeded"
        | "Synced"
        | "Healthy"
        | "Unknown" => "success",
        "Progressing" | "DependencyNotReady" | "info" | "Inconclusive" | "Running"
        | "OutOfSync" => "pending",
        "ReconciliationFailed"
        | "PruneFailed"
        | "ArtifactFailed"
        | "BuildFailed"
        | "HealthCheckFailed"
        | "ValidationFailed"
        | "error"
        | "Failed"
        | "Missing" => "failure",
        "Suspended" | "Error" | "Degraded" => "error",
        _ => match status.unknown_as {
            Unknown::Pending => "pending",
            Unknown::Failure => "failure",
        },
    }
}

/// `success` or `failure` means the commit has ended; `pending` (also: no statuses) means not.
pub fn combined_outcome(answer: &Value) -> Option<Outcome> {
    match answer.get("state")?.as_str()? {
        "success" => Some(Outcome::Success),
        "failure" => Some(Outcome::Failure),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(state: &str, unknown_as: Unknown) -> CommitStatus {
        CommitStatus {
            name: "Status".into(),
            state: state.into(),
            message: "m".into(),
            genre: "g".into(),
            unknown_as,
            environment: None,
        }
    }

    #[test]
    fn state_map_matches_the_protocol() {
        let cases = [
            ("ReconciliationSucceeded", "success"),
            ("Unknown", "success"),
            ("OutOfSync", "pending"),
            ("DependencyNotReady", "pending"),
            ("Missing", "failure"),
            ("error", "failure"),
            ("Degraded", "error"),
            ("Suspended", "error"),
        ];
        for (word, expected) in cases {
            assert_eq!(state(&status(word, Unknown::Pending)), expected, "{word}");
        }
        assert_eq!(state(&status("Brand new", Unknown::Pending)), "pending");
        assert_eq!(state(&status("Brand new", Unknown::Failure)), "failure");
    }

    #[test]
    fn descriptions_are_cut_by_characters() {
        let long: String = "é".repeat(200);
        let cut = truncate(&long, MAX_DESCRIPTION_CHARS);
        assert_eq!(cut.chars().count(), 140);
        assert_eq!(truncate("short", 140), "short");
    }

    #[test]
    fn combined_status_reads_success_and_failure_only() {
        assert_eq!(
            combined_outcome(&json!({"state": "success"})),
            Some(Outcome::Success)
        );
        assert_eq!(
            combined_outcome(&json!({"state": "failure"})),
            Some(Outcome::Failure)
        );
        assert_eq!(combined_outcome(&json!({"state": "pending"})), None);
        assert_eq!(combined_outcome(&json!({})), None);
    }
}
