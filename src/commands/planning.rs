//! The decision and the plan of one event, committed to the outbox in one transaction: either
//! all of it is owed, or none of it. Loads what the state knows, lets `decide` (pure) say what
//! changes, and stores that.

use crate::config::Instance;
use crate::decide::{self, Decided, Known, Reconciled};
use crate::deployment;
use crate::event::CommitId;
use crate::plan;
use crate::release;
use crate::request::Target;
use crate::state::journal::{Facts, Verdict};
use crate::state::outbox::{Kind, NewRow, Row};
use crate::state::{now_ms, State, Store};
use anyhow::Result;

pub use crate::decide::Input;

/// What one event planned, for the sender and the journal.
pub struct Planned {
    pub verdict: Verdict,
    pub why: Option<String>,
    /// The rows this event answers for (its own, or those it retries).
    pub rows: Vec<i64>,
    pub queues: Vec<String>,
}

/// The journal's side of an event: its row and what it says of itself.
pub struct Journaled<'a> {
    pub id: i64,
    pub sha: &'a [u8],
    pub facts: &'a Facts,
}

pub fn plan_event(state: &mut State, input: &Input, event: &Journaled) -> Result<Planned> {
    state.immediate(|tx| {
        // A replay of an event that planned rows re-plans them; one that planned none (it was
        // rejected, say) is decided as if it arrived now.
        if let Some(original) = input.replay_of {
            let family = tx.outbox().for_event_family(original)?;
            if !family.is_empty() {
                return replay(tx, input, event, original, &family);
            }
        }
        let known = load(tx, input, event)?;
        let decided = decide::decide(input, &known);
        store(tx, input, event, &known, decided)
    })
}

fn load(tx: &dyn Store, input: &Input, event: &Journaled) -> Result<Known> {
    let (name, commit) = (input.instance.name.as_str(), input.commit());
    let first_copy = match (input.mode.posts_statuses(), input.replay_of) {
        (true, None) => tx
            .journal()
            .earlier_status_copy(event.sha, name, event.id)?,
        _ => None,
    };
    Ok(Known {
        first_copy,
        commit: tx.commits().get(name, commit)?,
        sources: tx.commits().sources(name, commit)?,
        newest: tx.commits().newest_contexts(name, commit)?,
        time: input.time(now_ms() / 1000),
    })
}

fn store(
    tx: &dyn Store,
    input: &Input,
    event: &Journaled,
    known: &Known,
    decided: Decided,
) -> Result<Planned> {
    let (name, commit) = (input.instance.name.as_str(), input.commit());
    tx.commits().seen(name, commit)?;
    if let Some((source, end)) = &decided.source_end {
        tx.commits().set_source(name, commit, source, *end)?;
    }
    let mut rows = Rows::default();
    rows.statuses(tx, input, event.id, &decided.statuses, known.time)?;
    if !decided.statuses.is_empty() {
        rows.deployment(tx, input, event.id)?;
    }
    if let Some(outcome) = decided.new_outcome {
        tx.commits()
            .set_outcome(name, commit, outcome, Some(event.id))?;
    }
    if decided.end_statuses {
        tx.commits().mark_end_statuses(name, commit)?;
    }
    if let Some(outcome) = decided.notify {
        // The release first: claimed first, its listing is read on a worker while this thread
        // runs the notification's flow.
        rows.release(tx, input, event.id, outcome)?;
        rows.notification(tx, input, event.id, outcome)?;
    }
    if decided.retry_owed {
        // Retry what the commit still owes: the first copy's rows, or a notification.
        rows.queues
            .extend(tx.outbox().open_queues_of_commit(name, commit)?);
    }
    tx.journal().conclude(
        event.id,
        decided.verdict,
        decided.why.as_deref(),
        event.facts,
    )?;
    Ok(rows.planned(decided.verdict, decided.why))
}

/// Rows queued so far, with their queues.
#[derive(Default)]
struct Rows {
    ids: Vec<i64>,
    queues: Vec<String>,
}

impl Rows {
    fn add(&mut self, tx: &dyn Store, row: &NewRow) -> Result<()> {
        self.queues.push(row.queue());
        self.ids.push(tx.outbox().enqueue(row)?);
        Ok(())
    }

