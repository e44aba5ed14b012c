//! Bitbucket Cloud: build statuses (`POST
//! /2.0/repositories/{workspace}/{repo}/commit/{sha}/statuses/build`), the commit's statuses when
//! the state is lost, and the commits between two (`GET …/commits/{head}?exclude={base}`). A
//! repository or workspace access token goes as `Bearer`; an app password as `user:password`,
//! sent as Basic.

use super::{github, Between, Host, HostKind, MAX_BETWEEN};
use crate::config::keys::{key, Key, Kind};
use crate::config::{ConfigError, Settings};
use crate::event::CommitId;
use crate::report::{CommitStatus, Outcome};
use crate::request::{Api, Credential, Request, Scheme, Target, TargetKind};
use crate::url::encode;
use serde_json::{json, Value};
use sha2::Digest as _;
use std::sync::Arc;

/// Bitbucket's `key` (the status's identity on the commit) holds at most 40 characters.
pub const MAX_KEY_CHARS: usize = 40;
/// `name` and `description` are cut to this many characters.
pub const MAX_FIELD_CHARS: usize = 255;

pub static API: Api = Api {
    name: "Bitbucket",
    headers: &[("Accept", "application/json")],
    auth: Some(Scheme::BearerOrBasic),
    sign_in_page: false,
    secondary_rate_limit: false,
    repos_path: Some("/repositories/"),
    exchanged: None,
    same_status: None,
};

pub static STATUSES: TargetKind = TargetKind {
    key: "bitbucket",
    api: &API,
    credential: Credential::GitHost,
    settings: "bitbucket_url (default https://api.bitbucket.org), bitbucket_workspace and bitbucket_repo",
    scopes: "it needs the repository:write scope (an access token), or an app password with Repositories: Write",
};

const KEYS: &[Key] = &[
    key(
        "bitbucket_url",
        Some("GITOPS_CONNECTOR_BITBUCKET_URL"),
        Kind::Url,
        "Bitbucket Cloud API base (default https://api.bitbucket.org), or Bitbucket Server/Data Center's base URL",
    ),
    key(
        "bitbucket_workspace",
        Some("GITOPS_CONNECTOR_BITBUCKET_WORKSPACE"),
        Kind::Text,
        "Bitbucket Cloud workspace (or, on Server/Data Center, the project key) of the manifests repository",
    ),
    key(
        "bitbucket_repo",
        Some("GITOPS_CONNECTOR_BITBUCKET_REPO"),
        Kind::Text,
        "the manifests repository's slug",
    ),
];

pub static HOST: HostKind = HostKind {
    names: &["bitbucket"],
    keys: KEYS,
    targets: &[&STATUSES],
    build: |settings| Ok(Arc::new(Statuses::from_settings(settings)?)),
};

/// Build statuses on one Bitbucket Cloud repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statuses {
    /// `https://api.bitbucket.org/2.0`.
    pub api: String,
    pub workspace: String,
    pub repo: String,
}

impl Statuses {
    fn from_settings(settings: &Settings) -> Result<Statuses, ConfigError> {
        let why = "when git_host is bitbucket";
        let base = settings
            .url("bitbucket_url")?
            .unwrap_or_else(|| "https://api.bitbucket.org".into());
        Ok(Statuses {
            api: format!("{base}/2.0"),
            workspace: settings.required("bitbucket_workspace", why)?,
            repo: settings.required("bitbucket_repo", why)?,
        })
    }

    fn repo_url(&self) -> String {
        format!(
            "{}/repositories/{}/{}",
            self.api,
            encode(&self.workspace),
            encode(&self.repo)
        )
    }
}

/// PROTOCOL §4 in Bitbucket's words.
pub fn state(status: &CommitStatus) -> &'static str {
    match github::state(status) {
        "success" => "SUCCESSFUL",
        "pending" => "INPROGRESS",
        _ => "FAILED",
    }
}

/// The status context as a `key` of at most 40 characters, the same for the same context: as
/// it is when it fits, else its start and a hash of the whole.
pub fn status_key(context: &str) -> String {
    if context.chars().count() <= MAX_KEY_CHARS {
        return context.to_string();
    }
    let digest = hex::encode(sha2::Sha256::digest(context.as_bytes()));
    let start: String = context.chars().take(MAX_KEY_CHARS - 9).collect();
    format!("{start}-{}", &digest[..8])
}

