//! What a configuration refusal means and what to do about it: the token's role and source,
//! the settings that decide where a target's requests go, the scopes a token needs.

use super::classify::Fix;
use crate::request::{Credential, Target};

/// What a configuration refusal means and what to do about it, naming the token's source and
/// the settings to check.
pub fn for_config(
    fix: Fix,
    target: &Target,
    said: &str,
    from: &str,
    location: Option<&str>,
) -> String {
    let who = role(target);
    match fix {
        Fix::Token => format!(
            "{said}: the {who} token (from {from}) was not accepted: check that it is valid, \
             not expired and for this organisation"
        ),
        Fix::Permission => format!(
            "{said}: the {who} token (from {from}) may not do this: {}",
            scope_hint(target)
        ),
        Fix::NotFound => format!(
            "{said}: no such repository or organisation, or the {who} token (from {from}) cannot \
             see it: check {} and the token's access",
            location_settings(target)
        ),
        Fix::Redirect => format!(
            "{said}: a redirect to {}, not followed so that the token stays with its host: fix {}",
            location.unwrap_or("nowhere"),
            location_settings(target)
        ),
    }
}

/// Whose token a target carries, for messages.
pub fn role(target: &Target) -> &'static str {
    match target.credential() {
        Credential::GitHost => "Git host",
        Credential::Orchestrator => "orchestrator",
        Credential::None => "subscriber",
    }
}

/// Where the token of a target's role may be set, in the order they are read.
pub fn token_settings(target: &Target) -> &'static str {
    match target.credential() {
        Credential::GitHost => "GITOPS_CONNECTOR_GIT_TOKEN, GITOPS_CONNECTOR_TOKEN or PAT, or git_token_file or token_file",
        _ => "GITOPS_CONNECTOR_ORCHESTRATOR_TOKEN, GITOPS_CONNECTOR_TOKEN or PAT, or orchestrator_token_file or token_file",
    }
}

/// The settings that decide where a target's requests go.
fn location_settings(target: &Target) -> String {
    match target {
        Target::Github => {
            "github_org_url (GITHUB_ORG_URL) or github_api_url and github_owner, and \
                           github_manifests_repo (GITHUB_GITOPS_MANIFEST_REPO_NAME)"
                .into()
        }
        Target::GithubActions => "github_org_url (GITHUB_ORG_URL), github_manifests_repo \
                                  (GITHUB_GITOPS_MANIFEST_REPO_NAME) and github_actions_repo \
                                  (GITHUB_GITOPS_REPO_NAME)"
            .into(),
        Target::AzureRepos => {
            "azdo_org_url (AZDO_ORG_URL) and azdo_manifests_repo (AZDO_GITOPS_REPO_NAME)".into()
        }
        Target::AzurePipelines => "azdo_org_url (AZDO_ORG_URL), azdo_manifests_repo \
                                   (AZDO_GITOPS_REPO_NAME) and azdo_pr_repo (AZDO_PR_REPO_NAME)"
            .into(),
        Target::Subscriber(name) => format!("subscribers.{name} (or its file in subscribers_dir)"),
    }
}

/// What a token needs for a target's requests.
fn scope_hint(target: &Target) -> &'static str {
    match target {
        Target::Github => {
            "it needs the repo:status scope (classic) or Commit statuses: write (fine-grained)"
        }
        Target::GithubActions => {
            "it needs the repo scope (classic), or Contents: write on the actions repository and \
             Contents: read and Pull requests: read on the manifests repository (fine-grained)"
        }
        Target::AzureRepos => "it needs the Code (status) scope",
        Target::AzurePipelines => "it needs the Code (read) and Build (read & execute) scopes",
        Target::Subscriber(_) => "subscribers get no token",
    }
}
