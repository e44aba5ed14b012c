//! The pipelines told: each waiting pipeline (a GitHub run, an Azure task) is told by one
//! notification, whichever of the commits that lead to it knows it first.

use super::outbox::Fence;
use super::sql::{Db, Sql as _};
use super::store::Pipelines;
use crate::values;
use anyhow::Result;

/// Who tells a pipeline, when it is not the asking notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Teller {
    pub row: i64,
    pub commit: Option<String>,
    /// The other notification was delivered already (else it is under way).
    pub told: bool,
}

/// What each operation promises is said once, on the trait (`store.rs`).
impl<D: Db> Pipelines for D {
    fn claim(
        &self,
        instance: &str,
        pipeline: &str,
        fence: Fence,
        commit: Option<&str>,
    ) -> Result<Option<Teller>> {
        self.execute(
            "INSERT INTO pipelines (instance, pipeline, outbox_id, commit_id) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT DO NOTHING",
            values![instance, pipeline, fence.row, commit],
        )?;
        let holder = self.one(
            "SELECT p.outbox_id, p.commit_id, o.state FROM pipelines p LEFT JOIN outbox o ON o.id = p.outbox_id
             WHERE p.instance = ?1 AND p.pipeline = ?2",
            values![instance, pipeline],
            |r| Ok((r.get::<i64>(0)?, r.get::<Option<String>>(1)?, r.get::<Option<String>>(2)?)),
        )?;
        let Some((row, holder_commit, state)) = holder else {
            anyhow::bail!("the state lost the claim of pipeline {pipeline} it just wrote");
        };
        if row == fence.row {
            return Ok(None);
        }
        match state.as_deref() {
            Some("done") => Ok(Some(Teller {
                row,
                commit: holder_commit,
                told: true,
            })),
            Some("pending" | "sending") => Ok(Some(Teller {
                row,
                commit: holder_commit,
                told: false,
            })),
            // The other notification failed, was refused or is gone: this one tells it.
            _ => {
                self.execute(
                    "UPDATE pipelines SET outbox_id = ?3, commit_id = ?4 WHERE instance = ?1 AND pipeline = ?2",
                    values![instance, pipeline, fence.row, commit],
                )?;
                Ok(None)
            }
        }
    }
}
