//! GitHub Actions: `repository_dispatch` carrying the source commit and run id of the deploy
//! branch `deploy/<run_id>/<source_sha>/<branch>` (PROTOCOL §3). The branch is the head of the
//! PR that GitHub says merged the manifests commit (`GET …/commits/{sha}/pulls`), so squash merges
//! and edited messages work; the merge message is the fallback when GitHub knows no such PR.

use super::{Flow, FlowError, Job, Orchestrator, OrchestratorKind, Step};
use crate::config::keys::{key, Key, Kind};
use crate::event::CommitId;
use crate::hosts::github::{self, repo_url, Repo};
use crate::report::Outcome;
use crate::request::{Credential, Request, Target, TargetKind};
use crate::url::encode;
use serde_json::{json, Value};
use std::sync::Arc;

pub static TARGET: TargetKind = TargetKind {
    key: "github-actions",
    api: &github::API,
    credential: Credential::Orchestrator,
    settings:
        "github_org_url (GITHUB_ORG_URL), github_manifests_repo \
               (GITHUB_GITOPS_MANIFEST_REPO_NAME) and github_actions_repo (GITHUB_GITOPS_REPO_NAME)",
    scopes: "it needs the repo scope (classic), or Contents: write on the actions repository and \
             Contents: read and Pull requests: read on the manifests repository (fine-grained)",
};

/// Its own keys; the manifests repository is named by the GitHub host's keys.
const KEYS: &[Key] = &[
    key(
        "github_actions_repo",
        Some("GITHUB_GITOPS_REPO_NAME"),
        Kind::Text,
        "GitHub repository that receives repository_dispatch",
    ),
    key(
        "dispatch_event",
        Some("GITOPS_CONNECTOR_DISPATCH_EVENT"),
        Kind::Text,
        "event_type of the success dispatch (default sync-success)",
    ),
    key(
        "failure_dispatch_event",
        Some("GITOPS_CONNECTOR_FAILURE_DISPATCH_EVENT"),
        Kind::Text,
        "event_type of a failure dispatch; unset: no dispatch on failure",
    ),
];

pub static ORCHESTRATOR: OrchestratorKind = OrchestratorKind {
    names: &["github"],
    keys: KEYS,
    target: &TARGET,
    build: |settings| {
        Ok(Arc::new(Actions {
            manifests: Repo::from_settings(settings, "to read the merge message")?,
            actions_repo: settings
                .required("github_actions_repo", "when orchestrator is github")?,
            dispatch_event: event_type(settings, "dispatch_event")?
                .unwrap_or("sync-success")
                .to_string(),
            failure_dispatch_event: event_type(settings, "failure_dispatch_event")?
                .map(str::to_string),
            workflow: None,
        }))
    },
};

/// GitHub takes a `repository_dispatch` `event_type` of at most 100 characters (its REST
/// description's `maxLength`): a longer one is refused at load, not at the first dispatch.
const MAX_EVENT_TYPE_CHARS: usize = 100;

fn event_type<'a>(
    settings: &'a crate::config::Settings,
    key: &str,
) -> Result<Option<&'a str>, crate::config::ConfigError> {
    match settings.text(key) {
        Some(value) if value.chars().count() > MAX_EVENT_TYPE_CHARS => {
            Err(settings.error(&format!(
            "`{key}` is {} characters; GitHub takes a repository_dispatch event_type of at most \
             {MAX_EVENT_TYPE_CHARS}",
            value.chars().count()
        )))
        }
        value => Ok(value),
    }
}

pub static WORKFLOW_TARGET: TargetKind = TargetKind {
    key: "github-workflow",
    api: &github::API,
    credential: Credential::Orchestrator,
    settings: "github_org_url (GITHUB_ORG_URL), github_manifests_repo, github_actions_repo, \
               github_workflow and github_workflow_ref",
    scopes:
        "it needs Actions: write on the actions repository and Contents: read and Pull \
             requests: read on the manifests repository (fine-grained), or the repo scope (classic)",
};

const WORKFLOW_KEYS: &[Key] = &[
    key(
        "github_workflow",
        Some("GITOPS_CONNECTOR_GITHUB_WORKFLOW"),
        Kind::Text,
        "the workflow `github-workflow` runs by workflow_dispatch: its file name (deployed.yml) or id",
    ),
    key(
        "github_workflow_ref",
        Some("GITOPS_CONNECTOR_GITHUB_WORKFLOW_REF"),
        Kind::Text,
        "the branch or tag that workflow runs on (default main)",
    ),
];

