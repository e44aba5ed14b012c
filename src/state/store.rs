//! The state as the rest of the program sees it: what it can read and store, with no word of
//! SQL. A backend is a connection that runs SQL ([`Db`]) and registers in [`super::BACKENDS`];
//! the traits are implemented once over every `Db`.

use super::commits::Record;
use super::deployments::Deployment;
use super::journal::{EventRow, Facts, Filter, Pruned, Verdict};
use super::outbox::{Ask, Attempt, Claim, Fence, Finish, NewRow, Recorded, Row};
use super::sql::Db;
use super::values::{Notified, PrState};
use crate::config::Instance;
use crate::decide::Newest;
use crate::deployment::Job;
use crate::hosts::DeploymentState;
use crate::plan::Mode;
use crate::report::Outcome;
use crate::request::Request;
use anyhow::Result;
use std::collections::HashSet;

/// Every part of the state, from one connection: reads outside transactions, decisions inside
/// them, and the claim of the next row to send (its own transaction, which also records the
/// previous row's result).
pub trait Store {
    fn journal(&self) -> &dyn Journal;
    fn outbox(&self) -> &dyn Outbox;
    fn commits(&self) -> &dyn Commits;
    fn prs(&self) -> &dyn Prs;
    fn deployments(&self) -> &dyn Deployments;
    fn pipelines(&self) -> &dyn Pipelines;

    /// Runs `f` in a transaction that takes the write lock up front (SQLite's `BEGIN
    /// IMMEDIATE`, a PostgreSQL advisory lock), so that a read-then-write decision cannot
    /// interleave with another process's; committed when `f` returns `Ok`, rolled back otherwise.
    /// `f` goes on using this store.
    fn atomically(&self, f: &mut dyn FnMut() -> Result<()>) -> Result<()>;

    /// See `outbox::lease::claim_next`.
    fn claim_next(
        &self,
        ask: &Ask,
        done: Option<(Fence, &Finish)>,
    ) -> Result<(Option<Recorded>, Claim)>;
}

/// Every [`Db`] is the whole store: the operations are written once, in the SQL both backends
/// speak (`journal.rs`, `outbox/`, `commits.rs`, `prs.rs`, `deployments.rs`).
impl<D: Db> Store for D {
    fn journal(&self) -> &dyn Journal {
        self
    }

    fn outbox(&self) -> &dyn Outbox {
        self
    }

    fn commits(&self) -> &dyn Commits {
        self
    }

    fn prs(&self) -> &dyn Prs {
        self
    }

    fn deployments(&self) -> &dyn Deployments {
        self
    }

    fn pipelines(&self) -> &dyn Pipelines {
        self
    }

    fn atomically(&self, f: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        Db::atomically(self, f)
    }

    fn claim_next(
        &self,
        ask: &Ask,
        done: Option<(Fence, &Finish)>,
    ) -> Result<(Option<Recorded>, Claim)> {
        super::outbox::lease::claim_next(self, ask, done)
    }
}

/// An open state, whatever holds it.
pub trait Backend {
    fn store(&self) -> &dyn Store;

    /// The connection itself, for what works on every table at once (`state migrate`).
    fn db(&self) -> &dyn Db;

    /// After rows were copied in with their ids: new ids continue after the largest.
    fn after_copy(&self) -> Result<()> {
        Ok(())
    }
}

/// How a backend is chosen and opened: the state location it accepts (`state`,
/// `--state`, `GITOPS_CONNECTOR_STATE`) and how it opens one.
pub struct BackendKind {
    pub name: &'static str,
    pub accepts: fn(&str) -> bool,
    pub open: fn(&Opening) -> Result<Box<dyn Backend>>,
}

/// What opening a state takes.
pub struct Opening<'a> {
    /// A path, or a URL: the one place the password may be written, never shown.
    pub location: &'a str,
    /// How long to wait for another process's decision before giving up.
    pub busy: std::time::Duration,
    /// Where a server's password is kept (`state_password_file`).
    pub password_file: Option<&'a std::path::Path>,
}

/// The journal: every event body as received, and what became of it.
pub trait Journal {
    /// First thing every invocation does: the body is safe before anything can fail.
    fn record(
        &self,
        bytes: &[u8],
        sha256: &[u8],
        command: Mode,
        replay_of: Option<i64>,
    ) -> Result<i64>;

