//! Custom subscribers receive every commit status as JSON, in the operator's words.

use crate::config::Subscriber;
use crate::event::{CommitId, Operator};
use crate::report::CommitStatus;
use crate::request::{Request, Target};
use serde_json::json;

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
