//! An event and what the state knows of its commit → what to record and what to send. Pure:
//! `commands/planning.rs` loads [`Known`] inside one `BEGIN IMMEDIATE` transaction, calls
//! [`decide`] (or [`reconcile`] for a replay), and stores the result in that same transaction.
//!
//! Each part of the work is planned once per event, whichever commands carry it: the statuses
//! (by `status` or `handle`; a second copy of the same bytes retries instead) and the
//! notification (by `notify` or `handle`, claimed once per commit).

use crate::config::Instance;
use crate::ending::{self, Prior};
use crate::event::Event;
use crate::plan::{self, Mode};
use crate::report::{Outcome, Report};
use crate::request::Request;
use crate::state::commits::Record;
use crate::state::journal::Verdict;
use crate::state::outbox::{Kind, Row};
use crate::state::values::{Notified, RowState};
use std::collections::HashMap;

/// The event as the planner needs it.
pub struct Input<'a> {
    pub mode: Mode,
    pub instance: &'a Instance,
    pub event: &'a Event,
    pub report: &'a Report,
    /// `replay ID`: the event replayed.
    pub replay_of: Option<i64>,
}

impl Input<'_> {
    pub fn commit(&self) -> &str {
        self.report.commit.as_str()
    }

    /// The event's own time; Argo CD sends none, so its events are ordered by arrival (`now`).
    pub fn time(&self, now: i64) -> i64 {
        self.event.time.unwrap_or(now)
    }

    /// The status requests of the event, with the configuration of now.
    pub fn statuses(&self) -> Vec<plan::Planned> {
        plan::status_requests(
            self.instance,
            self.event.header.operator,
            &self.report.commit,
            &self.report.statuses,
        )
    }
}

/// (target, context) → the newest event time posted there for this commit.
pub type Newest = HashMap<(String, String), i64>;

/// What the state knows before this event.
#[derive(Debug, Default)]
pub struct Known {
    /// An earlier copy of the same bytes whose statuses were planned.
    pub first_copy: Option<i64>,
    pub commit: Option<Record>,
    /// The recorded end of each source of the commit (this event's not yet).
    pub sources: Vec<(String, Outcome)>,
    pub newest: Newest,
    /// The event's time, or the arrival time for Argo CD.
    pub time: i64,
}

/// What to record and send.
#[derive(Debug)]
pub struct Decided {
    /// This event's source and its end, to record.
    pub source_end: Option<(String, Outcome)>,
    /// Status requests to queue (each advances its context to `Known::time`).
    pub statuses: Vec<plan::Planned>,
    pub new_outcome: Option<Outcome>,
    /// The statuses of the commit's end are now planned.
    pub end_statuses: bool,
    /// Claim the commit's notification and queue it, with this outcome.
    pub notify: Option<Outcome>,
    pub verdict: Verdict,
    pub why: Option<String>,
    /// Nothing new is planned: retry what the commit still owes.
    pub retry_owed: bool,
}

pub fn decide(input: &Input, known: &Known) -> Decided {
    let record = known.commit.as_ref();
    let prior = Prior {
        outcome: record.and_then(|r| r.outcome),
        end_statuses: record.is_some_and(|r| r.end_statuses),
    };
    let source_end = input.event.header.source.clone().zip(input.report.end);
    let mut sources = known.sources.clone();
    if let Some((source, end)) = &source_end {
        match sources.iter_mut().find(|(s, _)| s == source) {
            Some(recorded) => recorded.1 = *end,
            None => sources.push((source.clone(), *end)),
        }
    }
    let ending = ending::decide(prior, input.report.end, &input.instance.require, &sources);
    // The commit ends once, for the notification; statuses end per environment, so that one
    // cluster's end does not silence another's statuses of the same commit.
    let posts = match environment_prior(input, &known.sources) {
        Some(env_prior) => ending::decide(env_prior, input.report.end, &[], &[]).post_statuses,
        None => ending.post_statuses,
    };
    let post = posts && input.mode.posts_statuses() && known.first_copy.is_none();
    let (statuses, older) = if post {
        newer_statuses(input.statuses(), &known.newest, known.time)
    } else {
        (Vec::new(), 0)
    };
    let outcome = ending.new_outcome.or(prior.outcome);
    let notification = match (input.mode.notifies(), outcome) {
        (false, _) => Notification::NotAsked,
        (true, None) => Notification::NotEnded,
        // NULL: nobody claimed it; the transaction makes this read-then-claim atomic.
        (true, Some(outcome)) => match record.and_then(|r| r.notify) {
            None => Notification::Queued(outcome),
            told => Notification::Already(told),
        },
    };
    let planned = statuses.len() + usize::from(matches!(notification, Notification::Queued(_)));
    let (verdict, why) = verdict(
        input,
        known.first_copy,
        &ending,
        &notification,
        planned,
        older,
    );
    Decided {
        source_end,
        end_statuses: post && input.report.end.is_some() && outcome.is_some(),
        statuses,
        new_outcome: ending.new_outcome,
        notify: match notification {
            Notification::Queued(outcome) => Some(outcome),
            _ => None,
        },
        retry_owed: verdict == Verdict::Duplicate,
        verdict,
        why,
    }
}

