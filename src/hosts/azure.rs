//! Azure Repos: commit statuses, the conventions of Azure DevOps' API, and the settings that
//! name the organisation and the manifests repository (Azure Pipelines reads them too).

use super::{Between, Host, HostKind, MAX_BETWEEN};
use crate::config::keys::{key, Key, Kind};
use crate::config::{ConfigError, Settings};
use crate::event::CommitId;
use crate::report::{CommitStatus, Unknown};
use crate::request::{Api, Credential, Exchanged, Request, Scheme, Target, TargetKind};
use crate::url::encode;
use serde_json::{json, Value};
use std::sync::Arc;

pub const GIT_API_VERSION: &str = "6.0";

pub static API: Api = Api {
    name: "Azure DevOps",
    headers: &[
        ("Accept", "application/json"),
        // Without it a bad token gets a 302 to a sign-in page instead of a 401.
        ("X-TFS-FedAuthRedirect", "Suppress"),
    ],
    auth: Some(Scheme::BasicPassword),
    sign_in_page: true,
    secondary_rate_limit: false,
    repos_path: Some("/_apis/git/"),
    exchanged: Some(Exchanged::Entra),
    same_status: None,
};

pub static STATUSES: TargetKind = TargetKind {
    key: "azure-repos",
    api: &API,
    credential: Credential::GitHost,
    settings: "azdo_org_url (AZDO_ORG_URL) and azdo_manifests_repo (AZDO_GITOPS_REPO_NAME)",
    scopes: "it needs the Code (status) scope",
};

/// The keys that name the organisation and the manifests repository.
pub const KEYS: &[Key] = &[
    key(
        "azdo_org_url",
        Some("AZDO_ORG_URL"),
        Kind::Url,
        "https://dev.azure.com/ORG/PROJECT",
    ),
    key(
        "azdo_manifests_repo",
        Some("AZDO_GITOPS_REPO_NAME"),
        Kind::Text,
        "Azure Repos repository the operator deploys from",
    ),
];

pub static HOST: HostKind = HostKind {
    names: &["azdo", "azure"],
    keys: KEYS,
    targets: &[&STATUSES],
    build: |settings| {
        let repo = Repo::from_settings(settings, "when git_host is azdo")?;
        Ok(Arc::new(Statuses { repo }))
    },
};

/// An Azure Repos repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repo {
    /// `https://dev.azure.com/ORG/PROJECT`, no trailing slash.
    pub org_url: String,
    pub repo: String,
}

impl Repo {
    /// The manifests repository: `azdo_org_url` and `azdo_manifests_repo`.
    pub fn from_settings(settings: &Settings, why: &str) -> Result<Repo, ConfigError> {
        let org_url = settings.required_url("azdo_org_url", "for Azure DevOps")?;
        let repo = settings.required("azdo_manifests_repo", why)?;
        Ok(Repo { org_url, repo })
    }
}

/// Commit statuses on one Azure Repos repository.
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
            "description": format!("{}: {}", status.name, status.message),
            "context": { "name": status.name, "genre": status.genre },
        });
        // Azure keeps one status per context and target URL: they must differ per status.
        if let Some(url) = app_url {
            let separator = if url.contains('?') { '&' } else { '?' };
            body["targetUrl"] = json!(format!("{url}{separator}noop={}", encode(&status.name)));
        }
        Request::post(
            Target::Kind(&STATUSES),
            format!(
                "{}/commits/{commit}/statuses?api-version={GIT_API_VERSION}",
                repo_url(&self.repo.org_url, &self.repo.repo)
            ),
            body,
        )
    }

    /// The commits API walks the history of `head` (newest first, `head` included) down to
    /// `base`; one more than the bound tells whether commits were left.
    fn between_request(&self, base: &CommitId, head: &CommitId) -> Option<Request> {
        Some(Request::get(
            Target::Kind(&STATUSES),
            format!(
                "{}/commits?searchCriteria.itemVersion.version={head}\
                 &searchCriteria.itemVersion.versionType=commit\
                 &searchCriteria.compareVersion.version={base}\
                 &searchCriteria.compareVersion.versionType=commit\
                 &searchCriteria.$top={}&api-version={GIT_API_VERSION}",
                repo_url(&self.repo.org_url, &self.repo.repo),
                MAX_BETWEEN + 2
            ),
        ))
    }

    fn between(&self, answer: &Value, base: &CommitId, head: &CommitId) -> Option<Between> {
        let ids = answer
            .get("value")?
            .as_array()?
            .iter()
            .filter_map(|c| c.get("commitId").and_then(Value::as_str));
        Some(Between::from_ids(ids, true, base, head, None))
    }
}

pub fn repo_url(org_url: &str, repo: &str) -> String {
    format!("{org_url}/_apis/git/repositories/{}", encode(repo))
}

/// PROTOCOL §4, with DependencyNotReady pending (the reference said error).
pub fn state(status: &CommitStatus) -> &'static str {
    match status.state.as_str() {
        "Succeeded" | "Synced" | "Healthy" | "ReconciliationSucceeded" => "succeeded",
        "Failed"
        | "Missing"
        | "ReconciliationFailed"
        | "PruneFailed"
        | "ArtifactFailed"
        | "BuildFailed"
        | "HealthCheckFailed"
        | "ValidationFailed"
        | "error" => "failed",
        "Error" | "Degraded" | "Suspended" => "error",
        "Inconclusive" | "Running" | "OutOfSync" | "Progressing" | "info"
        | "DependencyNotReady" => "pending",
        "Unknown" | "NotApplicable" => "notApplicable",
        _ => match status.unknown_as {
            Unknown::Pending => "pending",
            Unknown::Failure => "failed",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_map_matches_the_protocol() {
        let s = |state: &str| CommitStatus {
            name: "n".into(),
            state: state.into(),
            message: String::new(),
            genre: String::new(),
            unknown_as: Unknown::Pending,
            environment: None,
        };
        for (word, expected) in [
            ("Healthy", "succeeded"),
            ("Missing", "failed"),
            ("Degraded", "error"),
            ("DependencyNotReady", "pending"),
            ("NotApplicable", "notApplicable"),
            ("Unknown", "notApplicable"),
            ("Whatever", "pending"),
        ] {
            assert_eq!(state(&s(word)), expected, "{word}");
        }
    }
}
