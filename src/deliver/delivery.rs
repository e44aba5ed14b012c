//! What became of each row in one drain, as the commands print it.

use crate::request::Request;
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
