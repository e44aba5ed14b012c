//! What became of each row in one drain, as the commands print it.

use crate::request::Request;
use crate::state::outbox::{Kind, Row};
use crate::state::values::RowState;
use serde::Serialize;

/// What happened to one row in this drain: its last try, and how many it took.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    pub row: i64,
    pub event: Option<i64>,
    pub target: String,
    /// The status context (`Status`, `Phase`, `Deployment`); none for a notification.
    pub context: Option<String>,
    pub request: Option<Request>,
    pub result: String,
    pub ok: bool,
    /// Tries in this invocation.
    pub tries: u32,
    /// A notification (the orchestrator's flow).
    pub notification: bool,
    /// The why this delivery wrote into its event's journal entry, if it wrote one.
    #[serde(skip)]
    pub noted: Option<String>,
}

/// One warning per request that did not get through, with what to do.
pub fn warn_about(deliveries: &[Delivery]) {
    for d in deliveries.iter().filter(|d| !d.ok) {
        let what = d.context.as_deref().unwrap_or("notification");
        crate::log::warn(&format!("{what}: {}", d.result));
    }
}

/// One warning per owed row that no delivery of this run already explained: a row this run
/// never reached (its queue waits behind a host's Retry-After, or the budget ran out, or
/// another process is sending it) still says what it is, why it waits and when it is tried
/// next. `heads`: the head of each owed row's queue. Every exit 75 so prints at least one line.
pub fn warn_about_owed(owed: &[Row], heads: &[Row], deliveries: &[Delivery], now_ms: i64) {
    for row in owed {
        if deliveries.iter().any(|d| d.row == row.id && !d.ok) {
            continue;
        }
        crate::log::warn(&format!(
            "{} is still owed: {}; `gitops-connector replay --failed` sends what is due",
            name(row),
            owed_because(row, heads, now_ms)
        ));
    }
}

/// Why an owed row waits and when it is tried next: behind its queue's head, after its last
/// try, or not tried yet. `heads`: the head of each queue (see `Outbox::heads_of`).
pub fn owed_because(row: &Row, heads: &[Row], now_ms: i64) -> String {
    let head = heads
        .iter()
        .find(|h| h.queue == row.queue && h.id != row.id);
    match (head, row.last_error.as_deref()) {
        (Some(head), _) => format!(
            "it waits behind {} of its queue, {}",
            name(head),
            standing(head, now_ms)
        ),
        (None, Some(error)) => format!("last try: {error}; {}", standing(row, now_ms)),
        (None, None) => format!("not tried yet; {}", standing(row, now_ms)),
    }
}

/// `Status (request 8 to github)`.
fn name(row: &Row) -> String {
    let what = row.context.as_deref().unwrap_or(match row.kind {
        Kind::Notify => "notification",
        Kind::Release => "release of skipped commits",
        _ => "request",
    });
    format!("{what} (request {} to {})", row.id, row.target)
}

/// When a row is tried next.
fn standing(row: &Row, now_ms: i64) -> String {
    if row.state == RowState::Sending {
        "which another process is sending now".to_string()
    } else if row.not_before > now_ms {
        format!(
            "next try at {} (in {} s)",
            crate::event::time::format_rfc3339(row.not_before / 1000),
            (row.not_before - now_ms + 999) / 1000
        )
    } else {
        "due now".to_string()
    }
}

impl Delivery {
    /// A row about to be sent (one try).
    pub fn of(row: &crate::state::outbox::Row) -> Delivery {
        Delivery {
            row: row.id,
            event: row.event_id,
            target: row.target.clone(),
            context: row.context.clone(),
            request: row.request.clone(),
            result: String::new(),
            ok: false,
            tries: 1,
            notification: row.kind == crate::state::outbox::Kind::Notify,
            noted: None,
        }
    }

    /// Which request: `github POST https://…/statuses/… [Phase]`.
    pub fn what(&self) -> String {
        let request = match (&self.request, self.notification) {
            (Some(r), true) => format!("notification {r}"),
            (Some(r), false) => r.to_string(),
            (None, _) => "notification".into(),
        };
        match &self.context {
            Some(context) => format!("{} {request} [{context}]", self.target),
            None => format!("{} {request}", self.target),
        }
    }

    /// One line for people: `github POST https://… [Status] → delivered (201)`.
    pub fn line(&self) -> String {
        let tries = match self.tries {
            0 | 1 => String::new(),
            n => format!(" after {n} tries"),
        };
        format!("{} → {}{tries}", self.what(), self.result)
    }
}

/// Keeps one delivery per row, the last, counting the tries.
pub(super) fn remember(done: &mut Vec<Delivery>, mut delivery: Delivery) {
    match done.iter_mut().find(|d| d.row == delivery.row) {
        Some(earlier) => {
            delivery.tries += earlier.tries;
            *earlier = delivery;
        }
        None => done.push(delivery),
    }
}
