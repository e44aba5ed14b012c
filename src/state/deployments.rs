//! The deployments kept on the Git host (`github_deployments`): one per commit and environment,
//! with the host's id once created and the last state planned, so that each change of state is
//! planned once.

use super::outbox::{self, Kind, NewRow};
use super::sql::{Db, Sql as _};
use super::store::{Deployments, Outbox as _};
use crate::config::Instance;
use crate::deployment::Job;
use crate::hosts::DeploymentState;
use crate::values;
use anyhow::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deployment {
    /// The host's id, once the deployment is created.
    pub id: Option<u64>,
    pub planned: DeploymentState,
}

/// The deployments' SQL, the same on every backend.
/// What each operation promises is said once, on the trait (`store.rs`).
impl<D: Db> Deployments for D {
    fn get(&self, instance: &str, commit: &str, environment: &str) -> Result<Option<Deployment>> {
        self.one(
            "SELECT deployment_id, planned FROM deployments
             WHERE instance = ?1 AND commit_id = ?2 AND environment = ?3",
            values![instance, commit, environment],
            |r| {
                Ok(Deployment {
                    id: r.get(0)?,
                    planned: r.get(1)?,
                })
            },
        )
    }

    fn plan(
        &self,
        instance: &str,
        commit: &str,
        environment: &str,
        state: DeploymentState,
    ) -> Result<()> {
        self.execute(
            "INSERT INTO deployments (instance, commit_id, environment, planned) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (instance, commit_id, environment) DO UPDATE SET planned = ?4",
            values![instance, commit, environment, state],
        )?;
        Ok(())
    }

    fn set_id(&self, instance: &str, commit: &str, environment: &str, id: u64) -> Result<()> {
        self.execute(
            "UPDATE deployments SET deployment_id = ?4 WHERE instance = ?1 AND commit_id = ?2 AND environment = ?3",
            values![instance, commit, environment, i64::try_from(id)?],
        )?;
        Ok(())
    }

    fn queue(
        &self,
        instance: &Instance,
        commit: &str,
        job: &Job,
        event: Option<i64>,
    ) -> Result<Option<String>> {
        let Some(target) = instance.git.deployments().filter(|_| instance.deployments) else {
            return Ok(None);
        };
        self.plan(&instance.name, commit, &job.environment, job.state)?;
        let row = NewRow {
            event_id: event,
            instance: &instance.name,
            commit: Some(commit),
            target: &target,
            kind: Kind::Deployment,
            context: Some(&job.environment),
            request: None,
            job: Some(serde_json::to_string(job)?),
        };
        self.enqueue(&row)?;
        Ok(Some(outbox::queue_of(
            &instance.name,
            Some(commit),
            &target,
        )))
    }
}
