//! Whether an event may still post statuses, and whether it ends the commit (PROTOCOL §3). Pure.
//!
//! After a commit has ended, later events send nothing unless they change its outcome. With a
//! require-list only the listed sources decide: success waits for every one of them, a failure
//! of any one of them ends the commit as failed, and other sources never decide (their statuses
//! are still posted). That is what keeps a failing `dev` Kustomization from failing `staging`.

use crate::report::Outcome;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub post_statuses: bool,
    /// The commit's outcome after this event, when it changes.
    pub new_outcome: Option<Outcome>,
    /// Why nothing is posted, when nothing is.
    pub why_not: Option<String>,
}

/// What the state knows of the commit before this event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Prior {
    pub outcome: Option<Outcome>,
    /// The statuses of the event that ended it were planned already.
    pub end_statuses: bool,
}

/// `end`: what this event says of its own source. `sources`: the recorded end of each source of
/// this commit, this event's included.
pub fn decide(
    prior: Prior,
    end: Option<Outcome>,
    require: &[String],
    sources: &[(String, Outcome)],
) -> Decision {
    let commit_end = match end {
        None => None,
        Some(end) if require.is_empty() => Some(end),
        Some(_) => required_end(require, sources),
    };
    match (prior.outcome, commit_end) {
        (None, end) => Decision {
            post_statuses: true,
            new_outcome: end,
            why_not: None,
        },
        (Some(before), Some(now)) if before != now => Decision {
            post_statuses: true,
            new_outcome: Some(now),
            why_not: None,
        },
        // The end was recorded by `notify` alone: this may be the `status` of that very event.
        (Some(_), _) if !prior.end_statuses => Decision {
            post_statuses: true,
            new_outcome: None,
            why_not: None,
        },
        (Some(before), _) => Decision {
            post_statuses: false,
            new_outcome: None,
            why_not: Some(format!(
                "the commit already ended ({before}); this event does not change that"
            )),
        },
    }
}

/// The commit's end as the required sources tell it: failed when any has failed, successful
/// when all have succeeded, not ended otherwise.
fn required_end(require: &[String], sources: &[(String, Outcome)]) -> Option<Outcome> {
    let end_of = |wanted: &String| {
        sources
            .iter()
            .find(|(source, _)| matches_source(wanted, source))
            .map(|(_, outcome)| *outcome)
    };
    let ends: Vec<Option<Outcome>> = require.iter().map(end_of).collect();
    if ends.contains(&Some(Outcome::Failure)) {
        Some(Outcome::Failure)
    } else if ends.iter().all(|e| *e == Some(Outcome::Success)) {
        Some(Outcome::Success)
    } else {
        None
    }
}

/// A require-list entry names a Flux source as `namespace/name` or `name`, an Argo CD application
/// by name, each optionally in one environment (`prod-eu:flux-system/apps`); without one, it
/// matches the source in any environment.
pub fn matches_source(wanted: &str, source: &str) -> bool {
    let (wanted_env, wanted) = split_environment(wanted);
    let (env, source) = split_environment(source);
    if wanted_env.is_some() && wanted_env != env {
        return false;
    }
    wanted == source
        || source
            .rsplit_once('/')
            .is_some_and(|(_, name)| name == wanted)
}

/// `prod-eu:flux-system/apps` → (`prod-eu`, `flux-system/apps`).
fn split_environment(text: &str) -> (Option<&str>, &str) {
    match text.split_once(':') {
        Some((env, rest)) if crate::event::check_environment(env).is_ok() => (Some(env), rest),
        _ => (None, text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Outcome::*;

    fn ended(outcome: Outcome) -> Prior {
        Prior {
            outcome: Some(outcome),
            end_statuses: true,
        }
    }

    #[test]
    fn the_first_end_decides_by_default() {
        let d = decide(Prior::default(), Some(Success), &[], &[]);
        assert_eq!((d.post_statuses, d.new_outcome), (true, Some(Success)));
        let d = decide(Prior::default(), None, &[], &[]);
        assert_eq!((d.post_statuses, d.new_outcome), (true, None));
    }

    #[test]
    fn after_the_end_only_a_change_of_outcome_posts() {
        let same = decide(ended(Success), Some(Success), &[], &[]);
        assert!(!same.post_statuses && same.why_not.unwrap().contains("already ended (success)"));
        assert!(!decide(ended(Success), None, &[], &[]).post_statuses);
        let changed = decide(ended(Failure), Some(Success), &[], &[]);
        assert_eq!(
            (changed.post_statuses, changed.new_outcome),
            (true, Some(Success))
        );
    }

    #[test]
    fn an_end_recorded_by_notify_alone_still_lets_its_statuses_post() {
        let by_notify = Prior {
            outcome: Some(Success),
            end_statuses: false,
        };
        let d = decide(by_notify, Some(Success), &[], &[]);
        assert_eq!((d.post_statuses, d.new_outcome), (true, None));
    }

    #[test]
    fn a_require_list_waits_for_every_listed_source() {
        let require = vec!["apps".to_string(), "flux-system/infra".to_string()];
        let one = vec![("flux-system/apps".to_string(), Success)];
        assert_eq!(
            decide(Prior::default(), Some(Success), &require, &one).new_outcome,
            None
        );
        let both = vec![
            ("flux-system/apps".to_string(), Success),
            ("flux-system/infra".to_string(), Success),
        ];
        assert_eq!(
            decide(Prior::default(), Some(Success), &require, &both).new_outcome,
            Some(Success)
        );
    }

    #[test]
    fn with_a_require_list_only_listed_sources_fail_the_commit() {
        let require = vec!["apps".to_string(), "flux-system/infra".to_string()];
        let unlisted = vec![("flux-system/monitoring".to_string(), Failure)];
        let d = decide(Prior::default(), Some(Failure), &require, &unlisted);
        assert_eq!((d.post_statuses, d.new_outcome), (true, None));
        let listed = vec![
            ("flux-system/monitoring".to_string(), Failure),
            ("flux-system/infra".to_string(), Failure),
        ];
        assert_eq!(
            decide(Prior::default(), Some(Failure), &require, &listed).new_outcome,
            Some(Failure)
        );
        let then_all_succeed = vec![
            ("flux-system/monitoring".to_string(), Failure),
            ("flux-system/apps".to_string(), Success),
            ("flux-system/infra".to_string(), Success),
        ];
        assert_eq!(
            decide(Prior::default(), Some(Success), &require, &then_all_succeed).new_outcome,
            Some(Success)
        );
    }
}
