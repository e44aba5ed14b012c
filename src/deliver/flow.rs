//! A notification's flow, one request at a time. The thread that owns the state advances it
//! and records it; each of its requests goes out on a worker, so a flow (a read or two, then the
//! notification) holds up no other queue. The notification is recorded the moment its answer
//! reaches that thread, which never waits on a host itself while a flow is under way.

use super::{describe, Delivery, Sender};
use crate::config::Instance;
use crate::http::{Answer, Failure};
use crate::orchestrators::{self, Flow, FlowError, Job, Step};
use crate::request::Request;
use crate::state::outbox::{Finish, Recorded, Row};
use crate::state::values::Notified;
use crate::state::State;
use anyhow::Result;

/// A notification's flow under way.
pub(super) struct Flowing<'a> {
    pub row: Box<Row>,
    delivery: Delivery,
    /// `Err`: the row's result, when no flow can run (an instance gone, a job unreadable).
    run: Result<Run<'a>, Finish>,
    /// The requests in flight (reads, or the notification itself) and the answers so far.
    asked: Vec<Request>,
    answers: Vec<Option<Result<Answer, Failure>>>,
    /// The reads were asked as `Step::Reads`: their answers go back as one array.
    together: bool,
    sending: bool,
    /// The flow handed the commit's notification on to one notification per waiting run
    /// (`Step::Fan`): this row tells nothing itself, and the commit stays owed until those end.
    handed_on: bool,
}

struct Run<'a> {
    instance: &'a Instance,
    job: Job,
    flow: Box<dyn Flow>,
}

/// What a flow needs next.
pub(super) enum Next<'a> {
    /// These requests sent for this instance, each answer passed to `advance` with its index.
    Send(&'a Instance, Vec<Request>),
    /// The answers of other requests still in flight.
    Wait,
    /// The flow is over, with this result.
    Done(Finish),
}

