//! Bitbucket Server and Data Center: build statuses (`POST
//! {base}/rest/build-status/1.0/commits/{sha}`), the commit's statuses when the state is lost,
//! and the commits between two (`GET
//! {base}/rest/api/latest/projects/{key}/repos/{slug}/commits?until={head}&since={base}`), with
//! an HTTP access token as `Bearer`.

use super::bitbucket::{outcome_of_states, status_body, values};
use super::{Between, Host, HostKind, MAX_BETWEEN};
use crate::config::{ConfigError, Settings};
use crate::event::CommitId;
use crate::report::{CommitStatus, Outcome};
use crate::request::{Api, Credential, Request, Scheme, Target, TargetKind};
use crate::url::encode;
use serde_json::Value;
use std::sync::Arc;

pub static API: Api = Api {
    name: "Bitbucket Server",
    headers: &[("Accept", "application/json")],
    auth: Some(Scheme::Bearer),
    sign_in_page: false,
    secondary_rate_limit: false,
    repos_path: Some("/rest/"),
    exchanged: None,
    same_status: None,
};

pub static STATUSES: TargetKind = TargetKind {
    key: "bitbucket-server",
    api: &API,
    credential: Credential::GitHost,
    settings: "bitbucket_url (the server's base URL), bitbucket_workspace (the project key) and bitbucket_repo",
    scopes: "it needs Repository write permission (an HTTP access token)",
};

/// Its keys are Bitbucket Cloud's: `bitbucket_url`, `bitbucket_workspace` (the project key) and
/// `bitbucket_repo`.
pub static HOST: HostKind = HostKind {
    names: &["bitbucket-server", "bitbucket-datacenter"],
    keys: &[],
    targets: &[&STATUSES],
    build: |settings| Ok(Arc::new(Statuses::from_settings(settings)?)),
};

/// Build statuses on one Bitbucket Server/Data Center repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statuses {
    /// `https://HOST[/PATH]`, no trailing slash.
    pub base: String,
    pub project: String,
    pub repo: String,
}

impl Statuses {
    fn from_settings(settings: &Settings) -> Result<Statuses, ConfigError> {
        let why = "when git_host is bitbucket-server";
        Ok(Statuses {
            base: settings.required_url("bitbucket_url", why)?,
            project: settings.required("bitbucket_workspace", why)?,
            repo: settings.required("bitbucket_repo", why)?,
        })
    }

    fn statuses_url(&self, commit: &CommitId) -> String {
        format!("{}/rest/build-status/1.0/commits/{commit}", self.base)
    }
}

impl Host for Statuses {
    fn status_request(
        &self,
        commit: &CommitId,
        status: &CommitStatus,
        app_url: Option<&str>,
    ) -> Request {
        let fallback = format!(
            "{}/projects/{}/repos/{}/commits/{commit}",
            self.base,
            encode(&self.project),
            encode(&self.repo)
        );
        Request::post(
            Target::Kind(&STATUSES),
            self.statuses_url(commit),
            status_body(status, app_url, &fallback),
        )
    }

    fn ended_request(&self, commit: &CommitId) -> Option<Request> {
        Some(Request::get(
            Target::Kind(&STATUSES),
            format!("{}?limit=100", self.statuses_url(commit)),
        ))
    }

    fn ended_outcome(&self, answer: &Value) -> Option<Outcome> {
        outcome_of_states(values(answer, "state")?)
    }

    fn between_request(&self, base: &CommitId, head: &CommitId) -> Option<Request> {
        Some(Request::get(
            Target::Kind(&STATUSES),
            format!(
                "{}/rest/api/latest/projects/{}/repos/{}/commits?until={head}&since={base}&limit={}",
                self.base,
                encode(&self.project),
                encode(&self.repo),
                MAX_BETWEEN + 1
            ),
        ))
    }

    fn between(&self, answer: &Value, base: &CommitId, head: &CommitId) -> Option<Between> {
        Some(Between::from_ids(
            values(answer, "id")?,
            true,
            base,
            head,
            None,
        ))
    }
}