    /// Queues status requests, each advancing its context to `time`.
    fn statuses(
        &mut self,
        tx: &dyn Store,
        input: &Input,
        event_id: i64,
        statuses: &[plan::Planned],
        time: i64,
    ) -> Result<()> {
        let (name, commit) = (input.instance.name.as_str(), input.commit());
        for planned in statuses {
            let target = planned.request.target.key();
            tx.commits()
                .advance_context(name, commit, &target, &planned.context, time)?;
            let row = NewRow {
                context: Some(&planned.context),
                request: Some(&planned.request),
                ..row_of(input, event_id, &planned.request.target, Kind::Request)
            };
            self.add(tx, &row)?;
        }
        Ok(())
    }

    /// Claims the commit's notification and queues it.
    fn notification(
        &mut self,
        tx: &dyn Store,
        input: &Input,
        event_id: i64,
        outcome: crate::report::Outcome,
    ) -> Result<()> {
        let (name, commit) = (input.instance.name.as_str(), input.commit());
        anyhow::ensure!(
            tx.commits().claim_notify(name, commit)?,
            "the notification of {commit} was claimed in the same transaction: a bug"
        );
        let job = crate::orchestrators::Job::of_commit(commit, outcome);
        let target = orchestrator_target(input.instance);
        let row = NewRow {
            job: Some(serde_json::to_string(&job)?),
            ..row_of(input, event_id, &target, Kind::Notify)
        };
        self.add(tx, &row)
    }

    /// Plans the state of the commit's deployment in the event's environment, when the instance
    /// keeps deployments and the state changes (see `deployment::after`).
    fn deployment(&mut self, tx: &dyn Store, input: &Input, event_id: i64) -> Result<()> {
        if !input.instance.deployments {
            return Ok(());
        }
        let (name, commit) = (input.instance.name.as_str(), input.commit());
        let environment = deployment::environment(input.event.header.environment.as_deref());
        let prior = tx
            .deployments()
            .get(name, commit, environment)?
            .map(|d| d.planned);
        let Some(state) = deployment::after(prior, input.report.end) else {
            return Ok(());
        };
        let description = input
            .report
            .statuses
            .first()
            .map_or_else(|| state.to_string(), |s| s.message.clone());
        let job = deployment::Job {
            environment: environment.to_string(),
            state,
            description,
        };
        if let Some(queue) = tx
            .deployments()
            .queue(input.instance, commit, &job, Some(event_id))?
        {
            self.queues.push(queue);
        }
        Ok(())
    }

    /// Queues the release of the commits skipped since the last end, when the instance wants it,
    /// an earlier end is known and the Git host can list the commits between.
    fn release(
        &mut self,
        tx: &dyn Store,
        input: &Input,
        event_id: i64,
        outcome: crate::report::Outcome,
    ) -> Result<()> {
        if !input.instance.release_superseded {
            return Ok(());
        }
        let (name, head) = (input.instance.name.as_str(), &input.report.commit);
        let Some(base) = tx
            .commits()
            .last_ended(name, head.as_str())?
            .as_deref()
            .and_then(CommitId::parse)
        else {
            return Ok(());
        };
        let Some(request) = input.instance.git.between_request(&base, head) else {
            return Ok(());
        };
        let operator = input.event.header.operator;
        let job = release::Job {
            base: base.to_string(),
            head: head.to_string(),
            outcome,
            operator: operator.wire_name().into(),
            genre: input
                .report
                .statuses
                .first()
                .map_or_else(|| operator.wire_name().into(), |s| s.genre.clone()),
            environment: input.event.header.environment.clone(),
            page: None,
        };
        let row = NewRow {
            request: Some(&request),
            job: Some(serde_json::to_string(&job)?),
            ..row_of(input, event_id, &request.target, Kind::Release)
        };
        self.add(tx, &row)
    }

    fn planned(mut self, verdict: Verdict, why: Option<String>) -> Planned {
        self.queues.sort();
        self.queues.dedup();
        Planned {
            verdict,
            why,
            rows: self.ids,
            queues: self.queues,
        }
    }
}