/// For an event of an environment: how that environment's sources had ended before it (a
/// failure of any of them counts), so that repeats after its end post nothing.
fn environment_prior(input: &Input, sources: &[(String, Outcome)]) -> Option<Prior> {
    let env = input.event.header.environment.as_deref()?;
    let prefix = format!("{env}:");
    let ends: Vec<Outcome> = sources
        .iter()
        .filter(|(source, _)| source.starts_with(&prefix))
        .map(|(_, outcome)| *outcome)
        .collect();
    let outcome = if ends.contains(&Outcome::Failure) {
        Some(Outcome::Failure)
    } else {
        ends.first().copied()
    };
    Some(Prior {
        outcome,
        end_statuses: true,
    })
}

/// The statuses not older than one already posted on their context; and how many were.
fn newer_statuses(
    planned: Vec<plan::Planned>,
    newest: &Newest,
    time: i64,
) -> (Vec<plan::Planned>, usize) {
    let (newer, older): (Vec<_>, Vec<_>) = planned.into_iter().partition(|p| {
        let key = (p.request.target.key(), p.context.clone());
        newest.get(&key).is_none_or(|n| time >= *n)
    });
    (newer, older.len())
}

/// What the notification part of an event came to.
enum Notification {
    /// `status` does not notify.
    NotAsked,
    /// The commit has not ended (or not for the required sources).
    NotEnded,
    /// Claimed by this event: queued.
    Queued(Outcome),
    /// Claimed before; how it stands.
    Already(Option<Notified>),
}

/// The journal's verdict and why, in words that claim only what has happened.
fn verdict(
    input: &Input,
    copy: Option<i64>,
    ending: &ending::Decision,
    notify: &Notification,
    planned: usize,
    older: usize,
) -> (Verdict, Option<String>) {
    let skipped = match older {
        0 => None,
        n => Some(format!(
            "{n} statuses older than ones already posted were skipped"
        )),
    };
    if let Notification::Queued(outcome) = notify {
        let also = skipped.map(|s| format!("; {s}")).unwrap_or_default();
        let why = format!(
            "the deployment ended ({outcome}): the orchestrator's notification is queued{also}"
        );
        return (Verdict::Handled, Some(why));
    }
    if planned > 0 {
        return (Verdict::Handled, skipped);
    }
    if let Some(first) = copy {
        let why =
            format!("same bytes as event {first}: only what its commit still owes is retried");
        return (Verdict::Duplicate, Some(why));
    }
    if let (Some(why), Mode::Status | Mode::Handle) = (&ending.why_not, input.mode) {
        return (Verdict::Superseded, Some(why.clone()));
    }
    let (verdict, why): (Verdict, String) = match notify {
        Notification::Already(Some(Notified::Owed)) => (
            Verdict::Duplicate,
            "the notification of this commit is already queued: it is retried".into(),
        ),
        Notification::Already(Some(Notified::Sent)) => (
            Verdict::Superseded,
            "the orchestrator was already told about this commit".into(),
        ),
        Notification::Already(Some(Notified::Assumed)) => (
            Verdict::Superseded,
            "the Git host says this commit had already ended: not notifying again".into(),
        ),
        Notification::Already(Some(Notified::Nothing)) => (
            Verdict::Superseded,
            "this commit's notification found nothing to notify".into(),
        ),
        Notification::Already(Some(Notified::Failed) | None) => (
            Verdict::Superseded,
            "this commit's notification failed for good: see `events --failed`".into(),
        ),
        Notification::NotEnded if input.mode == Mode::Notify => (
            Verdict::Ignored,
            match input.report.end {
                None => "this event does not end the deployment".into(),
                Some(_) => "the required sources have not all ended yet".into(),
            },
        ),
        _ => match skipped {
            Some(skipped) => (Verdict::Superseded, skipped),
            None => return (Verdict::Handled, None),
        },
    };
    (verdict, Some(why))
}

/// How a replay changes what an event planned before.
#[derive(Debug, Default)]
pub struct Reconciled {
    /// Owed rows that take the request planned now (same queue, same place).
    pub replan: Vec<(i64, Request)>,
    /// Owed rows nothing is planned for now.
    pub replace: Vec<i64>,
    /// Statuses planned now that were not planned before.
    pub queue: Vec<plan::Planned>,
    /// Queues with owed rows of the event, to drain.
    pub queues: Vec<String>,
}

impl Reconciled {
    pub fn changes(&self) -> usize {
        self.replan.len() + self.replace.len() + self.queue.len()
    }
}

