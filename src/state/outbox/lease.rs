//! Claiming the next row to send, under a lease, and recording how its send ended.
//!
//! Rows of one queue leave strictly in the order they were planned, across processes: only a
//! queue's oldest open row may be sent, and a process claims it with a lease. A process that
//! dies leaves its lease to expire; the next one takes the row over.

use super::{row, Row, RowState};
use crate::state::now_ms;
use crate::state::sql::{Db, Sql as _};
use crate::values;
use anyhow::Result;

/// The head of every open queue in scope: its oldest row still pending or being sent.
/// The oldest open row of each queue (its head), oldest first; `heads!(filter)` adds a filter.
macro_rules! heads {
    ($filter:literal) => {
        concat!(
            "SELECT ",
            columns!(),
            ", lease_until, host_wait, updated_ms FROM outbox o \
             WHERE o.state IN ('pending', 'sending') ",
            $filter,
            " AND o.id = (SELECT MIN(id) FROM outbox p WHERE p.queue = o.queue AND p.state IN ('pending', 'sending')) \
             ORDER BY o.id"
        )
    };
}

const HEADS: &str = heads!("");
/// The heads among a bound JSON array of queues.
const HEADS_AMONG: &str = heads!("AND o.queue IN (SELECT value FROM json_each(?1))");

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
pub fn claim_next<D: Db>(
    db: &D,
    scope: &Scope,
    lease_ms: i64,
    retry_from: Option<i64>,
    done: Option<(i64, &Finish)>,
) -> Result<Claim> {
    crate::state::sql::transaction(
        |f| db.atomically(f),
        || claim_in_transaction(db, scope, lease_ms, retry_from, done),
    )
}

fn claim_in_transaction<D: Db>(
    db: &D,
    scope: &Scope,
    lease_ms: i64,
    retry_from: Option<i64>,
    done: Option<(i64, &Finish)>,
) -> Result<Claim> {
    if let Some((id, finish)) = done {
        crate::state::store::Outbox::record(db, id, finish)?;
    }
    let now = now_ms();
    // Static SQL (so the statement is parsed once): the scope is a bound JSON array.
    let read = |r: &crate::state::sql::Row| {
        Ok((
            row(r)?,
            r.get("lease_until")?,
            r.get("host_wait")?,
            r.get("updated_ms")?,
        ))
    };
    let heads: Vec<(Row, i64, bool, i64)> = match scope {
        Scope::All => db.all(HEADS, &[], read)?,
        Scope::Queues(queues) => {
            db.all(HEADS_AMONG, values![serde_json::to_string(queues)?], read)?
        }
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
            db.execute(
                "UPDATE outbox SET state = 'sending', lease_until = ?2, updated_ms = ?3 WHERE id = ?1",
                values![head.id, now + lease_ms, now],
            )?;
            let mut claimed = head;
            claimed.state = RowState::Sending;
            return Ok(Claim::Row(Box::new(claimed)));
        }
        wake = Some(wake.map_or(head.not_before, |w| w.min(head.not_before)));
    }
    Ok(match (busy, wake) {
        (true, _) => Claim::Busy,
        (false, Some(at)) => Claim::Wait(at),
        (false, None) => Claim::Empty,
    })
}

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

#[cfg(test)]
mod tests {
    use super::super::{queue_of, Kind, NewRow};
    use super::*;
    use crate::request::{Request, Target};
    use crate::state::store::Outbox;
    use crate::state::temp_state;

    fn add(conn: &rusqlite::Connection, commit: &str, url: &str) -> i64 {
        let request = Request::post(
            Target::Kind(&crate::hosts::github::STATUSES),
            url.into(),
            serde_json::json!({}),
        );
        conn.enqueue(&NewRow {
            event_id: None,
            instance: "i",
            commit: Some(commit),
            target: &Target::Kind(&crate::hosts::github::STATUSES),
            kind: Kind::Request,
            context: None,
            request: Some(&request),
            job: None,
        })
        .unwrap()
    }

    #[test]
    fn a_queue_leaves_in_order_and_a_retry_holds_it_back() {
        let (state, dir) = temp_state("outbox");
        let first = add(state.conn(), "a", "https://x/1");
        let second = add(state.conn(), "a", "https://x/2");
        let other = add(state.conn(), "b", "https://x/3");
        let conn = &state.conn;
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
        conn.finish(
            first,
            &Finish::Retry {
                why: "503".into(),
                answer: Some(503),
                not_before: later,
                host_wait: false,
            },
        )
        .unwrap();
        conn.finish(other, &Finish::Done { answer: 201 }).unwrap();
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
        conn.finish(first, &Finish::Done { answer: 201 }).unwrap();
        let Claim::Row(row) = claim_next(conn, &Scope::All, 1000, None, None).unwrap() else {
            panic!()
        };
        assert_eq!(row.id, second);
        assert_eq!(conn.attempts(first).unwrap().len(), 2);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_live_lease_is_busy_and_an_expired_one_is_taken_over() {
        let (state, dir) = temp_state("lease");
        let id = add(state.conn(), "a", "https://x/1");
        let conn = &state.conn;
        let Claim::Row(_) = claim_next(conn, &Scope::All, 60_000, None, None).unwrap() else {
            panic!()
        };
        assert!(matches!(
            claim_next(conn, &Scope::All, 1000, None, None).unwrap(),
            Claim::Busy
        ));
        conn.execute("UPDATE outbox SET lease_until = 1", [])
            .unwrap();
        let queue = queue_of(
            "i",
            Some("a"),
            &Target::Kind(&crate::hosts::github::STATUSES),
        );
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
        let (state, dir) = temp_state("replay-backoff");
        let ours = add(state.conn(), "a", "https://x/1");
        let theirs = add(state.conn(), "b", "https://x/2");
        let conn = &state.conn;
        let later = now_ms() + 60_000;
        for (id, host_wait) in [(ours, false), (theirs, true)] {
            let Claim::Row(_) = claim_next(conn, &Scope::All, 1000, None, None).unwrap() else {
                panic!()
            };
            conn.finish(
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
        conn.finish(
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