/// The statuses' body both Bitbucket editions take. `url` is required: the application's link,
/// else `fallback` (the commit on the host).
pub fn status_body(status: &CommitStatus, app_url: Option<&str>, fallback: &str) -> Value {
    json!({
        "key": status_key(&status.name),
        "state": state(status),
        "name": super::truncate(&status.name, MAX_FIELD_CHARS),
        "description": super::truncate(&status.message, MAX_FIELD_CHARS),
        "url": app_url.unwrap_or(fallback),
    })
}

/// The `field` of each item of a paged answer's `values` (both editions page the same way).
pub fn values<'a>(answer: &'a Value, field: &'a str) -> Option<impl Iterator<Item = &'a str>> {
    let values = answer.get("values")?.as_array()?;
    Some(
        values
            .iter()
            .filter_map(move |v| v.get(field).and_then(Value::as_str)),
    )
}

/// Ended when it has statuses and none is in progress: failed if any failed or stopped.
pub fn outcome_of_states<'a>(states: impl Iterator<Item = &'a str>) -> Option<Outcome> {
    let states: Vec<&str> = states.collect();
    if states.is_empty() || states.contains(&"INPROGRESS") {
        return None;
    }
    Some(
        if states.iter().any(|s| matches!(*s, "FAILED" | "STOPPED")) {
            Outcome::Failure
        } else {
            Outcome::Success
        },
    )
}

impl Host for Statuses {
    fn status_request(
        &self,
        commit: &CommitId,
        status: &CommitStatus,
        app_url: Option<&str>,
    ) -> Request {
        let fallback = format!(
            "https://bitbucket.org/{}/{}/commits/{commit}",
            encode(&self.workspace),
            encode(&self.repo)
        );
        Request::post(
            Target::Kind(&STATUSES),
            format!("{}/commit/{commit}/statuses/build", self.repo_url()),
            status_body(status, app_url, &fallback),
        )
    }

    fn ended_request(&self, commit: &CommitId) -> Option<Request> {
        Some(Request::get(
            Target::Kind(&STATUSES),
            format!("{}/commit/{commit}/statuses?pagelen=100", self.repo_url()),
        ))
    }

    fn ended_outcome(&self, answer: &Value) -> Option<Outcome> {
        outcome_of_states(values(answer, "state")?)
    }

    /// The history of `head` without that of `base`, newest first.
    fn between_request(&self, base: &CommitId, head: &CommitId) -> Option<Request> {
        Some(Request::get(
            Target::Kind(&STATUSES),
            format!(
                "{}/commits/{head}?exclude={base}&pagelen={}",
                self.repo_url(),
                MAX_BETWEEN + 1
            ),
        ))
    }

    fn between(&self, answer: &Value, base: &CommitId, head: &CommitId) -> Option<Between> {
        Some(Between::from_ids(
            values(answer, "hash")?,
            true,
            base,
            head,
            None,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Unknown;

    #[test]
    fn keys_fit_in_forty_characters_and_stay_the_same() {
        assert_eq!(status_key("prod-eu/Status"), "prod-eu/Status");
        let long = "prod-eu-west-1/Kustomization/flux-system/infrastructure-controllers";
        let key = status_key(long);
        assert_eq!(key.chars().count(), 40);
        assert_eq!(key, status_key(long));
        assert_ne!(key, status_key(&format!("{long}x")));
    }

    #[test]
    fn a_status_always_has_a_url_and_bitbuckets_states() {
        let status = CommitStatus {
            name: "Status".into(),
            state: "Progressing".into(),
            message: "Applied".into(),
            genre: "Kustomization".into(),
            unknown_as: Unknown::Pending,
            environment: None,
        };
        let body = status_body(&status, None, "https://bitbucket.org/ws/r/commits/x");
        assert_eq!(
            body,
            json!({"key": "Status", "state": "INPROGRESS", "name": "Status",
                   "description": "Applied", "url": "https://bitbucket.org/ws/r/commits/x"})
        );
        assert_eq!(
            outcome_of_states(["SUCCESSFUL", "STOPPED"].into_iter()),
            Some(Outcome::Failure)
        );
        assert_eq!(outcome_of_states(["INPROGRESS"].into_iter()), None);
    }
}
