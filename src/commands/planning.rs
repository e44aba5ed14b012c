//! The decision and the plan of one event, committed to the outbox in one transaction: either
//! all of it is owed, or none of it.
//!
//! Each part of the work is planned once per event, whichever commands carry it: the statuses
//! (by `status` or `handle`) and the notification (by `notify` or `handle`, claimed once per
//! commit). A replay re-plans what is still owed with the configuration of now, and never sends
//! again what was delivered.

use crate::config::{Instance, Orchestrator};
use crate::ending::{self, Prior};
use crate::event::Event;
use crate::orchestrators::Job;
use crate::plan::{self, Mode};
use crate::report::{Outcome, Report};
use crate::request::Target;
use crate::state::journal::{self, Facts, Verdict};
use crate::state::outbox::{self, Kind, NewRow, Row};
use crate::state::values::{Notified, RowState};
use crate::state::{commits, State};
use anyhow::Result;
use rusqlite::Connection;
use std::collections::HashMap;

/// What one event planned, for the sender and the journal.
pub struct Planned {
    pub verdict: Verdict,
    pub why: Option<String>,
    /// The rows this event answers for (its own, or those it retries).
    pub rows: Vec<i64>,
    pub queues: Vec<String>,
}

/// The event as the planner needs it.
pub struct Input<'a> {
    pub event_id: i64,
    pub sha: &'a [u8],
    pub mode: Mode,
    pub instance: &'a Instance,
    pub event: &'a Event,
    pub report: &'a Report,
    pub facts: &'a Facts,
    /// `replay ID`: the event replayed.
    pub replay_of: Option<i64>,
}

impl Input<'_> {
    fn commit(&self) -> &str {
        self.report.commit.as_str()
    }

    /// Argo CD sends no time: its events are ordered by arrival.
    fn time(&self) -> i64 {
        self.event
            .time
            .unwrap_or_else(|| crate::state::now_ms() / 1000)
    }
}

/// Rows planned so far, with their queues.
#[derive(Default)]
struct Plan {
    rows: Vec<i64>,
    queues: Vec<String>,
    /// Statuses not posted because a newer one is on the commit already.
    older: usize,
}

impl Plan {
    fn add(&mut self, tx: &Connection, row: &NewRow) -> Result<()> {
        self.queues
            .push(outbox::queue_of(row.instance, row.commit, row.target));
        self.rows.push(outbox::enqueue(tx, row)?);
        Ok(())
    }
}

pub fn plan_event(state: &mut State, input: &Input) -> Result<Planned> {
    state.immediate(|tx| {
        let name = input.instance.name.as_str();
        let commit = input.commit();
        // A replay of an event that planned rows re-plans them; one that planned none (it was
        // rejected, say) is decided as if it arrived now.
        if let Some(original) = input.replay_of {
            let family = outbox::for_event_family(tx, original)?;
            if !family.is_empty() {
                return replay_event(tx, input, &family);
            }
        }
        // The sender retried: the statuses were planned by the first copy.
        let copy = match (input.mode.posts_statuses(), input.replay_of) {
            (true, None) => journal::earlier_status_copy(tx, input.sha, name, input.event_id)?,
            _ => None,
        };
        let record = commits::get(tx, name, commit)?;
        let prior = Prior {
            outcome: record.as_ref().and_then(|r| r.outcome),
            end_statuses: record.as_ref().is_some_and(|r| r.end_statuses),
        };
        commits::seen(tx, name, commit)?;
        if let (Some(source), Some(end)) = (&input.event.header.source, input.report.end) {
            commits::set_source(tx, name, commit, source, end)?;
        }
        let sources = commits::sources(tx, name, commit)?;
        let decision = ending::decide(prior, input.report.end, &input.instance.require, &sources);
        let mut plan = Plan::default();
        let post = decision.post_statuses && input.mode.posts_statuses() && copy.is_none();
        if post {
            plan_statuses(tx, input, input.event_id, &mut plan)?;
        }
        if let Some(outcome) = decision.new_outcome {
            commits::set_outcome(tx, name, commit, outcome, Some(input.event_id))?;
        }
        let outcome = decision.new_outcome.or(prior.outcome);
        if post && input.report.end.is_some() && outcome.is_some() {
            commits::mark_end_statuses(tx, name, commit)?;
        }
        let notify = if input.mode.notifies() {
            plan_notification(tx, input, outcome, &mut plan)?
        } else {
            Notification::NotAsked
        };

        let (verdict, why) = verdict(input, copy, &decision, &notify, &plan);
        if verdict == Verdict::Duplicate {
            // Retry what the commit still owes: the first copy's rows, or a notification.
            plan.queues
                .extend(outbox::open_queues_of_commit(tx, name, commit)?);
        }
        journal::conclude(tx, input.event_id, verdict, why.as_deref(), input.facts)?;
        plan.queues.sort();
        plan.queues.dedup();
        Ok(Planned {
            verdict,
            why,
            rows: plan.rows,
            queues: plan.queues,
        })
    })
}

