//! planned requests → sent requests. Drains the outbox: claims the head of each queue, sends it
//! (running an orchestrator flow for notifications, a release for skipped commits), and records
//! how it went, within a time budget.

mod delivery;
mod deployment;
mod drain;
mod flow;
mod release;

pub use delivery::{owed_because, warn_about, warn_about_owed, Delivery};

/// Warns of each row among `ids` still owed (see [`warn_about_owed`]); whether any is.
pub fn warn_about_owed_in(state: &State, ids: &[i64], deliveries: &[Delivery]) -> Result<bool> {
    let owed = state.store().outbox().owed_among(ids)?;
    let mut queues: Vec<String> = owed.iter().map(|r| r.queue.clone()).collect();
    queues.sort();
    queues.dedup();
    let heads = state.store().outbox().heads_of(&queues)?;
    warn_about_owed(&owed, &heads, deliveries, now_ms());
    Ok(!owed.is_empty())
}

use crate::config::{Config, Instance};
use crate::http::{Client, Credentials, Failure};
use crate::request::Request;
use crate::state::outbox::{self, Fence, Finish, Recorded, Scope};
use crate::state::{now_ms, State};
use anyhow::Result;
use std::time::{Duration, Instant};

/// One request's wait cap: long enough for a slow host, short enough to answer a webhook in time.
const MAX_REQUEST_TIME: Duration = Duration::from_secs(8);
const LEASE_MARGIN: Duration = Duration::from_secs(2);
/// A longer wait is not slept through within one invocation.
const MAX_BACKOFF_MS: i64 = 5 * 60 * 1000;

pub struct Sender<'a> {
    pub client: &'a Client,
    pub config: &'a Config,
    pub deadline: Instant,
    /// The replay CronJob retries owed rows at once, rather than after our own backoff
    /// (`Some(start of this invocation)`); see `outbox::claim_next`.
    retry_from: Option<i64>,
    /// For crash tests (`GITOPS_CONNECTOR_DEBUG_DELAY_MS`): widens the window between planning
    /// and sending so a test can kill the process mid-delivery. Unset in production.
    debug_delay: Option<Duration>,
}

impl<'a> Sender<'a> {
    /// A sender for one invocation: retries follow our own backoff.
    pub fn new(client: &'a Client, config: &'a Config, deadline: Instant) -> Sender<'a> {
        let debug_delay = std::env::var("GITOPS_CONNECTOR_DEBUG_DELAY_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map(Duration::from_millis);
        Sender {
            client,
            config,
            deadline,
            retry_from: None,
            debug_delay,
        }
    }

