//! GitLab pipelines: a pipeline triggered with a trigger token (`POST
//! /projects/:id/trigger/pipeline`) on `gitlab_pipeline_ref`, with the run in its variables. The
//! run comes from the deploy branch `deploy/<run_id>/<source_sha>/<branch>` of the merge request
//! that merged the manifests commit (`GET …/repository/commits/:sha/merge_requests`), else from
//! the merge message (`Merge branch 'deploy/…' into 'main'`); both read on GitLab with the Git
//! host's token. The trigger token goes in the body as the request leaves, never into the state.

use super::github_actions::deploy_ref;
use super::{Flow, FlowError, Job, Orchestrator, OrchestratorKind, Step};
use crate::config::keys::{key, Key, Kind};
use crate::event::CommitId;
use crate::hosts::gitlab;
use crate::report::Outcome;
use crate::request::{Api, Credential, Request, Scheme, Target, TargetKind};
use crate::url::encode;
use serde_json::{json, Value};
use std::sync::Arc;

pub static API: Api = Api {
    name: "GitLab",
    headers: &[("Accept", "application/json")],
    auth: Some(Scheme::BodyToken),
    sign_in_page: false,
    secondary_rate_limit: false,
    repos_path: Some("/api/v4/projects/"),
    exchanged: None,
    same_status: None,
};

pub static TARGET: TargetKind = TargetKind {
    key: "gitlab-pipelines",
    api: &API,
    credential: Credential::Orchestrator,
    settings: "gitlab_url, gitlab_project (the manifests) and gitlab_pipeline_project, \
               gitlab_pipeline_ref",
    scopes: "it is a pipeline trigger token of the pipeline's project",
};

const KEYS: &[Key] = &[
    key(
        "gitlab_pipeline_project",
        Some("GITOPS_CONNECTOR_GITLAB_PIPELINE_PROJECT"),
        Kind::Text,
        "the project whose pipeline is triggered: its path or id (default: gitlab_project)",
    ),
    key(
        "gitlab_pipeline_ref",
        Some("GITOPS_CONNECTOR_GITLAB_PIPELINE_REF"),
        Kind::Text,
        "the branch or tag the triggered pipeline runs on (default main)",
    ),
];

pub static ORCHESTRATOR: OrchestratorKind = OrchestratorKind {
    names: &["gitlab"],
    keys: KEYS,
    target: &TARGET,
    build: |settings| {
        let base = settings
            .url("gitlab_url")?
            .unwrap_or_else(|| "https://gitlab.com".into());
        let manifests =
            settings.required("gitlab_project", "to read the merge request of a commit")?;
        Ok(Arc::new(Pipelines {
            api: format!("{base}/api/v4"),
            pipeline_project: settings
                .text("gitlab_pipeline_project")
                .map_or_else(|| manifests.clone(), str::to_string),
            manifests,
            git_ref: settings
                .text("gitlab_pipeline_ref")
                .unwrap_or("main")
                .to_string(),
        }))
    },
};

/// GitLab pipelines as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pipelines {
    /// `https://HOST/api/v4`.
    pub api: String,
    /// The manifests project, where the commit and its merge request are read.
    pub manifests: String,
    pub pipeline_project: String,
    pub git_ref: String,
}

impl Orchestrator for Pipelines {
    fn target(&self) -> Target {
        Target::Kind(&TARGET)
    }

    fn flow(&self, job: &Job, commit: Option<CommitId>) -> Result<Box<dyn Flow>, FlowError> {
        let commit = commit.ok_or_else(|| {
            FlowError::Malformed("a GitLab pipeline notification needs a commit".into())
        })?;
        Ok(Box::new(Trigger {
            pipelines: self.clone(),
            commit,
            outcome: job.outcome,
            superseded_by: job.superseded_by.clone(),
            message: None,
            asked: false,
        }))
    }
}

struct Trigger {
    pipelines: Pipelines,
    commit: CommitId,
    outcome: Outcome,
    superseded_by: Option<String>,
    /// The commit's message, once read.
    message: Option<String>,
    asked: bool,
}

impl Trigger {
    fn commit_url(&self) -> String {
        format!(
            "{}/projects/{}/repository/commits/{}",
            self.pipelines.api,
            encode(&self.pipelines.manifests),
            self.commit
        )
    }

