//! Deployments on the Git host (`github_deployments = true`): one per commit and environment,
//! created with the first state planned for it, and a status for each change of state. Pure:
//! which state an event or a release plans; `deliver/deployment.rs` creates and posts.

use crate::hosts::DeploymentState;
use crate::report::Outcome;
use serde::{Deserialize, Serialize};

/// The environment of events that name none: GitHub's own default.
pub const DEFAULT_ENVIRONMENT: &str = "production";

/// What a queued deployment status is: stored as JSON in its outbox row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub environment: String,
    pub state: DeploymentState,
    pub description: String,
}

/// The deployment's environment for an event's.
pub fn environment(of_event: Option<&str>) -> &str {
    of_event.unwrap_or(DEFAULT_ENVIRONMENT)
}

/// The state an event plans, given the one planned before: its end's outcome, else in progress.
/// `None` when nothing changes: the same state again, a progress report after an end (Flux
/// repeats its events), or anything after the deployment was superseded.
pub fn after(prior: Option<DeploymentState>, end: Option<Outcome>) -> Option<DeploymentState> {
    let next = match end {
        Some(Outcome::Success) => DeploymentState::Success,
        Some(Outcome::Failure) => DeploymentState::Failure,
        None => DeploymentState::InProgress,
    };
    match (prior, next) {
        (Some(DeploymentState::Inactive), _) => None,
        (Some(prior), next) if prior == next => None,
        (
            Some(DeploymentState::Success | DeploymentState::Failure),
            DeploymentState::InProgress,
        ) => None,
        _ => Some(next),
    }
}

/// A skipped commit's deployment, when it has one, becomes inactive once superseded.
pub fn superseded(prior: Option<DeploymentState>) -> Option<DeploymentState> {
    match prior {
        Some(DeploymentState::Inactive) | None => None,
        Some(_) => Some(DeploymentState::Inactive),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DeploymentState::{Failure, InProgress, Inactive, Success};

    #[test]
    fn each_change_of_state_is_planned_once() {
        assert_eq!(after(None, None), Some(InProgress));
        assert_eq!(after(Some(InProgress), None), None, "progress repeats");
        assert_eq!(
            after(Some(InProgress), Some(Outcome::Success)),
            Some(Success)
        );
        assert_eq!(
            after(Some(Success), Some(Outcome::Success)),
            None,
            "Flux's repeats"
        );
        assert_eq!(
            after(Some(Success), None),
            None,
            "no going back to in progress"
        );
        assert_eq!(after(Some(Failure), Some(Outcome::Success)), Some(Success));
        assert_eq!(after(Some(Success), Some(Outcome::Failure)), Some(Failure));
        assert_eq!(after(None, Some(Outcome::Failure)), Some(Failure));
        assert_eq!(after(Some(Inactive), Some(Outcome::Success)), None);
    }

    #[test]
    fn only_a_deployment_that_exists_becomes_inactive() {
        assert_eq!(superseded(None), None);
        assert_eq!(superseded(Some(InProgress)), Some(Inactive));
        assert_eq!(superseded(Some(Failure)), Some(Inactive));
        assert_eq!(superseded(Some(Inactive)), None);
        assert_eq!(environment(None), "production");
        assert_eq!(environment(Some("prod-eu")), "prod-eu");
    }
}
