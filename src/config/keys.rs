//! Every configuration key, where it may come from, and what it means: one table that drives
//! loading, validation messages, `config` output and the README reference.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    List,
    Bool,
    Table,
    Number,
}

pub struct Key {
    pub name: &'static str,
    /// The environment variable (the reference service's name where it had one).
    pub env: Option<&'static str>,
    pub kind: Kind,
    pub help: &'static str,
}

const fn key(name: &'static str, env: Option<&'static str>, kind: Kind, help: &'static str) -> Key {
    Key {
        name,
        env,
        kind,
        help,
    }
}

/// Keys of one instance: a `[instances.NAME]` table, or the top level of the file for `default`.
pub const INSTANCE_KEYS: &[Key] = &[
    key(
        "git_host",
        Some("GIT_REPOSITORY_TYPE"),
        Kind::Text,
        "where commit statuses go: github or azdo",
    ),
    key(
        "orchestrator",
        Some("CICD_ORCHESTRATOR_TYPE"),
        Kind::Text,
        "who is told of the end: github (Actions) or azdo (Pipelines)",
    ),
    key(
        "operator",
        Some("GITOPS_OPERATOR_TYPE"),
        Kind::Text,
        "flux or argocd; when set, events of the other operator are rejected",
    ),
    key(
        "app_url",
        Some("GITOPS_APP_URL"),
        Kind::Text,
        "link shown on each commit status and sent to subscribers as callback_url",
    ),
    key(
        "github_org_url",
        Some("GITHUB_ORG_URL"),
        Kind::Text,
        "https://api.github.com/repos/OWNER (API base and owner in one, as the reference had it)",
    ),
    key(
        "github_api_url",
        None,
        Kind::Text,
        "GitHub API base: https://api.github.com or https://HOST/api/v3",
    ),
    key(
        "github_owner",
        None,
        Kind::Text,
        "GitHub user or organisation that owns the repositories",
    ),
    key(
        "github_manifests_repo",
        Some("GITHUB_GITOPS_MANIFEST_REPO_NAME"),
        Kind::Text,
        "GitHub repository the operator deploys from",
    ),
    key(
        "github_actions_repo",
        Some("GITHUB_GITOPS_REPO_NAME"),
        Kind::Text,
        "GitHub repository that receives repository_dispatch",
    ),
    key(
        "dispatch_event",
        Some("GITOPS_CONNECTOR_DISPATCH_EVENT"),
        Kind::Text,
        "event_type of the success dispatch (default sync-success)",
    ),
    key(
        "failure_dispatch_event",
        Some("GITOPS_CONNECTOR_FAILURE_DISPATCH_EVENT"),
        Kind::Text,
        "event_type of a failure dispatch; unset: no dispatch on failure",
    ),
    key(
        "azdo_org_url",
        Some("AZDO_ORG_URL"),
        Kind::Text,
        "https://dev.azure.com/ORG/PROJECT",
    ),
    key(
        "azdo_manifests_repo",
        Some("AZDO_GITOPS_REPO_NAME"),
        Kind::Text,
        "Azure Repos repository the operator deploys from",
    ),
    key(
        "azdo_pr_repo",
        Some("AZDO_PR_REPO_NAME"),
        Kind::Text,
        "repository whose PRs carry callback-task-id (default: the manifests repo)",
    ),
    key(
        "callback_origins",
        None,
        Kind::List,
        "extra origins (https://host[:port]) an Azure Pipelines planurl may point to",
    ),
    key(
        "require",
        None,
        Kind::List,
        "Kustomizations (namespace/name or name) or Argo CD applications that must all succeed",
    ),
    key(
        "allow_http",
        Some("GITOPS_CONNECTOR_ALLOW_HTTP"),
        Kind::Bool,
        "allow plain http:// to hosts other than loopback",
    ),
    key(
        "subscribers",
        None,
        Kind::Table,
        "name = \"URL\": every commit status is also POSTed there",
    ),
    key(
        "subscribers_dir",
        Some("GITOPS_CONNECTOR_SUBSCRIBERS_DIR"),
        Kind::Text,
        "directory of one file per subscriber, first line its URL",
    ),
    key(
        "token_file",
        Some("GITOPS_CONNECTOR_TOKEN_FILE"),
        Kind::Text,
        "file holding the token for both hosts (a mounted Secret)",
    ),
    key(
        "git_token_file",
        None,
        Kind::Text,
        "file holding the Git host's token",
    ),
    key(
        "orchestrator_token_file",
        None,
        Kind::Text,
        "file holding the orchestrator's token",
    ),
    key(
        "hmac_key_file",
        None,
        Kind::Text,
        "file holding the Flux generic-hmac key",
    ),
    key(
        "environment",
        Some("GITOPS_CONNECTOR_ENVIRONMENT"),
        Kind::Text,
        "the environment (cluster, stage) of this instance's events when they name none: status contexts become ENV/NAME",
    ),
    key(
        "azure_auth",
        Some("GITOPS_CONNECTOR_AZURE_AUTH"),
        Kind::Text,
        "how Azure DevOps requests authenticate: pat, or workload-identity (an Entra token from AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID, AZURE_TENANT_ID); default: workload-identity when those are set and no token is",
    ),
];

/// Keys that hold for the whole tool, at the top level of the file.
pub const GLOBAL_KEYS: &[Key] = &[
    key(
        "state",
        Some("GITOPS_CONNECTOR_STATE"),
        Kind::Text,
        "path of the SQLite state file",
    ),
    key(
        "budget_seconds",
        Some("GITOPS_CONNECTOR_BUDGET_SECONDS"),
        Kind::Number,
        "how long one invocation may spend sending (default 10)",
    ),
    key(
        "retention_days",
        Some("GITOPS_CONNECTOR_RETENTION_DAYS"),
        Kind::Number,
        "journal entries older than this are pruned by replay --failed (default 30)",
    ),
];

pub fn instance_key(name: &str) -> Option<&'static Key> {
    INSTANCE_KEYS.iter().find(|k| k.name == name)
}

pub fn global_key(name: &str) -> Option<&'static Key> {
    GLOBAL_KEYS.iter().find(|k| k.name == name)
}
