//! Draining the outbox: the heads of independent queues (the Git host's statuses, each
//! subscriber, the orchestrator's flow) are sent at the same time, each queue still strictly in
//! order and every result still journaled.
//!
//! One thread, this one, owns the state: it claims rows, records results, and runs the
//! notification flows and deployments itself, so a notification is recorded the moment its
//! answer arrives, as before (the crash window does not widen). A row that is one planned request
//! (a status, a subscriber's post) is sent on a worker thread instead, and its result comes back
//! here to be recorded in the transaction that claims the next row. A release's listing is read
//! on a worker too, and stored here.

use super::delivery::remember;
use super::release::Listing;
use super::{millis, Delivery, Sender, LEASE_MARGIN};
use crate::state::outbox::{Claim, Finish, Kind, Row, Scope};
use crate::state::{now_ms, State};
use anyhow::Result;
use std::sync::mpsc;
use std::time::Duration;

/// Requests in flight at once, beyond the one this thread may be running.
const WORKERS: usize = 8;

/// A worker's answer.
enum Sent<'a> {
    /// A planned request: the row, how its send went, and what to print.
    Request {
        id: i64,
        finish: Finish,
        delivery: Delivery,
    },
    /// A release's listing, still to be stored.
    Listed { row: Box<Row>, listing: Listing<'a> },
}

impl<'a> Sender<'a> {
    /// A worker's answer taken in and shown once. A request's result is returned, to be recorded
    /// with the next claim; a release is stored at once, in its own transaction, and the queues
    /// it filled join the scope.
    fn take(
        state: &mut State,
        sent: Sent<'a>,
        scope: &mut Scope,
        done: &mut Vec<Delivery>,
        in_flight: &mut usize,
    ) -> Result<Option<(i64, Finish)>> {
        *in_flight -= 1;
        match sent {
            Sent::Request {
                id,
                finish,
                delivery,
            } => {
                remember(done, delivery);
                Ok(Some((id, finish)))
            }
            Sent::Listed { row, listing } => {
                let delivery = Delivery::of(&row);
                let (delivery, finish, released) =
                    Self::store_release(state, &row, listing, delivery)?;
                remember(done, delivery);
                if let Scope::Queues(queues) = scope {
                    queues.extend(released);
                }
                if let Some(finish) = finish {
                    state.store().outbox().finish(row.id, &finish)?;
                }
                Ok(None)
            }
        }
    }

    /// Sends what `scope` holds until it is empty or the budget is spent.
    pub fn drain(&self, state: &mut State, scope: &Scope) -> Result<Vec<Delivery>> {
        // A release queues rows for the commits it concludes: they are sent in this drain too.
        let mut scope = scope.clone();
        // Every request ends by the deadline (its timeout is capped by what remains), so a live
        // process never holds a row much past it; a dead one's rows are free soon after.
        let lease_ms = millis(self.remaining() + LEASE_MARGIN);
        let mut done = Vec::new();
        let (to_here, answers) = mpsc::channel::<Sent>();
        std::thread::scope(|workers| -> Result<()> {
            let mut in_flight = 0_usize;
            // A result is recorded in the same transaction that claims the next row: one commit
            // per request. Until then its row stays leased to us, so nobody else takes it.
            let mut unrecorded: Option<(i64, Finish)> = None;
            loop {
                if unrecorded.is_none() {
                    if let Ok(sent) = answers.try_recv() {
                        unrecorded =
                            Self::take(state, sent, &mut scope, &mut done, &mut in_flight)?;
                    }
                }
                if self.remaining().is_zero() {
                    if in_flight == 0 {
                        break;
                    }
                    // No new sends; what is in flight ends by its own timeout.
                    if let Some((id, finish)) = unrecorded.take() {
                        state.store().outbox().finish(id, &finish)?;
                    }
                    if let Ok(sent) = answers.recv() {
                        unrecorded =
                            Self::take(state, sent, &mut scope, &mut done, &mut in_flight)?;
                    }
                    continue;
                }
                let record = unrecorded.as_ref().map(|(id, f)| (*id, f));
                let claim = state.claim_next(&scope, lease_ms, self.retry_from, record)?;
                unrecorded = None;
                match claim {
                    // Our own sends hold the rest: wait for one to come back.
                    Claim::Empty | Claim::Busy | Claim::Wait(_) if in_flight > 0 => {
                        let wait = match claim {
                            Claim::Wait(at) => (at - now_ms()).clamp(5, 100).unsigned_abs(),
                            _ => 1000,
                        };
                        if let Ok(sent) = answers.recv_timeout(Duration::from_millis(wait)) {
                            unrecorded =
                                Self::take(state, sent, &mut scope, &mut done, &mut in_flight)?;
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
                    Claim::Row(row)
                        if matches!(row.kind, Kind::Request | Kind::Release)
                            && in_flight < WORKERS =>
                    {
                        let to_here = to_here.clone();
                        in_flight += 1;
                        workers.spawn(move || {
                            let _ = to_here.send(self.send_on_worker(row));
                        });
                    }
                    Claim::Row(row) => {
                        unrecorded = self.send_here(state, &row, &mut scope, &mut done)?;
                    }
                }
            }
            if let Some((id, finish)) = unrecorded {
                state.store().outbox().finish(id, &finish)?;
            }
            Ok(())
        })?;
        // Shown in the order planned, whichever answered first.
        done.sort_by_key(|d| d.row);
        Ok(done)
    }

    /// What a worker thread does with a row, with no access to the state.
    fn send_on_worker(&self, row: Box<Row>) -> Sent<'a> {
        if row.kind == Kind::Release {
            let listing = self.list_release(&row);
            return Sent::Listed { row, listing };
        }
        let (delivery, finish) = self.send_request_row(&row);
        Sent::Request {
            id: row.id,
            finish,
            delivery,
        }
    }

    /// Sends a row on this thread (a flow, a release, a deployment, or a request when every
    /// worker is busy); returns its result still to be recorded.
    fn send_here(
        &self,
        state: &mut State,
        row: &Row,
        scope: &mut Scope,
        done: &mut Vec<Delivery>,
    ) -> Result<Option<(i64, Finish)>> {
        let (delivery, finish, released) = self.send_row(state, row)?;
        remember(done, delivery);
        if let Scope::Queues(queues) = scope {
            queues.extend(released);
        }
        Ok(finish.map(|f| (row.id, f)))
    }
}
