//! GitLab (gitlab.com or self-managed): commit statuses (`POST /projects/:id/statuses/:sha`),
//! the commit's statuses when the state is lost, and the commits between two
//! (`GET /projects/:id/repository/compare`), under `{gitlab_url}/api/v4`, with the token as
//! `Authorization: Bearer`.

use super::{github, Between, Host, HostKind};
use crate::config::keys::{key, Key, Kind};
use crate::config::{ConfigError, Settings};
use crate::event::CommitId;
use crate::report::{CommitStatus, Outcome};
use crate::request::{Api, Credential, Request, Scheme, Target, TargetKind};
use crate::url::encode;
use serde_json::{json, Value};
use std::sync::Arc;

/// Each text field is cut to this many characters: GitLab keeps them in 255-character columns.
pub const MAX_FIELD_CHARS: usize = 255;

pub static API: Api = Api {
    name: "GitLab",
    headers: &[("Accept", "application/json")],
    auth: Some(Scheme::Bearer),
    sign_in_page: false,
    secondary_rate_limit: false,
    // Every URL we send names the configured project.
    repos_path: Some("/api/v4/projects/"),
    exchanged: None,
    // A status like the current one (same name, sha and state) is refused with
    // "Cannot transition status via :run from :running": it is there.
    same_status: Some("Cannot transition status"),
};

pub static STATUSES: TargetKind = TargetKind {
    key: "gitlab",
    api: &API,
    credential: Credential::GitHost,
    settings: "gitlab_url (GITOPS_CONNECTOR_GITLAB_URL) and gitlab_project (GITOPS_CONNECTOR_GITLAB_PROJECT)",
    scopes: "it needs the api scope and at least the Developer role on the project",
};

const KEYS: &[Key] = &[
    key(
        "gitlab_url",
        Some("GITOPS_CONNECTOR_GITLAB_URL"),
        Kind::Url,
        "GitLab base URL (default https://gitlab.com; the API is under /api/v4)",
    ),
    key(
        "gitlab_project",
        Some("GITOPS_CONNECTOR_GITLAB_PROJECT"),
        Kind::Text,
        "the manifests project: its path (group/subgroup/project) or its numeric id",
    ),
];

pub static HOST: HostKind = HostKind {
    names: &["gitlab"],
    keys: KEYS,
    targets: &[&STATUSES],
    build: |settings| Ok(Arc::new(Statuses::from_settings(settings)?)),
};

/// Commit statuses on one GitLab project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statuses {
    /// `https://HOST[/PATH]/api/v4`, no trailing slash.
    pub api: String,
    /// The project's path or id, as configured.
    pub project: String,
}

impl Statuses {
    fn from_settings(settings: &Settings) -> Result<Statuses, ConfigError> {
        let base = settings
            .url("gitlab_url")?
            .unwrap_or_else(|| "https://gitlab.com".into());
        Ok(Statuses {
            api: format!("{base}/api/v4"),
            project: settings.required("gitlab_project", "when git_host is gitlab")?,
        })
    }

    /// `…/projects/group%2Fproject`: a path is one URL-encoded segment.
    fn project_url(&self) -> String {
        format!("{}/projects/{}", self.api, encode(&self.project))
    }
}

/// PROTOCOL §4 in GitLab's words: in progress is `running`, an error is `failed`.
pub fn state(status: &CommitStatus) -> &'static str {
    match github::state(status) {
        "success" => "success",
        "pending" => "running",
        _ => "failed",
    }
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
            "name": super::truncate(&status.name, MAX_FIELD_CHARS),
            "description": super::truncate(&status.message, MAX_FIELD_CHARS),
        });
        if let Some(url) = app_url {
            body["target_url"] = json!(url);
        }
        Request::post(
            Target::Kind(&STATUSES),
            format!("{}/statuses/{commit}", self.project_url()),
            body,
        )
    }

    fn ended_request(&self, commit: &CommitId) -> Option<Request> {
        Some(Request::get(
            Target::Kind(&STATUSES),
            format!(
                "{}/repository/commits/{commit}/statuses?per_page=100",
                self.project_url()
            ),
        ))
    }

    /// Ended when it has statuses and none is in progress: failed if any failed.
    fn ended_outcome(&self, answer: &Value) -> Option<Outcome> {
        let states: Vec<&str> = answer
            .as_array()?
            .iter()
            .filter_map(|s| s.get("status").and_then(Value::as_str))
            .collect();
        if states.is_empty()
            || states
                .iter()
                .any(|s| matches!(*s, "running" | "pending" | "created"))
        {
            return None;
        }
        Some(if states.contains(&"failed") {
            Outcome::Failure
        } else {
            Outcome::Success
        })
    }

    fn between_request(&self, base: &CommitId, head: &CommitId) -> Option<Request> {
        Some(Request::get(
            Target::Kind(&STATUSES),
            format!(
                "{}/repository/compare?from={base}&to={head}&straight=false",
                self.project_url()
            ),
        ))
    }

    fn between(&self, answer: &Value, base: &CommitId, head: &CommitId) -> Option<Between> {
        let ids = answer
            .get("commits")?
            .as_array()?
            .iter()
            .filter_map(|c| c.get("id").and_then(Value::as_str));
        Some(Between::from_ids(ids, false, base, head, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Unknown;

    fn status(state: &str, name: &str) -> CommitStatus {
        CommitStatus {
            name: name.into(),
            state: state.into(),
            message: "m".repeat(300),
            genre: "Kustomization".into(),
            unknown_as: Unknown::Pending,
            environment: None,
        }
    }

    #[test]
    fn statuses_use_gitlabs_states_and_fit_its_columns() {
        let gitlab = Statuses {
            api: "https://gitlab.com/api/v4".into(),
            project: "platform/fleet".into(),
        };
        let commit = CommitId::parse(&"c".repeat(40)).unwrap();
        let request = gitlab.status_request(&commit, &status("Progressing", "Status"), None);
        assert_eq!(
            request.url,
            format!("https://gitlab.com/api/v4/projects/platform%2Ffleet/statuses/{commit}")
        );
        let body = request.body.unwrap();
        assert_eq!(body["state"], "running");
        assert_eq!(body["name"], "Status");
        assert_eq!(body["description"].as_str().unwrap().chars().count(), 255);
        for (word, expected) in [
            ("ReconciliationSucceeded", "success"),
            ("HealthCheckFailed", "failed"),
            ("Degraded", "failed"),
            ("OutOfSync", "running"),
        ] {
            assert_eq!(state(&status(word, "n")), expected, "{word}");
        }
        assert_eq!(
            gitlab.ended_outcome(&json!([{"status": "success"}, {"status": "failed"}])),
            Some(Outcome::Failure)
        );
        assert_eq!(gitlab.ended_outcome(&json!([{"status": "running"}])), None);
        assert_eq!(gitlab.ended_outcome(&json!([])), None);
    }
}
