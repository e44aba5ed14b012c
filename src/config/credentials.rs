//! How an instance authenticates: its tokens and keys (`secret.rs` finds each), the AKS
//! workload identity for Azure DevOps, and a GitHub App; each with where it came from.

use super::instance::Settings;
use super::layers::Values;
use super::secret;
use super::{err, ConfigError, GitHubApp, SecretSources, Source, WorkloadIdentity};
use std::collections::BTreeMap;

/// `azure_auth`: `workload-identity` needs the three variables the AKS webhook sets; unset, it
/// is chosen when they are set and no token is configured (a PAT, when given, keeps working).
pub(super) fn workload_identity(
    reader: &Settings,
    env: &BTreeMap<String, String>,
    has_token: bool,
) -> Result<Option<WorkloadIdentity>, ConfigError> {
    let var = |name: &str| env.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let vars = [
        "AZURE_FEDERATED_TOKEN_FILE",
        "AZURE_CLIENT_ID",
        "AZURE_TENANT_ID",
    ];
    let missing: Vec<&str> = vars.iter().copied().filter(|v| var(v).is_none()).collect();
    let wanted = match reader.choice("azure_auth").as_deref() {
        Some("workload-identity") => true,
        Some("pat") => false,
        None => missing.is_empty() && !has_token,
        Some(other) => {
            return err(format!(
                "instance {:?}: azure_auth {other:?} is not pat or workload-identity",
                reader.name()
            ))
        }
    };
    if !wanted {
        return Ok(None);
    }
    if !missing.is_empty() {
        return err(format!(
            "instance {:?}: azure_auth is workload-identity, but {} not set: on AKS, label the pod \
             azure.workload.identity/use: \"true\" and annotate its ServiceAccount with \
             azure.workload.identity/client-id (see README, \"No PAT on Azure\")",
            reader.name(),
            match missing.as_slice() {
                [one] => format!("{one} is"),
                more => format!("{} are", more.join(", ")),
            }
        ));
    }
    let authority = var("AZURE_AUTHORITY_HOST").unwrap_or("https://login.microsoftonline.com/");
    reader.check_url("AZURE_AUTHORITY_HOST", authority)?;
    Ok(Some(WorkloadIdentity {
        authority: format!("{}/", authority.trim_end_matches('/')),
        tenant: var("AZURE_TENANT_ID").unwrap_or_default().to_string(),
        client_id: var("AZURE_CLIENT_ID").unwrap_or_default().to_string(),
        token_file: std::path::PathBuf::from(var("AZURE_FEDERATED_TOKEN_FILE").unwrap_or_default()),
    }))
}

/// `github_app_id` set: the App, its installation (configured, or found later from the
/// manifests repository) and its private key, from `GITOPS_CONNECTOR_GITHUB_APP_PRIVATE_KEY` or
/// `github_app_private_key_file`, never from a flag or the TOML itself.
fn github_app(
    reader: &Settings,
    values: &Values,
    env: &BTreeMap<String, String>,
) -> Result<Option<(GitHubApp, Source)>, ConfigError> {
    let Some(app_id) = reader.text("github_app_id") else {
        return Ok(None);
    };
    let installation_id = match reader.text("github_app_installation_id") {
        None => None,
        Some(id) => Some(id.parse::<u64>().map_err(|_| {
            reader.error(&format!(
                "github_app_installation_id {id:?} is not a number"
            ))
        })?),
    };
    let Some((private_key, from)) = secret::find(
        reader.name(),
        values,
        env,
        &["GITOPS_CONNECTOR_GITHUB_APP_PRIVATE_KEY"],
        &["github_app_private_key_file"],
    )?
    else {
        return Err(reader.error(
            "github_app_id is set but the App's private key is not: set github_app_private_key_file \
             (a mounted Secret) or GITOPS_CONNECTOR_GITHUB_APP_PRIVATE_KEY",
        ));
    };
    let (api, owner) = crate::hosts::github::api_and_owner(reader)?;
    let repo = reader.required("github_manifests_repo", "to find the App's installation")?;
    let app = GitHubApp {
        app_id: app_id.to_string(),
        installation_id,
        private_key,
        private_key_from: from.to_string(),
        api,
        owner,
        repo,
    };
    Ok(Some((app, from)))
}

/// An instance's secrets, and where each came from (never its value).
pub(super) struct Secrets {
    pub(super) git_token: Option<(super::Secret, Source)>,
    pub(super) orchestrator_token: Option<(super::Secret, Source)>,
    pub(super) hmac_key: Option<(super::Secret, Source)>,
    pub(super) github_app: Option<GitHubApp>,
    pub(super) sources: SecretSources,
}

/// Secrets come from the environment or from files a key names, never from the TOML itself.
pub(super) fn secrets(
    reader: &Settings,
    values: &Values,
    env: &BTreeMap<String, String>,
) -> Result<Secrets, ConfigError> {
    let secret = |vars: &[&'static str], files: &[&'static str]| {
        secret::find(reader.name(), values, env, vars, files)
    };
    let git_token = secret(
        &[
            "GITOPS_CONNECTOR_GIT_TOKEN",
            "GITOPS_CONNECTOR_TOKEN",
            "PAT",
        ],
        &["git_token_file", "token_file"],
    )?;
    let orchestrator_token = secret(
        &[
            "GITOPS_CONNECTOR_ORCHESTRATOR_TOKEN",
            "GITOPS_CONNECTOR_TOKEN",
            "PAT",
        ],
        &["orchestrator_token_file", "token_file"],
    )?;
    let hmac_key = secret(&["GITOPS_CONNECTOR_HMAC_KEY"], &["hmac_key_file"])?;
    let github_app = github_app(reader, values, env)?;
    let mut sources: SecretSources = [
        ("git token", &git_token),
        ("orchestrator token", &orchestrator_token),
        ("hmac key", &hmac_key),
    ]
    .into_iter()
    .filter_map(|(role, found)| found.as_ref().map(|(_, from)| (role, from.clone())))
    .collect();
    if let Some((_, from)) = &github_app {
        sources.push(("github app private key", from.clone()));
    }
    Ok(Secrets {
        git_token,
        orchestrator_token,
        hmac_key,
        github_app: github_app.map(|(app, _)| app),
        sources,
    })
}
