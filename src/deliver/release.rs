//! A release row: the Git host lists the commits between the last end and the one that just
//! ended, and the skipped ones are concluded (see `crate::release`).

use super::{describe, Delivery, Sender};
use crate::config::Instance;
use crate::event::CommitId;
use crate::hosts::{Between, MAX_BETWEEN};
use crate::http::{Credentials, Failure};
use crate::orchestrators::Job;
use crate::plan;
use crate::release;
use crate::state::outbox::{self, Finish, Kind, NewRow, Recorded};
use crate::state::State;
use crate::state::Store;
use anyhow::Result;

/// What a host's listing came to, once it answered.
enum Listed {
    /// The commits between, and the answer's status.
    Commits(Between, u16),
    /// The host knows no history from base to head: why, for the journal.
    NoHistory(String),
}

/// The half of a release that needs no state, the host's listing: read on a worker thread,
/// beside the other queues, and stored by the thread that owns the state. `Err`: the release's
/// result when the listing did not get through or cannot be used.
pub(super) struct Listing<'a>(Result<(&'a Instance, release::Job, Listed), Finish>);

impl<'a> Sender<'a> {
    /// Reads the commits between the release's base and head.
    pub(super) fn list_release(&self, row: &outbox::Row) -> Listing<'a> {
        let instance = match self.instance_of(row) {
            Ok(instance) => instance,
            Err(finish) => return Listing(Err(finish)),
        };
        let job: Option<release::Job> = row
            .job
            .as_deref()
            .and_then(|j| serde_json::from_str(j).ok());
        Listing(match (job, &row.request) {
            (Some(job), Some(request)) => self
                .list(&job, request, instance, &Credentials::of(instance), row)
                .map(|listed| (instance, job, listed)),
            _ => Err(unreadable()),
        })
    }

    /// Concludes the skipped commits the listing names in one transaction with the release's
    /// own result: their outcome and claim, a `Superseded` status and a notification each. Run
    /// again (a crash, a retry), it concludes nothing twice. Returns the queues it filled.
    pub(super) fn store_release(
        state: &mut State,
        row: &outbox::Row,
        listing: Listing,
        mut delivery: Delivery,
    ) -> Result<(Delivery, Option<Finish>, Vec<String>)> {
        let (instance, job, listed) = match listing.0 {
            Ok(listing) => listing,
            Err(finish) => {
                (delivery.ok, delivery.result) = describe(&finish);
                return Ok((delivery, Some(finish), Vec::new()));
            }
        };
        let Some((summary, queues)) =
            state.immediate(|tx| store(tx, row, instance, &job, &listed))?
        else {
            super::warn_if_stale(Recorded::Stale, row.fence());
            delivery.result = "not recorded: another process took the release over".into();
            return Ok((delivery, None, Vec::new()));
        };
        delivery.ok = true;
        delivery.result = summary;
        Ok((delivery, None, queues))
    }

    /// The host's list of the commits between base and head; `Err`: the row's result when the
    /// read did not get through or the answer is unusable.
    fn list(
        &self,
        job: &release::Job,
        request: &crate::request::Request,
        instance: &Instance,
        credentials: &Credentials,
        row: &outbox::Row,
    ) -> Result<Listed, Finish> {
        let (Some(base), Some(head)) = (CommitId::parse(&job.base), CommitId::parse(&job.head))
        else {
            return Err(unreadable());
        };
        match self.send(request, credentials) {
            Ok(answer) => match answer
                .json()
                .map(|json| instance.git.between(&json, &base, &head))
            {
                Some(Some(between)) => Ok(Listed::Commits(between, answer.status)),
                None => Err(self.not_json(request, answer.status, row.attempts)),
                // An API that lists commits some other way (an older server): nothing to fix here.
                Some(None) => Ok(Listed::NoHistory(format!(
                    "{} answered {} without a list of commits: skipped commits, if any, are left \
                     as they are",
                    request.target, answer.status
                ))),
            },
            // A force-push dropped the base, or the deployment went back: nothing to release,
            // and nothing to fix.
            Err(
                Failure::Config {
                    answer: Some(status @ (404 | 422)),
                    ..
                }
                | Failure::Final {
                    answer: Some(status @ (404 | 422)),
                    ..
                },
            ) => Ok(Listed::NoHistory(format!(
                "the Git host lists no commits from {} to {} ({status}): skipped commits, if any, \
                 are left as they are",
                base.short(),
                head.short()
            ))),
            Err(failure) => Err(self.failure(failure, row.attempts)),
        }
    }
}

