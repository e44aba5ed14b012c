//! Azure Pipelines: complete the agentless task that waits on the PR (PROTOCOL §3, §5).
//!
//! PR of the merge commit (the pull-request query; else the commit comment `Merged PR <n>: …`)
//! → `callback-task-id` property → plan and job checks → TaskCompleted.
//! The callback's `planurl` comes from a PR property anyone who can edit the PR can set, and the
//! request carries the token: it is sent only to the organisation's origin or a configured one.

use super::{Flow, FlowError, Job, Orchestrator, OrchestratorKind, Step};
use crate::config::keys::{key, Key, Kind};
use crate::event::CommitId;
use crate::hosts::azure::{self, repo_url, Repo, GIT_API_VERSION};
use crate::report::Outcome;
use crate::request::{Credential, Request, Target, TargetKind};
use crate::url::{encode, Origin};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

pub static TARGET: TargetKind = TargetKind {
    key: "azure-pipelines",
    api: &azure::API,
    credential: Credential::Orchestrator,
    settings: "azdo_org_url (AZDO_ORG_URL), azdo_manifests_repo (AZDO_GITOPS_REPO_NAME) and \
               azdo_pr_repo (AZDO_PR_REPO_NAME)",
    scopes: "it needs the Code (read) and Build (read & execute) scopes",
};

/// Its own keys; the organisation and manifests repository are named by Azure Repos' keys.
const KEYS: &[Key] = &[
    key(
        "azdo_pr_repo",
        Some("AZDO_PR_REPO_NAME"),
        Kind::Text,
        "repository whose PRs carry callback-task-id (default: the manifests repo)",
    ),
    key(
        "callback_origins",
        None,
        Kind::Urls,
        "extra origins (https://host[:port]) an Azure Pipelines planurl may point to",
    ),
];

pub static ORCHESTRATOR: OrchestratorKind = OrchestratorKind {
    names: &["azdo", "azure"],
    keys: KEYS,
    target: &TARGET,
    build: |settings| {
        let manifests = Repo::from_settings(settings, "to read the merge comment")?;
        let pr_repo = settings
            .text("azdo_pr_repo")
            .map_or_else(|| manifests.repo.clone(), str::to_string);
        let callback_origins = settings.list("callback_origins");
        for origin in &callback_origins {
            settings.check_url("callback_origins", origin)?;
        }
        Ok(Arc::new(Pipelines {
            manifests,
            pr_repo,
            callback_origins,
        }))
    },
};

/// Azure Pipelines as configured: where the PRs that carry the waiting task live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pipelines {
    /// The manifests repository: its commit comment names the PR.
    pub manifests: Repo,
    /// The repository whose PRs carry `callback-task-id`.
    pub pr_repo: String,
    /// Origins (`https://host[:port]`) besides the organisation's that a `planurl` may use.
    pub callback_origins: Vec<String>,
}

impl Orchestrator for Pipelines {
    fn target(&self) -> Target {
        Target::Kind(&TARGET)
    }

    fn flow(&self, job: &Job, commit: Option<CommitId>) -> Result<Box<dyn Flow>, FlowError> {
        let start = match (job.pr, commit) {
            (Some(pr), _) => Start::Pr(pr),
            (None, Some(commit)) => Start::Commit(commit),
            (None, None) => {
                return Err(FlowError::Malformed(
                    "an Azure Pipelines notification needs a commit or a PR".into(),
                ))
            }
        };
        let mut callback = Callback::new(self.clone(), start, job.outcome);
        callback.superseded_by.clone_from(&job.superseded_by);
        Ok(Box::new(callback))
    }

    fn waits_on_prs(&self) -> Option<&Pipelines> {
        Some(self)
    }
}

pub const PROPERTIES_API_VERSION: &str = "7.1-preview.1";
pub const TASK_API_VERSION: &str = "2.0-preview.1";
/// The build timeline (`Timeline - Get`, Build REST 7.1): read by following the plan's owner
/// link, which names no version of its own.
pub const BUILD_API_VERSION: &str = "7.1";
/// The pull-request query is a preview API.
pub const QUERY_API_VERSION: &str = "7.1-preview.1";

