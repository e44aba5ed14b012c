//! Git hosts and subscribers: what each wants for one commit status (PROTOCOL §2, §4).
//! Pure: URLs, bodies, state maps, and the parsing of their answers.
//!
//! A Git host is one file here: its settings, its [`TargetKind`], a [`Host`] that builds its
//! requests, and a [`HostKind`] that reads it from the configuration; then one line in [`HOSTS`].

pub mod azure;
pub mod bitbucket;
pub mod bitbucket_server;
pub mod gitea;
pub mod github;
pub mod gitlab;
pub mod subscribers;

use crate::config::keys::Key;
use crate::config::{ConfigError, Settings};
use crate::event::CommitId;
use crate::report::{CommitStatus, Outcome};
use crate::request::{Request, Target, TargetKind};
use serde_json::Value;
use std::fmt::Debug;
use std::sync::Arc;

/// Every Git host the configuration may name in `git_host`.
pub const HOSTS: &[&HostKind] = &[
    &github::HOST,
    &azure::HOST,
    &gitea::HOST,
    &gitlab::HOST,
    &bitbucket::HOST,
    &bitbucket_server::HOST,
];

/// A Git host as the configuration knows it.
pub struct HostKind {
    /// The words `git_host` accepts for it, the first one shown in messages.
    pub names: &'static [&'static str],
    /// Its keys, beside the keys every instance has.
    pub keys: &'static [Key],
    /// Its targets: its statuses first, then any other API it serves (GitHub's deployments).
    pub targets: &'static [&'static TargetKind],
    pub build: fn(&Settings) -> Result<Arc<dyn Host>, ConfigError>,
}

/// One configured Git host: builds the requests for a commit's statuses.
pub trait Host: Debug + Send + Sync {
    fn status_request(
        &self,
        commit: &CommitId,
        status: &CommitStatus,
        app_url: Option<&str>,
    ) -> Request;

    /// The host's own word on whether a commit has ended, read when the local record of it is
    /// missing (so that a connector that lost its state does not notify twice); `None` when the
    /// host keeps no such summary.
    fn ended_request(&self, _commit: &CommitId) -> Option<Request> {
        None
    }

    /// What [`Host::ended_request`]'s answer says: `Some` only when the commit has ended.
    fn ended_outcome(&self, _answer: &Value) -> Option<Outcome> {
        None
    }

    /// The read that lists the commits after `base` up to `head` (at most [`MAX_BETWEEN`] + 1),
    /// so that the commits an operator skipped can be released; `None` when the host cannot.
    fn between_request(&self, _base: &CommitId, _head: &CommitId) -> Option<Request> {
        None
    }

    /// For a host whose listing is oldest first and paged (GitHub's compare): the read of page
    /// `page` (1-based) of [`Host::between_request`]'s list, and how many pages `total` commits
    /// (head included) take. A release of more commits than one page holds concludes the
    /// newest page first and queues the older ones, so the pipelines likeliest still to wait
    /// are told first.
    fn between_page_request(
        &self,
        _base: &CommitId,
        _head: &CommitId,
        _page: u32,
    ) -> Option<Request> {
        None
    }

    /// What [`Host::between_request`]'s answer lists, without `base` and `head`.
    fn between(&self, _answer: &Value, _base: &CommitId, _head: &CommitId) -> Option<Between> {
        None
    }

    /// Where its deployments go, when it keeps any ([`Host::deployment_request`] and the two
    /// below).
    fn deployments(&self) -> Option<Target> {
        None
    }

    /// Creates the deployment of `commit` to `environment`.
    fn deployment_request(&self, _commit: &CommitId, _environment: &str) -> Option<Request> {
        None
    }

    /// The id of the deployment [`Host::deployment_request`]'s answer created.
    fn deployment_id(&self, _answer: &Value) -> Option<u64> {
        None
    }

    /// Reads the deployments of `commit` to `environment`: asked before creating one again,
    /// when an earlier try may have created it and its answer was lost.
    fn deployment_lookup_request(&self, _commit: &CommitId, _environment: &str) -> Option<Request> {
        None
    }