    /// For `replay --failed`: rows our own backoff holds back are due now.
    pub fn retrying_now(self) -> Sender<'a> {
        Sender {
            retry_from: Some(now_ms()),
            ..self
        }
    }

    /// Sends what these queues owe (sorted and de-duplicated; none at all is fine).
    pub fn drain_queues(
        &self,
        state: &mut State,
        mut queues: Vec<String>,
    ) -> Result<Vec<Delivery>> {
        queues.sort();
        queues.dedup();
        if queues.is_empty() {
            return Ok(Vec::new());
        }
        self.drain(state, &Scope::Queues(queues))
    }

    fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    fn deadline_ms(&self) -> i64 {
        now_ms().saturating_add(millis(self.remaining()))
    }

    /// Runs a deployment row on this thread; returns its result, still to be recorded.
    fn deploy(&self, state: &mut State, row: &outbox::Row) -> Result<(Delivery, Finish)> {
        let mut delivery = Delivery::of(row);
        let finish = match self.instance_of(row) {
            Ok(instance) => self.run_deployment(
                state,
                row,
                instance,
                &Credentials::of(instance),
                &mut delivery,
            )?,
            Err(finish) => finish,
        };
        (delivery.ok, delivery.result) = describe(&finish);
        Ok((delivery, finish))
    }

    /// The instance a row was planned for, or why it cannot be sent.
    fn instance_of(&self, row: &outbox::Row) -> Result<&'a Instance, Finish> {
        self.config
            .instances
            .iter()
            .find(|i| i.name == row.instance)
            .ok_or_else(|| {
                let why = format!(
                    "instance {:?} is no longer configured: configure it again, or `gitops-connector replay ID` \
                     the event with --instance NAME",
                    row.instance
                );
                self.failure(Failure::Config { why, answer: None }, row.attempts)
            })
    }

    /// Sends a row that is one planned request (a status, a subscriber's post): what a worker
    /// thread does, with no access to the state.
    fn send_request_row(&self, row: &outbox::Row) -> (Delivery, Finish) {
        let mut delivery = Delivery::of(row);
        let finish = match self.instance_of(row) {
            Ok(instance) => self.request_outcome(row, &Credentials::of(instance)),
            Err(finish) => finish,
        };
        (delivery.ok, delivery.result) = describe(&finish);
        (delivery, finish)
    }

    /// Sends a row that is one planned request (a status, a subscriber's post).
    fn request_outcome(&self, row: &outbox::Row, credentials: &Credentials) -> Finish {
        match &row.request {
            Some(request) => self.outcome_of(self.send(request, credentials), row.attempts),
            // Never sent without what it was planned with: a POST without its body would
            // reach the host as a different request.
            None => Finish::Failed {
                why: format!(
                    "the stored request is unreadable ({}): not sent; `gitops-connector replay \
                     {}` plans its event again",
                    row.unreadable.as_deref().unwrap_or("no method or URL"),
                    row.event_id
                        .map_or_else(|| "ID".to_string(), |e| e.to_string())
                ),
                answer: None,
            },
        }
    }

    fn send(
        &self,
        request: &Request,
        credentials: &Credentials,
    ) -> Result<crate::http::Answer, Failure> {
        let timeout = self
            .remaining()
            .min(MAX_REQUEST_TIME)
            .max(Duration::from_millis(200));
        crate::log::verbose(&format!("sending {request}"));
        if let Some(delay) = self.debug_delay {
            std::thread::sleep(delay);
        }
        let answer = self.client.send(request, credentials, timeout);
        if let Some(cut) = answer.as_ref().ok().and_then(|a| a.cut.as_deref()) {
            crate::log::verbose(cut);
        }
        answer
    }

    fn outcome_of(&self, result: Result<crate::http::Answer, Failure>, attempts: i64) -> Finish {
        match result {
            Ok(answer) => Finish::Done {
                answer: answer.status,
            },
            Err(failure) => self.failure(failure, attempts),
        }
    }

    /// A 2xx whose body is not JSON (a proxy's page, a body cut short) where the body is
    /// needed: a host having a bad moment, worth another try, unlike JSON that lacks what we
    /// need.
    fn not_json(&self, asked: &Request, status: u16, attempts: i64) -> Finish {
        let retry = Failure::Retry {
            why: format!(
                "{} {} answered {status} with a body that is not JSON",
                asked.target,
                asked.method.as_str()
            ),
            after: None,
            answer: Some(status),
        };
        self.failure(retry, attempts)
    }

    fn failure(&self, failure: Failure, attempts: i64) -> Finish {
        match failure {
            Failure::Retry { why, after, answer } => {
                let (wait, why) = match after {
                    Some(asked) => host_wait(asked, why),
                    None => (backoff_ms(attempts), why),
                };
                Finish::Retry {
                    why,
                    answer,
                    not_before: now_ms().saturating_add(wait),
                    host_wait: after.is_some(),
                }
            }
            Failure::Final { why, answer } => Finish::Failed { why, answer },
            // Configuration has to change first: not again in this invocation.
            Failure::Config { why, answer } => Finish::Blocked {
                why,
                answer,
                not_before: self.deadline_ms() + 1,
            },
        }
    }
}

