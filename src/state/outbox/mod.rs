//! The outbox: every planned request, durable before it is sent.
//!
//! Rows of one queue (instance, commit, target) leave strictly in the order they were planned,
//! across processes: only a queue's oldest open row may be sent, and a process claims it with a
//! lease. A process that dies leaves its lease to expire; the next one takes the row over.

use super::values::RowState;
use super::{exec, now_ms, one};
use crate::request::{Method, Request, Target};
use anyhow::Result;
use rusqlite::{params, Connection};
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

pub(super) fn enqueue(conn: &Connection, row: &NewRow) -> Result<i64> {
    let now = now_ms();
    exec(conn,
        "INSERT INTO outbox (event_id, instance, commit_id, queue, target, kind, context, method, url, body, job,
                             created_ms, updated_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)",
        params![
            row.event_id,
            row.instance,
            row.commit,
            queue_of(row.instance, row.commit, row.target),
            row.target.key(),
            row.kind,
            row.context,
            row.request.map(|r| r.method),
            row.request.map(|r| r.url.as_str()),
            row.request.and_then(|r| r.body.as_ref()).map(std::string::ToString::to_string),
            row.job,
            now
        ],
    )?;
    Ok(conn.last_insert_rowid())
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
}

/// The columns `row` reads, as a literal so that `concat!` can build whole statements from it.
macro_rules! columns {
    () => {
        "id, event_id, instance, commit_id, queue, target, kind, context, method, url, body, job, state, \
         attempts, answer, last_error, not_before, blocked"
    };
}

// After `columns!`, which it uses.
pub(super) mod lease;

pub use lease::{Claim, Finish, Scope};

/// Reads a row by column name, so that a statement may select more columns after these.
fn row(r: &rusqlite::Row) -> rusqlite::Result<Row> {
    let target: String = r.get("target")?;
    let method: Option<Method> = r.get("method")?;
    let url: Option<String> = r.get("url")?;
    let body: Option<String> = r.get("body")?;
    let request = match (Target::from_key(&target), method, url) {
        (Some(target), Some(method), Some(url)) => Some(Request {
            target,
            method,
            url,
            body: body.and_then(|b| serde_json::from_str(&b).ok()),
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
    })
}

/// The notification's final request, once a flow has built it: shown by `events show`.
pub(super) fn set_request(conn: &Connection, id: i64, request: &Request) -> Result<()> {
    exec(
        conn,
        "UPDATE outbox SET method = ?2, url = ?3, body = ?4 WHERE id = ?1",
        params![
            id,
            request.method,
            request.url,
            request.body.as_ref().map(std::string::ToString::to_string)
        ],
    )?;
    Ok(())
}

pub(super) fn for_event(conn: &Connection, event_id: i64) -> Result<Vec<Row>> {
    let mut stmt = conn.prepare_cached(concat!(
        "SELECT ",
        columns!(),
        " FROM outbox WHERE event_id = ?1 ORDER BY id"
    ))?;
    let rows = stmt
        .query_map([event_id], row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// The rows planned for an event and for every replay of it, oldest first.
pub(super) fn for_event_family(conn: &Connection, event_id: i64) -> Result<Vec<Row>> {
    let mut stmt = conn.prepare_cached(concat!(
        "SELECT ",
        columns!(),
        " FROM outbox WHERE event_id = ?1 OR event_id IN (SELECT id FROM events WHERE replay_of = ?1) ORDER BY id"
    ))?;
    let rows = stmt
        .query_map([event_id], row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// The events whose status requests wait on a configuration fix: `replay --failed` re-plans them.
pub(super) fn events_blocked_on_configuration(conn: &Connection) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT COALESCE(e.replay_of, e.id) FROM outbox o JOIN events e ON e.id = o.event_id
         WHERE o.state = 'pending' AND o.blocked = 1 AND o.kind = 'request' ORDER BY 1",
    )?;
    let rows = stmt
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Points an owed row at a re-planned request; it keeps its place in its queue.
pub(super) fn replan(conn: &Connection, id: i64, request: &Request) -> Result<()> {
    exec(
        conn,
        "UPDATE outbox SET method = ?2, url = ?3, body = ?4, blocked = 0, not_before = 0, updated_ms = ?5
         WHERE id = ?1 AND state = 'pending'",
        params![
            id,
            request.method,
            request.url,
            request.body.as_ref().map(std::string::ToString::to_string),
            now_ms()
        ],
    )?;
    Ok(())
}

/// Takes an owed row out of its queue: the current configuration plans nothing in its place.
pub(super) fn replace(conn: &Connection, id: i64, why: &str) -> Result<()> {
    exec(
        conn,
        "UPDATE outbox SET state = 'replaced', last_error = ?2, updated_ms = ?3 WHERE id = ?1 AND state = 'pending'",
        params![id, why, now_ms()],
    )?;
    Ok(())
}

/// The open rows of one commit's queues (a repeated event retries what its commit still owes).
pub(super) fn open_queues_of_commit(
    conn: &Connection,
    instance: &str,
    commit: &str,
) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT queue FROM outbox WHERE instance = ?1 AND commit_id = ?2 AND state IN ('pending', 'sending')",
    )?;
    let rows = stmt
        .query_map(params![instance, commit], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    pub at_ms: i64,
    pub answer: Option<i64>,
    pub error: Option<String>,
}

pub(super) fn attempts(conn: &Connection, id: i64) -> Result<Vec<Attempt>> {
    let mut stmt = conn
        .prepare("SELECT at_ms, answer, error FROM attempts WHERE outbox_id = ?1 ORDER BY at_ms")?;
    let rows = stmt
        .query_map([id], |r| {
            Ok(Attempt {
                at_ms: r.get(0)?,
                answer: r.get(1)?,
                error: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// The queues that still hold open rows (all of them, or among `queues`).
pub(super) fn open_queues(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT queue FROM outbox WHERE state IN ('pending', 'sending')",
    )?;
    let rows = stmt
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Which of these rows found nothing to notify.
pub(super) fn nothing_among(
    conn: &Connection,
    ids: &[i64],
) -> Result<std::collections::HashSet<i64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM outbox WHERE state = 'nothing' AND id IN (SELECT value FROM json_each(?1))",
    )?;
    let rows = stmt
        .query_map([serde_json::to_string(ids)?], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// How the rows with these ids stand now: (owed, failed for good, refused).
pub(super) fn standing(conn: &Connection, ids: &[i64]) -> Result<(usize, usize, usize)> {
    let counts = one(
        conn,
        "SELECT COUNT(*) FILTER (WHERE state IN ('pending', 'sending')),
                COUNT(*) FILTER (WHERE state = 'failed'),
                COUNT(*) FILTER (WHERE state = 'refused')
         FROM outbox WHERE id IN (SELECT value FROM json_each(?1))",
        [serde_json::to_string(ids)?],
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        },
    )?;
    let count = |n: i64| usize::try_from(n).unwrap_or(0);
    Ok((count(counts.0), count(counts.1), count(counts.2)))
}
