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
        Target::Kind(kind) => kind.settings.to_string(),
        Target::Subscriber(name) => format!("subscribers.{name} (or its file in subscribers_dir)"),
    }
}

/// What a token needs for a target's requests.
fn scope_hint(target: &Target) -> &'static str {
    match target {
        Target::Kind(kind) => kind.scopes,
        Target::Subscriber(_) => "subscribers get no token",
    }
}
