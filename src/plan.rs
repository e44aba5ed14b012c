//! report + instance → the requests that post its statuses (PROTOCOL §2, §4). Pure.
//!
//! Host statuses keep the report's order, so the newest status on the commit is the right one;
//! each subscriber then gets every status in the same order.

use crate::config::Instance;
use crate::event::{CommitId, Operator};
use crate::hosts::subscribers;
use crate::report::CommitStatus;
use crate::request::Request;

/// Which part of the work a command does: `status` the commit statuses, `notify` the
/// orchestrator's notification, `handle` both. Each part is planned once per event, whichever
/// commands run it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Status,
    Notify,
    Handle,
}

crate::stored_words!(Mode {
    Status => "status",
    Notify => "notify",
    Handle => "handle",
});

impl Mode {
    pub fn posts_statuses(self) -> bool {
        self != Mode::Notify
    }

    pub fn notifies(self) -> bool {
        self != Mode::Status
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub request: Request,
    /// The status name: the context whose newest event time decides what is superseded.
    pub context: String,
}

pub fn status_requests(
    instance: &Instance,
    operator: Operator,
    commit: &CommitId,
    statuses: &[CommitStatus],
) -> Vec<Planned> {
    let app_url = instance.app_url.as_deref();
    let host = statuses.iter().map(|status| Planned {
        request: instance.git.status_request(commit, status, app_url),
        context: status.name.clone(),
    });
    let subscribed = instance.subscribers.iter().flat_map(|subscriber| {
        statuses.iter().map(move |status| Planned {
            request: subscribers::status_request(subscriber, operator, commit, status, app_url),
            context: status.name.clone(),
        })
    });
    host.chain(subscribed).collect()
}
