//! Claiming the next row to send, under a lease, and recording how its send ended.
//!
//! Rows of one queue leave strictly in the order they were planned, across processes: only a
//! queue's oldest open row may be sent, and a process claims it with a lease. A process that
//! dies leaves its lease to expire; the next one takes the row over.

use super::{row, Fence, Recorded, Row, RowState};
use crate::state::sql::{Db, Sql as _};
use crate::values;
use anyhow::Result;

/// The heads of the open queues are marked (`is_head`, indexed with their next try), so that
/// a claim reads the heads that are due, never every open row. The statements below each come
/// in two scopes: every queue, or those of a bound JSON array (`?1`, the others then one up).
macro_rules! scoped {
    ($name:ident, $among:ident, $sql:ident) => {
        const $name: &str = $sql!("", "?1", "?2");
        const $among: &str = $sql!(
            "AND o.queue IN (SELECT value FROM json_each(?1))",
            "?2",
            "?3"
        );
    };
}

/// The oldest head that may be sent now: due (`$now` is past its next try) and free (pending,
/// or its lease lapsed).
macro_rules! due_head {
    ($scope:literal, $now:literal, $unused:literal) => {
        concat!(
            "SELECT ",
            columns!(),
            " FROM outbox o WHERE o.is_head = 1 AND o.not_before <= ",
            $now,
            " AND (o.state = 'pending' OR o.lease_until <= ",
            $now,
            ") ",
            $scope,
            " ORDER BY o.id LIMIT 1"
        )
    };
}

/// For a replay that started at `$retry`: a head whose own backoff began before then is due
/// too (a wait the host asked for still holds).
macro_rules! due_head_in_replay {
    ($scope:literal, $now:literal, $retry:literal) => {
        concat!(
            "SELECT ",
            columns!(),
            " FROM outbox o WHERE o.is_head = 1 AND (o.not_before <= ",
            $now,
            " OR (o.host_wait = 0 AND o.updated_ms < ",
            $retry,
            ")) AND (o.state = 'pending' OR o.lease_until <= ",
            $now,
            ") ",
            $scope,
            " ORDER BY o.id LIMIT 1"
        )
    };
}

/// How many heads a live process is sending.
macro_rules! busy_heads {
    ($scope:literal, $now:literal, $unused:literal) => {
        concat!(
            "SELECT COUNT(*) FROM outbox o WHERE o.is_head = 1 AND o.state = 'sending' AND o.lease_until > ",
            $now,
            " ",
            $scope
        )
    };
}

/// The earliest next try of any head (when none is busy).
macro_rules! next_try {
    ($scope:literal, $now:literal, $unused:literal) => {
        concat!(
            "SELECT MIN(o.not_before) FROM outbox o WHERE o.is_head = 1 ",
            $scope
        )
    };
}

scoped!(DUE, DUE_AMONG, due_head);
scoped!(DUE_IN_REPLAY, DUE_IN_REPLAY_AMONG, due_head_in_replay);
scoped!(BUSY, BUSY_AMONG, busy_heads);
scoped!(NEXT_TRY, NEXT_TRY_AMONG, next_try);

/// The head of each of these queues: the row the rest of the queue waits behind.
pub fn heads_of<D: Db>(db: &D, queues: &[String]) -> Result<Vec<Row>> {
    db.all(
        concat!(
            "SELECT ",
            columns!(),
            " FROM outbox o WHERE o.is_head = 1 AND o.queue IN (SELECT value FROM json_each(?1)) ORDER BY o.id"
        ),
        values![serde_json::to_string(queues)?],
        row,
    )
}

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

/// What one claim asks for.
#[derive(Debug, Clone)]
pub struct Ask<'a> {
    pub scope: &'a Scope,
    pub lease_ms: i64,
    /// With `retry_from` (the replay CronJob's start), our own backoff of rows last tried before
    /// then is over; a wait the host asked for (Retry-After, a rate-limit reset) still holds, and
    /// a row that fails again during this replay backs off as usual.
    pub retry_from: Option<i64>,
    /// The time of the claim (ms since the epoch), from the state's clock.
    pub now: i64,
}

/// Claims the next sendable row: the head of its queue, due, and not leased by a live process.
/// The claim raises the row's lease generation, so a lapsed holder can no longer record it.
/// `done` is the previous row's result, recorded in the same transaction (one commit per send),
/// when its fence still holds: what became of it comes back beside the claim.
pub fn claim_next<D: Db>(
    db: &D,
    ask: &Ask,
    done: Option<(Fence, &Finish)>,
) -> Result<(Option<Recorded>, Claim)> {
    crate::state::sql::transaction(
        |f| db.atomically(f),
        || {
            let recorded = match done {
                Some((fence, finish)) => {
                    Some(crate::state::store::Outbox::record(db, fence, finish)?)
                }
                None => None,
            };
            Ok((recorded, claim_in_transaction(db, ask)?))
        },
    )
}

