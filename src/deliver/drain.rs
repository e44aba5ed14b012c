//! Draining the outbox: the heads of independent queues (the Git host's statuses, each
//! subscriber, the orchestrator's flow, a release's listing) are sent at the same time, each
//! queue still strictly in order and every result still journaled.
//!
//! One thread, this one, owns the state: it claims rows, records results, advances notification
//! flows and stores releases. Requests go out on worker threads and their answers come back
//! here. A status's or a subscriber's result is recorded in the transaction that claims the next
//! row; a notification's the moment its answer arrives, as before (the crash window does not
//! widen). A deployment is the one row this thread sends itself, and only while no flow is under
//! way, so that no notification's answer waits on it.

use super::delivery::remember;
use super::flow::{Flowing, Next};
use super::release::Listing;
use super::{millis, warn_if_stale, Delivery, Sender, LEASE_MARGIN};
use crate::config::Instance;
use crate::http::{Answer, Credentials, Failure};
use crate::request::Request;
use crate::state::outbox::{Claim, Fence, Finish, Kind, Row, Scope};
use crate::state::{now_ms, State};
use anyhow::Result;
use std::sync::mpsc;
use std::time::Duration;

/// Requests in flight at once: no row is claimed beyond it (a flow's reads asked together may go
/// a read or two past it).
const WORKERS: usize = 8;

/// What a worker thread is given.
enum Work<'a> {
    /// A status, a subscriber's post, or a release's listing.
    Row(Box<Row>),
    /// Request `index` of those a notification's flow asked at once.
    Step {
        id: i64,
        index: usize,
        instance: &'a Instance,
        request: Request,
    },
}

/// A worker's answer.
enum Sent<'a> {
    /// A planned request: the row, how its send went, and what to print.
    Request {
        fence: Fence,
        finish: Finish,
        delivery: Delivery,
    },
    /// A release's listing, still to be stored.
    Listed { row: Box<Row>, listing: Listing<'a> },
    /// The answer to a flow's request, for the flow to go on.
    Step {
        id: i64,
        index: usize,
        answer: Result<Answer, Failure>,
    },
}

/// What one drain keeps: on this thread, never shared.
struct Books<'a> {
    scope: Scope,
    done: Vec<Delivery>,
    in_flight: usize,
    /// A request's result, recorded in the transaction that claims the next row: one commit per
    /// request. Until then its row stays leased to us, so nobody else takes it.
    unrecorded: Option<(Fence, Finish)>,
    /// Flows waiting for their request's answer.
    flows: Vec<Flowing<'a>>,
}

impl Books<'_> {
    /// A result to record with the next claim; one still waiting is recorded first, on its own.
    fn record_later(&mut self, state: &State, fence: Fence, finish: Finish) -> Result<()> {
        if let Some((earlier, finish)) = self.unrecorded.replace((fence, finish)) {
            warn_if_stale(state.store().outbox().finish(earlier, &finish)?, earlier);
        }
        Ok(())
    }

    /// Records the result still waiting, on its own.
    fn record_now(&mut self, state: &State) -> Result<()> {
        if let Some((fence, finish)) = self.unrecorded.take() {
            warn_if_stale(state.store().outbox().finish(fence, &finish)?, fence);
        }
        Ok(())
    }
}

