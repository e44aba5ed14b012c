//! Abandoned PRs already dealt with, so that the next `poll-prs` pass asks nothing about them.

use super::store::Prs;
use super::values::PrState;
use super::{exec, now_ms};
use anyhow::Result;
use rusqlite::{params, Connection};
use std::collections::HashSet;

/// The SQLite backend's prs: the SQL of each operation.
impl Prs for Connection {
    fn handled(&self, instance: &str) -> Result<HashSet<u64>> {
        let mut stmt = self.prepare_cached("SELECT pr FROM prs WHERE instance = ?1")?;
        let prs = stmt
            .query_map([instance], |r| r.get::<_, i64>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(prs
            .into_iter()
            .filter_map(|p| u64::try_from(p).ok())
            .collect())
    }

    fn mark(&self, instance: &str, pr: u64, state: PrState, why: Option<&str>) -> Result<()> {
        exec(
            self,
            "INSERT INTO prs (instance, pr, state, why, handled_ms) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (instance, pr) DO UPDATE SET state = ?3, why = ?4, handled_ms = ?5",
            params![instance, i64::try_from(pr)?, state, why, now_ms()],
        )?;
        Ok(())
    }
}
