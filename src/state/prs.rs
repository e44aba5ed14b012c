//! Abandoned PRs already dealt with, so that the next `poll-prs` pass asks nothing about them.

use super::now_ms;
use super::sql::{Db, Sql as _};
use super::store::Prs;
use super::values::PrState;
use crate::values;
use anyhow::Result;
use std::collections::HashSet;

/// The handled PRs, in SQL the same on every backend.
/// What each operation promises is said once, on the trait (`store.rs`).
impl<D: Db> Prs for D {
    fn handled(&self, instance: &str) -> Result<HashSet<u64>> {
        self.all(
            "SELECT pr FROM prs WHERE instance = ?1",
            values![instance],
            |r| r.get(0),
        )
    }

    fn mark(&self, instance: &str, pr: u64, state: PrState, why: Option<&str>) -> Result<()> {
        self.execute(
            "INSERT INTO prs (instance, pr, state, why, handled_ms) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (instance, pr) DO UPDATE SET state = ?3, why = ?4, handled_ms = ?5",
            values![instance, i64::try_from(pr)?, state, why, now_ms()],
        )?;
        Ok(())
    }
}
