//! The journal: every event body as received, and what became of it.

use super::now_ms;
use super::sql::{Db, Row, Sql as _};
use super::store::Journal;
use crate::plan::Mode;
use crate::values;
use anyhow::Result;
use serde::Serialize;
use std::fmt::Write as _;

/// What became of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Read but not decided yet (the process is still at work, or died).
    Received,
    /// Statuses and/or a notification were planned.
    Handled,
    /// Understood, not for us.
    Ignored,
    /// Invalid input or refused (bad signature, configuration).
    Rejected,
    /// Older than what was already posted, or after the commit's end: nothing planned.
    Superseded,
    /// The same bytes as an earlier event: only what that one still owed was retried.
    Duplicate,
}

crate::stored_words!(Verdict {
    Received => "received",
    Handled => "handled",
    Ignored => "ignored",
    Rejected => "rejected",
    Superseded => "superseded",
    Duplicate => "duplicate",
});

/// The columns an event fills in once it is understood (all optional: a rejected body has none).
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub instance: Option<String>,
    pub operator: Option<String>,
    pub kind: Option<String>,
    pub source: Option<String>,
    pub reason: Option<String>,
    pub commit: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EventRow {
    pub id: i64,
    pub received_ms: i64,
    pub command: Mode,
    pub sha256: String,
    pub size: i64,
    pub instance: Option<String>,
    pub operator: Option<String>,
    pub kind: Option<String>,
    pub source: Option<String>,
    pub reason: Option<String>,
    pub commit_id: Option<String>,
    pub outcome: Verdict,
    pub why: Option<String>,
    pub replay_of: Option<i64>,
    /// What the release of the commits skipped before this event's commit concluded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub released: Option<String>,
}

const COLUMNS: &str =
    "id, received_ms, command, sha256, size, instance, operator, kind, source, reason, commit_id, outcome, why, replay_of, released";

fn row(r: &Row) -> Result<EventRow> {
    Ok(EventRow {
        id: r.get(0)?,
        received_ms: r.get(1)?,
        command: r.get(2)?,
        sha256: crate::signature::hex(&r.get::<Vec<u8>>(3)?),
        size: r.get(4)?,
        instance: r.get(5)?,
        operator: r.get(6)?,
        kind: r.get(7)?,
        source: r.get(8)?,
        reason: r.get(9)?,
        commit_id: r.get(10)?,
        outcome: r.get(11)?,
        why: r.get(12)?,
        replay_of: r.get(13)?,
        released: r.get(14)?,
    })
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// A commit id or a prefix of one, lower-case hex.
    pub commit: Option<String>,
    /// Only events with requests still owed or failed for good.
    pub failed: bool,
    pub limit: usize,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Pruned {
    pub events: usize,
    pub requests: usize,
    pub bodies: usize,
}

/// The journal's SQL, the same on every backend.
/// What each operation promises is said once, on the trait (`store.rs`).
impl<D: Db> Journal for D {
    fn record(
        &self,
        bytes: &[u8],
        sha256: &[u8],
        command: Mode,
        replay_of: Option<i64>,
    ) -> Result<i64> {
        // One transaction: an event is never journaled without its body, nor a body alone.
        let id = super::sql::transaction(
            |f| self.atomically(f),
            || {
                self.execute(
                    "INSERT INTO bodies (sha256, bytes) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                    values![sha256, bytes],
                )?;
                self.one(
                    "INSERT INTO events (received_ms, command, sha256, size, replay_of, outcome) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     RETURNING id",
                    values![now_ms(), command, sha256, i64::try_from(bytes.len())?, replay_of, Verdict::Received],
                    |r| r.get(0),
                )
            },
        )?;
        id.ok_or_else(|| anyhow::anyhow!("the state did not number the event"))
    }

    fn conclude(&self, id: i64, verdict: Verdict, why: Option<&str>, facts: &Facts) -> Result<()> {
        self.execute(
            "UPDATE events SET outcome = ?2, why = ?3, instance = ?4, operator = ?5, kind = ?6, source = ?7,
                    reason = ?8, commit_id = ?9 WHERE id = ?1",
            values![
                id,
                verdict,
                why,
                facts.instance,
                facts.operator,
                facts.kind,
                facts.source,
                facts.reason,
                facts.commit
            ],
        )?;
        Ok(())
    }

    fn earlier_status_copy(
        &self,
        sha256: &[u8],
        instance: &str,
        before: i64,
    ) -> Result<Option<i64>> {
        self.one(
            "SELECT id FROM events WHERE sha256 = ?1 AND instance = ?2 AND id != ?3
                   AND outcome IN ('handled', 'superseded') AND command IN ('status', 'handle')
                   ORDER BY id LIMIT 1",
            values![sha256, instance, before],
            |r| r.get(0),
        )
    }

    fn note(&self, id: i64, why: &str) -> Result<()> {
        self.execute("UPDATE events SET why = ?2 WHERE id = ?1", values![id, why])?;
        Ok(())
    }

    fn note_release(&self, id: i64, summary: &str) -> Result<()> {
        self.execute(
            // A release of several pages notes each.
            "UPDATE events SET released = CASE WHEN released IS NULL THEN ?2 ELSE released || '; ' || ?2 END
             WHERE id = ?1",
            values![id, summary],
        )?;
        Ok(())
    }

    fn body(&self, id: i64) -> Result<Option<Vec<u8>>> {
        self.one(
            "SELECT b.bytes FROM events e JOIN bodies b ON b.sha256 = e.sha256 WHERE e.id = ?1",
            values![id],
            |r| r.get(0),
        )
    }

    fn get(&self, id: i64) -> Result<Option<EventRow>> {
        self.one(
            &format!("SELECT {COLUMNS} FROM events WHERE id = ?1"),
            values![id],
            row,
        )
    }

    fn list(&self, filter: &Filter) -> Result<Vec<EventRow>> {
        let mut sql = format!("SELECT {COLUMNS} FROM events e WHERE 1 = 1");
        if filter.commit.is_some() {
            // A prefix of lower-case hex (checked by the command line), as git takes it; a range
            // keeps the index: every id with the prefix sorts between it and the prefix + 'g'.
            sql.push_str(" AND e.commit_id >= ?1 AND e.commit_id < ?1 || 'g'");
        }
        if filter.failed {
            sql.push_str(
                " AND (e.outcome = 'rejected' OR EXISTS (SELECT 1 FROM outbox o WHERE o.event_id = e.id
                       AND o.state IN ('pending', 'sending', 'failed', 'refused')))",
            );
        }
        let _ = write!(
            sql,
            " ORDER BY e.id DESC LIMIT {}",
            filter.limit.clamp(1, 1_000_000)
        );
        match &filter.commit {
            Some(c) => self.all(&sql, values![c], row),
            None => self.all(&sql, &[], row),
        }
    }

    fn prune(&self, before_ms: i64) -> Result<Pruned> {
        // One transaction: a crash halfway leaves no request without its event, no attempt
        // without its request.
        super::sql::transaction(|f| self.atomically(f), || prune(self, before_ms))
    }
}