/// GitHub Actions told by `workflow_dispatch` of one workflow, with the run in its inputs.
pub static WORKFLOW_ORCHESTRATOR: OrchestratorKind = OrchestratorKind {
    names: &["github-workflow"],
    keys: WORKFLOW_KEYS,
    target: &WORKFLOW_TARGET,
    build: |settings| {
        let why = "when orchestrator is github-workflow";
        Ok(Arc::new(Actions {
            manifests: Repo::from_settings(settings, "to read the merge message")?,
            actions_repo: settings.required("github_actions_repo", why)?,
            dispatch_event: String::new(),
            failure_dispatch_event: None,
            workflow: Some(Workflow {
                file: settings.required("github_workflow", why)?,
                git_ref: settings
                    .text("github_workflow_ref")
                    .unwrap_or("main")
                    .to_string(),
            }),
        }))
    },
};

/// GitHub Actions as configured: where the dispatch goes and what it is called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actions {
    /// Where the manifests commit (and its merge message) is read.
    pub manifests: Repo,
    /// Where `repository_dispatch` goes.
    pub actions_repo: String,
    pub dispatch_event: String,
    pub failure_dispatch_event: Option<String>,
    /// `workflow_dispatch` of this workflow instead of `repository_dispatch`.
    pub workflow: Option<Workflow>,
}

/// A workflow run by `workflow_dispatch` (`orchestrator = "github-workflow"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workflow {
    /// Its file name (`deployed.yml`) or id.
    pub file: String,
    /// The branch or tag it runs on.
    pub git_ref: String,
}

impl Actions {
    fn target_kind(&self) -> &'static TargetKind {
        if self.workflow.is_some() {
            &WORKFLOW_TARGET
        } else {
            &TARGET
        }
    }
}

impl Orchestrator for Actions {
    fn target(&self) -> Target {
        Target::Kind(self.target_kind())
    }

    fn flow(&self, job: &Job, commit: Option<CommitId>) -> Result<Box<dyn Flow>, FlowError> {
        match commit {
            Some(commit) => {
                let mut dispatch = Dispatch::new(self.clone(), commit, job.outcome);
                dispatch.superseded_by.clone_from(&job.superseded_by);
                dispatch.job = job.clone();
                Ok(Box::new(dispatch))
            }
            None => Err(FlowError::Malformed(
                "a GitHub Actions notification needs a commit".into(),
            )),
        }
    }
}

pub struct Dispatch {
    actions: Actions,
    commit: CommitId,
    outcome: Outcome,
    /// A skipped commit concluded with this newer one's end (`client_payload.superseded_by`).
    superseded_by: Option<String>,
    stage: Stage,
    /// The run the notification tells and the PR it waits on, once the reads named them.
    run: Option<String>,
    /// Why no run was found, when none was.
    note: Option<String>,
    /// The notification's job: `of_pr` names the merged PR whose run it tells, when several
    /// wait on the commit.
    job: Job,
}

enum Stage {
    Start,
    /// The commit (for its message) and the pull requests that contain it, read at once.
    Asked,
}

impl Dispatch {
    pub fn new(actions: Actions, commit: CommitId, outcome: Outcome) -> Dispatch {
        let job = Job::of_commit(commit.as_str(), outcome);
        Dispatch {
            actions,
            commit,
            outcome,
            superseded_by: None,
            stage: Stage::Start,
            run: None,
            note: None,
            job,
        }
    }

    fn event_type(&self) -> Option<&str> {
        match self.outcome {
            Outcome::Success => Some(&self.actions.dispatch_event),
            Outcome::Failure => self.actions.failure_dispatch_event.as_deref(),
        }
    }

