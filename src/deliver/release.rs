//! A release row: the Git host lists the commits between the last end and the one that just
//! ended, and the skipped ones are concluded (see `crate::release`).

use super::{describe, Delivery, Sender};
use crate::config::Instance;
use crate::event::CommitId;
use crate::hosts::Between;
use crate::http::{Credentials, Failure};
use crate::orchestrators::Job;
use crate::plan;
use crate::release;
use crate::state::commits;
use crate::state::outbox::{self, Finish, Kind, NewRow};
use crate::state::State;
use anyhow::Result;

impl Sender<'_> {
    /// Reads the commits between the release's base and head, then concludes the skipped ones in
    /// one transaction with the release's own result: their outcome and claim, a `Superseded`
    /// status and a notification each. Run again (a crash, a retry), it concludes nothing twice.
    pub(super) fn run_release(
        &self,
        state: &mut State,
        row: &outbox::Row,
        instance: &Instance,
        credentials: &Credentials,
        mut delivery: Delivery,
    ) -> Result<(Delivery, Option<Finish>, Vec<String>)> {
        let job: Option<release::Job> = row
            .job
            .as_deref()
            .and_then(|j| serde_json::from_str(j).ok());
        let ends = job
            .as_ref()
            .and_then(|job| Some((CommitId::parse(&job.base)?, CommitId::parse(&job.head)?)));
        let (Some(job), Some((base, head)), Some(request)) = (job, ends, &row.request) else {
            let finish = Finish::Failed {
                why: "the stored release is unreadable".into(),
                answer: None,
            };
            (delivery.ok, delivery.result) = describe(&finish);
            return Ok((delivery, Some(finish), Vec::new()));
        };
        // What the host lists, or why it lists nothing.
        let listed: Result<(Between, u16), String> = match self.send(request, credentials) {
            Ok(answer) => match answer
                .json()
                .map(|json| instance.git.between(&json, &base, &head))
            {
                Some(Some(between)) => Ok((between, answer.status)),
                // A 2xx that is not JSON is a host having a bad moment: worth another try.
                None => {
                    let retry = Failure::Retry {
                        why: format!(
                            "{} answered {} with a body that is not JSON",
                            request.target, answer.status
                        ),
                        after: None,
                        answer: Some(answer.status),
                    };
                    let finish = self.failure(retry, row.attempts);
                    (delivery.ok, delivery.result) = describe(&finish);
                    return Ok((delivery, Some(finish), Vec::new()));
                }
                Some(None) => {
                    let finish = Finish::Failed {
                        why: format!(
                            "{} answered {} without a list of commits",
                            request.target, answer.status
                        ),
                        answer: Some(answer.status),
                    };
                    (delivery.ok, delivery.result) = describe(&finish);
                    return Ok((delivery, Some(finish), Vec::new()));
                }
            },
            // The host knows no history from base to head (a force-push dropped the base, or the
            // deployment went back): nothing to release, and nothing to fix.
            Err(
                Failure::Config {
                    answer: Some(status @ (404 | 422)),
                    ..
                }
                | Failure::Final {
                    answer: Some(status @ (404 | 422)),
                    ..
                },
            ) => Err(format!(
                "the Git host lists no commits from {} to {} ({status}): skipped commits, if any, \
                 are left as they are",
                base.short(),
                head.short()
            )),
            Err(failure) => {
                let finish = self.failure(failure, row.attempts);
                (delivery.ok, delivery.result) = describe(&finish);
                return Ok((delivery, Some(finish), Vec::new()));
            }
        };
        let (summary, queues) = state.immediate(|tx| {
            let (summary, queues, finish) = match &listed {
                Ok((between, status)) => {
                    let records = between
                        .commits
                        .iter()
                        .map(|c| commits::get(tx, &row.instance, c.as_str()))
                        .collect::<Result<Vec<_>>>()?;
                    let plan = release::plan(between, &records);
                    let mut queues = Vec::new();
                    for commit in &plan.release {
                        queues.extend(conclude_superseded(tx, row, instance, &job, commit)?);
                    }
                    let summary = release::summary(&plan, &job);
                    (summary, queues, Finish::Done { answer: *status })
                }
                Err(why) => (
                    why.clone(),
                    Vec::new(),
                    Finish::Nothing { why: why.clone() },
                ),
            };
            if let Some(event) = row.event_id {
                crate::state::journal::note_release(tx, event, &summary)?;
            }
            outbox::record(tx, row.id, &finish)?;
            Ok((summary, queues))
        })?;
        delivery.ok = true;
        delivery.result = summary;
        Ok((delivery, None, queues))
    }
}

/// One skipped commit concluded as superseded by the release's head: its record, then its
/// status requests and its notification, queued under the release's event. Returns their queues
/// (none when the commit ended or was claimed meanwhile).
fn conclude_superseded(
    tx: &rusqlite::Connection,
    release_row: &outbox::Row,
    instance: &Instance,
    job: &release::Job,
    commit: &CommitId,
) -> Result<Vec<String>> {
    let (name, sha) = (instance.name.as_str(), commit.as_str());
    if !commits::release(tx, name, sha, job.outcome, &job.head, release_row.event_id)? {
        return Ok(Vec::new());
    }
    let mut queues = Vec::new();
    let mut enqueue = |row: &NewRow| -> Result<()> {
        queues.push(outbox::queue_of(row.instance, row.commit, row.target));
        outbox::enqueue(tx, row)?;
        Ok(())
    };
    let statuses = [job.status()];
    for planned in plan::status_requests(instance, job.operator(), commit, &statuses) {
        enqueue(&NewRow {
            event_id: release_row.event_id,
            instance: name,
            commit: Some(sha),
            target: &planned.request.target,
            kind: Kind::Request,
            context: Some(&planned.context),
            request: Some(&planned.request),
            job: None,
        })?;
    }
    let notification = Job {
        superseded_by: Some(job.head.clone()),
        ..Job::of_commit(sha, job.outcome)
    };
    enqueue(&NewRow {
        event_id: release_row.event_id,
        instance: name,
        commit: Some(sha),
        target: &instance.orchestrator.target(),
        kind: Kind::Notify,
        context: None,
        request: None,
        job: Some(serde_json::to_string(&notification)?),
    })?;
    Ok(queues)
}