fn prune<D: Db>(db: &D, before_ms: i64) -> Result<Pruned> {
    let old_events = "SELECT id FROM events WHERE received_ms < ?1 AND NOT EXISTS
            (SELECT 1 FROM outbox o WHERE o.event_id = events.id AND o.state IN ('pending', 'sending'))";
    db.execute(
            &format!("DELETE FROM attempts WHERE outbox_id IN (SELECT id FROM outbox WHERE event_id IN ({old_events}))"),
            values![before_ms],
        )?;
    let requests = db.execute(
        &format!("DELETE FROM outbox WHERE event_id IN ({old_events})"),
        values![before_ms],
    )?;
    let events = db.execute(
        &format!("DELETE FROM events WHERE id IN ({old_events})"),
        values![before_ms],
    )?;
    let bodies = db.execute(
            "DELETE FROM bodies WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.sha256 = bodies.sha256)",
            &[],
        )?;
    Ok(Pruned {
        events,
        requests,
        bodies,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::temp_state;

    #[test]
    fn identical_bodies_are_stored_once_and_found_as_copies() {
        let (state, dir) = temp_state("journal");
        let c = state.conn();
        let a = c.record(b"{}", b"abc", Mode::Handle, None).unwrap();
        let facts = Facts {
            instance: Some("i".into()),
            ..Facts::default()
        };
        c.conclude(a, Verdict::Handled, None, &facts).unwrap();
        let b = c.record(b"{}", b"abc", Mode::Handle, None).unwrap();
        assert_eq!(c.earlier_status_copy(b"abc", "i", b).unwrap(), Some(a));
        assert_eq!(c.earlier_status_copy(b"abc", "other", b).unwrap(), None);
        let bodies: i64 = c
            .query_row("SELECT COUNT(*) FROM bodies", [], |r| r.get(0))
            .unwrap();
        assert_eq!(bodies, 1);
        assert_eq!(c.body(b).unwrap().unwrap(), b"{}");
        let pruned = c.prune(now_ms() + 1).unwrap();
        assert_eq!(
            pruned,
            Pruned {
                events: 2,
                requests: 0,
                bodies: 1
            }
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