impl<'a> Sender<'a> {
    /// Sends what `scope` holds until it is empty or the budget is spent.
    pub fn drain(&self, state: &mut State, scope: &Scope) -> Result<Vec<Delivery>> {
        // Every request ends by the deadline (its timeout is capped by what remains), so a live
        // process never holds a row much past it; a dead one's rows are free soon after.
        let lease_ms = millis(self.remaining() + LEASE_MARGIN);
        let mut books = Books {
            // A release queues rows for the commits it concludes: they are sent in this drain too.
            scope: scope.clone(),
            done: Vec::new(),
            in_flight: 0,
            unrecorded: None,
            flows: Vec::new(),
        };
        let (to_here, answers) = mpsc::channel::<Sent<'a>>();
        std::thread::scope(|workers| -> Result<()> {
            let spawn = |work: Work<'a>| {
                let to_here = to_here.clone();
                workers.spawn(move || {
                    let _ = to_here.send(self.work(work));
                });
            };
            loop {
                if books.unrecorded.is_none() {
                    // Every worker busy: wait for one before claiming more.
                    let sent = if books.in_flight >= WORKERS {
                        answers.recv().ok()
                    } else {
                        answers.try_recv().ok()
                    };
                    if let Some(sent) = sent {
                        let _freed = self.take(state, sent, &mut books, &spawn)?;
                        continue;
                    }
                }
                if self.remaining().is_zero() {
                    if books.in_flight == 0 {
                        break;
                    }
                    // No new rows; what is in flight ends by its own timeout.
                    books.record_now(state)?;
                    if let Ok(sent) = answers.recv() {
                        let _freed = self.take(state, sent, &mut books, &spawn)?;
                    }
                    continue;
                }
                let record = books.unrecorded.as_ref().map(|(fence, f)| (*fence, f));
                let (recorded, claim) =
                    state.claim_next(&books.scope, lease_ms, self.retry_from, record)?;
                if let (Some(recorded), Some((fence, _))) = (recorded, books.unrecorded.take()) {
                    warn_if_stale(recorded, fence);
                }
                match claim {
                    // Our own sends hold the rest: wait for one to come back.
                    Claim::Empty | Claim::Busy | Claim::Wait(_) if books.in_flight > 0 => {
                        let wait = match claim {
                            Claim::Wait(at) => (at - now_ms()).clamp(5, 100).unsigned_abs(),
                            _ => 1000,
                        };
                        // Until an answer frees a queue (a flow's read frees none), claiming
                        // again would find the same.
                        while let Ok(sent) = answers.recv_timeout(Duration::from_millis(wait)) {
                            if self.take(state, sent, &mut books, &spawn)? {
                                break;
                            }
                        }
                    }
                    Claim::Empty => break,
                    Claim::Wait(at) => {
                        if at >= self.deadline_ms() {
                            break;
                        }
                        let pause = (at - now_ms()).clamp(5, 100).unsigned_abs();
                        std::thread::sleep(Duration::from_millis(pause));
                    }
                    // Another process is sending the head of a queue we want; it finishes
                    // within its budget.
                    Claim::Busy => std::thread::sleep(Duration::from_millis(20)),
                    Claim::Row(row) => self.start(state, row, &mut books, &spawn, &answers)?,
                }
            }
            books.record_now(state)?;
            Ok(())
        })?;
        let mut done = books.done;
        // Shown in the order planned, whichever answered first.
        done.sort_by_key(|d| d.row);
        Ok(done)
    }

    /// Starts a claimed row: on a worker, as a flow, or (a deployment) here once no flow is
    /// under way.
    fn start(
        &self,
        state: &mut State,
        row: Box<Row>,
        books: &mut Books<'a>,
        spawn: &dyn Fn(Work<'a>),
        answers: &mpsc::Receiver<Sent<'a>>,
    ) -> Result<()> {
        match row.kind {
            Kind::Request | Kind::Release => {
                books.in_flight += 1;
                spawn(Work::Row(row));
            }
            Kind::Notify => {
                let flowing = self.flowing(row);
                self.step(state, flowing, None, books, spawn)?;
            }
            Kind::Deployment => {
                while !books.flows.is_empty() {
                    match answers.recv() {
                        Ok(sent) => {
                            let _freed = self.take(state, sent, books, spawn)?;
                        }
                        Err(_) => break,
                    }
                }
                let (delivery, finish) = self.deploy(state, &row)?;
                remember(&mut books.done, delivery);
                books.record_later(state, row.fence(), finish)?;
            }
        }
        Ok(())
    }

    /// What a worker thread does, with no access to the state.
    fn work(&self, work: Work<'a>) -> Sent<'a> {
        match work {
            Work::Row(row) if row.kind == Kind::Release => {
                let listing = self.list_release(&row);
                Sent::Listed { row, listing }
            }
            Work::Row(row) => {
                let (delivery, finish) = self.send_request_row(&row);
                Sent::Request {
                    fence: row.fence(),
                    finish,
                    delivery,
                }
            }
            Work::Step {
                id,
                index,
                instance,
                request,
            } => Sent::Step {
                id,
                index,
                answer: self.send(&request, &Credentials::of(instance)),
            },
        }
    }

    /// A worker's answer taken in. A request's result waits to be recorded with the next claim;
    /// a release is stored at once, in its own transaction, and the queues it filled join the
    /// scope; a flow goes on. Returns whether a queue may have been freed: a flow that goes on
    /// frees none.
    fn take(
        &self,
        state: &mut State,
        sent: Sent<'a>,
        books: &mut Books<'a>,
        spawn: &dyn Fn(Work<'a>),
    ) -> Result<bool> {
        books.in_flight -= 1;
        match sent {
            Sent::Request {
                fence,
                finish,
                delivery,
            } => {
                remember(&mut books.done, delivery);
                books.record_later(state, fence, finish)?;
                Ok(true)
            }
            Sent::Listed { row, listing } => {
                let delivery = Delivery::of(&row);
                let (delivery, finish, released) =
                    Self::store_release(state, &row, listing, delivery)?;
                remember(&mut books.done, delivery);
                if let Scope::Queues(queues) = &mut books.scope {
                    queues.extend(released);
                }
                if let Some(finish) = finish {
                    warn_if_stale(
                        state.store().outbox().finish(row.fence(), &finish)?,
                        row.fence(),
                    );
                }
                Ok(true)
            }
            Sent::Step { id, index, answer } => {
                let Some(at) = books.flows.iter().position(|f| f.row.id == id) else {
                    anyhow::bail!("an answer came back for row {id}, which no flow here sent");
                };
                let flowing = books.flows.swap_remove(at);
                self.step(state, flowing, Some((index, answer)), books, spawn)
            }
        }
    }

    /// Advances a flow with the answer to its last request: its next requests go to workers,
    /// or its end is recorded. Returns whether it ended.
    fn step(
        &self,
        state: &mut State,
        mut flowing: Flowing<'a>,
        answer: Option<(usize, Result<Answer, Failure>)>,
        books: &mut Books<'a>,
        spawn: &dyn Fn(Work<'a>),
    ) -> Result<bool> {
        match self.advance(state, &mut flowing, answer)? {
            Next::Send(instance, requests) => {
                for (index, request) in requests.into_iter().enumerate() {
                    books.in_flight += 1;
                    spawn(Work::Step {
                        id: flowing.row.id,
                        index,
                        instance,
                        request,
                    });
                }
                books.flows.push(flowing);
                Ok(false)
            }
            Next::Wait => {
                books.flows.push(flowing);
                Ok(false)
            }
            Next::Done(finish) => {
                let delivery = Self::end_flow(state, flowing, &finish)?;
                remember(&mut books.done, delivery);
                Ok(true)
            }
        }
    }
}
