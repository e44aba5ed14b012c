//! The outbox: every planned request, durable before it is sent.
//!
//! Rows of one queue (instance, commit, target) leave strictly in the order they were planned,
//! across processes: only a queue's oldest open row may be sent, and a process claims it with a
//! lease. A process that dies leaves its lease to expire; the next one takes the row over.

use super::values::RowState;
use super::{exec, now_ms, one};
use crate::request::{Method, Request, Target};
use anyhow::{Context, Result};
use rusqlite::{params, Connection, TransactionBehavior};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// One request, sent as planned (commit statuses, subscriber posts).
    Request,
    /// An orchestrator flow (`job`): reads, then the notification.
    Notify,
}

crate::stored_words!(Kind {
    Request => "request",
    Notify => "notify",
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

pub fn enqueue(conn: &Connection, row: &NewRow) -> Result<i64> {
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
            row.request.and_then(|r| r.body.as_ref()).map(|b| b.to_string()),
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

/// The head of every open queue in scope: its oldest row still pending or being sent.
const HEADS: &str = concat!(
    "SELECT ",
    columns!(),
    ", lease_until, host_wait, updated_ms FROM outbox o \
     WHERE o.state IN ('pending', 'sending') \
       AND (?1 IS NULL OR o.queue IN (SELECT value FROM json_each(?1))) \
       AND o.id = (SELECT MIN(id) FROM outbox p WHERE p.queue = o.queue AND p.state IN ('pending', 'sending')) \
     ORDER BY o.id"
);

#[derive(Debug)]
pub enum Claim {
    /// This process now owns the row until its lease runs out.
    Row(Box<Row>),
    /// Nothing may be sent before this time (ms): a retry is scheduled.
    Wait(i64),
    /// Another live process is sending the head of a queue we want: it will be done soon.
    Busy,
    /// Nothing open.
    Empty,
}

/// Which rows a process may take.
#[derive(Debug, Clone)]
pub enum Scope {
    Queues(Vec<String>),
    All,
}

/// Claims the next sendable row: the head of its queue, due, and not leased by a live process.
/// `done` is the previous row's result, recorded in the same transaction (one commit per send).
/// With `retry_from` (the replay CronJob's start), our own backoff of rows last tried before then
/// is over; a wait the host asked for (Retry-After, a rate-limit reset) still holds, and a row
/// that fails again during this replay backs off as usual.
pub fn claim_next(
    conn: &mut Connection,
    scope: &Scope,
    lease_ms: i64,
    retry_from: Option<i64>,
    done: Option<(i64, &Finish)>,
) -> Result<Claim> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if let Some((id, finish)) = done {
        record(&tx, id, finish)?;
    }
    let now = now_ms();
    // Static SQL (so the statement is parsed once): the scope is a bound JSON array, `null` for all.
    let scope_json = match scope {
        Scope::All => None,
        Scope::Queues(queues) => Some(serde_json::to_string(queues)?),
    };
    let heads = {
        let mut stmt = tx.prepare_cached(HEADS)?;
        let rows = stmt
            .query_map([scope_json], |r| {
                Ok((
                    row(r)?,
                    r.get::<_, i64>("lease_until")?,
                    r.get::<_, bool>("host_wait")?,
                    r.get::<_, i64>("updated_ms")?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows
    };
    let mut wake: Option<i64> = None;
    let mut busy = false;
    for (mut head, lease_until, host_wait, updated_ms) in heads {
        let free = head.state == RowState::Pending || lease_until <= now;
        if !free {
            busy = true;
            continue;
        }
        if !host_wait && retry_from.is_some_and(|start| updated_ms < start) {
            head.not_before = 0;
        }
        if head.not_before <= now {
            exec(&tx,
                "UPDATE outbox SET state = 'sending', lease_until = ?2, updated_ms = ?3 WHERE id = ?1",
                params![head.id, now + lease_ms, now],
            )?;
            tx.commit()?;
            let mut claimed = head;
            claimed.state = RowState::Sending;
            return Ok(Claim::Row(Box::new(claimed)));
        }
        wake = Some(wake.map_or(head.not_before, |w| w.min(head.not_before)));
    }
    tx.commit()?;
    Ok(match (busy, wake) {
        (true, _) => Claim::Busy,
        (false, Some(at)) => Claim::Wait(at),
        (false, None) => Claim::Empty,
    })
}

/// How a send ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finish {
    Done {
        answer: u16,
    },
    /// `host_wait`: the host asked for the wait (Retry-After, a rate-limit reset).
    Retry {
        why: String,
        answer: Option<u16>,
        not_before: i64,
        host_wait: bool,
    },
    Failed {
        why: String,
        answer: Option<u16>,
    },
    /// The flow found nothing to notify (no PR, plan already over).
    Nothing {
        why: String,
    },
    /// We would not send it (untrusted callback origin).
    Refused {
        why: String,
    },
    /// Configuration must change before it can be sent (a token the host refused, a repository
    /// it cannot see): stays owed, not tried again before `not_before`; `replay --failed`
    /// re-plans it with the configuration of that time. `answer`: the host's, when it answered.
    Blocked {
        why: String,
        answer: Option<u16>,
        not_before: i64,
    },
}

/// Records how a send ended, in a transaction of its own.
pub fn finish(conn: &Connection, id: i64, finish: &Finish) -> Result<()> {
    let tx = conn.unchecked_transaction()?;
    record(&tx, id, finish)?;
    tx.commit()?;
    Ok(())
}

fn record(conn: &Connection, id: i64, finish: &Finish) -> Result<()> {
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
        Finish::Failed { why, answer } => (RowState::Failed, *answer, Some(why.as_str()), 0, true),
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
    exec(conn,
        "UPDATE outbox SET state = ?2, answer = COALESCE(?3, answer), last_error = ?4, not_before = ?5,
                attempts = attempts + ?6, lease_until = 0, updated_ms = ?7, host_wait = ?8, blocked = ?9
         WHERE id = ?1",
        params![id, state, answer, why, not_before, i64::from(attempt), now, host_wait, blocked],
    )
    .context("cannot record a delivery")?;
    if attempt {
        exec(
            conn,
            "INSERT INTO attempts (outbox_id, at_ms, answer, error) VALUES (?1, ?2, ?3, ?4)",
            params![id, now, answer, why],
        )?;
    }
    Ok(())
}

/// The notification's final request, once a flow has built it: shown by `events show`.
pub fn set_request(conn: &Connection, id: i64, request: &Request) -> Result<()> {
    exec(
        conn,
        "UPDATE outbox SET method = ?2, url = ?3, body = ?4 WHERE id = ?1",
        params![
            id,
            request.method,
            request.url,
            request.body.as_ref().map(|b| b.to_string())
        ],
    )?;
    Ok(())
}

pub fn for_event(conn: &Connection, event_id: i64) -> Result<Vec<Row>> {
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
pub fn for_event_family(conn: &Connection, event_id: i64) -> Result<Vec<Row>> {
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
pub fn events_blocked_on_configuration(conn: &Connection) -> Result<Vec<i64>> {
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
pub fn replan(conn: &Connection, id: i64, request: &Request) -> Result<()> {
    exec(
        conn,
        "UPDATE outbox SET method = ?2, url = ?3, body = ?4, blocked = 0, not_before = 0, updated_ms = ?5
         WHERE id = ?1 AND state = 'pending'",
        params![
            id,
            request.method,
            request.url,
            request.body.as_ref().map(|b| b.to_string()),
            now_ms()
        ],
    )?;
    Ok(())
}

/// Takes an owed row out of its queue: the current configuration plans nothing in its place.
pub fn replace(conn: &Connection, id: i64, why: &str) -> Result<()> {
    exec(
        conn,
        "UPDATE outbox SET state = 'replaced', last_error = ?2, updated_ms = ?3 WHERE id = ?1 AND state = 'pending'",
        params![id, why, now_ms()],
    )?;
    Ok(())
}

/// The open rows of one commit's queues (a repeated event retries what its commit still owes).
pub fn open_queues_of_commit(
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

pub fn attempts(conn: &Connection, id: i64) -> Result<Vec<Attempt>> {
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
pub fn open_queues(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT queue FROM outbox WHERE state IN ('pending', 'sending')",
    )?;
    let rows = stmt
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Which of these rows found nothing to notify.
pub fn nothing_among(conn: &Connection, ids: &[i64]) -> Result<std::collections::HashSet<i64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM outbox WHERE state = 'nothing' AND id IN (SELECT value FROM json_each(?1))",
    )?;
    let rows = stmt
        .query_map([serde_json::to_string(ids)?], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// How the rows with these ids stand now: (owed, failed for good, refused).
pub fn standing(conn: &Connection, ids: &[i64]) -> Result<(usize, usize, usize)> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::temp_state;

    fn add(conn: &Connection, commit: &str, url: &str) -> i64 {
        let request = Request::post(Target::Github, url.into(), serde_json::json!({}));
        enqueue(
            conn,
            &NewRow {
                event_id: None,
                instance: "i",
                commit: Some(commit),
                target: &Target::Github,
                kind: Kind::Request,
                context: None,
                request: Some(&request),
                job: None,
            },
        )
        .unwrap()
    }

    #[test]
    fn a_queue_leaves_in_order_and_a_retry_holds_it_back() {
        let (mut state, dir) = temp_state("outbox");
        let first = add(state.conn(), "a", "https://x/1");
        let second = add(state.conn(), "a", "https://x/2");
        let other = add(state.conn(), "b", "https://x/3");
        let conn = &mut state.conn;
        let Claim::Row(row) = claim_next(conn, &Scope::All, 1000, None, None).unwrap() else {
            panic!()
        };
        assert_eq!(row.id, first);
        // The first is in flight: the only other sendable head is another queue's.
        let Claim::Row(row) = claim_next(conn, &Scope::All, 1000, None, None).unwrap() else {
            panic!()
        };
        assert_eq!(row.id, other);
        let later = now_ms() + 60_000;
        finish(
            conn,
            first,
            &Finish::Retry {
                why: "503".into(),
                answer: Some(503),
                not_before: later,
                host_wait: false,
            },
        )
        .unwrap();
        finish(conn, other, &Finish::Done { answer: 201 }).unwrap();
        // `second` must wait behind `first`.
        assert!(
            matches!(claim_next(conn, &Scope::All, 1000, None, None).unwrap(), Claim::Wait(t) if t == later)
        );
        conn.execute("UPDATE outbox SET not_before = 0 WHERE id = ?1", [first])
            .unwrap();
        let Claim::Row(row) = claim_next(conn, &Scope::All, 1000, None, None).unwrap() else {
            panic!()
        };
        assert_eq!(row.id, first);
        assert_eq!(row.attempts, 1);
        finish(conn, first, &Finish::Done { answer: 201 }).unwrap();
        let Claim::Row(row) = claim_next(conn, &Scope::All, 1000, None, None).unwrap() else {
            panic!()
        };
        assert_eq!(row.id, second);
        assert_eq!(attempts(conn, first).unwrap().len(), 2);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_live_lease_is_busy_and_an_expired_one_is_taken_over() {
        let (mut state, dir) = temp_state("lease");
        let id = add(state.conn(), "a", "https://x/1");
        let conn = &mut state.conn;
        let Claim::Row(_) = claim_next(conn, &Scope::All, 60_000, None, None).unwrap() else {
            panic!()
        };
        assert!(matches!(
            claim_next(conn, &Scope::All, 1000, None, None).unwrap(),
            Claim::Busy
        ));
        conn.execute("UPDATE outbox SET lease_until = 1", [])
            .unwrap();
        let queue = queue_of("i", Some("a"), &Target::Github);
        let Claim::Row(row) =
            claim_next(conn, &Scope::Queues(vec![queue]), 1000, None, None).unwrap()
        else {
            panic!()
        };
        assert_eq!(row.id, id);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn replay_skips_our_own_backoff_but_not_the_hosts() {
        let (mut state, dir) = temp_state("replay-backoff");
        let ours = add(state.conn(), "a", "https://x/1");
        let theirs = add(state.conn(), "b", "https://x/2");
        let conn = &mut state.conn;
        let later = now_ms() + 60_000;
        for (id, host_wait) in [(ours, false), (theirs, true)] {
            let Claim::Row(_) = claim_next(conn, &Scope::All, 1000, None, None).unwrap() else {
                panic!()
            };
            finish(
                conn,
                id,
                &Finish::Retry {
                    why: "x".into(),
                    answer: None,
                    not_before: later,
                    host_wait,
                },
            )
            .unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
        let start = now_ms();
        let Claim::Row(row) = claim_next(conn, &Scope::All, 1000, Some(start), None).unwrap()
        else {
            panic!()
        };
        assert_eq!(row.id, ours);
        finish(
            conn,
            ours,
            &Finish::Retry {
                why: "x".into(),
                answer: None,
                not_before: later,
                host_wait: false,
            },
        )
        .unwrap();
        assert!(
            matches!(
                claim_next(conn, &Scope::All, 1000, Some(start), None).unwrap(),
                Claim::Wait(_)
            ),
            "tried again in this replay: backs off"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
