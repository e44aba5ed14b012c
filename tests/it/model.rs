//! The outbox against a model: random interleavings of three senders that claim, send, stall
//! past their lease, crash and record (at times the test sets), on the suite's backend. What
//! must hold whatever the interleaving:
//! - a row's queue leaves in order (its marked head always its oldest open row): no row
//!   reaches the host while an earlier row of its queue is still open;
//! - a result recorded by a sender whose lease lapsed and whose row was claimed again changes
//!   nothing;
//! - once a row's delivery is recorded, no sender within its lease sends it again; a row
//!   reaches the host twice only through the stated window: a sender that stalled past its
//!   lease before it sent, or that never recorded before another claimed the row (it crashed,
//!   or stalled past its lease while the host had its request);
//! - nothing is lost: an honest sender afterwards leaves every row delivered or failed;
//! - every pipeline is told, and once but for that window, though two notifications (two
//!   commits) lead to it: each asks the state just before it sends, as the engine does.

use crate::support::*;
use gitops_connector::request::{Request, Target};
use gitops_connector::state::outbox::{Ask, Claim, Finish, Kind, NewRow, Recorded, Row, Scope};
use gitops_connector::state::pipelines::{before_notifying, Go};
use gitops_connector::state::{Opening, State};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const T0: i64 = 1_700_000_000_000;
const LEASE_MS: i64 = 1_000;
const SENDERS: usize = 3;
const ROWS: usize = 6;
/// Notifications: four commits' own, two of which lead to each of two pipelines (a merge commit
/// and its branch's commit, say).
const NOTIFICATIONS: [(&str, &str); 4] = [
    ("n1", "run-1"),
    ("n2", "run-1"),
    ("n3", "run-2"),
    ("n4", "run-2"),
];

/// Rows marked as their queue's head that are not its oldest open row, or the other way round.
const MISMARKED_HEADS: &str = "SELECT COUNT(*) FROM outbox o WHERE (o.is_head = 1) <> \
     (o.state IN ('pending', 'sending') AND o.id = (SELECT MIN(p.id) FROM outbox p \
      WHERE p.queue = o.queue AND p.state IN ('pending', 'sending')))";

#[derive(Debug, Clone)]
enum Op {
    /// Sender `s` claims the next row, if it holds none.
    Claim(usize),
    /// Sender `s` sends what it holds: the host has it.
    Send(usize),
    /// Sender `s` records how its send went.
    Record(usize, Outcome),
    /// Sender `s` dies: what it holds is left to its lease.
    Crash(usize),
    /// Time passes (a stall, a slow host): leases may lapse.
    Wait(i64),
}

#[derive(Debug, Clone, Copy)]
enum Outcome {
    Delivered,
    Retry(i64),
    Refused,
}

fn op() -> impl Strategy<Value = Op> {
    let sender = 0..SENDERS;
    prop_oneof![
        4 => sender.clone().prop_map(Op::Claim),
        3 => sender.clone().prop_map(Op::Send),
        3 => (sender.clone(), prop_oneof![
            4 => Just(Outcome::Delivered),
            2 => (0..2_000i64).prop_map(Outcome::Retry),
            1 => Just(Outcome::Refused),
        ]).prop_map(|(s, o)| Op::Record(s, o)),
        1 => sender.prop_map(Op::Crash),
        2 => (0..2_500i64).prop_map(Op::Wait),
    ]
}

/// What a sender holds: the claimed row, when, whether it went to the host, and whether that
/// send left after the lease had lapsed (a sender that stalled between its claim and its send).
struct Held {
    row: Box<Row>,
    claimed_at: i64,
    sent: bool,
    late: bool,
    /// A notification that must not go (its pipeline is another's, or its lease lapsed): what
    /// its sender records instead.
    instead: Option<Finish>,
}

