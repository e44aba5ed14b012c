//! What is known of each commit: its outcome, whether the orchestrator was told, which
//! required sources have ended, and the newest event time posted per status context.

use super::values::Notified;
use crate::decide::Newest;
use crate::report::Outcome;
use crate::values;
use anyhow::Result;

use super::now_ms;
use super::sql::{Db, Sql as _};
use super::store::Commits;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub outcome: Option<Outcome>,
    pub notify: Option<Notified>,
    /// The statuses of the event that ended the commit were planned (by `status` or `handle`).
    /// Until then, a `status` of that event still posts after a `notify` recorded the end.
    pub end_statuses: bool,
}

/// The commit whose own end was recorded last, other than `except` (released commits do not
/// count): where the release of the commits skipped before `except` starts.
/// Runs once per end: `commits_by_end` makes it one index step on a state of any size.
const LAST_ENDED: &str = "SELECT commit_id FROM commits
     WHERE instance = ?1 AND commit_id != ?2 AND outcome IS NOT NULL AND superseded_by IS NULL
     ORDER BY outcome_ms DESC LIMIT 1";

/// What is known of commits, in SQL the same on every backend.
/// What each operation promises is said once, on the trait (`store.rs`).
impl<D: Db> Commits for D {
    fn get(&self, instance: &str, commit: &str) -> Result<Option<Record>> {
        self.one(
            "SELECT outcome, notify, end_statuses FROM commits WHERE instance = ?1 AND commit_id = ?2",
            values![instance, commit],
            |r| {
                Ok(Record {
                    outcome: r.get(0)?,
                    notify: r.get(1)?,
                    end_statuses: r.get(2)?,
                })
            },
        )
    }

    fn mark_end_statuses(&self, instance: &str, commit: &str) -> Result<()> {
        self.execute(
            "UPDATE commits SET end_statuses = 1 WHERE instance = ?1 AND commit_id = ?2 AND outcome IS NOT NULL",
            values![instance, commit],
        )?;
        Ok(())
    }

    fn set_outcome(
        &self,
        instance: &str,
        commit: &str,
        outcome: Outcome,
        event: Option<i64>,
    ) -> Result<()> {
        self.execute(
            "INSERT INTO commits (instance, commit_id, outcome, outcome_event, outcome_ms) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (instance, commit_id) DO UPDATE SET outcome = ?3, outcome_event = ?4, outcome_ms = ?5",
            values![instance, commit, outcome, event, now_ms()],
        )?;
        Ok(())
    }

    fn seen(&self, instance: &str, commit: &str) -> Result<()> {
        self.execute(
            "INSERT INTO commits (instance, commit_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            values![instance, commit],
        )?;
        Ok(())
    }

    fn last_ended(&self, instance: &str, except: &str) -> Result<Option<String>> {
        self.one(LAST_ENDED, values![instance, except], |r| r.get(0))
    }

    fn release(
        &self,
        instance: &str,
        commit: &str,
        outcome: Outcome,
        head: &str,
        event: Option<i64>,
    ) -> Result<bool> {
        let changed = self.execute(
            "INSERT INTO commits (instance, commit_id, outcome, outcome_event, outcome_ms, notify, notify_ms, superseded_by)
             VALUES (?1, ?2, ?3, ?4, ?5, 'owed', ?5, ?6)
             ON CONFLICT (instance, commit_id) DO UPDATE
                SET outcome = ?3, outcome_event = ?4, outcome_ms = ?5, notify = 'owed', notify_ms = ?5, superseded_by = ?6
                WHERE commits.outcome IS NULL AND commits.notify IS NULL",
            values![instance, commit, outcome, event, now_ms(), head],
        )?;
        Ok(changed == 1)
    }

    fn claim_notify(&self, instance: &str, commit: &str) -> Result<bool> {
        let changed = self.execute(
            "UPDATE commits SET notify = 'owed', notify_ms = ?3 WHERE instance = ?1 AND commit_id = ?2 AND notify IS NULL",
            values![instance, commit, now_ms()],
        )?;
        Ok(changed == 1)
    }