/// Concludes what `listed` says, records the release's result and notes it in the journal, in
/// the caller's transaction. Returns the journal's words and the queues filled.
fn store(
    tx: &dyn Store,
    row: &outbox::Row,
    instance: &Instance,
    job: &release::Job,
    listed: &Listed,
) -> Result<Option<(String, Vec<String>)>> {
    // The fence first: a release whose lease lapsed concludes nothing.
    let finish = match listed {
        Listed::Commits(_, status) => Finish::Done { answer: *status },
        Listed::NoHistory(why) => Finish::Nothing { why: why.clone() },
    };
    if tx.outbox().record(row.fence(), &finish)? == Recorded::Stale {
        return Ok(None);
    }
    let (summary, queues) = match listed {
        Listed::Commits(between, _)
            if job.page.is_none() && between.total > between.commits.len() =>
        {
            match queue_pages(tx, row, instance, job, between.total)? {
                Some(paged) => paged,
                None => conclude(tx, row, instance, job, between)?,
            }
        }
        Listed::Commits(between, _) => conclude(tx, row, instance, job, between)?,
        Listed::NoHistory(why) => (why.clone(), Vec::new()),
    };
    if let Some(event) = row.event_id {
        tx.journal().note_release(event, &summary)?;
    }
    Ok(Some((summary, queues)))
}

/// Concludes the listed commits that never ended; the journal's words and the queues filled.
fn conclude(
    tx: &dyn Store,
    row: &outbox::Row,
    instance: &Instance,
    job: &release::Job,
    between: &Between,
) -> Result<(String, Vec<String>)> {
    let records = between
        .commits
        .iter()
        .map(|c| tx.commits().get(&row.instance, c.as_str()))
        .collect::<Result<Vec<_>>>()?;
    let plan = release::plan(between, &records);
    let mut queues = Vec::new();
    for commit in &plan.release {
        queues.extend(conclude_superseded(tx, row, instance, job, commit)?);
    }
    Ok((release::summary(&plan, job), queues))
}

/// More commits between than one page lists, on a host that pages oldest first (GitHub): a
/// release per page is queued behind this one, the newest page first, so the pipelines
/// likeliest still to wait are told first; what the budget leaves, `periodic` finishes.
/// `None` when the host does not page (its first listing is all there is).
fn queue_pages(
    tx: &dyn Store,
    row: &outbox::Row,
    instance: &Instance,
    job: &release::Job,
    between_total: usize,
) -> Result<Option<(String, Vec<String>)>> {
    let (Some(base), Some(head)) = (CommitId::parse(&job.base), CommitId::parse(&job.head)) else {
        return Ok(None);
    };
    // The listing counts head too.
    let listed = between_total + 1;
    let pages = u32::try_from(listed.div_ceil(MAX_BETWEEN))?;
    if instance
        .git
        .between_page_request(&base, &head, pages)
        .is_none()
    {
        return Ok(None);
    }
    let mut queues = Vec::new();
    for page in (1..=pages).rev() {
        let Some(request) = instance.git.between_page_request(&base, &head, page) else {
            continue;
        };
        let of_page = release::Job {
            page: Some((page, pages)),
            ..job.clone()
        };
        let next = NewRow {
            event_id: row.event_id,
            instance: &row.instance,
            commit: row.commit_id.as_deref(),
            target: &request.target,
            kind: Kind::Release,
            context: None,
            request: Some(&request),
            job: Some(serde_json::to_string(&of_page)?),
        };
        queues.push(next.queue());
        tx.outbox().enqueue(&next)?;
    }
    let summary = format!(
        "{between_total} skipped commits between {} and {}, more than one listing holds: \
         released newest first, {MAX_BETWEEN} a release, in {pages} releases",
        base.short(),
        head.short()
    );
    Ok(Some((summary, queues)))
}

fn unreadable() -> Finish {
    Finish::Failed {
        why: "the stored release is unreadable".into(),
        answer: None,
    }
}

/// One skipped commit concluded as superseded by the release's head: its record, then its
/// status requests and its notification, queued under the release's event. Returns their queues
/// (none when the commit ended or was claimed meanwhile).
fn conclude_superseded(
    tx: &dyn Store,
    release_row: &outbox::Row,
    instance: &Instance,
    job: &release::Job,
    commit: &CommitId,
) -> Result<Vec<String>> {
    let (name, sha) = (instance.name.as_str(), commit.as_str());
    if !tx
        .commits()
        .release(name, sha, job.outcome, &job.head, release_row.event_id)?
    {
        return Ok(Vec::new());
    }
    let mut queues = Vec::new();
    let mut enqueue = |row: &NewRow| -> Result<()> {
        queues.push(row.queue());
        tx.outbox().enqueue(row)?;
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
    // Its deployment, if the operator had started one, is superseded.
    let environment = crate::deployment::environment(job.environment.as_deref());
    let prior = tx
        .deployments()
        .get(name, sha, environment)?
        .map(|d| d.planned);
    if let Some(state) = crate::deployment::superseded(prior) {
        let inactive = crate::deployment::Job {
            environment: environment.to_string(),
            state,
            description: format!("superseded by {}", &job.head[..7]),
        };
        queues.extend(
            tx.deployments()
                .queue(instance, sha, &inactive, release_row.event_id)?,
        );
    }
    Ok(queues)
}
