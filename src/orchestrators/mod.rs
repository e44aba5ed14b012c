//! Telling the orchestrator that a deployment ended (PROTOCOL §3, §5).
//!
//! Each flow is a small state machine over the hosts' answers: it asks for a read, then another,
//! and ends with the one request that notifies, or with the reason there is nothing to notify.
//! No I/O here: the outbox drives a flow with real answers, tests with canned ones.
//!
//! An orchestrator is one file here: its settings, its [`TargetKind`], an [`Orchestrator`] that
//! starts a flow per job, and an [`OrchestratorKind`] that reads it from the configuration; then
//! one line in [`ORCHESTRATORS`].

pub mod azure_pipelines;
pub mod github_actions;
pub mod gitlab_pipelines;
pub mod webhook;

use crate::config::keys::Key;
use crate::config::{ConfigError, Instance, Settings};
use crate::event::CommitId;
use crate::report::Outcome;
use crate::request::{Request, Target, TargetKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt::Debug;
use std::sync::Arc;

/// Every orchestrator the configuration may name in `orchestrator`.
pub const ORCHESTRATORS: &[&OrchestratorKind] = &[
    &github_actions::ORCHESTRATOR,
    &github_actions::WORKFLOW_ORCHESTRATOR,
    &azure_pipelines::ORCHESTRATOR,
    &gitlab_pipelines::ORCHESTRATOR,
    &webhook::ORCHESTRATOR,
];

/// An orchestrator as the configuration knows it.
pub struct OrchestratorKind {
    /// The words `orchestrator` accepts for it, the first one shown in messages.
    pub names: &'static [&'static str],
    /// Its keys, beside the keys every instance has.
    pub keys: &'static [Key],
    pub target: &'static TargetKind,
    pub build: fn(&Settings) -> Result<Arc<dyn Orchestrator>, ConfigError>,
}

/// One configured orchestrator: how a queued notification is delivered to it.
pub trait Orchestrator: Debug + Send + Sync {
    /// The target of its reads and its notification (its token, its API's conventions).
    fn target(&self) -> Target;

    /// The flow that delivers `job`; `commit` is the job's commit, checked.
    fn flow(&self, job: &Job, commit: Option<CommitId>) -> Result<Box<dyn Flow>, FlowError>;

    /// Azure Pipelines' agentless tasks wait on PRs, and `poll-prs` fails those of abandoned
    /// ones; an orchestrator whose runs do not wait on PRs has nothing to poll.
    fn waits_on_prs(&self) -> Option<&azure_pipelines::Pipelines> {
        None
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Read this and pass the answer to the next call.
    Read(Request),
    /// Read these at once (none needs another's answer) and pass their answers to the next call
    /// as one JSON array, in this order.
    Reads(Vec<Request>),
    /// The notification itself; the flow is over once it is delivered.
    Send(Request),
    /// Nothing to notify, and why (reported, never silent).
    Nothing(String),
    /// Several pipelines wait on the commit: one notification each, queued behind this one,
    /// which is then over; and why.
    Fan(Vec<Job>, String),
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
    /// The commit was skipped by the operator and is concluded with the end of this newer one,
    /// which contains it: the notification says so.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub superseded_by: Option<String>,
    /// One of several pipelines waiting on the commit: the merged PR whose run this one tells
    /// (GitHub: a commit in several merged PRs, each from a deploy branch of its own run).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub of_pr: Option<u64>,
}

pub trait Flow {
    /// `answer` is the body of the last `Read`, `None` on the first call.
    fn next(&mut self, answer: Option<&Value>) -> Result<Step, FlowError>;

    /// The pipeline the `Send` just returned tells (a GitHub run, an Azure task), when the
    /// reads named one: the unit told once, whichever commits lead to it.
    fn pipeline(&self) -> Option<String> {
        None
    }

    /// What the journal should know of the notification just sent beyond "told": where its
    /// pipeline was looked for and why none matched, when it went without one.
    fn note(&self) -> Option<String> {
        None
    }
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
    instance.orchestrator.flow(job, commit)
}

impl Job {
    /// The notification of a commit's own end.
    pub fn of_commit(commit: &str, outcome: Outcome) -> Job {
        Job {
            outcome,
            commit: Some(commit.to_string()),
            pr: None,
            superseded_by: None,
            of_pr: None,
        }
    }
}
