//! The pipelines told: each waiting pipeline (a GitHub run, an Azure task) is told by one
//! notification, whichever of the commits that lead to it knows it first.

use super::outbox::{Fence, Row};
use super::sql::{Db, Sql as _};
use super::store::{Pipelines, Store};
use crate::request::Request;
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

/// Whether a notification may leave now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Go {
    /// Its fence holds and its pipeline is its own to tell: its request is stored, send it.
    Send,
    /// Its lease lapsed (another process may hold it now): do not send.
    Lapsed,
    /// Another notification told the pipeline already: nothing to send.
    Told(Teller),
    /// Another notification is telling it now: wait for it (and take over should it fail).
    Waits(Teller),
}

/// The last step before a notification leaves, in one transaction: the fence is checked (a
/// sender whose lease lapsed during its reads does not send), its pipeline claimed (told by
/// one notification, whichever commits lead to it), and its request stored for `events show`.
pub fn before_notifying(
    store: &dyn Store,
    row: &Row,
    pipeline: Option<&str>,
    request: &Request,
) -> Result<Go> {
    super::sql::transaction(
        |f| store.atomically(f),
        || {
            if !store.outbox().holds(row.fence())? {
                return Ok(Go::Lapsed);
            }
            let teller = match pipeline {
                Some(pipeline) => store.pipelines().claim(
                    &row.instance,
                    pipeline,
                    row.fence(),
                    row.commit_id.as_deref(),
                )?,
                None => None,
            };
            Ok(match teller {
                Some(teller) if teller.told => Go::Told(teller),
                Some(teller) => Go::Waits(teller),
                None => {
                    store.outbox().set_request(row.id, request)?;
                    Go::Send
                }
            })
        },
    )
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