    /// The id of the newest deployment [`Host::deployment_lookup_request`]'s answer lists.
    fn deployment_found(&self, _answer: &Value) -> Option<u64> {
        None
    }

    /// A new status of deployment `id`.
    fn deployment_status_request(
        &self,
        _id: u64,
        _state: DeploymentState,
        _description: &str,
        _app_url: Option<&str>,
    ) -> Option<Request> {
        None
    }
}

/// A deployment's state, as planned (a deployment of a commit to an environment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentState {
    InProgress,
    Success,
    Failure,
    /// Superseded by a newer commit's deployment.
    Inactive,
}

crate::stored_words!(DeploymentState {
    InProgress => "in_progress",
    Success => "success",
    Failure => "failure",
    Inactive => "inactive",
});

/// `text` cut to `max_chars` characters (hosts count characters, not bytes).
pub fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => text[..cut].to_string(),
        None => text.to_string(),
    }
}

/// How many skipped commits one release concludes; the rest are left, with a journal note,
/// or (a paged host) released in later releases. GitHub's compare takes at most 100 a page.
pub const MAX_BETWEEN: usize = 100;

/// The commits between two, as a host lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Between {
    /// Oldest first, at most [`MAX_BETWEEN`].
    pub commits: Vec<CommitId>,
    /// How many commits there are in all, as far as the host said (at least `commits.len()`).
    pub total: usize,
    /// The host counted them (GitHub's `total_commits`); else `total` is only what it listed,
    /// and more may lie beyond.
    pub counted: bool,
}

impl Between {
    /// From a list of commit ids as a host gave them (`newest_first` or not): the ones that are
    /// neither `base` nor `head`, the first [`MAX_BETWEEN`] the host listed, oldest first.
    /// `total`: the host's count of commits between, when it gave one.
    pub fn from_ids<'a>(
        ids: impl Iterator<Item = &'a str>,
        newest_first: bool,
        base: &CommitId,
        head: &CommitId,
        total: Option<usize>,
    ) -> Between {
        let mut commits: Vec<CommitId> = ids
            .filter_map(CommitId::parse)
            .filter(|c| c != base && c != head)
            .collect();
        let counted = total.is_some();
        let total = total.unwrap_or(commits.len()).max(commits.len());
        commits.truncate(MAX_BETWEEN);
        if newest_first {
            commits.reverse();
        }
        Between {
            commits,
            total,
            counted,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::keys::instance_keys;
    use crate::request::Target;
    use std::collections::HashSet;

    /// Registration is one line per kind; these are what that line must not break: every stored
    /// target key reads back as itself, and no name or key is claimed twice.
    #[test]
    fn the_registries_are_consistent() {
        let hosts = super::HOSTS
            .iter()
            .flat_map(|h| h.targets.iter().map(|t| (*t, h.names)));
        let orchestrators = crate::orchestrators::ORCHESTRATORS
            .iter()
            .map(|o| (o.target, o.names));
        let mut targets = HashSet::new();
        for (target, names) in hosts.chain(orchestrators) {
            assert!(targets.insert(target.key), "target {} twice", target.key);
            assert!(!names.is_empty(), "{} has no name", target.key);
            assert_eq!(
                Target::from_key(target.key),
                Some(Target::Kind(target)),
                "{}",
                target.key
            );
        }
        let mut keys = HashSet::new();
        for key in instance_keys() {
            assert!(keys.insert(key.name), "key {} declared twice", key.name);
        }
        let host_names: Vec<&str> = super::HOSTS
            .iter()
            .flat_map(|h| h.names.iter().copied())
            .collect();
        let unique: HashSet<&str> = host_names.iter().copied().collect();
        assert_eq!(unique.len(), host_names.len(), "{host_names:?}");
        assert_eq!(
            Target::from_key("subscriber:s"),
            Some(Target::Subscriber("s".into()))
        );
        assert_eq!(Target::from_key("perforce"), None);
    }
}