    fn trigger(&self, run: Option<(String, String)>) -> Request {
        let (sha, run_id) = run.unzip();
        Request::post(
            Target::Kind(&TARGET),
            format!(
                "{}/projects/{}/trigger/pipeline",
                self.pipelines.api,
                encode(&self.pipelines.pipeline_project)
            ),
            json!({
                "ref": self.pipelines.git_ref,
                "variables": {
                    "GITOPS_SOURCE_SHA": sha.unwrap_or_default(),
                    "GITOPS_RUN_ID": run_id.unwrap_or_default(),
                    "GITOPS_OUTCOME": self.outcome.to_string(),
                    "GITOPS_COMMIT": self.commit.as_str(),
                    "GITOPS_SUPERSEDED_BY": self.superseded_by.clone().unwrap_or_default(),
                },
            }),
        )
    }
}

impl Flow for Trigger {
    fn next(&mut self, answer: Option<&Value>) -> Result<Step, FlowError> {
        // The reads go with the Git host's token: a trigger token reads nothing.
        let read = |url: String| Request::get(Target::Kind(&gitlab::STATUSES), url);
        match (&self.message, self.asked) {
            (None, false) => {
                self.asked = true;
                Ok(Step::Read(read(self.commit_url())))
            }
            (None, true) => {
                let message = answer
                    .and_then(|a| a.get("message"))
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        FlowError::Malformed("the commit answer has no message".into())
                    })?;
                self.message = Some(message.to_string());
                Ok(Step::Read(read(format!(
                    "{}/merge_requests",
                    self.commit_url()
                ))))
            }
            (Some(message), _) => {
                let from_mr = answer
                    .and_then(merged_source_branch)
                    .and_then(|b| deploy_ref(&b));
                let run = from_mr.or_else(|| merged_branch(message).and_then(|b| deploy_ref(&b)));
                Ok(Step::Send(self.trigger(run)))
            }
        }
    }
}

/// The source branch of the merged merge request among those GitLab lists for a commit.
fn merged_source_branch(mrs: &Value) -> Option<String> {
    mrs.as_array()?
        .iter()
        .find(|mr| mr.get("state").and_then(Value::as_str) == Some("merged"))?
        .get("source_branch")?
        .as_str()
        .map(str::to_string)
}

/// `Merge branch 'deploy/1/abc/main' into 'main'` → `deploy/1/abc/main`.
fn merged_branch(message: &str) -> Option<String> {
    let rest = message.split("Merge branch '").nth(1)?;
    rest.split('\'').next().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pipelines() -> Pipelines {
        Pipelines {
            api: "https://gitlab.com/api/v4".into(),
            manifests: "platform/fleet".into(),
            pipeline_project: "platform/app".into(),
            git_ref: "main".into(),
        }
    }

    #[test]
    fn the_run_comes_from_the_merge_request_else_the_message() {
        let commit = CommitId::parse(&"d".repeat(40)).unwrap();
        let job = Job::of_commit(commit.as_str(), Outcome::Success);
        let mut flow = pipelines().flow(&job, Some(commit.clone())).unwrap();
        let Step::Read(first) = flow.next(None).unwrap() else {
            panic!("reads first")
        };
        assert_eq!(
            first.url,
            format!(
                "https://gitlab.com/api/v4/projects/platform%2Ffleet/repository/commits/{commit}"
            )
        );
        assert_eq!(
            first.target.key(),
            "gitlab",
            "read with the Git host's token"
        );
        let message = json!({"message": "Merge branch 'deploy/55/feed42/main' into 'main'"});
        let Step::Read(mrs) = flow.next(Some(&message)).unwrap() else {
            panic!("then the merge requests")
        };
        assert!(mrs.url.ends_with("/merge_requests"));
        let Step::Send(send) = flow.next(Some(&json!([]))).unwrap() else {
            panic!("then the trigger")
        };
        assert_eq!(
            send.url,
            "https://gitlab.com/api/v4/projects/platform%2Fapp/trigger/pipeline"
        );
        let body = send.body.unwrap();
        assert_eq!(body["variables"]["GITOPS_RUN_ID"], "55");
        assert_eq!(body["variables"]["GITOPS_SOURCE_SHA"], "feed42");
        assert_eq!(body["variables"]["GITOPS_OUTCOME"], "success");
        assert!(
            body.get("token").is_none(),
            "the token is added as it leaves"
        );
        // A merged merge request wins over the message.
        let mr = json!([{"state": "merged", "source_branch": "deploy/77/beef/main"}]);
        assert_eq!(
            merged_source_branch(&mr).and_then(|b| deploy_ref(&b)),
            Some(("beef".into(), "77".into()))
        );
    }
}
