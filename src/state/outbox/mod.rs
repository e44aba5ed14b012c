//! The outbox: every planned request, durable before it is sent.
//!
//! Rows of one queue (instance, commit, target) leave strictly in the order they were planned,
//! across processes: only a queue's oldest open row may be sent, and a process claims it with a
//! lease. A process that dies leaves its lease to expire; the next one takes the row over.

use super::now_ms;
use super::sql::{Db, Row as SqlRow, Sql as _};
use super::store::Outbox;
use super::values::RowState;
use crate::request::{Method, Request, Target};
use crate::values;
use anyhow::{Context, Result};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// One request, sent as planned (commit statuses, subscriber posts).
    Request,
    /// An orchestrator flow (`job`): reads, then the notification.
    Notify,
    /// A release of skipped commits (`job`): the Git host lists the commits between two, then
    /// the ones that never ended are concluded, their rows queued.
    Release,
    /// A deployment status (`job`): the deployment of the commit to the environment is created
    /// first when the host has none yet.
    Deployment,
}

crate::stored_words!(Kind {
    Request => "request",
    Notify => "notify",
    Release => "release",
    Deployment => "deployment",
});

pub struct NewRow<'a> {
    pub event_id: Option<i64>,
    pub instance: &'a str,
    pub commit: Option<&'a str>,
    pub target: &'a Target,
    pub kind: Kind,
    pub context: Option<&'a str>,
    pub request: Option<&'a Request>,
    pub job: Option<String>,
}

pub fn queue_of(instance: &str, commit: Option<&str>, target: &Target) -> String {
    format!("{instance}/{}/{}", commit.unwrap_or("-"), target.key())
}

impl NewRow<'_> {
    /// The queue the row joins. A release is a read of its own: its listing neither waits for
    /// the head's statuses at the same host nor holds them up.
    pub fn queue(&self) -> String {
        let queue = queue_of(self.instance, self.commit, self.target);
        match self.kind {
            Kind::Release => format!("{queue}/release"),
            _ => queue,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub id: i64,
    pub event_id: Option<i64>,
    pub instance: String,
    pub commit_id: Option<String>,
    pub queue: String,
    pub target: String,
    pub kind: Kind,
    pub context: Option<String>,
    pub request: Option<Request>,
    pub job: Option<String>,
    pub state: RowState,
    pub attempts: i64,
    pub answer: Option<i64>,
    pub last_error: Option<String>,
    pub not_before: i64,
    /// The last try was refused for a reason configuration must fix (a token, a repository name).
    pub blocked: bool,
    /// The generation of the row's lease: raised by every claim, so that the claim's holder can
    /// prove it still owns the row when it records the result (see [`Fence`]).
    pub fence: i64,
    /// Why the stored request cannot be read back (a body that no longer parses): such a row is
    /// never sent, with or without its body.
    pub unreadable: Option<String>,
}

/// The proof that a process owns a claimed row: the row and the lease generation its claim
/// took. A write that holds an older generation than the row's (its lease lapsed and another
/// process took the row over) is refused and changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fence {
    pub row: i64,
    pub generation: i64,
}

/// Whether a result was recorded, or refused because its sender no longer held the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Recorded {
    Yes,
    /// The lease had lapsed and the row was claimed again: nothing was written.
    Stale,
}

impl Row {
    /// This claim's proof of ownership.
    pub fn fence(&self) -> Fence {
        Fence {
            row: self.id,
            generation: self.fence,
        }
    }
}

/// The columns `row` reads, as a literal so that `concat!` can build whole statements from it.
macro_rules! columns {
    () => {
        "id, event_id, instance, commit_id, queue, target, kind, context, method, url, body, job, state, \
         attempts, answer, last_error, not_before, blocked, fence"
    };
}

// After `columns!`, which it uses.
pub(super) mod lease;

pub use lease::{Ask, Claim, Finish, Scope};