/// The PR whose merge made `commit`, from a pull-request query's answer:
/// `{"results": [{"<commit>": [{"pullRequestId": 42, …}]}]}`.
fn merged_by(answer: &Value, commit: &CommitId) -> Option<u64> {
    answer
        .pointer("/results/0")?
        .as_object()?
        .iter()
        .find(|(sha, _)| sha.eq_ignore_ascii_case(commit.as_str()))?
        .1
        .as_array()?
        .iter()
        .find_map(|pr| pr.get("pullRequestId").and_then(Value::as_u64))
}

pub enum Start {
    Commit(CommitId),
    Pr(u64),
}

/// The agentless task's parameters, as the pipeline stored them on the PR.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TaskCallback {
    pub taskid: String,
    pub jobid: String,
    pub planurl: String,
    pub planid: String,
    pub projectid: String,
    /// `System.HostType`; `build` unless the task names another (`release`).
    #[serde(default)]
    pub hub: Option<String>,
}

enum Stage {
    Start,
    /// The pull-request query for the commit; its comment is the fallback.
    AskedQuery(CommitId),
    AskedCommit,
    AskedProperties(u64),
    AskedPlan(TaskCallback),
    AskedTimeline(TaskCallback),
}

pub struct Callback {
    pipelines: Pipelines,
    outcome: Outcome,
    /// A skipped commit concluded with this newer one's end (said in the completion event).
    superseded_by: Option<String>,
    start: Option<Start>,
    stage: Stage,
    /// The task the completion tells, once the reads found it.
    task: Option<String>,
}

impl Callback {
    pub fn new(pipelines: Pipelines, start: Start, outcome: Outcome) -> Callback {
        Callback {
            pipelines,
            outcome,
            superseded_by: None,
            start: Some(start),
            stage: Stage::Start,
            task: None,
        }
    }

    fn properties(&self, pr: u64) -> Request {
        Request::get(
            Target::Kind(&TARGET),
            format!(
                "{}/pullRequests/{pr}/properties?api-version={PROPERTIES_API_VERSION}",
                repo_url(&self.pipelines.manifests.org_url, &self.pipelines.pr_repo)
            ),
        )
    }

    fn trusted(&self, url: &str, what: &str) -> Result<(), FlowError> {
        let origin = Origin::of(url)
            .ok_or_else(|| FlowError::Malformed(format!("{what} {url:?} is not a URL")))?;
        let allowed = std::iter::once(self.pipelines.manifests.org_url.as_str())
            .chain(self.pipelines.callback_origins.iter().map(String::as_str))
            .filter_map(Origin::of)
            .any(|o| o == origin);
        if allowed {
            Ok(())
        } else {
            Err(FlowError::Untrusted(format!(
                "{what} points to {}, which is neither the organisation's origin nor in callback_origins; \
                 refusing to send the token there",
                origin.as_str()
            )))
        }
    }
}

fn plan_base(cb: &TaskCallback) -> String {
    format!(
        "{}{}/_apis/distributedtask/hubs/{}/plans/{}",
        cb.planurl,
        encode(&cb.projectid),
        encode(cb.hub.as_deref().unwrap_or("build")),
        encode(&cb.planid)
    )
}

impl Flow for Callback {
    fn pipeline(&self) -> Option<String> {
        self.task.clone()
    }