/// Matches the status requests planned now with the rows `family` (the event and its replays)
/// holds, slot by slot: target, context, and which occurrence of that context (`Status` comes
/// twice in a change set). Delivered, refused or in-flight rows stay as they are.
pub fn reconcile(
    planned: Vec<plan::Planned>,
    family: &[Row],
    newest: &Newest,
    time: i64,
) -> Reconciled {
    type Slot = (String, String, usize);
    fn slot(seen: &mut HashMap<(String, String), usize>, target: String, context: String) -> Slot {
        let n = seen.entry((target.clone(), context.clone())).or_insert(0);
        *n += 1;
        (target, context, *n)
    }
    let mut seen = HashMap::new();
    let mut before: HashMap<Slot, &Row> = family
        .iter()
        .filter(|r| r.kind == Kind::Request && r.state != RowState::Replaced)
        .map(|row| {
            let key = slot(
                &mut seen,
                row.target.clone(),
                row.context.clone().unwrap_or_default(),
            );
            (key, row)
        })
        .collect();
    let mut seen = HashMap::new();
    let mut out = Reconciled::default();
    let mut fresh = Vec::new();
    for planned in planned {
        let key = slot(
            &mut seen,
            planned.request.target.key(),
            planned.context.clone(),
        );
        match before.remove(&key) {
            Some(row) if row.state == RowState::Pending => {
                if row.blocked || row.request.as_ref() != Some(&planned.request) {
                    out.replan.push((row.id, planned.request));
                }
                out.queues.push(row.queue.clone());
            }
            Some(_) => {}
            None => fresh.push(planned),
        }
    }
    out.queue = newer_statuses(fresh, newest, time).0;
    out.replace = before
        .values()
        .filter(|r| r.state == RowState::Pending)
        .map(|r| r.id)
        .collect();
    out.replace.sort_unstable();
    out
}

/// The notification a replay may queue: an ended commit whose notification was never claimed,
/// failed for good or found nothing (the configuration may have changed since). One that was
/// sent, or is owed, is not queued again.
pub fn replay_notification(input: &Input, record: Option<&Record>) -> Option<Outcome> {
    let record = record?;
    let open = matches!(
        record.notify,
        None | Some(Notified::Failed | Notified::Nothing)
    );
    (input.mode.notifies() && open).then_some(record.outcome?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{parse, Parsed};
    use crate::hosts::github;
    use crate::report::report;

    fn instance() -> Instance {
        Instance::sample(
            "i",
            std::sync::Arc::new(github::Statuses {
                repo: github::Repo {
                    api: "https://api.github.com".into(),
                    owner: "o".into(),
                    repo: "m".into(),
                },
            }),
        )
    }

    fn event(name: &str) -> Event {
        let path = format!(
            "{}/tests/fixtures/flux/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        match parse(&std::fs::read(path).unwrap()).unwrap() {
            Parsed::Event(e) => e,
            Parsed::Ignored(i) => panic!("{}", i.why),
        }
    }

    fn decided(mode: Mode, name: &str, known: &Known) -> Decided {
        let (instance, event) = (instance(), event(name));
        let report = report(&event);
        let input = Input {
            mode,
            instance: &instance,
            event: &event,
            report: &report,
            replay_of: None,
        };
        decide(&input, known)
    }

    const SUCCESS: &str = "kustomization-reconciliation-succeeded-flux-v2";

    #[test]
    fn a_fresh_success_posts_its_status_and_claims_the_notification() {
        let d = decided(Mode::Handle, SUCCESS, &Known::default());
        assert_eq!(d.statuses.len(), 1);
        assert_eq!(d.new_outcome, Some(Outcome::Success));
        assert_eq!(d.notify, Some(Outcome::Success));
        assert!(d.end_statuses);
        assert_eq!(d.verdict, Verdict::Handled);
        assert!(d.why.unwrap().contains("notification is queued"));
    }

    #[test]
    fn a_second_copy_retries_and_notify_after_status_still_claims() {
        let copy = Known {
            first_copy: Some(1),
            ..Known::default()
        };
        let d = decided(Mode::Status, SUCCESS, &copy);
        assert!(d.statuses.is_empty() && d.retry_owed);
        assert_eq!(d.verdict, Verdict::Duplicate);
        let after_status = Known {
            commit: Some(Record {
                outcome: Some(Outcome::Success),
                notify: None,
                end_statuses: true,
            }),
            ..Known::default()
        };
        let d = decided(Mode::Notify, SUCCESS, &after_status);
        assert_eq!((d.notify, d.statuses.len()), (Some(Outcome::Success), 0));
    }

    #[test]
    fn a_status_older_than_the_posted_one_is_skipped() {
        let mut newest = Newest::new();
        newest.insert(("github".into(), "Status".into()), i64::MAX);
        let known = Known {
            newest,
            time: 1,
            ..Known::default()
        };
        let d = decided(Mode::Status, SUCCESS, &known);
        assert!(d.statuses.is_empty());
        assert_eq!(d.verdict, Verdict::Superseded);
    }
}