/// A row of this event's commit, for `target`; the caller fills in what it carries.
fn row_of<'a>(input: &'a Input, event_id: i64, target: &'a Target, kind: Kind) -> NewRow<'a> {
    NewRow {
        event_id: Some(event_id),
        instance: &input.instance.name,
        commit: Some(input.commit()),
        target,
        kind,
        context: None,
        request: None,
        job: None,
    }
}

pub fn orchestrator_target(instance: &Instance) -> Target {
    instance.orchestrator.target()
}

/// Applies what `reconcile` decided to an event's rows; new rows go under `event_id`.
fn apply(
    tx: &dyn Store,
    input: &Input,
    event_id: i64,
    reconciled: &Reconciled,
    time: i64,
    rows: &mut Rows,
) -> Result<()> {
    for (id, request) in &reconciled.replan {
        tx.outbox().replan(*id, request)?;
    }
    for id in &reconciled.replace {
        tx.outbox()
            .replace(*id, "no longer planned with the current configuration")?;
    }
    rows.queues.extend(reconciled.queues.iter().cloned());
    rows.statuses(tx, input, event_id, &reconciled.queue, time)
}

/// `replay ID` of an event that planned rows: its statuses are planned again with the current
/// configuration and matched with what it planned before; nothing delivered goes again. A
/// notification that failed for good or found nothing is tried again; one that was sent never is.
fn replay(
    tx: &dyn Store,
    input: &Input,
    event: &Journaled,
    original: i64,
    family: &[Row],
) -> Result<Planned> {
    let (name, commit) = (input.instance.name.as_str(), input.commit());
    let time = input.time(now_ms() / 1000);
    let mut rows = Rows::default();
    let mut changed = 0;
    if input.mode.posts_statuses() {
        let newest = tx.commits().newest_contexts(name, commit)?;
        let reconciled = decide::reconcile(input.statuses(), family, &newest, time);
        changed = reconciled.changes();
        apply(tx, input, event.id, &reconciled, time, &mut rows)?;
    }
    let record = tx.commits().get(name, commit)?;
    let notified = decide::replay_notification(input, record.as_ref());
    if let Some(outcome) = notified {
        tx.commits().reopen_notify(name, commit)?;
        rows.notification(tx, input, event.id, outcome)?;
    }
    if input.mode.notifies() {
        // A notification still owed goes again, with the configuration of now.
        rows.queues.extend(
            family
                .iter()
                .filter(|r| matches!(r.kind, Kind::Notify | Kind::Release) && r.state.is_open())
                .map(|r| r.queue.clone()),
        );
    }
    let (verdict, why) = match (changed, notified) {
        (_, Some(outcome)) => (
            Verdict::Handled,
            format!("replay of event {original}: the deployment ended ({outcome}): the orchestrator's notification is queued"),
        ),
        (0, None) if rows.queues.is_empty() => (
            Verdict::Duplicate,
            format!("replay of event {original}: everything it planned was delivered or refused for good"),
        ),
        (0, None) => (
            Verdict::Duplicate,
            format!("replay of event {original}: what it still owes is retried"),
        ),
        (n, None) => (
            Verdict::Handled,
            format!("replay of event {original}: {n} requests planned again with the current configuration"),
        ),
    };
    tx.journal()
        .conclude(event.id, verdict, Some(&why), event.facts)?;
    Ok(rows.planned(verdict, Some(why)))
}

/// `replay --failed`: the statuses of `event_id` wait on a configuration fix; plan them again
/// with the configuration of now (the rows stay the event's own).
pub fn replan_blocked(state: &mut State, input: &Input, event_id: i64) -> Result<usize> {
    state.immediate(|tx| {
        let (name, commit) = (input.instance.name.as_str(), input.commit());
        let family = tx.outbox().for_event_family(event_id)?;
        let newest = tx.commits().newest_contexts(name, commit)?;
        let time = input.time(now_ms() / 1000);
        let reconciled = decide::reconcile(input.statuses(), &family, &newest, time);
        apply(tx, input, event_id, &reconciled, time, &mut Rows::default())?;
        Ok(reconciled.changes())
    })
}