struct World {
    state: State,
    now: i64,
    held: Vec<Option<Held>>,
    /// Row id → its queue and place in it.
    queue_of: BTreeMap<i64, (String, usize)>,
    /// Row id → how often the host took it: sends, less those recorded as refused or to be
    /// tried again (the host did not act on those).
    sends: BTreeMap<i64, usize>,
    /// Row id → sends not recorded yet by the sender that made them.
    in_flight: BTreeMap<i64, usize>,
    /// Rows whose delivery was recorded.
    delivered: BTreeSet<i64>,
    /// Rows the host refused for good (a 422): failed, and never tried again.
    refused: BTreeSet<i64>,
    /// Row id → sends whose sender never recorded before the row was claimed again: the window.
    window: BTreeMap<i64, usize>,
    /// Notification row id → the pipeline it tells.
    pipeline_of: BTreeMap<i64, &'static str>,
}

fn open(dir: &TempDir) -> State {
    State::open_with(&Opening {
        location: &dir.state(),
        busy: Duration::from_secs(10),
        password_file: None,
    })
    .expect("open the state")
}

fn finish(outcome: Outcome, now: i64) -> Finish {
    match outcome {
        Outcome::Delivered => Finish::Done { answer: 201 },
        Outcome::Retry(ms) => Finish::Retry {
            why: "503".into(),
            answer: Some(503),
            not_before: now + ms,
            host_wait: false,
        },
        Outcome::Refused => Finish::Failed {
            why: "422".into(),
            answer: Some(422),
        },
    }
}

/// A row as the state holds it, for "changed nothing".
fn snapshot(state: &State, id: i64) -> String {
    let rows = state.store().outbox().owed_among(&[id]).unwrap();
    let attempts = state.store().outbox().attempts(id).unwrap().len();
    format!("{rows:?}/{attempts}")
}

impl World {
    fn new(dir: &TempDir) -> World {
        let state = open(dir);
        let target = Target::Kind(&gitops_connector::hosts::github::STATUSES);
        let mut queue_of = BTreeMap::new();
        for i in 0..ROWS {
            let commit = if i % 2 == 0 { "a" } else { "b" };
            let request = Request::post(
                target.clone(),
                format!("https://host.example/statuses/{commit}/{i}"),
                serde_json::json!({"state": "pending", "context": i}),
            );
            let row = NewRow {
                event_id: None,
                instance: "model",
                commit: Some(commit),
                target: &target,
                kind: Kind::Request,
                context: None,
                request: Some(&request),
                job: None,
            };
            let id = state.store().outbox().enqueue(&row).unwrap();
            queue_of.insert(id, (row.queue(), i / 2));
        }
        let mut pipeline_of = BTreeMap::new();
        let orchestrator = Target::Kind(&gitops_connector::orchestrators::github_actions::TARGET);
        for (commit, pipeline) in NOTIFICATIONS {
            let row = NewRow {
                event_id: None,
                instance: "model",
                commit: Some(commit),
                target: &orchestrator,
                kind: Kind::Notify,
                context: None,
                request: None,
                job: Some("{}".into()),
            };
            let id = state.store().outbox().enqueue(&row).unwrap();
            queue_of.insert(id, (row.queue(), 0));
            pipeline_of.insert(id, pipeline);
        }
        World {
            state,
            now: T0,
            held: (0..SENDERS).map(|_| None).collect(),
            queue_of,
            sends: BTreeMap::new(),
            in_flight: BTreeMap::new(),
            delivered: BTreeSet::new(),
            refused: BTreeSet::new(),
            window: BTreeMap::new(),
            pipeline_of,
        }
    }