/// Reads a row by column name, so that a statement may select more columns after these.
fn row(r: &SqlRow) -> Result<Row> {
    let target: String = r.get("target")?;
    let method: Option<Method> = r.get("method")?;
    let url: Option<String> = r.get("url")?;
    let body: Option<String> = r.get("body")?;
    // A body that does not parse is never dropped silently: the row is unreadable, not sent.
    let (body, unreadable) = match body
        .as_deref()
        .map(serde_json::from_str::<serde_json::Value>)
    {
        None => (None, None),
        Some(Ok(body)) => (Some(body), None),
        Some(Err(e)) => (None, Some(format!("its stored body is not JSON ({e})"))),
    };
    let request = match (Target::from_key(&target), method, url) {
        (Some(target), Some(method), Some(url)) if unreadable.is_none() => Some(Request {
            target,
            method,
            url,
            body,
        }),
        _ => None,
    };
    Ok(Row {
        id: r.get("id")?,
        event_id: r.get("event_id")?,
        instance: r.get("instance")?,
        commit_id: r.get("commit_id")?,
        queue: r.get("queue")?,
        target,
        kind: r.get("kind")?,
        context: r.get("context")?,
        request,
        job: r.get("job")?,
        state: r.get("state")?,
        attempts: r.get("attempts")?,
        answer: r.get("answer")?,
        last_error: r.get("last_error")?,
        not_before: r.get("not_before")?,
        blocked: r.get("blocked")?,
        fence: r.get("fence")?,
        unreadable,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    pub at_ms: i64,
    pub answer: Option<i64>,
    pub error: Option<String>,
}

/// The outbox's SQL, the same on every backend.
/// What each operation promises is said once, on the trait (`store.rs`).
impl<D: Db> Outbox for D {
    fn enqueue(&self, row: &NewRow) -> Result<i64> {
        let now = now_ms();
        let id = self.one(
            // The head of its queue when nothing else in it is open.
            "INSERT INTO outbox (event_id, instance, commit_id, queue, target, kind, context, method, url, body, job,
                                 created_ms, updated_ms, is_head)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12,
                     CASE WHEN EXISTS (SELECT 1 FROM outbox p WHERE p.queue = ?4 AND p.state IN ('pending', 'sending'))
                          THEN 0 ELSE 1 END)
             RETURNING id",
            values![
                row.event_id,
                row.instance,
                row.commit,
                row.queue(),
                row.target.key(),
                row.kind,
                row.context,
                row.request.map(|r| r.method),
                row.request.map(|r| r.url.as_str()),
                row.request.and_then(|r| r.body.as_ref()).map(std::string::ToString::to_string),
                row.job,
                now
            ],
            |r| r.get(0),
        )?;
        id.ok_or_else(|| anyhow::anyhow!("the state did not number the request"))
    }

    fn set_request(&self, id: i64, request: &Request) -> Result<()> {
        self.execute(
            "UPDATE outbox SET method = ?2, url = ?3, body = ?4 WHERE id = ?1",
            values![
                id,
                request.method,
                request.url,
                request.body.as_ref().map(std::string::ToString::to_string)
            ],
        )?;
        Ok(())
    }

    fn for_event(&self, event_id: i64) -> Result<Vec<Row>> {
        self.all(
            concat!(
                "SELECT ",
                columns!(),
                " FROM outbox WHERE event_id = ?1 ORDER BY id"
            ),
            values![event_id],
            row,
        )
    }

    fn for_event_family(&self, event_id: i64) -> Result<Vec<Row>> {
        self.all(concat!(
            "SELECT ",
            columns!(),
            " FROM outbox WHERE event_id = ?1 OR event_id IN (SELECT id FROM events WHERE replay_of = ?1) ORDER BY id"
        ), values![event_id], row)
    }

    fn owed_among(&self, ids: &[i64]) -> Result<Vec<Row>> {
        self.all(
            concat!(
                "SELECT ",
                columns!(),
                " FROM outbox WHERE state IN ('pending', 'sending') \
                 AND id IN (SELECT CAST(value AS INTEGER) FROM json_each(?1)) ORDER BY id"
            ),
            values![serde_json::to_string(ids)?],
            row,
        )
    }

    fn holds(&self, fence: Fence) -> Result<bool> {
        Ok(self
            .one(
                "SELECT 1 FROM outbox WHERE id = ?1 AND fence = ?2 AND state = 'sending'",
                values![fence.row, fence.generation],
                |r| r.get::<i64>(0),
            )?
            .is_some())
    }

    fn heads_of(&self, queues: &[String]) -> Result<Vec<Row>> {
        lease::heads_of(self, queues)
    }

    fn events_blocked_on_configuration(&self) -> Result<Vec<i64>> {
        self.all(
            "SELECT DISTINCT COALESCE(e.replay_of, e.id) FROM outbox o JOIN events e ON e.id = o.event_id
             WHERE o.state = 'pending' AND o.blocked = 1 AND o.kind = 'request' ORDER BY 1", &[], |r| r.get(0))
    }

    fn replan(&self, id: i64, request: &Request) -> Result<()> {
        self.execute(
            "UPDATE outbox SET method = ?2, url = ?3, body = ?4, blocked = 0, not_before = 0, updated_ms = ?5
             WHERE id = ?1 AND state = 'pending'",
            values![
                id,
                request.method,
                request.url,
                request.body.as_ref().map(std::string::ToString::to_string),
                now_ms()
            ],
        )?;
        Ok(())
    }

    fn replace(&self, id: i64, why: &str) -> Result<()> {
        self.execute(
            "UPDATE outbox SET state = 'replaced', last_error = ?2, updated_ms = ?3 WHERE id = ?1 AND state = 'pending'",
            values![id, why, now_ms()],
        )?;
        pass_head(self, id)
    }

    fn open_queues_of_commit(&self, instance: &str, commit: &str) -> Result<Vec<String>> {
        self.all(
            "SELECT DISTINCT queue FROM outbox WHERE instance = ?1 AND commit_id = ?2 AND state IN ('pending', 'sending')", values![instance, commit], |r| r.get(0))
    }

    fn attempts(&self, id: i64) -> Result<Vec<Attempt>> {
        self.all(
            "SELECT at_ms, answer, error FROM attempts WHERE outbox_id = ?1 ORDER BY at_ms",
            values![id],
            |r| {
                Ok(Attempt {
                    at_ms: r.get(0)?,
                    answer: r.get(1)?,
                    error: r.get(2)?,
                })
            },
        )
    }

    fn open_queues(&self) -> Result<Vec<String>> {
        self.all(
            "SELECT DISTINCT queue FROM outbox WHERE state IN ('pending', 'sending')",
            &[],
            |r| r.get(0),
        )
    }

    fn nothing_among(&self, ids: &[i64]) -> Result<std::collections::HashSet<i64>> {
        self.all(
            "SELECT id FROM outbox WHERE state = 'nothing' AND id IN (SELECT CAST(value AS INTEGER) FROM json_each(?1))", values![serde_json::to_string(ids)?], |r| r.get(0))
    }

    fn standing(&self, ids: &[i64]) -> Result<(usize, usize, usize)> {
        let counts = self
            .one(
                "SELECT COUNT(*) FILTER (WHERE state IN ('pending', 'sending')),
                    COUNT(*) FILTER (WHERE state = 'failed'),
                    COUNT(*) FILTER (WHERE state = 'refused')
             FROM outbox WHERE id IN (SELECT CAST(value AS INTEGER) FROM json_each(?1))",
                values![serde_json::to_string(ids)?],
                |r| Ok((r.get::<i64>(0)?, r.get::<i64>(1)?, r.get::<i64>(2)?)),
            )?
            .unwrap_or_default();
        let count = |n: i64| usize::try_from(n).unwrap_or(0);
        Ok((count(counts.0), count(counts.1), count(counts.2)))
    }

    fn finish(&self, fence: Fence, finish: &Finish) -> Result<Recorded> {
        crate::state::sql::transaction(
            |f| self.atomically(f),
            || Outbox::record(self, fence, finish),
        )
    }

    fn record(&self, fence: Fence, finish: &Finish) -> Result<Recorded> {
        let now = now_ms();
        let (state, answer, why, not_before, attempt) = match finish {
            Finish::Done { answer } => (RowState::Done, Some(*answer), None, 0, true),
            Finish::Retry {
                why,
                answer,
                not_before,
                ..
            } => (
                RowState::Pending,
                *answer,
                Some(why.as_str()),
                *not_before,
                true,
            ),
            Finish::Failed { why, answer } => {
                (RowState::Failed, *answer, Some(why.as_str()), 0, true)
            }
            Finish::Nothing { why } => (RowState::Nothing, None, Some(why.as_str()), 0, false),
            Finish::Refused { why } => (RowState::Refused, None, Some(why.as_str()), 0, false),
            Finish::Blocked {
                why,
                answer,
                not_before,
            } => (
                RowState::Pending,
                *answer,
                Some(why.as_str()),
                *not_before,
                answer.is_some(),
            ),
        };
        let host_wait = matches!(
            finish,
            Finish::Retry {
                host_wait: true,
                ..
            }
        );
        let blocked = matches!(finish, Finish::Blocked { .. });
        // Only the holder of the current lease generation may write: a sender whose lease
        // lapsed, and whose row another process claimed since, is refused here.
        let changed = self
            .execute(
                "UPDATE outbox SET state = ?2, answer = COALESCE(?3, answer), last_error = ?4, not_before = ?5,
                    attempts = attempts + ?6, lease_until = 0, updated_ms = ?7, host_wait = ?8, blocked = ?9
             WHERE id = ?1 AND fence = ?10 AND state = 'sending'",
                values![
                    fence.row,
                    state,
                    answer,
                    why,
                    not_before,
                    i64::from(attempt),
                    now,
                    host_wait,
                    blocked,
                    fence.generation
                ],
            )
            .context("cannot record a delivery")?;
        if changed == 0 {
            return Ok(Recorded::Stale);
        }
        if attempt {
            self.execute(
                "INSERT INTO attempts (outbox_id, at_ms, answer, error) VALUES (?1, ?2, ?3, ?4)",
                values![fence.row, now, answer, why],
            )?;
        }
        if !matches!(state, RowState::Pending | RowState::Sending) {
            pass_head(self, fence.row)?;
        }
        Ok(Recorded::Yes)
    }
}

/// A row that left the open states hands its queue's head mark to the next open row, if it
/// held it (inside the caller's transaction).
fn pass_head<D: Db>(db: &D, id: i64) -> Result<()> {
    let passed = db.execute(
        "UPDATE outbox SET is_head = 0 WHERE id = ?1 AND is_head = 1 AND state NOT IN ('pending', 'sending')",
        values![id],
    )?;
    if passed > 0 {
        db.execute(
            "UPDATE outbox SET is_head = 1 WHERE id = (SELECT MIN(p.id) FROM outbox p
                 WHERE p.queue = (SELECT queue FROM outbox WHERE id = ?1) AND p.state IN ('pending', 'sending'))",
            values![id],
        )?;
    }
    Ok(())
}
