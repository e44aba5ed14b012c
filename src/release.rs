//! Skipped commits. Two merges inside one Flux interval: Flux deploys only the newer commit, and
//! the older one would never get a status or an end, leaving its pipeline to time out. When a
//! commit ends, the commits between the last end and it that never ended are concluded as
//! superseded by it (the newer commit contains them), once each.
//!
//! Pure: the Git host lists the commits between (`hosts::Host::between`), the state says which of
//! them ever ended, and [`plan`] says what to conclude; `deliver` reads and stores.

use crate::event::{CommitId, Operator};
use crate::hosts::{Between, MAX_BETWEEN};
use crate::report::{CommitStatus, Outcome, Unknown};
use crate::state::commits::Record;
use serde::{Deserialize, Serialize};

/// What a queued release is: stored as JSON in its outbox row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// The last commit that had ended before `head`.
    pub base: String,
    /// The commit that ended, superseding the ones between.
    pub head: String,
    pub outcome: Outcome,
    /// `Flux` or `ArgoCD`, for subscribers.
    pub operator: String,
    /// The head event's genre (`Kustomization`, `ArgoCD`), for Azure's status context.
    pub genre: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub environment: Option<String>,
    /// One page of a paged host's listing (see `hosts::Host::between_page_request`), when the
    /// commits between were more than one release concludes: `(page, pages)`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub page: Option<(u32, u32)>,
}

impl Job {
    pub fn operator(&self) -> Operator {
        if self.operator == Operator::ArgoCd.wire_name() {
            Operator::ArgoCd
        } else {
            Operator::Flux
        }
    }

    /// The status each released commit gets: `Superseded` (`ENV/Superseded`), with the head's
    /// outcome.
    pub fn status(&self) -> CommitStatus {
        let short = &self.head[..self.head.len().min(7)];
        let (state, ended) = match self.outcome {
            Outcome::Success => ("Succeeded", "succeeded"),
            Outcome::Failure => ("Failed", "failed"),
        };
        CommitStatus {
            name: match &self.environment {
                Some(env) => format!("{env}/Superseded"),
                None => "Superseded".into(),
            },
            state: state.into(),
            message: format!("superseded by {short}, whose deployment {ended}"),
            genre: self.genre.clone(),
            unknown_as: Unknown::Pending,
            environment: self.environment.clone(),
        }
    }
}

/// What one release concludes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Never ended and never claimed: concluded now, oldest first.
    pub release: Vec<CommitId>,
    /// Listed, but they had ended (or been told) on their own.
    pub ended: usize,
    /// Beyond the bound: not looked at.
    pub left: usize,
    /// The host counted the commits between: `left` is how many; else at least that many.
    pub counted: bool,
}

/// `records`: what the state knows of each listed commit (`None`: never seen).
pub fn plan(between: &Between, records: &[Option<Record>]) -> Plan {
    let mut release = Vec::new();
    let mut ended = 0;
    for (commit, record) in between.commits.iter().zip(records) {
        let open = record
            .as_ref()
            .is_none_or(|r| r.outcome.is_none() && r.notify.is_none());
        if open {
            release.push(commit.clone());
        } else {
            ended += 1;
        }
    }
    Plan {
        release,
        ended,
        left: between.total.saturating_sub(between.commits.len()),
        counted: between.counted,
    }
}