    /// The notification: `repository_dispatch` with the run in `client_payload`, or a
    /// workflow's `workflow_dispatch` with it in `inputs` (strings, every one always sent, so
    /// that the workflow can declare them all).
    fn notification(
        &self,
        event_type: &str,
        sha: Option<String>,
        run_id: Option<String>,
        message: &str,
    ) -> Request {
        let repo = format!(
            "{}/repos/{}/{}",
            self.actions.manifests.api,
            encode(&self.actions.manifests.owner),
            encode(&self.actions.actions_repo)
        );
        let target = Target::Kind(self.actions.target_kind());
        if let Some(workflow) = &self.actions.workflow {
            return Request::post(
                target,
                format!(
                    "{repo}/actions/workflows/{}/dispatches",
                    encode(&workflow.file)
                ),
                json!({
                    "ref": workflow.git_ref,
                    "inputs": {
                        "sha": sha.unwrap_or_default(),
                        "runid": run_id.unwrap_or_default(),
                        "outcome": self.outcome.to_string(),
                        "commit": self.commit.as_str(),
                        "superseded_by": self.superseded_by.clone().unwrap_or_default(),
                    },
                }),
            );
        }
        let mut payload = json!({ "sha": sha, "runid": run_id, "commitmessage": message });
        if let Some(newer) = &self.superseded_by {
            payload["superseded_by"] = json!(newer);
        }
        Request::post(
            target,
            format!("{repo}/dispatches"),
            json!({ "event_type": event_type, "client_payload": payload }),
        )
    }
}

impl Flow for Dispatch {
    fn pipeline(&self) -> Option<String> {
        self.run.as_ref().map(|run| format!("github-run:{run}"))
    }

    fn note(&self) -> Option<String> {
        self.note.clone()
    }

    fn next(&mut self, answer: Option<&Value>) -> Result<Step, FlowError> {
        let event_type = match (&self.actions.workflow, self.event_type()) {
            (Some(_), _) => Some(String::new()),
            (None, event_type) => event_type.map(str::to_string),
        };
        let Some(event_type) = event_type else {
            return Ok(Step::Nothing(
                "the deployment failed and no failure_dispatch_event is configured".into(),
            ));
        };
        match std::mem::replace(&mut self.stage, Stage::Start) {
            Stage::Start => {
                self.stage = Stage::Asked;
                let commit = format!(
                    "{}/commits/{}",
                    repo_url(&self.actions.manifests),
                    self.commit
                );
                let target = || Target::Kind(self.actions.target_kind());
                Ok(Step::Reads(vec![
                    Request::get(target(), commit.clone()),
                    Request::get(target(), format!("{commit}/pulls")),
                ]))
            }
            Stage::Asked => self.told(answer, &event_type),
        }
    }
}

impl Dispatch {
    /// With the commit and its PRs read: the notification (or one per run waiting on the
    /// commit, or nothing for a PR no longer listed).
    fn told(&mut self, answer: Option<&Value>, event_type: &str) -> Result<Step, FlowError> {
        let message = answer
            .and_then(|a| a.pointer("/0/commit/message"))
            .and_then(Value::as_str)
            .ok_or_else(|| {
                FlowError::Malformed("the commit answer has no commit.message".into())
            })?;
        let prs = answer
            .and_then(|a| a.get(1))
            .map(merged_prs)
            .unwrap_or_default();
        // Several runs wait on this commit (it is in several merged PRs, each from a
        // deploy branch of its own run): one notification each.
        if self.job.of_pr.is_none() {
            if let Some(fan) = self.fan(&prs) {
                return Ok(fan);
            }
        }
        let merged = match self.job.of_pr {
            Some(n) => match prs.iter().find(|(pr, _)| *pr == Some(n)) {
                Some(pr) => Some(pr.clone()),
                None => {
                    return Ok(Step::Nothing(format!(
                        "GitHub no longer lists {} in a merged PR #{n}",
                        self.commit.short()
                    )))
                }
            },
            None => prs.first().cloned(),
        };
        let from_pr = merged
            .as_ref()
            .and_then(|(pr, head)| deploy_ref(head).map(|(sha, run)| (sha, run, *pr)));
        let (sha, run_id, pr) = match from_pr {
            Some((sha, run, pr)) => (Some(sha), Some(run), pr),
            None => match deploy_branch(message) {
                Some((sha, run)) => (Some(sha), Some(run), merged_pr_number(message)),
                None => (None, None, None),
            },
        };
        // The run waits on its PR: a run that opened another PR (a re-run keeps its id)
        // waits again, and is told again.
        self.run = run_id.as_ref().map(|run| match pr {
            Some(pr) => format!("{run}/pr-{pr}"),
            None => run.clone(),
        });
        if run_id.is_none() {
            let pulls = match &merged {
                Some((Some(n), head)) => format!("its merged PR #{n} has branch {head:?}"),
                Some((None, head)) => format!("its merged PR has branch {head:?}"),
                None => "GitHub lists no merged PR for it".to_string(),
            };
            self.note = Some(format!(
                "no waiting run found for {}: {pulls}, and its message begins {:?}; \
                 neither follows deploy/<run_id>/<sha>/<branch>, so the dispatch carries \
                 a null run and sha",
                self.commit.short(),
                message.lines().next().unwrap_or("")
            ));
        }
        Ok(Step::Send(
            self.notification(event_type, sha, run_id, message),
        ))
    }
}

