//! A generic signed webhook, for Jenkins, Tekton, Argo Workflows or anything that can take a
//! POST: the end of a deployment as a small JSON body, signed `X-Signature: sha256=<hex>` with
//! the HMAC-SHA256 of the body keyed with the orchestrator's token (which never travels).
//!
//! ```json
//! {"event": "deployment-ended", "commit": "<40 hex>", "outcome": "success",
//!  "superseded_by": "<40 hex, only for a commit released by a newer one>"}
//! ```

use super::{Flow, FlowError, Job, Orchestrator, OrchestratorKind, Step};
use crate::config::keys::{key, Key, Kind};
use crate::event::CommitId;
use crate::request::{Api, Credential, Request, Scheme, Target, TargetKind};
use serde_json::{json, Value};
use std::sync::Arc;

pub static API: Api = Api {
    name: "webhook",
    headers: &[("Accept", "application/json")],
    auth: Some(Scheme::HmacSha256),
    sign_in_page: false,
    secondary_rate_limit: false,
    repos_path: None,
    exchanged: None,
    same_status: None,
};

pub static TARGET: TargetKind = TargetKind {
    key: "webhook",
    api: &API,
    credential: Credential::Orchestrator,
    settings: "webhook_url (GITOPS_CONNECTOR_WEBHOOK_URL)",
    scopes: "it is the HMAC key the receiver checks X-Signature with",
};

const KEYS: &[Key] = &[key(
    "webhook_url",
    Some("GITOPS_CONNECTOR_WEBHOOK_URL"),
    Kind::Url,
    "where the generic webhook orchestrator POSTs the end of a deployment, signed with the orchestrator token",
)];

pub static ORCHESTRATOR: OrchestratorKind = OrchestratorKind {
    names: &["webhook"],
    keys: KEYS,
    target: &TARGET,
    build: |settings| {
        Ok(Arc::new(Webhook {
            url: settings.required_url("webhook_url", "when orchestrator is webhook")?,
        }))
    },
};

/// The generic webhook as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub url: String,
}

impl Orchestrator for Webhook {
    fn target(&self) -> Target {
        Target::Kind(&TARGET)
    }

    fn flow(&self, job: &Job, commit: Option<CommitId>) -> Result<Box<dyn Flow>, FlowError> {
        let commit = commit
            .ok_or_else(|| FlowError::Malformed("a webhook notification needs a commit".into()))?;
        let mut body = json!({
            "event": "deployment-ended",
            "commit": commit.as_str(),
            "outcome": job.outcome,
        });
        if let Some(newer) = &job.superseded_by {
            body["superseded_by"] = json!(newer);
        }
        Ok(Box::new(Post(Some(Request::post(
            Target::Kind(&TARGET),
            self.url.clone(),
            body,
        )))))
    }
}

/// One request, nothing to read first.
struct Post(Option<Request>);

impl Flow for Post {
    fn next(&mut self, _answer: Option<&Value>) -> Result<Step, FlowError> {
        match self.0.take() {
            Some(request) => Ok(Step::Send(request)),
            None => Err(FlowError::Malformed("the webhook was already sent".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Outcome;

    #[test]
    fn the_end_of_a_deployment_is_one_post() {
        let webhook = Webhook {
            url: "https://ci.acme/hooks/gitops".into(),
        };
        let commit = CommitId::parse(&"b".repeat(40)).unwrap();
        let job = Job {
            superseded_by: Some("c".repeat(40)),
            ..Job::of_commit(commit.as_str(), Outcome::Failure)
        };
        let mut flow = webhook.flow(&job, Some(commit.clone())).unwrap();
        let Step::Send(request) = flow.next(None).unwrap() else {
            panic!("a webhook reads nothing first")
        };
        assert_eq!(request.url, "https://ci.acme/hooks/gitops");
        assert_eq!(
            request.body.unwrap(),
            json!({"event": "deployment-ended", "commit": commit.as_str(), "outcome": "failure",
                   "superseded_by": "c".repeat(40)})
        );
    }
}