    fn claim(&mut self, s: usize) -> Result<(), TestCaseError> {
        if self.held[s].is_some() {
            return Ok(());
        }
        let ask = Ask {
            scope: &Scope::All,
            lease_ms: LEASE_MS,
            retry_from: None,
            now: self.now,
        };
        let (_, claim) = self.state.store().claim_next(&ask, None).unwrap();
        if let Claim::Row(row) = claim {
            prop_assert!(
                !self.delivered.contains(&row.id),
                "row {} was claimed again after its delivery was recorded",
                row.id
            );
            // Sent before by a sender that never recorded (it crashed, or its lease lapsed):
            // the window, counted.
            if let Some(unrecorded) = self.in_flight.remove(&row.id) {
                *self.window.entry(row.id).or_default() += unrecorded;
            }
            self.held[s] = Some(Held {
                row,
                claimed_at: self.now,
                sent: false,
                late: false,
                instead: None,
            });
        }
        Ok(())
    }

    fn send(&mut self, s: usize) -> Result<(), TestCaseError> {
        let Some(held) = self.held[s].as_mut().filter(|h| !h.sent) else {
            return Ok(());
        };
        held.sent = true;
        held.late = self.now >= held.claimed_at + LEASE_MS;
        let (id, late) = (held.row.id, held.late);
        // A notification asks the state first, as the engine does just before it sends.
        if let Some(pipeline) = self.pipeline_of.get(&id) {
            let request = Request::post(
                Target::Kind(&gitops_connector::orchestrators::github_actions::TARGET),
                format!("https://host.example/{pipeline}/dispatches"),
                serde_json::json!({"event_type": "sync-success"}),
            );
            let go =
                before_notifying(self.state.store(), &held.row, Some(pipeline), &request).unwrap();
            let lapsed_at_check = matches!(go, Go::Lapsed);
            held.instead = match go {
                Go::Send => None,
                Go::Lapsed | Go::Told(_) => Some(Finish::Nothing {
                    why: "not sent".into(),
                }),
                // Backs off, as the engine's retries do.
                Go::Waits(_) => Some(finish(Outcome::Retry(LEASE_MS), self.now)),
            };
            if held.instead.is_some() {
                prop_assert!(
                    !lapsed_at_check || late,
                    "row {id}: its fence held, yet it lapsed"
                );
                return Ok(());
            }
        }
        prop_assert!(
            late || !self.delivered.contains(&id),
            "row {id} was sent within its lease after its delivery was recorded"
        );
        let (queue, place) = self.queue_of[&id].clone();
        // Every earlier row of its queue is over (delivered or failed for good).
        for (earlier, (q, p)) in &self.queue_of {
            if *q == queue && *p < place {
                let open = self.state.store().outbox().owed_among(&[*earlier]).unwrap();
                prop_assert!(
                    open.is_empty(),
                    "row {id} left before row {earlier} of its queue"
                );
            }
        }
        *self.sends.entry(id).or_default() += 1;
        // A send past the lease is the window whatever comes of it; one within the lease is
        // the window only if another sender claims the row before this one records.
        if late {
            *self.window.entry(id).or_default() += 1;
        } else {
            *self.in_flight.entry(id).or_default() += 1;
        }
        Ok(())
    }

    fn record(&mut self, s: usize, outcome: Outcome) -> Result<(), TestCaseError> {
        let Some(held) = self.held[s].take() else {
            return Ok(());
        };
        if !held.sent {
            self.held[s] = Some(held);
            return Ok(());
        }
        let id = held.row.id;
        let before = snapshot(&self.state, id);
        let result = held
            .instead
            .clone()
            .unwrap_or_else(|| finish(outcome, self.now));
        let recorded = self
            .state
            .store()
            .outbox()
            .finish(held.row.fence(), &result)
            .unwrap();
        match recorded {
            Recorded::Stale => {
                prop_assert_eq!(
                    snapshot(&self.state, id),
                    before,
                    "a stale result changed row {}",
                    id
                );
            }
            Recorded::Yes if held.instead.is_some() => {
                prop_assert!(!self.delivered.contains(&id), "row {id} recorded twice");
                if matches!(held.instead, Some(Finish::Nothing { .. })) {
                    // Over: nothing more of it will go.
                    self.delivered.insert(id);
                }
            }
            Recorded::Yes => {
                prop_assert!(!self.delivered.contains(&id), "row {id} recorded twice");
                if !held.late {
                    let in_flight = self.in_flight.get_mut(&id);
                    prop_assert!(
                        in_flight.as_deref().is_some_and(|n| *n > 0),
                        "row {id}: a record without its send"
                    );
                    *in_flight.unwrap() -= 1;
                }
                if matches!(outcome, Outcome::Refused) {
                    self.refused.insert(id);
                }
                if matches!(outcome, Outcome::Delivered) {
                    self.delivered.insert(id);
                } else {
                    // The host did not act on it (a 503, a 422): not a repeat.
                    *self.sends.get_mut(&id).unwrap() -= 1;
                    if held.late {
                        *self.window.get_mut(&id).unwrap() -= 1;
                    }
                }
            }
        }
        Ok(())
    }

    fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match *op {
            Op::Claim(s) => self.claim(s),
            Op::Send(s) => self.send(s),
            Op::Record(s, outcome) => self.record(s, outcome),
            Op::Crash(s) => {
                self.held[s] = None;
                Ok(())
            }
            Op::Wait(ms) => {
                self.now += ms;
                Ok(())
            }
        }
    }

    /// Every lease lapses, then one honest sender drains what is left.
    fn drain(&mut self) -> Result<(), TestCaseError> {
        self.held.iter_mut().for_each(|h| *h = None);
        // As the engine drains: the heads of several queues at once, each round.
        for _ in 0..(ROWS + NOTIFICATIONS.len()) * 8 {
            self.now += 3 * LEASE_MS;
            for s in 0..SENDERS {
                self.claim(s)?;
            }
            if self.held.iter().all(Option::is_none) {
                break;
            }
            for s in 0..SENDERS {
                self.send(s)?;
                self.record(s, Outcome::Delivered)?;
            }
        }
        let ids: Vec<i64> = self.queue_of.keys().copied().collect();
        let owed = self.state.store().outbox().owed_among(&ids).unwrap();
        prop_assert!(owed.is_empty(), "still owed after the drain: {owed:?}");
        for (id, sends) in &self.sends {
            let repeats = sends.saturating_sub(1);
            prop_assert!(
                repeats <= self.window.get(id).copied().unwrap_or(0),
                "row {id} reached the host {sends} times, outside the window"
            );
        }
        // Every pipeline told, and told once but for its notifications' windows.
        for pipeline in ["run-1", "run-2"] {
            let rows: Vec<i64> = self
                .pipeline_of
                .iter()
                .filter(|(_, p)| **p == pipeline)
                .map(|(id, _)| *id)
                .collect();
            let told: usize = rows
                .iter()
                .map(|id| self.sends.get(id).copied().unwrap_or(0))
                .sum();
            let window: usize = rows
                .iter()
                .map(|id| self.window.get(id).copied().unwrap_or(0))
                .sum();
            // Told, unless the orchestrator refused every notification of it for good.
            let all_refused = rows.iter().all(|id| self.refused.contains(id));
            prop_assert!(told >= 1 || all_refused, "{pipeline} was never told");
            prop_assert!(
                told.saturating_sub(1) <= window,
                "{pipeline} was told {told} times, outside the window"
            );
        }
        Ok(())
    }
}

// `MODEL_CASES=3000` runs more interleavings than CI does (64 on SQLite, 24 on PostgreSQL).
proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("MODEL_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(if crate::support::postgres::suite_on_postgres() { 24 } else { 64 }),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn any_interleaving_of_senders_delivers_each_row_once_outside_the_window(
        ops in proptest::collection::vec(op(), 1..60)
    ) {
        let dir = TempDir::new("model");
        let mut world = World::new(&dir);
        for op in &ops {
            world.apply(op)?;
            // The marked heads are exactly each queue's oldest open row.
            prop_assert_eq!(dir.count(MISMARKED_HEADS), 0, "after {:?}", op);
        }
        world.drain()?;
        prop_assert_eq!(dir.count(MISMARKED_HEADS), 0);
    }
}