    // One arm per stage of the flow, in the order the hosts are asked: split up, the order would
    // no longer be visible in one place.
    #[allow(clippy::too_many_lines)]
    fn next(&mut self, answer: Option<&Value>) -> Result<Step, FlowError> {
        let stage = std::mem::replace(&mut self.stage, Stage::Start);
        match stage {
            Stage::Start => match self.start.take() {
                Some(Start::Commit(commit)) => {
                    let query = Request::post(
                        Target::Kind(&TARGET),
                        format!(
                            "{}/pullrequestquery?api-version={QUERY_API_VERSION}",
                            repo_url(&self.pipelines.manifests.org_url, &self.pipelines.pr_repo)
                        ),
                        json!({"queries": [{"type": "lastMergeCommit", "items": [commit.as_str()]}]}),
                    );
                    self.stage = Stage::AskedQuery(commit);
                    Ok(Step::Read(query))
                }
                Some(Start::Pr(pr)) => {
                    self.stage = Stage::AskedProperties(pr);
                    Ok(Step::Read(self.properties(pr)))
                }
                None => Err(FlowError::Malformed("the flow was already run".into())),
            },
            Stage::AskedQuery(commit) => {
                if let Some(pr) = answer.and_then(|a| merged_by(a, &commit)) {
                    self.stage = Stage::AskedProperties(pr);
                    return Ok(Step::Read(self.properties(pr)));
                }
                // No PR merged it by the API's account: the merge comment may still name one.
                self.stage = Stage::AskedCommit;
                Ok(Step::Read(Request::get(
                    Target::Kind(&TARGET),
                    format!(
                        "{}/commits/{commit}?api-version={GIT_API_VERSION}",
                        repo_url(
                            &self.pipelines.manifests.org_url,
                            &self.pipelines.manifests.repo
                        )
                    ),
                )))
            }
            Stage::AskedCommit => {
                let comment = answer
                    .and_then(|a| a.get("comment"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                match merged_pr(comment) {
                    Some(pr) => {
                        self.stage = Stage::AskedProperties(pr);
                        Ok(Step::Read(self.properties(pr)))
                    }
                    None => Ok(Step::Nothing(format!(
                        "the commit comment names no PR (expected \"Merged PR <n>: …\", got {:?})",
                        first_line(comment)
                    ))),
                }
            }
            Stage::AskedProperties(pr) => match task_callback(answer.unwrap_or(&Value::Null)) {
                Ok(None) => Ok(Step::Nothing(format!(
                    "PR {pr} has no callback-task-id property: no task waits on it"
                ))),
                Ok(Some(cb)) => {
                    self.trusted(&cb.planurl, "planurl")?;
                    let read = Request::get(
                        Target::Kind(&TARGET),
                        format!("{}?api-version={TASK_API_VERSION}", plan_base(&cb)),
                    );
                    self.stage = Stage::AskedPlan(cb);
                    Ok(Step::Read(read))
                }
                Err(why) => Err(FlowError::Malformed(format!("PR {pr}: {why}"))),
            },
            Stage::AskedPlan(cb) => {
                let plan = answer.unwrap_or(&Value::Null);
                if plan.get("state").and_then(Value::as_str) == Some("completed") {
                    return Ok(Step::Nothing(format!(
                        "plan {} is already completed",
                        cb.planid
                    )));
                }
                match plan
                    .pointer("/owner/_links/self/href")
                    .and_then(Value::as_str)
                {
                    Some(owner) => {
                        let timeline = format!(
                            "{}/timeline?api-version={BUILD_API_VERSION}",
                            owner.trim_end_matches('/')
                        );
                        self.trusted(&timeline, "the plan's timeline URL")?;
                        self.stage = Stage::AskedTimeline(cb);
                        Ok(Step::Read(Request::get(Target::Kind(&TARGET), timeline)))
                    }
                    // No owner link to read the job from: the plan check is all we can do.
                    None => Ok(self.completion(&cb)),
                }
            }
            Stage::AskedTimeline(cb) => {
                let records = answer
                    .and_then(|a| a.get("records"))
                    .and_then(Value::as_array);
                let job_done = records.into_iter().flatten().any(|r| {
                    r.get("id")
                        .and_then(Value::as_str)
                        .is_some_and(|id| id.eq_ignore_ascii_case(&cb.jobid))
                        && r.get("state").and_then(Value::as_str) == Some("completed")
                });
                if job_done {
                    Ok(Step::Nothing(format!(
                        "job {} is already completed",
                        cb.jobid
                    )))
                } else {
                    Ok(self.completion(&cb))
                }
            }
        }
    }
}

impl Callback {
    fn completion(&mut self, cb: &TaskCallback) -> Step {
        self.task = Some(format!(
            "azure-task:{}/{}/{}",
            cb.planid, cb.jobid, cb.taskid
        ));
        let mut event = json!({
            "name": "TaskCompleted",
            "taskId": cb.taskid,
            "jobId": cb.jobid,
            "result": match self.outcome { Outcome::Success => "succeeded", Outcome::Failure => "failed" },
        });
        if let Some(newer) = &self.superseded_by {
            event["superseded_by"] = json!(newer);
        }
        Step::Send(Request::post(
            Target::Kind(&TARGET),
            format!("{}/events?api-version={TASK_API_VERSION}", plan_base(cb)),
            event,
        ))
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

/// `Merged PR 42: title` → 42.
pub fn merged_pr(comment: &str) -> Option<u64> {
    let rest = comment.trim_start().strip_prefix("Merged PR ")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The PR properties answer is a map; `callback-task-id.$value` is JSON inside a JSON string.
/// `Ok(None)`: no such property. `Err`: it is there but unusable.
pub fn task_callback(properties: &Value) -> Result<Option<TaskCallback>, String> {
    let Some(property) = properties.pointer("/value/callback-task-id") else {
        return Ok(None);
    };
    let raw = property
        .get("$value")
        .and_then(Value::as_str)
        .ok_or("the callback-task-id property has no string $value")?;
    let callback: TaskCallback = serde_json::from_str(raw)
        .map_err(|e| format!("the callback-task-id property is not the expected JSON: {e}"))?;
    if !callback.planurl.ends_with('/') {
        return Err(format!(
            "planurl {:?} must end with '/' (System.CollectionUri)",
            callback.planurl
        ));
    }
    Ok(Some(callback))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORG: &str = "https://dev.azure.com/org/proj";

    fn pipelines() -> Pipelines {
        Pipelines {
            manifests: Repo {
                org_url: ORG.into(),
                repo: "manifests".into(),
            },
            pr_repo: "hld".into(),
            callback_origins: vec![],
        }
    }

    fn properties(planurl: &str) -> Value {
        let task = json!({"taskid": "t1", "jobid": "J1", "planurl": planurl, "planid": "p1", "projectid": "proj-id", "pr_num": "42"});
        json!({"count": 1, "value": {"callback-task-id": {"$type": "System.String", "$value": task.to_string()}}})
    }

    fn commit() -> CommitId {
        CommitId::parse("40d6b21b888db0ca794876cf7bdd399e3da2137e").unwrap()
    }

    fn read(step: Step) -> Request {
        match step {
            Step::Read(r) => r,
            other => panic!("expected a read, got {other:?}"),
        }
    }

    #[test]
    fn the_whole_chain_ends_in_task_completed() {
        let mut flow = Callback::new(pipelines(), Start::Commit(commit()), Outcome::Success);
        let r = read(flow.next(None).unwrap());
        assert_eq!(
            r.url,
            format!("{ORG}/_apis/git/repositories/hld/pullrequestquery?api-version=7.1-preview.1")
        );
        assert_eq!(
            r.body.unwrap(),
            json!({"queries": [{"type": "lastMergeCommit", "items": [commit().as_str()]}]})
        );
        // A squash merge or a batched message: the query names the PR all the same.
        let found =
            json!({"queries": [], "results": [{commit().as_str(): [{"pullRequestId": 42}]}]});
        let r = read(flow.next(Some(&found)).unwrap());
        assert_eq!(r.url, format!("{ORG}/_apis/git/repositories/hld/pullRequests/42/properties?api-version=7.1-preview.1"));
        let r = read(
            flow.next(Some(&properties("https://dev.azure.com/org/")))
                .unwrap(),
        );
        assert_eq!(r.url, "https://dev.azure.com/org/proj-id/_apis/distributedtask/hubs/build/plans/p1?api-version=2.0-preview.1");
        let plan = json!({"state": "inProgress", "owner": {"_links": {"self": {"href": "https://dev.azure.com/org/proj-id/_apis/build/Builds/7"}}}});
        let r = read(flow.next(Some(&plan)).unwrap());
        assert_eq!(
            r.url,
            "https://dev.azure.com/org/proj-id/_apis/build/Builds/7/timeline?api-version=7.1"
        );
        let timeline = json!({"records": [{"id": "j1", "state": "inProgress"}]});
        let Step::Send(send) = flow.next(Some(&timeline)).unwrap() else {
            panic!()
        };
        assert_eq!(flow.pipeline().as_deref(), Some("azure-task:p1/J1/t1"));
        assert_eq!(send.url, "https://dev.azure.com/org/proj-id/_apis/distributedtask/hubs/build/plans/p1/events?api-version=2.0-preview.1");
        assert_eq!(
            send.body.unwrap(),
            json!({"name": "TaskCompleted", "taskId": "t1", "jobId": "J1", "result": "succeeded"})
        );
    }

    #[test]
    fn every_nothing_to_do_case_says_why() {
        let mut flow = Callback::new(pipelines(), Start::Commit(commit()), Outcome::Failure);
        flow.next(None).unwrap();
        let none = json!({"results": [{commit().as_str(): []}]});
        let r = read(flow.next(Some(&none)).unwrap());
        assert_eq!(
            r.url,
            format!(
                "{ORG}/_apis/git/repositories/manifests/commits/{}?api-version=6.0",
                commit()
            ),
            "no PR by the API: the merge comment is read"
        );
        let Step::Nothing(why) = flow.next(Some(&json!({"comment": "Bump"}))).unwrap() else {
            panic!()
        };
        assert!(why.contains("names no PR"));

        // The comment fallback names the PR.
        let mut flow = Callback::new(pipelines(), Start::Commit(commit()), Outcome::Failure);
        flow.next(None).unwrap();
        flow.next(Some(&none)).unwrap();
        let r = read(
            flow.next(Some(&json!({"comment": "Merged PR 42: deploy"})))
                .unwrap(),
        );
        assert!(r.url.contains("/pullRequests/42/properties"));

        let mut flow = Callback::new(pipelines(), Start::Pr(42), Outcome::Failure);
        flow.next(None).unwrap();
        let Step::Nothing(why) = flow.next(Some(&json!({"count": 0, "value": {}}))).unwrap() else {
            panic!()
        };
        assert!(why.contains("no callback-task-id"));

        let mut flow = Callback::new(pipelines(), Start::Pr(42), Outcome::Failure);
        flow.next(None).unwrap();
        flow.next(Some(&properties("https://dev.azure.com/org/")))
            .unwrap();
        let Step::Nothing(why) = flow.next(Some(&json!({"state": "completed"}))).unwrap() else {
            panic!()
        };
        assert!(why.contains("plan p1 is already completed"));
    }

    #[test]
    fn a_foreign_planurl_is_refused() {
        let mut flow = Callback::new(pipelines(), Start::Pr(42), Outcome::Success);
        flow.next(None).unwrap();
        let err = flow
            .next(Some(&properties("https://evil.example/")))
            .unwrap_err();
        assert!(
            matches!(err, FlowError::Untrusted(ref m) if m.contains("https://evil.example:443")),
            "{err:?}"
        );
        let mut allowed = pipelines();
        allowed.callback_origins.push("https://evil.example".into());
        let mut flow = Callback::new(allowed, Start::Pr(42), Outcome::Success);
        flow.next(None).unwrap();
        assert!(matches!(
            flow.next(Some(&properties("https://evil.example/")))
                .unwrap(),
            Step::Read(_)
        ));
    }

    #[test]
    fn malformed_properties_are_errors_not_silence() {
        let bad = json!({"value": {"callback-task-id": {"$value": "{not json"}}});
        assert!(task_callback(&bad)
            .unwrap_err()
            .contains("not the expected JSON"));
        assert_eq!(merged_pr("Merged PR 17: x"), Some(17));
        assert_eq!(merged_pr("Merge PR 17"), None);
    }

    #[test]
    fn the_hub_comes_from_the_task_json() {
        let task = json!({"taskid": "t", "jobid": "j", "planurl": "https://dev.azure.com/org/", "planid": "p", "projectid": "x", "hub": "release"});
        let props = json!({"value": {"callback-task-id": {"$value": task.to_string()}}});
        let cb = task_callback(&props).unwrap().unwrap();
        assert!(plan_base(&cb).contains("/hubs/release/plans/p"));
    }
}
