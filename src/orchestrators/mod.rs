//! Telling the orchestrator that a deployment ended (PROTOCOL §3, §5).
//!
//! Each flow is a small state machine over the hosts' answers: it asks for a read, then another,
//! and ends with the one request that notifies, or with the reason there is nothing to notify.
//! No I/O here: the outbox drives a flow with real answers, tests with canned ones.

pub mod azure_pipelines;
pub mod github_actions;

use crate::config::{Instance, Orchestrator};
use crate::event::CommitId;
use crate::report::Outcome;
use crate::request::Request;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Read this and pass the answer to the next call.
    Read(Request),
    /// The notification itself; the flow is over once it is delivered.
    Send(Request),
    /// Nothing to notify, and why (reported, never silent).
    Nothing(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowError {
    /// A URL from a host's answer would carry the token to an origin we do not trust (exit 77).
    Untrusted(String),
    /// An answer we cannot use (bad JSON in the callback property, a missing field).
    Malformed(String),
}

impl std::fmt::Display for FlowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FlowError::Untrusted(m) | FlowError::Malformed(m) => f.write_str(m),
        }
    }
}

/// What a queued notification is: stored as JSON in the outbox, rebuilt into a flow to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub outcome: Outcome,
    pub commit: Option<String>,
    /// Set when the PR is already known (abandoned PRs, `poll-prs`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub pr: Option<u64>,
}

pub trait Flow {
    /// `answer` is the body of the last `Read`, `None` on the first call.
    fn next(&mut self, answer: Option<&Value>) -> Result<Step, FlowError>;
}

/// The flow that delivers `job` for `instance`'s orchestrator.
pub fn flow(instance: &Instance, job: &Job) -> Result<Box<dyn Flow>, FlowError> {
    let commit = match &job.commit {
        Some(c) => Some(
            CommitId::parse(c)
                .ok_or_else(|| FlowError::Malformed(format!("job commit {c:?} is not 40 hex")))?,
        ),
        None => None,
    };
    match &instance.orchestrator {
        Orchestrator::GitHubActions(actions) => match commit {
            Some(commit) => Ok(Box::new(github_actions::Dispatch::new(
                actions.clone(),
                commit,
                job.outcome,
            ))),
            None => Err(FlowError::Malformed(
                "a GitHub Actions notification needs a commit".into(),
            )),
        },
        Orchestrator::AzurePipelines(pipelines) => {
            let start = match (job.pr, commit) {
                (Some(pr), _) => azure_pipelines::Start::Pr(pr),
                (None, Some(commit)) => azure_pipelines::Start::Commit(commit),
                (None, None) => {
                    return Err(FlowError::Malformed(
                        "an Azure Pipelines notification needs a commit or a PR".into(),
                    ))
                }
            };
            Ok(Box::new(azure_pipelines::Callback::new(
                pipelines.clone(),
                start,
                job.outcome,
            )))
        }
    }
}