/// The status requests of the event, each unless a newer status of its context is posted.
fn plan_statuses(tx: &Connection, input: &Input, event_id: i64, plan: &mut Plan) -> Result<()> {
    let (name, commit) = (input.instance.name.as_str(), input.commit());
    for planned in statuses_of(input) {
        let target = planned.request.target.key();
        if !commits::advance_context(tx, name, commit, &target, &planned.context, input.time())? {
            plan.older += 1;
            continue;
        }
        plan.add(
            tx,
            &NewRow {
                event_id: Some(event_id),
                instance: name,
                commit: Some(commit),
                target: &planned.request.target,
                kind: Kind::Request,
                context: Some(&planned.context),
                request: Some(&planned.request),
                job: None,
            },
        )?;
    }
    Ok(())
}

fn statuses_of(input: &Input) -> Vec<plan::Planned> {
    plan::status_requests(
        input.instance,
        input.event.header.operator,
        &input.report.commit,
        &input.report.statuses,
    )
}

/// What the notification part of an event came to.
enum Notification {
    /// `status` does not notify.
    NotAsked,
    /// The commit has not ended (or not for the required sources).
    NotEnded,
    /// Claimed by this event: a notification row is queued.
    Queued(Outcome),
    /// Claimed before; how it stands.
    Already(Option<Notified>),
}

fn plan_notification(
    tx: &Connection,
    input: &Input,
    outcome: Option<Outcome>,
    plan: &mut Plan,
) -> Result<Notification> {
    let (name, commit) = (input.instance.name.as_str(), input.commit());
    let Some(outcome) = outcome else {
        return Ok(Notification::NotEnded);
    };
    if !commits::claim_notify(tx, name, commit)? {
        let notify = commits::get(tx, name, commit)?.and_then(|r| r.notify);
        return Ok(Notification::Already(notify));
    }
    let job = Job {
        outcome,
        commit: Some(commit.to_string()),
        pr: None,
    };
    plan.add(
        tx,
        &NewRow {
            event_id: Some(input.event_id),
            instance: name,
            commit: Some(commit),
            target: &orchestrator_target(input.instance),
            kind: Kind::Notify,
            context: None,
            request: None,
            job: Some(serde_json::to_string(&job)?),
        },
    )?;
    Ok(Notification::Queued(outcome))
}

pub fn orchestrator_target(instance: &Instance) -> Target {
    match instance.orchestrator {
        Orchestrator::GitHubActions(_) => Target::GithubActions,
        Orchestrator::AzurePipelines(_) => Target::AzurePipelines,
    }
}

