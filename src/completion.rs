//! Whether an event may still post statuses, and whether it ends the commit (PROTOCOL §3). Pure.
//!
//! After a commit has ended, later events send nothing unless they change its outcome; with a
//! require-list, success waits for every named source while any failure ends it at once.

use crate::report::Outcome;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub post_statuses: bool,
    /// The commit's outcome after this event, when it changes.
    pub new_outcome: Option<Outcome>,
    /// Why nothing is posted, when nothing is.
    pub why_not: Option<String>,
}

/// `prior`: the commit's recorded outcome. `end`: what this event says of its source.
/// `sources`: the recorded end of each source of this commit, this event's included.
pub fn decide(
    prior: Option<Outcome>,
    end: Option<Outcome>,
    require: &[String],
    sources: &[(String, Outcome)],
) -> Decision {
    let commit_end = match end {
        None => None,
        Some(Outcome::Failure) => Some(Outcome::Failure),
        Some(Outcome::Success) if require.is_empty() => Some(Outcome::Success),
        Some(Outcome::Success) => {
            let all_succeeded = require.iter().all(|wanted| {
                sources.iter().any(|(source, outcome)| {
                    matches_source(wanted, source) && *outcome == Outcome::Success
                })
            });
            let any_failed = sources.iter().any(|(_, o)| *o == Outcome::Failure);
            (all_succeeded && !any_failed).then_some(Outcome::Success)
        }
    };
    match (prior, commit_end) {
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
        (Some(before), _) => Decision {
            post_statuses: false,
            new_outcome: None,
            why_not: Some(format!(
                "the commit already ended ({before}); this event does not change that"
            )),
        },
    }
}

/// A require-list entry names a Flux source as `namespace/name` or `name`, an Argo CD application by name.
pub fn matches_source(wanted: &str, source: &str) -> bool {
    wanted == source
        || source
            .rsplit_once('/')
            .is_some_and(|(_, name)| name == wanted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Outcome::*;

    #[test]
    fn the_first_end_decides_by_default() {
        let d = decide(None, Some(Success), &[], &[]);
        assert_eq!((d.post_statuses, d.new_outcome), (true, Some(Success)));
        let d = decide(None, None, &[], &[]);
        assert_eq!((d.post_statuses, d.new_outcome), (true, None));
    }

    #[test]
    fn after_the_end_only_a_change_of_outcome_posts() {
        let same = decide(Some(Success), Some(Success), &[], &[]);
        assert!(!same.post_statuses && same.why_not.unwrap().contains("already ended (success)"));
        assert!(!decide(Some(Success), None, &[], &[]).post_statuses);
        let changed = decide(Some(Failure), Some(Success), &[], &[]);
        assert_eq!(
            (changed.post_statuses, changed.new_outcome),
            (true, Some(Success))
        );
    }

    #[test]
    fn a_require_list_waits_for_every_source_but_fails_at_once() {
        let require = vec!["apps".to_string(), "flux-system/infra".to_string()];
        let one = vec![("flux-system/apps".to_string(), Success)];
        assert_eq!(
            decide(None, Some(Success), &require, &one).new_outcome,
            None
        );
        let both = vec![
            ("flux-system/apps".to_string(), Success),
            ("flux-system/infra".to_string(), Success),
        ];
        assert_eq!(
            decide(None, Some(Success), &require, &both).new_outcome,
            Some(Success)
        );
        let failed = vec![("flux-system/other".to_string(), Failure)];
        assert_eq!(
            decide(None, Some(Failure), &require, &failed).new_outcome,
            Some(Failure)
        );
    }
}
