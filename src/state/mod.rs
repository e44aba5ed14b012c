//! The state: the journal, the outbox, and what is known of commits, PRs and deployments. The
//! program sees it through the traits of [`store`]; a backend implements them and registers in
//! [`BACKENDS`]. SQLite (`sqlite/`, with its SQL in the modules below, each
//! implementing its trait) is the one there is.
//! Never a token in it.

pub mod commits;
pub mod copy;
pub mod deployments;
pub mod journal;
pub mod outbox;
pub mod pipelines;
mod postgres;
pub mod prs;
mod schema;
pub mod sql;
mod sqlite;
pub mod store;
pub mod values;

pub use postgres::{is_url as is_server_url, LOCK as POSTGRES_LOCK};
pub use store::{Backend, BackendKind, Opening, Store};

use anyhow::Result;
use outbox::{Claim, Fence, Finish, Recorded, Scope};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[cfg(test)]
pub(crate) use sqlite::temp_state;

/// What became of a notification, recorded where each reader looks: the commit's record (or the
/// abandoned PR's), and the why of the event that planned it, so that `events` says "told" only
/// once it was. A skipped commit's notification is its own: the why of the event that released
/// it tells of that event's commit, and stays. Returns the why written, if any.
pub fn record_told(
    store: &dyn Store,
    row: &outbox::Row,
    job: &crate::orchestrators::Job,
    told: values::Notified,
    why: &str,
) -> Result<Option<String>> {
    let outcome = job.outcome;
    match (job.pr, &row.commit_id) {
        (Some(pr), _) => store.prs().mark(&row.instance, pr, told.into(), None)?,
        (None, Some(commit)) => store.commits().set_notify(&row.instance, commit, told)?,
        _ => {}
    }
    let Some(event) = row.event_id.filter(|_| job.superseded_by.is_none()) else {
        return Ok(None);
    };
    let noted = format!("the deployment ended ({outcome}): {why}");
    store.journal().note(event, &noted)?;
    Ok(Some(noted))
}

/// Every state backend `state` may name, tried in order: the first that accepts the location.
pub const BACKENDS: &[&BackendKind] = &[&postgres::BACKEND, &sqlite::BACKEND];

/// The open state, whatever its backend.
pub struct State {
    backend: Box<dyn Backend>,
    location: String,
}

/// The state's clock offset from this machine's, in ms: zero for a SQLite file (one machine's
/// clock), the server's clock less ours for PostgreSQL, measured once when it is opened. So
/// every replica leases and backs off on the one clock the rows are shared through.
static CLOCK_OFFSET_MS: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// This machine's clock (ms since the epoch).
pub fn local_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_millis()).ok())
        .unwrap_or(0)
}

/// The state's clock (ms since the epoch): what leases, backoff, journal times and pruning use.
pub fn now_ms() -> i64 {
    local_now_ms().saturating_add(CLOCK_OFFSET_MS.load(std::sync::atomic::Ordering::Relaxed))
}

/// Sets the state's clock: the server's time less this machine's, in ms.
pub(crate) fn set_clock_offset(offset_ms: i64) {
    CLOCK_OFFSET_MS.store(offset_ms, std::sync::atomic::Ordering::Relaxed);
}

impl State {
    /// Opens the state at `location` with the first backend that accepts it (creating and
    /// migrating it as that backend does). `busy`: how long to wait for another process.
    pub fn open(location: &Path, busy: Duration) -> Result<State> {
        State::open_with(&Opening {
            location: &location.display().to_string(),
            busy,
            password_file: None,
        })
    }

    pub fn open_with(opening: &Opening) -> Result<State> {
        let kind = BACKENDS
            .iter()
            .find(|kind| (kind.accepts)(opening.location))
            .ok_or_else(|| anyhow::anyhow!("no state backend accepts {:?}", opening.location))?;
        Ok(State {
            backend: (kind.open)(opening)?,
            location: crate::url::without_credentials(opening.location),
        })
    }

    /// Where the state is, for messages (a server's password hidden).
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Reads and writes outside a transaction.
    pub fn store(&self) -> &dyn Store {
        self.backend.store()
    }

    /// Runs `f` in a transaction that takes the write lock up front: a read-then-write decision
    /// cannot interleave with another process's.
    pub fn immediate<T>(&mut self, f: impl FnOnce(&dyn Store) -> Result<T>) -> Result<T> {
        let store = self.backend.store();
        sql::transaction(|f| store.atomically(f), || f(store))
    }

    /// Copies every row of `from` into this state, which must hold nothing yet: one transaction
    /// on each side (the source's keeps its writers out meanwhile).
    pub fn copy_from(&mut self, from: &State) -> Result<copy::Copied> {
        let (source, destination) = (from.backend.db(), self.backend.db());
        sql::transaction(
            |f| source.atomically(f),
            || {
                sql::transaction(
                    |f| destination.atomically(f),
                    || {
                        let copied = copy::copy(source, destination)?;
                        self.backend.after_copy()?;
                        Ok(copied)
                    },
                )
            },
        )
    }

    /// Claims the next row to send (see `outbox::lease::claim_next`), at the state's time.
    pub fn claim_next(
        &mut self,
        scope: &Scope,
        lease_ms: i64,
        retry_from: Option<i64>,
        done: Option<(Fence, &Finish)>,
    ) -> Result<(Option<Recorded>, Claim)> {
        let ask = outbox::Ask {
            scope,
            lease_ms,
            retry_from,
            now: now_ms(),
        };
        self.backend.store().claim_next(&ask, done)
    }
}