/// The journal's verdict and why, in words that claim only what has happened.
fn verdict(
    input: &Input,
    copy: Option<i64>,
    decision: &ending::Decision,
    notify: &Notification,
    plan: &Plan,
) -> (Verdict, Option<String>) {
    let older = match plan.older {
        0 => String::new(),
        n => format!("; {n} statuses older than ones already posted were skipped"),
    };
    if let Notification::Queued(outcome) = notify {
        return (
            Verdict::Handled,
            Some(format!(
                "the deployment ended ({outcome}): the orchestrator's notification is queued{older}"
            )),
        );
    }
    if !plan.rows.is_empty() {
        return (
            Verdict::Handled,
            (!older.is_empty()).then(|| older[2..].to_string()),
        );
    }
    if let Some(first) = copy {
        return (
            Verdict::Duplicate,
            Some(format!(
                "same bytes as event {first}: only what its commit still owes is retried"
            )),
        );
    }
    if let (Some(why), Mode::Status | Mode::Handle) = (&decision.why_not, input.mode) {
        return (Verdict::Superseded, Some(why.clone()));
    }
    match notify {
        Notification::Already(Some(Notified::Owed)) => (
            Verdict::Duplicate,
            Some("the notification of this commit is already queued: it is retried".into()),
        ),
        Notification::Already(Some(Notified::Sent)) => (
            Verdict::Superseded,
            Some("the orchestrator was already told about this commit".into()),
        ),
        Notification::Already(Some(Notified::Assumed)) => (
            Verdict::Superseded,
            Some("the Git host says this commit had already ended: not notifying again".into()),
        ),
        Notification::Already(Some(Notified::Nothing)) => (
            Verdict::Superseded,
            Some("this commit's notification found nothing to notify".into()),
        ),
        Notification::Already(Some(Notified::Failed) | None) => (
            Verdict::Superseded,
            Some("this commit's notification failed for good: see `events --failed`".into()),
        ),
        Notification::NotEnded if input.mode == Mode::Notify => (
            Verdict::Ignored,
            Some(match input.report.end {
                None => "this event does not end the deployment".into(),
                Some(_) => "the required sources have not all ended yet".into(),
            }),
        ),
        _ if plan.older > 0 => (
            Verdict::Superseded,
            Some(format!(
                "{} statuses are older than ones already posted",
                plan.older
            )),
        ),
        _ => (Verdict::Handled, None),
    }
}

/// `replay ID` of an event that planned rows: its statuses are planned again with the current
/// configuration and matched with what it planned before. Delivered or finally refused requests
/// stay as they are; owed ones take the new plan (same queue, same place); owed ones the new plan
/// no longer has are replaced; new ones are queued. A notification that failed or found nothing
/// is tried again; one that was sent never is.
fn replay_event(tx: &Connection, input: &Input, family: &[Row]) -> Result<Planned> {
    let mut plan = Plan::default();
    let (name, commit) = (input.instance.name.as_str(), input.commit());
    let mut changed = 0;
    if input.mode.posts_statuses() {
        changed = reconcile(tx, input, family, input.event_id, &mut plan)?;
    }
    let mut notified = None;
    if input.mode.notifies() {
        let record = commits::get(tx, name, commit)?;
        if let Some(outcome) = record.and_then(|r| r.outcome) {
            commits::reopen_notify(tx, name, commit)?;
            if let Notification::Queued(o) = plan_notification(tx, input, Some(outcome), &mut plan)?
            {
                notified = Some(o);
            }
        }
        // A notification still owed goes again with the configuration of now.
        plan.queues.extend(
            family
                .iter()
                .filter(|r| r.kind == Kind::Notify && r.state.is_open())
                .map(|r| r.queue.clone()),
        );
    }
    let original = input.replay_of.unwrap_or(input.event_id);
    let (verdict, why) = match (changed + plan.rows.len(), notified) {
        (_, Some(outcome)) => (
            Verdict::Handled,
            Some(format!(
                "replay of event {original}: the deployment ended ({outcome}): the orchestrator's notification is queued"
            )),
        ),
        (0, None) if plan.queues.is_empty() => (
            Verdict::Duplicate,
            Some(format!(
                "replay of event {original}: everything it planned was delivered or refused for good"
            )),
        ),
        (0, None) => (
            Verdict::Duplicate,
            Some(format!(
                "replay of event {original}: what it still owes is retried"
            )),
        ),
        (n, None) => (
            Verdict::Handled,
            Some(format!(
                "replay of event {original}: {n} requests planned again with the current configuration"
            )),
        ),
    };
    journal::conclude(
        tx,
        input.event_id,
        verdict,
        Some(&why.clone().unwrap_or_default()),
        input.facts,
    )?;
    plan.queues.sort();
    plan.queues.dedup();
    Ok(Planned {
        verdict,
        why,
        rows: plan.rows,
        queues: plan.queues,
    })
}

