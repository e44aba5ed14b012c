//! A deployment row: the deployment of the commit to the environment is created on the Git
//! host when it has none yet (its id kept at once, so a retry does not create a second), then
//! the state is posted as its new status.

use super::{describe, Delivery, Sender};
use crate::config::Instance;
use crate::deployment::Job;
use crate::event::CommitId;
use crate::http::Credentials;
use crate::state::outbox::{self, Finish};
use crate::state::State;
use anyhow::Result;

impl Sender<'_> {
    pub(super) fn run_deployment(
        &self,
        state: &mut State,
        row: &outbox::Row,
        instance: &Instance,
        credentials: &Credentials,
        delivery: &mut Delivery,
    ) -> Result<Finish> {
        let job: Option<Job> = row
            .job
            .as_deref()
            .and_then(|j| serde_json::from_str(j).ok());
        let commit = row.commit_id.as_deref().and_then(CommitId::parse);
        let (Some(job), Some(commit)) = (job, commit) else {
            return Ok(Finish::Failed {
                why: "the stored deployment is unreadable".into(),
                answer: None,
            });
        };
        let known = state
            .store()
            .deployments()
            .get(&row.instance, commit.as_str(), &job.environment)?
            .and_then(|d| d.id);
        // Claimed or tried before: an earlier try may have created the deployment and lost
        // its answer (a crash, a body cut off), so the host is asked first.
        let earlier = row.fence > 1 || row.attempts > 0;
        let found = match known {
            Some(id) => Some(id),
            None if earlier => match self.look_up(instance, &commit, &job, credentials, row) {
                Ok(found) => found,
                Err(finish) => return Ok(finish),
            },
            None => None,
        };
        let id = match found {
            Some(id) => id,
            None => match self.create(instance, &commit, &job, credentials, row) {
                Ok(id) => id,
                Err(finish) => return Ok(finish),
            },
        };
        if known.is_none() {
            // Kept at once, while this process still holds the row: a retry does not create a
            // second. A process whose lease lapsed keeps nothing.
            let store = state.store();
            let kept = crate::state::sql::transaction(
                |f| store.atomically(f),
                || {
                    if !store.outbox().holds(row.fence())? {
                        return Ok(false);
                    }
                    store.deployments().set_id(
                        &row.instance,
                        commit.as_str(),
                        &job.environment,
                        id,
                    )?;
                    Ok(true)
                },
            )?;
            if !kept {
                super::warn_if_stale(crate::state::outbox::Recorded::Stale, row.fence());
            }
        }
        let Some(request) = instance.git.deployment_status_request(
            id,
            job.state,
            &job.description,
            instance.app_url.as_deref(),
        ) else {
            return Ok(no_deployments());
        };
        state.store().outbox().set_request(row.id, &request)?;
        delivery.request = Some(request.clone());
        let finish = self.outcome_of(self.send(&request, credentials), row.attempts);
        (delivery.ok, delivery.result) = describe(&finish);
        Ok(finish)
    }

    /// The deployment an earlier try created, if the host lists one.
    fn look_up(
        &self,
        instance: &Instance,
        commit: &CommitId,
        job: &Job,
        credentials: &Credentials,
        row: &outbox::Row,
    ) -> Result<Option<u64>, Finish> {
        let Some(request) = instance
            .git
            .deployment_lookup_request(commit, &job.environment)
        else {
            return Ok(None);
        };
        match self.send(&request, credentials) {
            Ok(answer) => match answer.json() {
                Some(list) => Ok(instance.git.deployment_found(&list)),
                None => Err(self.not_json(&request, answer.status, row.attempts)),
            },
            Err(failure) => Err(self.failure(failure, row.attempts)),
        }
    }

    /// Creates the deployment; `Err`: the row's result when that did not work.
    fn create(
        &self,
        instance: &Instance,
        commit: &CommitId,
        job: &Job,
        credentials: &Credentials,
        row: &outbox::Row,
    ) -> Result<u64, Finish> {
        let Some(request) = instance.git.deployment_request(commit, &job.environment) else {
            return Err(no_deployments());
        };
        match self.send(&request, credentials) {
            Ok(answer) => match answer.json().and_then(|a| instance.git.deployment_id(&a)) {
                Some(id) => Ok(id),
                // It may well exist now: the next try looks it up before creating again.
                None => Err(self.failure(
                    crate::http::Failure::Retry {
                        why: format!(
                            "{} answered {} to {request} without a readable deployment id; the \
                             next try looks the deployment up before creating one",
                            request.target, answer.status
                        ),
                        after: None,
                        answer: Some(answer.status),
                    },
                    row.attempts,
                )),
            },
            Err(failure) => Err(self.failure(failure, row.attempts)),
        }
    }
}

fn no_deployments() -> Finish {
    Finish::Failed {
        why: "the Git host keeps no deployments (github_deployments needs git_host = github)"
            .into(),
        answer: None,
    }
}
