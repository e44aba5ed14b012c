//! GitHub Actions: `repository_dispatch` carrying the source commit and run id that the
//! deploy-branch convention put into the merge message (PROTOCOL §3).

use super::{Flow, FlowError, Step};
use crate::config::GitHubActions;
use crate::event::CommitId;
use crate::hosts::github::repo_url;
use crate::report::Outcome;
use crate::request::{Request, Target};
use crate::url::encode;
use serde_json::{json, Value};

pub struct Dispatch {
    actions: GitHubActions,
    commit: CommitId,
    outcome: Outcome,
    asked: bool,
}

impl Dispatch {
    pub fn new(actions: GitHubActions, commit: CommitId, outcome: Outcome) -> Dispatch {
        Dispatch {
            actions,
            commit,
            outcome,
            asked: false,
        }
    }

    fn event_type(&self) -> Option<&str> {
        match self.outcome {
            Outcome::Success => Some(&self.actions.dispatch_event),
            Outcome::Failure => self.actions.failure_dispatch_event.as_deref(),
        }
    }
}

impl Flow for Dispatch {
    fn next(&mut self, answer: Option<&Value>) -> Result<Step, FlowError> {
        let Some(event_type) = self.event_type().map(str::to_string) else {
            return Ok(Step::Nothing(
                "the deployment failed and no failure_dispatch_event is configured".into(),
            ));
        };
        if !self.asked {
            self.asked = true;
            return Ok(Step::Read(Request::get(
                Target::GithubActions,
                format!(
                    "{}/commits/{}",
                    repo_url(&self.actions.manifests),
                    self.commit
                ),
            )));
        }
        let message = answer
            .and_then(|a| a.pointer("/commit/message"))
            .and_then(Value::as_str)
            .ok_or_else(|| {
                FlowError::Malformed("the commit answer has no commit.message".into())
            })?;
        let (sha, run_id) = deploy_branch(message).unzip();
        let url = format!(
            "{}/repos/{}/{}/dispatches",
            self.actions.manifests.api,
            encode(&self.actions.manifests.owner),
            encode(&self.actions.actions_repo)
        );
        Ok(Step::Send(Request::post(
            Target::GithubActions,
            url,
            json!({
                "event_type": event_type,
                "client_payload": { "sha": sha, "runid": run_id, "commitmessage": message },
            }),
        )))
    }
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
    use crate::config::GitHubRepo;

    fn actions(failure: Option<&str>) -> GitHubActions {
        GitHubActions {
            manifests: GitHubRepo {
                api: "https://api.github.com".into(),
                owner: "org".into(),
                repo: "manifests".into(),
            },
            actions_repo: "app".into(),
            dispatch_event: "sync-success".into(),
            failure_dispatch_event: failure.map(str::to_string),
        }
    }

    fn commit() -> CommitId {
        CommitId::parse("40d6b21b888db0ca794876cf7bdd399e3da2137e").unwrap()
    }

    #[test]
    fn success_reads_the_merge_message_then_dispatches_its_run_and_sha() {
        let mut flow = Dispatch::new(actions(None), commit(), Outcome::Success);
        let Step::Read(read) = flow.next(None).unwrap() else {
            panic!()
        };
        assert_eq!(read.url, "https://api.github.com/repos/org/manifests/commits/40d6b21b888db0ca794876cf7bdd399e3da2137e");
        let message = "Merge pull request #42 from org/deploy/987654/c0ffee12/main";
        let Step::Send(send) = flow
            .next(Some(&json!({"commit": {"message": message}})))
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(send.url, "https://api.github.com/repos/org/app/dispatches");
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
            .next(Some(&json!({"commit": {"message": "Bump podinfo"}})))
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
            .next(Some(&json!({"commit": {"message": "m"}})))
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(send.body.unwrap()["event_type"], "sync-failure");
    }
}