impl<'a> Sender<'a> {
    /// The flow of a notification row, not started.
    pub(super) fn flowing(&self, row: Box<Row>) -> Flowing<'a> {
        let run = self.instance_of(&row).and_then(|instance| {
            let job: Job = match row.job.as_deref().map(serde_json::from_str) {
                Some(Ok(job)) => job,
                _ => {
                    return Err(Finish::Failed {
                        why: "the stored notification job is unreadable".into(),
                        answer: None,
                    })
                }
            };
            match orchestrators::flow(instance, &job) {
                Ok(flow) => Ok(Run {
                    instance,
                    job,
                    flow,
                }),
                Err(e) => Err(Finish::Failed {
                    why: e.to_string(),
                    answer: None,
                }),
            }
        });
        Flowing {
            delivery: Delivery::of(&row),
            row,
            run,
            asked: Vec::new(),
            answers: Vec::new(),
            together: false,
            sending: false,
            handed_on: false,
        }
    }

    /// Takes the answer to request `index` of those in flight (`None` to start) and says what
    /// comes next. Any read that fails retries the whole flow later (reads are idempotent; the
    /// notification is sent at most once per success), once every read asked with it has come
    /// back. The notification's request is recorded before it is sent, for `events show`.
    pub(super) fn advance(
        &self,
        state: &State,
        flowing: &mut Flowing<'a>,
        answer: Option<(usize, Result<Answer, Failure>)>,
    ) -> Result<Next<'a>> {
        let attempts = flowing.row.attempts;
        let run = match &mut flowing.run {
            Ok(run) => run,
            Err(finish) => return Ok(Next::Done(finish.clone())),
        };
        let read = match answer {
            None => None,
            Some((index, result)) => {
                if let Some(slot) = flowing.answers.get_mut(index) {
                    *slot = Some(result);
                }
                if flowing.answers.iter().any(Option::is_none) {
                    return Ok(Next::Wait);
                }
                let answers = std::mem::take(&mut flowing.answers).into_iter().flatten();
                let asked = std::mem::take(&mut flowing.asked);
                if flowing.sending {
                    let result = answers.last().unwrap_or(Err(Failure::Retry {
                        why: "the notification's answer went missing".into(),
                        after: None,
                        answer: None,
                    }));
                    return Ok(Next::Done(self.outcome_of(result, attempts)));
                }
                match self.bodies(answers.zip(asked), attempts) {
                    Ok(mut bodies) if !flowing.together && bodies.len() == 1 => bodies.pop(),
                    Ok(bodies) => Some(serde_json::Value::Array(bodies)),
                    Err(finish) => return Ok(Next::Done(finish)),
                }
            }
        };
        let (requests, together) = match run.flow.next(read.as_ref()) {
            Ok(Step::Read(request)) => (vec![request], false),
            Ok(Step::Reads(requests)) if !requests.is_empty() => (requests, true),
            Ok(Step::Reads(_)) => {
                return Ok(Next::Done(Finish::Failed {
                    why: "the orchestrator's flow asked to read nothing".into(),
                    answer: None,
                }))
            }
            Ok(Step::Send(request)) => {
                let pipeline = run.flow.pipeline();
                if let Some(finish) =
                    self.before_sending(state, &flowing.row, pipeline.as_deref(), &request)?
                {
                    return Ok(Next::Done(finish));
                }
                flowing.delivery.request = Some(request.clone());
                flowing.sending = true;
                (vec![request], false)
            }
            Ok(Step::Nothing(why)) => return Ok(Next::Done(Finish::Nothing { why })),
            Ok(Step::Fan(jobs, why)) => {
                let finish = Self::fan_out(state, &flowing.row, run.instance, &jobs, why)?;
                flowing.handed_on = true;
                return Ok(Next::Done(finish));
            }
            Err(FlowError::Untrusted(why)) => return Ok(Next::Done(Finish::Refused { why })),
            Err(FlowError::Malformed(why)) => {
                return Ok(Next::Done(Finish::Failed { why, answer: None }))
            }
        };
        flowing.together = together;
        flowing.answers = requests.iter().map(|_| None).collect();
        flowing.asked.clone_from(&requests);
        Ok(Next::Send(run.instance, requests))
    }

    /// Several pipelines wait on the row's commit: one notification row each, queued behind
    /// this one in its queue, in one transaction that checks the fence; this row is then over.
    fn fan_out(
        state: &State,
        row: &Row,
        instance: &Instance,
        jobs: &[Job],
        why: String,
    ) -> Result<Finish> {
        let store = state.store();
        let target = instance.orchestrator.target();
        let queued = crate::state::sql::transaction(
            |f| store.atomically(f),
            || {
                if !store.outbox().holds(row.fence())? {
                    return Ok(false);
                }
                for job in jobs {
                    store.outbox().enqueue(&crate::state::outbox::NewRow {
                        event_id: row.event_id,
                        instance: &row.instance,
                        commit: row.commit_id.as_deref(),
                        target: &target,
                        kind: crate::state::outbox::Kind::Notify,
                        context: None,
                        request: None,
                        job: Some(serde_json::to_string(job)?),
                    })?;
                }
                Ok(true)
            },
        )?;
        Ok(Finish::Nothing {
            why: if queued {
                why
            } else {
                "this process's lease lapsed before it queued them".into()
            },
        })
    }

    /// Whether the notification leaves now (see `state::pipelines::before_notifying`); `Some`:
    /// the flow's result instead.
    fn before_sending(
        &self,
        state: &State,
        row: &Row,
        named: Option<&str>,
        request: &crate::request::Request,
    ) -> Result<Option<Finish>> {
        use crate::state::pipelines::{before_notifying, Go, Teller};
        let pipeline = named.unwrap_or_default();
        let by = |t: &Teller| match &t.commit {
            Some(commit) => format!(
                "the notification of {} (request {})",
                &commit[..commit.len().min(7)],
                t.row
            ),
            None => format!("request {}", t.row),
        };
        Ok(
            match before_notifying(state.store(), row, named, request)? {
                Go::Send => None,
                // Recorded as nothing: the fence refuses it, and the new holder sends.
                Go::Lapsed => Some(Finish::Nothing {
                    why: "this process's lease lapsed before it sent".into(),
                }),
                Go::Told(teller) => Some(Finish::Nothing {
                    why: format!("{pipeline} was already told by {}", by(&teller)),
                }),
                Go::Waits(teller) => Some(self.failure(
                    crate::http::Failure::Retry {
                        why: format!(
                            "{pipeline} is being told by {}: this one waits for it",
                            by(&teller)
                        ),
                        after: None,
                        answer: None,
                    },
                    row.attempts,
                )),
            },
        )
    }

    /// The JSON bodies of reads that all got through, or the flow's result when one did not.
    fn bodies(
        &self,
        answers: impl Iterator<Item = (Result<Answer, Failure>, Request)>,
        attempts: i64,
    ) -> Result<Vec<serde_json::Value>, Finish> {
        let mut bodies = Vec::new();
        for (answer, asked) in answers {
            let answer = answer.map_err(|failure| self.failure(failure, attempts))?;
            let Some(json) = answer.json() else {
                return Err(self.not_json(&asked, answer.status, attempts));
            };
            bodies.push(json);
        }
        Ok(bodies)
    }

    /// Records how the flow ended, at once and in one transaction: the row's result, what the
    /// commit (or PR) was told, and the journal's note. Returns what to print.
    pub(super) fn end_flow(
        state: &State,
        flowing: Flowing<'a>,
        finish: &Finish,
    ) -> Result<Delivery> {
        let Flowing {
            row,
            mut delivery,
            run,
            handed_on,
            ..
        } = flowing;
        (delivery.ok, delivery.result) = describe(finish);
        let told = match finish {
            // What the commit was told is theirs to record, not this row's.
            Finish::Nothing { why } if handed_on => {
                delivery.result = format!("handed on: {why}");
                None
            }
            Finish::Done { .. } => Some((
                Notified::Sent,
                match run.as_ref().ok().and_then(|r| r.flow.note()) {
                    Some(note) => format!("the orchestrator was told ({note})"),
                    None => "the orchestrator was told".to_string(),
                },
            )),
            Finish::Nothing { why } => {
                Some((Notified::Nothing, format!("nothing to notify: {why}")))
            }
            Finish::Failed { why, .. } | Finish::Refused { why } => {
                Some((Notified::Failed, format!("the notification failed: {why}")))
            }
            _ => None,
        };
        // The row's result and what it caused, in one transaction that checks the fence first:
        // a sender whose lease lapsed changes nothing.
        let store = state.store();
        let fence = row.fence();
        let (recorded, noted) = crate::state::sql::transaction(
            |f| store.atomically(f),
            || {
                if store.outbox().record(fence, finish)? == Recorded::Stale {
                    return Ok((Recorded::Stale, None));
                }
                let noted = match (&run, &told) {
                    (Ok(run), Some((told, why))) => {
                        crate::state::record_told(store, &row, &run.job, *told, why)?
                    }
                    _ => None,
                };
                Ok((Recorded::Yes, noted))
            },
        )?;
        super::warn_if_stale(recorded, fence);
        delivery.noted = noted;
        Ok(delivery)
    }
}