/// The head branch of the merged PR among those GitHub lists for a commit.
/// The merged PRs among those GitHub lists for a commit: (number, head branch), in its order.
fn merged_prs(pulls: &Value) -> Vec<(Option<u64>, String)> {
    pulls
        .as_array()
        .into_iter()
        .flatten()
        .filter(|pr| pr.get("merged_at").is_some_and(|m| !m.is_null()))
        .filter_map(|pr| {
            let head = pr.pointer("/head/ref")?.as_str()?.to_string();
            Some((pr.get("number").and_then(Value::as_u64), head))
        })
        .collect()
}

impl Dispatch {
    /// A notification for each merged PR whose deploy branch names a run of its own, when
    /// there are several.
    fn fan(&self, prs: &[(Option<u64>, String)]) -> Option<Step> {
        let mut runs: Vec<(u64, String)> = Vec::new();
        for (pr, head) in prs {
            if let (Some(pr), Some((_, run))) = (pr, deploy_ref(head)) {
                if !runs.iter().any(|(_, r)| *r == run) {
                    runs.push((*pr, run));
                }
            }
        }
        if runs.len() < 2 {
            return None;
        }
        let jobs = runs
            .iter()
            .map(|(pr, _)| Job {
                of_pr: Some(*pr),
                ..self.job.clone()
            })
            .collect();
        let named: Vec<String> = runs
            .iter()
            .map(|(pr, run)| format!("run {run} (PR #{pr})"))
            .collect();
        Some(Step::Fan(
            jobs,
            format!(
                "{} runs wait on {}: one notification each, {}",
                runs.len(),
                self.commit.short(),
                named.join(", ")
            ),
        ))
    }
}

