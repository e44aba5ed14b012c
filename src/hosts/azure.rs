//! Azure Repos commit statuses.

use crate::config::AzureRepo;
use crate::event::CommitId;
use crate::report::{CommitStatus, Unknown};
use crate::request::{Request, Target};
use crate::url::encode;
use serde_json::json;

pub const GIT_API_VERSION: &str = "6.0";

pub fn repo_url(org_url: &str, repo: &str) -> String {
    format!("{org_url}/_apis/git/repositories/{}", encode(repo))
}

pub fn status_request(
    repo: &AzureRepo,
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
        Target::AzureRepos,
        format!(
            "{}/commits/{commit}/statuses?api-version={GIT_API_VERSION}",
            repo_url(&repo.org_url, &repo.repo)
        ),
        body,
    )
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