/// The journal's words for a release.
pub fn summary(plan: &Plan, job: &Job) -> String {
    let short = |c: &str| c[..c.len().min(7)].to_string();
    let mut parts = vec![match plan.release.len() {
        0 => format!(
            "no skipped commit to release between {} and {}",
            short(&job.base),
            short(&job.head)
        ),
        n => format!(
            "released {n} skipped commit{} as superseded by {} ({}): {}",
            if n == 1 { "" } else { "s" },
            short(&job.head),
            job.outcome,
            plan.release
                .iter()
                .map(|c| short(c.as_str()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }];
    if plan.ended > 0 {
        parts.push(format!("{} had ended on their own", plan.ended));
    }
    match job.page {
        // A page of several: the older pages follow in their own releases.
        Some((page, pages)) => {
            parts[0] = format!("{} (page {page} of {pages}, newest first)", parts[0]);
            if page > 1 {
                parts.push(format!(
                    "{} older pages follow in the next releases",
                    page - 1
                ));
            }
        }
        None if plan.left > 0 && plan.counted => parts.push(format!(
            "{} older commits were left as they are (at most {MAX_BETWEEN} per release)",
            plan.left
        )),
        // The host listed one more than a release takes, and counts no further.
        None if plan.left > 0 => parts.push(format!(
            "older commits beyond these were left as they are (at most {MAX_BETWEEN} per \
             release; the host does not say how many)"
        )),
        None => {}
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::values::Notified;

    fn id(n: u8) -> CommitId {
        CommitId::parse(&format!("{n:02x}").repeat(20)).unwrap()
    }

    fn job() -> Job {
        Job {
            base: id(1).to_string(),
            head: id(9).to_string(),
            outcome: Outcome::Success,
            operator: "Flux".into(),
            genre: "Kustomization".into(),
            environment: None,
            page: None,
        }
    }

    #[test]
    fn only_commits_that_never_ended_are_released() {
        let between = Between {
            commits: vec![id(2), id(3), id(4)],
            total: 5,
            counted: true,
        };
        let seen = Record {
            outcome: None,
            notify: None,
            end_statuses: false,
        };
        let ended = Record {
            outcome: Some(Outcome::Failure),
            notify: Some(Notified::Sent),
            end_statuses: true,
        };
        let plan = plan(&between, &[None, Some(seen), Some(ended)]);
        assert_eq!(plan.release, [id(2), id(3)]);
        assert_eq!(plan.ended, 1);
        assert_eq!(plan.left, 2);
        assert_eq!(
            summary(&plan, &job()),
            "released 2 skipped commits as superseded by 0909090 (success): 0202020, 0303030; \
             1 had ended on their own; 2 older commits were left as they are (at most 100 per release)"
        );
    }

    #[test]
    fn a_host_that_does_not_count_is_not_given_a_count() {
        let between = Between {
            commits: vec![id(2)],
            total: 2,
            counted: false,
        };
        let plan = plan(&between, &[None]);
        assert_eq!(
            summary(&plan, &job()),
            "released 1 skipped commit as superseded by 0909090 (success): 0202020; older \
             commits beyond these were left as they are (at most 100 per release; the host does \
             not say how many)"
        );
    }

    #[test]
    fn a_page_of_a_paged_release_says_which_and_that_older_pages_follow() {
        let between = Between {
            commits: vec![id(2)],
            total: 150,
            counted: true,
        };
        let plan = plan(&between, &[None]);
        let page = |page| Job {
            page: Some((page, 2)),
            ..job()
        };
        assert_eq!(
            summary(&plan, &page(2)),
            "released 1 skipped commit as superseded by 0909090 (success): 0202020 (page 2 of 2, \
             newest first); 1 older pages follow in the next releases"
        );
        assert_eq!(
            summary(&plan, &page(1)),
            "released 1 skipped commit as superseded by 0909090 (success): 0202020 (page 1 of 2, \
             newest first)"
        );
    }

    #[test]
    fn the_status_names_the_newer_commit_and_its_environment() {
        let status = Job {
            outcome: Outcome::Failure,
            environment: Some("prod-eu".into()),
            ..job()
        }
        .status();
        assert_eq!(status.name, "prod-eu/Superseded");
        assert_eq!(status.state, "Failed");
        assert_eq!(
            status.message,
            "superseded by 0909090, whose deployment failed"
        );
        assert_eq!(job().status().name, "Superseded");
    }

    #[test]
    fn hosts_lists_become_oldest_first_without_base_and_head() {
        let (base, head) = (id(1), id(9));
        let oldest_first = [id(1), id(2), id(3), id(9)].map(|c| c.to_string());
        let between = Between::from_ids(
            oldest_first.iter().map(String::as_str),
            false,
            &base,
            &head,
            Some(2),
        );
        assert_eq!(between.commits, [id(2), id(3)]);
        let newest_first = [id(9), id(3), id(2)].map(|c| c.to_string());
        let between = Between::from_ids(
            newest_first.iter().map(String::as_str),
            true,
            &base,
            &head,
            None,
        );
        assert_eq!(between.commits, [id(2), id(3)]);
        assert_eq!(between.total, 2);
        let many: Vec<String> = (0..120u8).map(|n| id(n + 10).to_string()).collect();
        let between = Between::from_ids(many.iter().map(String::as_str), false, &base, &head, None);
        assert_eq!(between.commits.len(), MAX_BETWEEN);
        assert_eq!(between.total, 120);
    }
}