/// Matches the status requests planned now with the rows `family` holds, slot by slot (target,
/// context, and which occurrence of that context: `Status` comes twice in a change set). Returns
/// how many owed rows were changed; new rows go into `plan` under `event_id`.
fn reconcile(
    tx: &Connection,
    input: &Input,
    family: &[Row],
    event_id: i64,
    plan: &mut Plan,
) -> Result<usize> {
    type Slot = (String, String, usize);
    fn slot(seen: &mut HashMap<(String, String), usize>, target: String, context: String) -> Slot {
        let n = seen.entry((target.clone(), context.clone())).or_insert(0);
        *n += 1;
        (target, context, *n)
    }
    let mut seen = HashMap::new();
    let mut before: HashMap<Slot, &Row> = HashMap::new();
    for row in family
        .iter()
        .filter(|r| r.kind == Kind::Request && r.state != RowState::Replaced)
    {
        let key = slot(
            &mut seen,
            row.target.clone(),
            row.context.clone().unwrap_or_default(),
        );
        before.insert(key, row);
    }
    let mut seen = HashMap::new();
    let mut changed = 0;
    let (name, commit) = (input.instance.name.as_str(), input.commit());
    for planned in statuses_of(input) {
        let key = slot(
            &mut seen,
            planned.request.target.key(),
            planned.context.clone(),
        );
        match before.remove(&key) {
            Some(row) if row.state == RowState::Pending => {
                if row.blocked || row.request.as_ref() != Some(&planned.request) {
                    outbox::replan(tx, row.id, &planned.request)?;
                    changed += 1;
                }
                plan.queues.push(row.queue.clone());
            }
            // Delivered, refused for good, or being sent right now: as it is.
            Some(_) => {}
            None => {
                let target = planned.request.target.key();
                if !commits::advance_context(
                    tx,
                    name,
                    commit,
                    &target,
                    &planned.context,
                    input.time(),
                )? {
                    plan.older += 1;
                    continue;
                }
                plan.add(
                    tx,
                    &NewRow {
                        event_id: Some(event_id),
                        instance: name,
                        commit: Some(commit),
                        target: &planned.request.target,
                        kind: Kind::Request,
                        context: Some(&planned.context),
                        request: Some(&planned.request),
                        job: None,
                    },
                )?;
            }
        }
    }
    for row in before.values().filter(|r| r.state == RowState::Pending) {
        outbox::replace(
            tx,
            row.id,
            "no longer planned with the current configuration",
        )?;
        changed += 1;
    }
    Ok(changed)
}

/// `replay --failed`: the statuses of `event_id` wait on a configuration fix; plan them again
/// with the configuration of now (the rows stay the event's own).
pub fn replan_blocked(state: &mut State, input: &Input) -> Result<usize> {
    state.immediate(|tx| {
        let family = outbox::for_event_family(tx, input.event_id)?;
        let mut plan = Plan::default();
        let changed = reconcile(tx, input, &family, input.event_id, &mut plan)?;
        Ok(changed + plan.rows.len())
    })
}
