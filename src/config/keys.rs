//! Every configuration key, where it may come from, and what it means: one table that drives
//! loading, validation messages, `config` output and the README reference.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// An http(s) URL requests go to: plain http is refused at load unless `allow_http`.
    Url,
    /// A list of such URLs.
    Urls,
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

pub const fn key(
    name: &'static str,
    env: Option<&'static str>,
    kind: Kind,
    help: &'static str,
) -> Key {
    Key {
        name,
        env,
        kind,
        help,
    }
}

/// Keys every instance has; each Git host and orchestrator declares its own beside its code.
const COMMON_KEYS: &[Key] = &[
    key(
        "git_host",
        Some("GIT_REPOSITORY_TYPE"),
        Kind::Text,
        "where commit statuses go: github, azdo, gitea (also forgejo), gitlab, bitbucket or bitbucket-server (also bitbucket-datacenter)",
    ),
    key(
        "orchestrator",
        Some("CICD_ORCHESTRATOR_TYPE"),
        Kind::Text,
        "who is told of the end: github (Actions, repository_dispatch), github-workflow (workflow_dispatch), azdo (Pipelines), gitlab (a pipeline trigger) or webhook (a signed POST)",
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
        "require",
        None,
        Kind::List,
        "Kustomizations (namespace/name or name) or Argo CD applications that must all succeed",
    ),
    key(
        "release_superseded",
        Some("GITOPS_CONNECTOR_RELEASE_SUPERSEDED"),
        Kind::Bool,
        "when a commit ends, conclude the commits the operator skipped since the last end (default true)",
    ),
    key(
        "github_deployments",
        Some("GITOPS_CONNECTOR_GITHUB_DEPLOYMENTS"),
        Kind::Bool,
        "also keep one GitHub deployment per commit and environment, with its statuses (default false)",
    ),
    key(
        "ca_file",
        Some("GITOPS_CONNECTOR_CA_FILE"),
        Kind::Text,
        "PEM file (or directory) of CAs to trust besides the roots, e.g. a GitHub Enterprise Server's private CA; SSL_CERT_FILE and SSL_CERT_DIR add theirs too",
    ),
    key(
        "tls_roots",
        Some("GITOPS_CONNECTOR_TLS_ROOTS"),
        Kind::Text,
        "bundled (Mozilla's roots, built in; the default) or system (the operating system's CA bundle)",
    ),
    key(
        "proxy",
        Some("GITOPS_CONNECTOR_PROXY"),
        Kind::Text,
        "http://host:port of the proxy for every request; default: https_proxy, HTTPS_PROXY, all_proxy, ALL_PROXY, with no_proxy/NO_PROXY exceptions",
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
        "where the state is kept: a SQLite file path, or a postgres:// URL (libpq form: postgres://USER@HOST:PORT/DATABASE?sslmode=verify-full&sslrootcert=CA.pem) that several replicas share",
    ),
    key(
        "state_password_file",
        Some("GITOPS_CONNECTOR_STATE_PASSWORD_FILE"),
        Kind::Text,
        "file holding the PostgreSQL state's password (else PGPASSWORD, else PGPASSFILE or ~/.pgpass)",
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

/// Keys of one instance (a `[instances.NAME]` table, or the top level of the file for
/// `default`): the common ones, then those of every registered Git host and orchestrator.
pub fn instance_keys() -> impl Iterator<Item = &'static Key> {
    let hosts = crate::hosts::HOSTS.iter().flat_map(|h| h.keys);
    let orchestrators = crate::orchestrators::ORCHESTRATORS
        .iter()
        .flat_map(|o| o.keys);
    COMMON_KEYS.iter().chain(hosts).chain(orchestrators)
}

pub fn instance_key(name: &str) -> Option<&'static Key> {
    instance_keys().find(|k| k.name == name)
}

pub fn global_key(name: &str) -> Option<&'static Key> {
    GLOBAL_KEYS.iter().find(|k| k.name == name)
}