fn describe(finish: &Finish) -> (bool, String) {
    match finish {
        Finish::Done { answer } => (true, format!("delivered ({answer})")),
        Finish::Retry { why, .. } => (
            false,
            format!("owed, tried again later (`gitops-connector replay --failed`): {why}"),
        ),
        Finish::Failed { why, .. } => (
            false,
            format!("refused for good (`gitops-connector events --failed`): {why}"),
        ),
        Finish::Nothing { why } => (true, format!("nothing to notify: {why}")),
        Finish::Refused { why } => (false, format!("refused: {why}")),
        Finish::Blocked { why, .. } => (
            false,
            format!(
                "owed, waiting on configuration: {why}; once fixed, `gitops-connector replay --failed` \
                 sends it, planned again with the fixed configuration"
            ),
        ),
    }
}

/// The longest wait a host may ask for (Retry-After, a rate-limit reset) that is honoured as
/// asked: GitHub's rate-limit windows are an hour at most. A longer one (a broken or hostile
/// host, a clock far off) is cut to this, with a warning, so that no host can park a queue.
pub const MAX_HOST_WAIT: Duration = Duration::from_secs(60 * 60);

/// The wait a host asked for, in ms, at most [`MAX_HOST_WAIT`]; `why` says so when it was cut.
fn host_wait(asked: Duration, why: String) -> (i64, String) {
    if asked <= MAX_HOST_WAIT {
        // One millisecond more: the clock is read in whole milliseconds, rounded down, so the
        // next try never comes before the whole wait is over.
        return (millis(asked).saturating_add(1), why);
    }
    let said = format!(
        "{why}; it asked to wait {} s, more than the {} s honoured: tried again in {} s",
        asked.as_secs(),
        MAX_HOST_WAIT.as_secs(),
        MAX_HOST_WAIT.as_secs()
    );
    crate::log::warn(&said);
    (millis(MAX_HOST_WAIT), said)
}

/// A result refused by its fence: this process's lease lapsed (it was stopped, or its request
/// outlived the budget) and another process claimed the row since. The other's result stands.
fn warn_if_stale(recorded: Recorded, fence: Fence) {
    if recorded == Recorded::Stale {
        crate::log::warn(&format!(
            "request {}: this process's lease on it lapsed and another process took it over; \
             this result is not recorded, the other's stands",
            fence.row
        ));
    }
}

/// A duration in whole milliseconds, saturating (waits are bounded far below that).
pub fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// 250 ms, doubling per attempt, with up to 50% jitter so that retrying processes spread out.
fn backoff_ms(attempts: i64) -> i64 {
    let base = 250i64
        .saturating_mul(1i64 << attempts.clamp(0, 20))
        .min(MAX_BACKOFF_MS);
    let jitter = (now_ms().rem_euclid(1000) * base / 2000).max(0);
    (base + jitter).min(MAX_BACKOFF_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_wait_is_honoured_up_to_an_hour_and_cut_past_it() {
        let hour = 3_600_000;
        for (asked, wait, cut) in [
            (Duration::ZERO, 1, false),
            (Duration::from_secs(7), 7_001, false),
            (Duration::from_secs(3_600), hour + 1, false),
            (Duration::from_secs(3_601), hour, true),
            (Duration::from_secs(999_999), hour, true),
            (Duration::from_secs(u64::MAX), hour, true),
        ] {
            let (ms, why) = host_wait(asked, "GitHub answered 429".into());
            assert_eq!(ms, wait, "{asked:?}");
            assert_eq!(why.contains("more than the 3600 s honoured"), cut, "{why}");
            assert!(why.starts_with("GitHub answered 429"));
        }
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!((250..=375).contains(&backoff_ms(0)));
        assert!((1000..=1500).contains(&backoff_ms(2)));
        assert_eq!(backoff_ms(40), MAX_BACKOFF_MS);
    }
}