    fn conclude(&self, id: i64, verdict: Verdict, why: Option<&str>, facts: &Facts) -> Result<()>;

    /// Another event with the same bytes for the same instance whose statuses were already planned
    /// (by `status` or `handle`). Not "earlier by id": of two copies arriving at once, the one
    /// journaled second may plan first. A `notify` of the same bytes does not count: it planned no
    /// status, so `status` after `notify` still posts them.
    fn earlier_status_copy(
        &self,
        sha256: &[u8],
        instance: &str,
        before: i64,
    ) -> Result<Option<i64>>;

    /// Replaces an event's `why` once what it planned has happened (its notification was delivered).
    fn note(&self, id: i64, why: &str) -> Result<()>;

    /// What the release queued by this event concluded (its own column: `why` tells of the event's
    /// own commit).
    fn note_release(&self, id: i64, summary: &str) -> Result<()>;

    fn body(&self, id: i64) -> Result<Option<Vec<u8>>>;

    fn get(&self, id: i64) -> Result<Option<EventRow>>;

    /// Newest first.
    fn list(&self, filter: &Filter) -> Result<Vec<EventRow>>;

    /// Drops events older than `before_ms` and their finished requests. Requests still owed, and
    /// the events they belong to, are kept whatever their age: pruning never loses a delivery.
    fn prune(&self, before_ms: i64) -> Result<Pruned>;
}

/// The outbox: every planned request, durable before it is sent, and how each send ended.
pub trait Outbox {
    fn enqueue(&self, row: &NewRow) -> Result<i64>;

    /// The notification's final request, once a flow has built it: shown by `events show`.
    fn set_request(&self, id: i64, request: &Request) -> Result<()>;

    fn for_event(&self, event_id: i64) -> Result<Vec<Row>>;

    /// The rows planned for an event and for every replay of it, oldest first.
    fn for_event_family(&self, event_id: i64) -> Result<Vec<Row>>;

    /// The events whose status requests wait on a configuration fix: `replay --failed` re-plans them.
    fn events_blocked_on_configuration(&self) -> Result<Vec<i64>>;

    /// The rows among `ids` still owed (pending, or being sent), oldest first.
    fn owed_among(&self, ids: &[i64]) -> Result<Vec<Row>>;

    /// Whether `fence` still holds its row (inside a transaction: until it ends).
    fn holds(&self, fence: Fence) -> Result<bool>;

    /// The head of each of these queues (its oldest open row), which the rest waits behind.
    fn heads_of(&self, queues: &[String]) -> Result<Vec<Row>>;

    /// Points an owed row at a re-planned request; it keeps its place in its queue.
    fn replan(&self, id: i64, request: &Request) -> Result<()>;

    /// Takes an owed row out of its queue: the current configuration plans nothing in its place.
    fn replace(&self, id: i64, why: &str) -> Result<()>;

    /// The open rows of one commit's queues (a repeated event retries what its commit still owes).
    fn open_queues_of_commit(&self, instance: &str, commit: &str) -> Result<Vec<String>>;

    fn attempts(&self, id: i64) -> Result<Vec<Attempt>>;

    /// The queues that still hold open rows (all of them, or among `queues`).
    fn open_queues(&self) -> Result<Vec<String>>;

    /// Which of these rows found nothing to notify.
    fn nothing_among(&self, ids: &[i64]) -> Result<std::collections::HashSet<i64>>;

    /// How the rows with these ids stand now: (owed, failed for good, refused).
    fn standing(&self, ids: &[i64]) -> Result<(usize, usize, usize)>;

    /// Records how a send ended, in a transaction of its own: see `record`.
    fn finish(&self, fence: Fence, finish: &Finish) -> Result<Recorded>;

    /// Records how a send ended, inside the caller's transaction, if the fence still holds the
    /// row: `Stale` (nothing written) when its lease lapsed and another process claimed it
    /// since. Whatever else the send caused belongs in the same transaction, after this.
    fn record(&self, fence: Fence, finish: &Finish) -> Result<Recorded>;
}

/// What is known of each commit: its outcome, whether the orchestrator was told, the ends of its
/// sources, the newest event time per status context, and what superseded it.
pub trait Commits {
    fn get(&self, instance: &str, commit: &str) -> Result<Option<Record>>;

