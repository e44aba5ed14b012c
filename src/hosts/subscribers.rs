//! Custom subscribers receive every commit status as JSON, in the operator's words.

use crate::config::Subscriber;
use crate::event::{CommitId, Operator};
use crate::report::CommitStatus;
use crate::request::{Api, Request, Target};
use serde_json::json;

/// Plain JSON, no token: a subscriber's answer is delivered or retried, never a configuration
/// problem of ours.
pub static API: Api = Api {
    name: "subscriber",
    headers: &[("Accept", "application/json")],
    auth: None,
    sign_in_page: false,
    secondary_rate_limit: false,
    repos_path: None,
    exchanged: None,
    same_status: None,
};

pub fn status_request(
    subscriber: &Subscriber,
    operator: Operator,
    commit: &CommitId,
    status: &CommitStatus,
    app_url: Option<&str>,
) -> Request {
    let mut body = json!({
        "commit_id": commit.as_str(),
        "status_name": status.name,
        "state": status.state,
        "message": status.message,
        "callback_url": app_url,
        "gitops_operator": operator.wire_name(),
        "genre": status.genre,
    });
    // Only with an environment: without one, subscribers get the reference's body as it was.
    if let Some(environment) = &status.environment {
        body["environment"] = json!(environment);
    }
    Request::post(
        Target::Subscriber(subscriber.name.clone()),
        subscriber.url.clone(),
        body,
    )
}
