//! GitHub commit statuses and combined status.

use crate::config::GitHubRepo;
use crate::event::CommitId;
use crate::report::{CommitStatus, Outcome, Unknown};
use crate::request::{Request, Target};
use crate::url::encode;
use serde_json::{json, Value};

/// GitHub answers 422 to a longer description; the limit counts characters, not bytes.
pub const MAX_DESCRIPTION_CHARS: usize = 140;

pub fn repo_url(repo: &GitHubRepo) -> String {
    format!(
        "{}/repos/{}/{}",
        repo.api,
        encode(&repo.owner),
        encode(&repo.repo)
    )
}

pub fn status_request(
    repo: &GitHubRepo,
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
        Target::Github,
        format!("{}/statuses/{commit}", repo_url(repo)),
        body,
    )
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

pub fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => text[..cut].to_string(),
        None => text.to_string(),
    }
}

/// The combined status, read when the local record of a commit is missing.
pub fn combined_status_request(target: Target, repo: &GitHubRepo, commit: &CommitId) -> Request {
    Request::get(
        target,
        format!("{}/commits/{commit}/status", repo_url(repo)),
    )
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