    /// The statuses of the commit's end are planned: later events that do not change the outcome
    /// post nothing.
    fn mark_end_statuses(&self, instance: &str, commit: &str) -> Result<()>;

    fn set_outcome(
        &self,
        instance: &str,
        commit: &str,
        outcome: Outcome,
        event: Option<i64>,
    ) -> Result<()>;

    /// Remembers a commit at first sight, before it has an outcome: from then on its end is decided
    /// from local records alone, with no need to ask the host whether it had already ended.
    fn seen(&self, instance: &str, commit: &str) -> Result<()>;

    /// The commit whose own end was recorded last, other than `except` (released commits do not
    /// count): where the release of the commits skipped before `except` starts.
    fn last_ended(&self, instance: &str, except: &str) -> Result<Option<String>>;

    /// Concludes a skipped commit as superseded by `head`: its outcome, and its notification
    /// claimed. `false` when it ended or was claimed meanwhile (then nothing changes).
    fn release(
        &self,
        instance: &str,
        commit: &str,
        outcome: Outcome,
        head: &str,
        event: Option<i64>,
    ) -> Result<bool>;

    /// Claims the one notification of this commit. `true` for exactly one caller, ever (but see
    /// `reopen_notify`).
    fn claim_notify(&self, instance: &str, commit: &str) -> Result<bool>;

    fn set_notify(&self, instance: &str, commit: &str, notify: Notified) -> Result<()>;

    /// An explicit `replay ID` may try again a notification that failed for good or found nothing
    /// to notify (the configuration may have changed since); one that was sent never is.
    fn reopen_notify(&self, instance: &str, commit: &str) -> Result<bool>;

    /// The host's combined status says the commit ended before our records began: take that as
    /// told, so a connector that lost its state does not notify again.
    fn assume_ended(&self, instance: &str, commit: &str, outcome: Outcome) -> Result<()>;

    fn sources(&self, instance: &str, commit: &str) -> Result<Vec<(String, Outcome)>>;

    fn set_source(
        &self,
        instance: &str,
        commit: &str,
        source: &str,
        outcome: Outcome,
    ) -> Result<()>;

    /// Records `time` as the newest posted on the context, unless a newer one is there already.
    fn advance_context(
        &self,
        instance: &str,
        commit: &str,
        target: &str,
        context: &str,
        time: i64,
    ) -> Result<()>;

    /// The newest event time posted per (target, context) of a commit.
    fn newest_contexts(&self, instance: &str, commit: &str) -> Result<Newest>;
}

/// The abandoned PRs `poll-prs` has handled.
pub trait Prs {
    fn handled(&self, instance: &str) -> Result<HashSet<u64>>;

    fn mark(&self, instance: &str, pr: u64, state: PrState, why: Option<&str>) -> Result<()>;
}

/// The deployments kept on the Git host, per commit and environment.
pub trait Deployments {
    fn get(&self, instance: &str, commit: &str, environment: &str) -> Result<Option<Deployment>>;

    /// Records the state now planned for the deployment (creating its record).
    fn plan(
        &self,
        instance: &str,
        commit: &str,
        environment: &str,
        state: DeploymentState,
    ) -> Result<()>;

    /// The host created the deployment: its id, for every later status.
    fn set_id(&self, instance: &str, commit: &str, environment: &str, id: u64) -> Result<()>;

    /// Plans `job` for the deployment of `commit`: records its state and queues its row under
    /// `event`. Returns the row's queue; `None` when the instance keeps no deployments.
    fn queue(
        &self,
        instance: &Instance,
        commit: &str,
        job: &Job,
        event: Option<i64>,
    ) -> Result<Option<String>>;
}

/// The pipelines told (`pipelines.rs`).
pub trait Pipelines {
    /// Claims `pipeline` for the notification `fence` holds, inside the caller's transaction:
    /// `None` when this notification tells it (claimed now, or before by it, or taken over from
    /// one that failed); else the notification that tells it.
    fn claim(
        &self,
        instance: &str,
        pipeline: &str,
        fence: Fence,
        commit: Option<&str>,
    ) -> Result<Option<super::pipelines::Teller>>;
}