    fn set_notify(&self, instance: &str, commit: &str, notify: Notified) -> Result<()> {
        self.execute(
            "UPDATE commits SET notify = ?3, notify_ms = ?4 WHERE instance = ?1 AND commit_id = ?2",
            values![instance, commit, notify, now_ms()],
        )?;
        Ok(())
    }

    fn reopen_notify(&self, instance: &str, commit: &str) -> Result<bool> {
        let changed = self.execute(
            "UPDATE commits SET notify = NULL WHERE instance = ?1 AND commit_id = ?2 AND notify IN ('failed', 'nothing')",
            values![instance, commit],
        )?;
        Ok(changed == 1)
    }

    fn assume_ended(&self, instance: &str, commit: &str, outcome: Outcome) -> Result<()> {
        self.execute(
            "INSERT INTO commits (instance, commit_id, outcome, outcome_ms, notify, notify_ms, end_statuses)
             VALUES (?1, ?2, ?3, ?4, 'assumed', ?4, 1) ON CONFLICT DO NOTHING",
            values![instance, commit, outcome, now_ms()],
        )?;
        Ok(())
    }

    fn sources(&self, instance: &str, commit: &str) -> Result<Vec<(String, Outcome)>> {
        self.all::<_, Vec<_>>(
            "SELECT source, outcome FROM sources WHERE instance = ?1 AND commit_id = ?2",
            values![instance, commit],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    fn set_source(
        &self,
        instance: &str,
        commit: &str,
        source: &str,
        outcome: Outcome,
    ) -> Result<()> {
        self.execute(
            "INSERT INTO sources (instance, commit_id, source, outcome) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (instance, commit_id, source) DO UPDATE SET outcome = ?4",
            values![instance, commit, source, outcome],
        )?;
        Ok(())
    }

    fn advance_context(
        &self,
        instance: &str,
        commit: &str,
        target: &str,
        context: &str,
        time: i64,
    ) -> Result<()> {
        self.execute(
            "INSERT INTO contexts (instance, commit_id, target, context, event_time) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (instance, commit_id, target, context) DO UPDATE
                SET event_time = CASE WHEN contexts.event_time > ?5 THEN contexts.event_time ELSE ?5 END",
            values![instance, commit, target, context, time],
        )?;
        Ok(())
    }

    fn newest_contexts(&self, instance: &str, commit: &str) -> Result<Newest> {
        self.all::<_, Newest>(
            "SELECT target, context, event_time FROM contexts WHERE instance = ?1 AND commit_id = ?2",
            values![instance, commit],
            |r| {
                Ok(((r.get(0)?, r.get(1)?), r.get(2)?))
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::temp_state;

    /// `last_ended` runs once per end on states of any size: it must be one index step.
    #[test]
    fn the_last_end_is_found_through_its_index() {
        let (state, dir) = temp_state("last-ended-plan");
        let plan: String = state
            .conn()
            .query_row(
                &format!("EXPLAIN QUERY PLAN {LAST_ENDED}"),
                ["i", "c"],
                |r| r.get(3),
            )
            .unwrap();
        assert!(plan.contains("commits_by_end"), "{plan}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_notification_is_claimed_once() {
        let (state, dir) = temp_state("commits");
        let c = state.conn();
        c.set_outcome("i", "abc", Outcome::Success, Some(1))
            .unwrap();
        assert!(c.claim_notify("i", "abc").unwrap());
        assert!(!c.claim_notify("i", "abc").unwrap());
        c.set_outcome("i", "abc", Outcome::Failure, Some(2))
            .unwrap();
        let record = c.get("i", "abc").unwrap().unwrap();
        assert_eq!(
            (record.outcome, record.notify),
            (Some(Outcome::Failure), Some(Notified::Owed))
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_context_keeps_its_newest_time() {
        let (state, dir) = temp_state("contexts");
        let c = state.conn();
        c.advance_context("i", "abc", "github", "Status", 100)
            .unwrap();
        c.advance_context("i", "abc", "github", "Status", 99)
            .unwrap();
        c.advance_context("i", "abc", "github", "Other", 1).unwrap();
        let newest = c.newest_contexts("i", "abc").unwrap();
        assert_eq!(newest[&("github".to_string(), "Status".to_string())], 100);
        assert_eq!(newest[&("github".to_string(), "Other".to_string())], 1);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