/// `Merge pull request #42 from …` → 42.
fn merged_pr_number(message: &str) -> Option<u64> {
    let rest = message.strip_prefix("Merge pull request #")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// `deploy/<run_id>/<source_sha>/<branch>` → (source sha, run id).
pub fn deploy_ref(head: &str) -> Option<(String, String)> {
    deploy_branch(&format!("x/{head}"))
}

/// `Merge pull request #42 from org/deploy/<run_id>/<source_sha>/<branch>` → (source sha, run id).
/// `None` when the message does not follow the convention; the dispatch then carries nulls.
pub fn deploy_branch(message: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = message.split('/').collect();
    if parts.len() < 4 || parts[1] != "deploy" {
        return None;
    }
    let (run_id, sha) = (parts[2], parts[3]);
    let run_ok = !run_id.is_empty() && run_id.bytes().all(|b| b.is_ascii_digit());
    let sha_ok = !sha.is_empty() && sha.bytes().all(|b| b.is_ascii_alphanumeric());
    (run_ok && sha_ok).then(|| (sha.to_string(), run_id.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actions(failure: Option<&str>) -> Actions {
        Actions {
            manifests: Repo {
                api: "https://api.github.com".into(),
                owner: "org".into(),
                repo: "manifests".into(),
            },
            actions_repo: "app".into(),
            dispatch_event: "sync-success".into(),
            failure_dispatch_event: failure.map(str::to_string),
            workflow: None,
        }
    }

    fn commit() -> CommitId {
        CommitId::parse("40d6b21b888db0ca794876cf7bdd399e3da2137e").unwrap()
    }

    #[test]
    fn several_runs_waiting_on_one_commit_each_get_a_notification_of_their_own() {
        let pulls = json!([
            {"number": 7, "merged_at": "x", "head": {"ref": "deploy/111/aaa/main"}},
            {"number": 8, "merged_at": "x", "head": {"ref": "deploy/222/bbb/main"}},
            {"number": 9, "merged_at": "x", "head": {"ref": "deploy/111/ccc/main"}}
        ]);
        let answers = json!([{"commit": {"message": "Merge"}}, pulls]);
        let mut flow = Dispatch::new(actions(None), commit(), Outcome::Success);
        flow.next(None).unwrap();
        let Step::Fan(jobs, why) = flow.next(Some(&answers)).unwrap() else {
            panic!()
        };
        let prs: Vec<Option<u64>> = jobs.iter().map(|j| j.of_pr).collect();
        assert_eq!(prs, [Some(7), Some(8)], "one per run, the first PR of each");
        assert_eq!(
            why,
            "2 runs wait on 40d6b21: one notification each, run 111 (PR #7), run 222 (PR #8)"
        );
        // Each of them tells its own run, and never fans out again.
        let mut one = Dispatch::new(actions(None), commit(), Outcome::Success);
        one.job = jobs[1].clone();
        one.next(None).unwrap();
        let Step::Send(send) = one.next(Some(&answers)).unwrap() else {
            panic!()
        };
        assert_eq!(send.body.unwrap()["client_payload"]["runid"], "222");
        assert_eq!(one.pipeline().as_deref(), Some("github-run:222/pr-8"));
    }

    #[test]
    fn success_reads_the_merge_message_then_dispatches_its_run_and_sha() {
        let mut flow = Dispatch::new(actions(None), commit(), Outcome::Success);
        let Step::Reads(reads) = flow.next(None).unwrap() else {
            panic!()
        };
        let urls: Vec<&str> = reads.iter().map(|r| r.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "https://api.github.com/repos/org/manifests/commits/40d6b21b888db0ca794876cf7bdd399e3da2137e",
                "https://api.github.com/repos/org/manifests/commits/40d6b21b888db0ca794876cf7bdd399e3da2137e/pulls"
            ]
        );
        let message = "Merge pull request #42 from org/deploy/987654/c0ffee12/main";
        let Step::Send(send) = flow
            .next(Some(&json!([{"commit": {"message": message}}, []])))
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(send.url, "https://api.github.com/repos/org/app/dispatches");
        assert_eq!(flow.pipeline().as_deref(), Some("github-run:987654/pr-42"));
        assert_eq!(
            send.body.unwrap(),
            json!({"event_type": "sync-success", "client_payload": {"sha": "c0ffee12", "runid": "987654", "commitmessage": message}})
        );
    }

    #[test]
    fn an_odd_message_still_dispatches_with_nulls() {
        let mut flow = Dispatch::new(actions(None), commit(), Outcome::Success);
        flow.next(None).unwrap();
        let Step::Send(send) = flow
            .next(Some(&json!([{"commit": {"message": "Bump podinfo"}}, []])))
            .unwrap()
        else {
            panic!()
        };
        let payload = &send.body.unwrap()["client_payload"];
        assert!(payload["sha"].is_null() && payload["runid"].is_null());
    }

    #[test]
    fn failure_sends_nothing_unless_opted_in() {
        let mut flow = Dispatch::new(actions(None), commit(), Outcome::Failure);
        assert!(matches!(flow.next(None).unwrap(), Step::Nothing(_)));
        let mut flow = Dispatch::new(actions(Some("sync-failure")), commit(), Outcome::Failure);
        flow.next(None).unwrap();
        let Step::Send(send) = flow
            .next(Some(&json!([{"commit": {"message": "m"}}, []])))
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(send.body.unwrap()["event_type"], "sync-failure");
    }

    #[test]
    fn a_squash_merge_is_found_through_the_merged_prs_head_branch() {
        let mut flow = Dispatch::new(actions(None), commit(), Outcome::Success);
        flow.next(None).unwrap();
        let message = "Deploy app (#42)";
        let pulls = json!([
            {"number": 41, "merged_at": null, "head": {"ref": "deploy/1/aaaa/main"}},
            {"number": 42, "merged_at": "2025-06-02T09:00:00Z", "head": {"ref": "deploy/987654/c0ffee12/main"}}
        ]);
        let Step::Send(send) = flow
            .next(Some(&json!([{"commit": {"message": message}}, pulls])))
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(
            send.body.unwrap()["client_payload"],
            json!({"sha": "c0ffee12", "runid": "987654", "commitmessage": message})
        );
    }
}