fn claim_in_transaction<D: Db>(db: &D, ask: &Ask) -> Result<Claim> {
    let Ask {
        scope,
        lease_ms,
        retry_from,
        now,
    } = *ask;
    // Static SQL (so each statement is parsed once): the scope is a bound JSON array.
    let among = match scope {
        Scope::All => None,
        Scope::Queues(queues) => Some(serde_json::to_string(queues)?),
    };
    let scoped = |all: &'static str, among_sql: &'static str| match &among {
        None => (all, Vec::new()),
        Some(queues) => (
            among_sql,
            vec![crate::state::sql::Value::Text(queues.clone())],
        ),
    };
    let bind = |mut first: Vec<crate::state::sql::Value>, rest: &[crate::state::sql::Value]| {
        first.extend_from_slice(rest);
        first
    };
    let (sql, scope_values) = match retry_from {
        None => scoped(DUE, DUE_AMONG),
        Some(_) => scoped(DUE_IN_REPLAY, DUE_IN_REPLAY_AMONG),
    };
    let retry = retry_from.unwrap_or(i64::MIN);
    let params = match retry_from {
        None => bind(scope_values, values![now]),
        Some(_) => bind(scope_values, values![now, retry]),
    };
    if let Some(head) = db.one(sql, &params, row)? {
        db.execute(
            "UPDATE outbox SET state = 'sending', lease_until = ?2, updated_ms = ?3, fence = fence + 1
             WHERE id = ?1",
            values![head.id, now.saturating_add(lease_ms), now],
        )?;
        let mut claimed = head;
        claimed.state = RowState::Sending;
        claimed.fence += 1;
        return Ok(Claim::Row(Box::new(claimed)));
    }
    let (sql, scope_values) = scoped(BUSY, BUSY_AMONG);
    let busy = db
        .one(sql, &bind(scope_values, values![now]), |r| r.get::<i64>(0))?
        .unwrap_or(0);
    if busy > 0 {
        return Ok(Claim::Busy);
    }
    let (sql, scope_values) = scoped(NEXT_TRY, NEXT_TRY_AMONG);
    let next = db
        .one(sql, &scope_values, |r| r.get::<Option<i64>>(0))?
        .flatten();
    Ok(next.map_or(Claim::Empty, Claim::Wait))
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

    /// The tests' clock: claims happen at the times they name, leases lapse when they say.
    const T0: i64 = 1_700_000_000_000;

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

    fn ask(scope: &Scope, now: i64, lease_ms: i64, retry_from: Option<i64>) -> Ask<'_> {
        Ask {
            scope,
            lease_ms,
            retry_from,
            now,
        }
    }

    fn claim(conn: &rusqlite::Connection, now: i64) -> Claim {
        claim_next(conn, &ask(&Scope::All, now, 1000, None), None)
            .unwrap()
            .1
    }

    fn take(conn: &rusqlite::Connection, now: i64) -> Box<Row> {
        match claim(conn, now) {
            Claim::Row(row) => row,
            other => panic!("expected a row, found {other:?}"),
        }
    }

    fn retry(not_before: i64, host_wait: bool) -> Finish {
        Finish::Retry {
            why: "503".into(),
            answer: Some(503),
            not_before,
            host_wait,
        }
    }

    fn state_of(conn: &rusqlite::Connection, id: i64) -> (String, i64, i64) {
        conn.query_row(
            "SELECT state, attempts, fence FROM outbox WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
    }

    #[test]
    fn a_queue_leaves_in_order_and_a_retry_holds_it_back() {
        let (state, dir) = temp_state("outbox");
        let first = add(state.conn(), "a", "https://x/1");
        let second = add(state.conn(), "a", "https://x/2");
        let other = add(state.conn(), "b", "https://x/3");
        let conn = &state.conn;
        let first_claim = take(conn, T0);
        assert_eq!(first_claim.id, first);
        // The first is in flight: the only other sendable head is another queue's.
        let other_claim = take(conn, T0);
        assert_eq!(other_claim.id, other);
        let later = T0 + 60_000;
        assert_eq!(
            conn.finish(first_claim.fence(), &retry(later, false))
                .unwrap(),
            Recorded::Yes
        );
        assert_eq!(
            conn.finish(other_claim.fence(), &Finish::Done { answer: 201 })
                .unwrap(),
            Recorded::Yes
        );
        // `second` must wait behind `first`.
        assert!(matches!(claim(conn, T0 + 1), Claim::Wait(t) if t == later));
        let again = take(conn, later);
        assert_eq!(again.id, first);
        assert_eq!(again.attempts, 1);
        assert_eq!(
            conn.finish(again.fence(), &Finish::Done { answer: 201 })
                .unwrap(),
            Recorded::Yes
        );
        assert_eq!(take(conn, later).id, second);
        assert_eq!(conn.attempts(first).unwrap().len(), 2);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_live_lease_is_busy_and_an_expired_one_is_taken_over() {
        let (state, dir) = temp_state("lease");
        let id = add(state.conn(), "a", "https://x/1");
        let conn = &state.conn;
        let first = take(conn, T0);
        assert!(matches!(claim(conn, T0 + 999), Claim::Busy));
        let queue = queue_of(
            "i",
            Some("a"),
            &Target::Kind(&crate::hosts::github::STATUSES),
        );
        let scope = Scope::Queues(vec![queue]);
        let Claim::Row(row) = claim_next(conn, &ask(&scope, T0 + 1000, 1000, None), None)
            .unwrap()
            .1
        else {
            panic!()
        };
        assert_eq!(row.id, id);
        assert_eq!(row.fence, first.fence + 1, "a takeover raises the fence");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_woken_stale_sender_changes_nothing() {
        let (state, dir) = temp_state("fence");
        let id = add(state.conn(), "a", "https://x/1");
        let conn = &state.conn;
        // A sender claims the row, then stalls past its lease; a second takes it over and
        // delivers it.
        let stalled = take(conn, T0);
        let taker = take(conn, T0 + 5_000);
        assert_eq!(
            conn.finish(taker.fence(), &Finish::Done { answer: 201 })
                .unwrap(),
            Recorded::Yes
        );
        let delivered = state_of(conn, id);
        assert_eq!(delivered, ("done".into(), 1, 2));
        // The first wakes with its late "timed out": refused, whatever it says.
        for late in [
            retry(0, false),
            Finish::Failed {
                why: "x".into(),
                answer: None,
            },
            Finish::Done { answer: 201 },
        ] {
            assert_eq!(
                conn.finish(stalled.fence(), &late).unwrap(),
                Recorded::Stale
            );
            assert_eq!(state_of(conn, id), delivered);
        }
        assert_eq!(conn.attempts(id).unwrap().len(), 1);
        assert!(
            matches!(claim(conn, T0 + 10_000), Claim::Empty),
            "nothing is owed again"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_stale_result_carried_by_a_claim_is_refused_and_the_claim_goes_on() {
        let (state, dir) = temp_state("fence-claim");
        let first = add(state.conn(), "a", "https://x/1");
        let other = add(state.conn(), "b", "https://x/2");
        let conn = &state.conn;
        let stalled = take(conn, T0);
        assert_eq!(stalled.id, first);
        // Taken over and left in flight by the other process.
        let taker = take(conn, T0 + 5_000);
        assert_eq!(taker.id, first);
        let done = Finish::Done { answer: 201 };
        let (recorded, next) = claim_next(
            conn,
            &ask(&Scope::All, T0 + 5_001, 1000, None),
            Some((stalled.fence(), &done)),
        )
        .unwrap();
        assert_eq!(recorded, Some(Recorded::Stale));
        assert!(matches!(next, Claim::Row(row) if row.id == other));
        assert_eq!(state_of(conn, first), ("sending".into(), 0, 2));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn replay_skips_our_own_backoff_but_not_the_hosts() {
        let (state, dir) = temp_state("replay-backoff");
        let ours = add(state.conn(), "a", "https://x/1");
        let theirs = add(state.conn(), "b", "https://x/2");
        let conn = &state.conn;
        let later = T0 + 60_000;
        for (id, host_wait) in [(ours, false), (theirs, true)] {
            let row = take(conn, T0);
            assert_eq!(row.id, id);
            assert_eq!(
                conn.finish(row.fence(), &retry(later, host_wait)).unwrap(),
                Recorded::Yes
            );
        }
        // `updated_ms` is the wall clock's: the replay starts after it.
        let start = crate::state::now_ms() + 1;
        let replay = ask(&Scope::All, T0 + 10, 1000, Some(start));
        let Claim::Row(row) = claim_next(conn, &replay, None).unwrap().1 else {
            panic!()
        };
        assert_eq!(row.id, ours);
        assert_eq!(
            conn.finish(row.fence(), &retry(later, false)).unwrap(),
            Recorded::Yes
        );
        conn.execute("UPDATE outbox SET updated_ms = ?1", [start + 1])
            .unwrap();
        assert!(
            matches!(claim_next(conn, &replay, None).unwrap().1, Claim::Wait(_)),
            "tried again in this replay: backs off"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
