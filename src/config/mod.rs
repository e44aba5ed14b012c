//! Configuration: the reference's environment variables, a TOML file of named instances, and
//! flags, layered (flags > environment > file > defaults). Each value remembers where it came
//! from, so `gitops-connector config` can show it and an error can name the key at fault.

mod credentials;
mod instance;
pub mod keys;
mod layers;
mod network;
mod secret;

pub use instance::Settings;
pub use layers::{Layers, Setting, Source, Values};
pub use secret::Secret;

use crate::event::Operator;
use crate::hosts::Host;
use crate::orchestrators::Orchestrator;
use layers::{number, text};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The instance the reference's environment variables describe when the file does not settle it.
pub const DEFAULT_INSTANCE: &str = "default";

crate::message_error!(
    /// Invalid configuration (exit 78). The message names the key and what would be valid.
    ConfigError
);

fn err<T>(message: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError(message.into()))
}

/// Which secrets an instance has (by role) and where each came from; never their values.
pub type SecretSources = Vec<(&'static str, Source)>;

/// What the command line contributes.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    pub state: Option<PathBuf>,
    pub budget_seconds: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub file: Option<PathBuf>,
    pub state: Option<PathBuf>,
    pub state_password_file: Option<PathBuf>,
    pub budget: Duration,
    pub retention_days: u64,
    pub instances: Vec<Instance>,
    /// Every value as resolved, with its source, for `config`.
    pub layers: Layers,
    /// Secrets found, by instance and role, with where they came from (never their value).
    pub secret_sources: BTreeMap<String, SecretSources>,
}

#[derive(Debug, Clone)]
pub struct Instance {
    pub name: String,
    pub operator: Option<Operator>,
    pub app_url: Option<String>,
    /// Where commit statuses go (`hosts::HOSTS` lists the kinds).
    pub git: Arc<dyn Host>,
    /// Who is told of the end (`orchestrators::ORCHESTRATORS` lists the kinds).
    pub orchestrator: Arc<dyn Orchestrator>,
    pub subscribers: Vec<Subscriber>,
    pub require: Vec<String>,
    pub allow_http: bool,
    pub git_token: Option<Secret>,
    pub git_token_from: Option<Source>,
    pub orchestrator_token: Option<Secret>,
    pub orchestrator_token_from: Option<Source>,
    pub hmac_key: Option<Secret>,
    /// Azure DevOps requests carry an Entra access token of this workload identity, not a PAT.
    pub azure_identity: Option<WorkloadIdentity>,
    /// GitHub requests carry an installation token of this App, not a PAT.
    pub github_app: Option<GitHubApp>,
    /// The CAs trusted and the proxy used for this instance's requests.
    pub network: crate::http::Network,
    /// The environment of events that name none.
    pub environment: Option<String>,
    /// When a commit ends, the commits between the last end and it that never ended are
    /// concluded as superseded by it.
    pub release_superseded: bool,
    /// Also keep one deployment per (commit, environment) on the Git host, with its statuses.
    pub deployments: bool,
}

/// A GitHub App that authenticates this instance's GitHub requests with installation tokens.
#[derive(Debug, Clone)]
pub struct GitHubApp {
    /// `iss` of the App's JWT: the App id (or its client id).
    pub app_id: String,
    /// Found from the manifests repository when not configured.
    pub installation_id: Option<u64>,
    /// The PEM private key, and where it came from (for messages; never its text).
    pub private_key: Secret,
    pub private_key_from: String,
    /// The API base (`https://api.github.com` or `https://HOST/api/v3`), owner and manifests
    /// repository the installation is found from.
    pub api: String,
    pub owner: String,
    pub repo: String,
}

/// An AKS workload identity, as the workload-identity webhook describes it to the pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadIdentity {
    /// `AZURE_AUTHORITY_HOST`, ending with `/` (default `https://login.microsoftonline.com/`).
    pub authority: String,
    pub tenant: String,
    pub client_id: String,
    /// `AZURE_FEDERATED_TOKEN_FILE`: read afresh for each token request, the kubelet rotates it.
    pub token_file: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    pub name: String,
    pub url: String,
}

impl Instance {
    /// An instance with no secrets that posts to `git` and dispatches to GitHub Actions
    /// (`o/m` → `o/a`): what the pure tests, property tests and the fuzz target plan against.
    #[doc(hidden)]
    pub fn sample(name: &str, git: Arc<dyn Host>) -> Instance {
        let manifests = crate::hosts::github::Repo {
            api: "https://api.github.com".into(),
            owner: "o".into(),
            repo: "m".into(),
        };
        Instance {
            name: name.into(),
            operator: None,
            app_url: None,
            git,
            orchestrator: Arc::new(crate::orchestrators::github_actions::Actions {
                manifests,
                actions_repo: "a".into(),
                dispatch_event: "sync-success".into(),
                failure_dispatch_event: None,
                workflow: None,
            }),
            subscribers: vec![],
            require: vec![],
            allow_http: false,
            git_token: None,
            git_token_from: None,
            orchestrator_token: None,
            orchestrator_token_from: None,
            hmac_key: None,
            azure_identity: None,
            github_app: None,
            network: crate::http::Network::default(),
            environment: None,
            release_superseded: true,
            deployments: false,
        }
    }
}

impl Config {
    /// `--instance` wins, then the event's `gitops_connector_config_name`, then the only instance.
    pub fn select(
        &self,
        flag: Option<&str>,
        named_by_event: Option<&str>,
    ) -> Result<&Instance, ConfigError> {
        if self.instances.is_empty() {
            return err(NO_INSTANCE);
        }
        // With a single instance, every event belongs to it, whatever name it carries (PROTOCOL §1).
        if flag.is_none() && self.instances.len() == 1 {
            return Ok(&self.instances[0]);
        }
        match flag.or(named_by_event) {
            Some(name) => self
                .instances
                .iter()
                .find(|i| i.name == name)
                .ok_or_else(|| {
                    let known: Vec<&str> = self.instances.iter().map(|i| i.name.as_str()).collect();
                    ConfigError(format!(
                        "instance {name:?} is not configured; configured: {}",
                        known.join(", ")
                    ))
                }),
            None if self.instances.len() == 1 => Ok(&self.instances[0]),
            None => err(format!(
                "{} instances are configured and the event names none: pass --instance NAME or set \
                 gitops_connector_config_name in the event",
                self.instances.len()
            )),
        }
    }
}

/// One invocation sends for at most an hour: a relay's sender waits far less, a CronJob's next
/// run comes sooner.
pub const MAX_BUDGET_SECONDS: u64 = 3600;
/// A century.
pub const MAX_RETENTION_DAYS: u64 = 36_500;

/// What to set when nothing is configured: the reference's variables, or the smallest file.
pub const NO_INSTANCE: &str = "no instance is configured. Either set the reference's variables, \
e.g. GIT_REPOSITORY_TYPE=GITHUB CICD_ORCHESTRATOR_TYPE=GITHUB GITHUB_ORG_URL=https://api.github.com/repos/OWNER \
GITHUB_GITOPS_MANIFEST_REPO_NAME=REPO GITHUB_GITOPS_REPO_NAME=REPO PAT=TOKEN \
(for Azure DevOps: AZDO_ORG_URL, AZDO_GITOPS_REPO_NAME, AZDO_PR_REPO_NAME), or write \
~/.config/gitops-connector/config.toml (or pass --config PATH) with at least: \
git_host = \"github\", orchestrator = \"github\", github_org_url = \"https://api.github.com/repos/OWNER\", \
github_manifests_repo = \"REPO\", github_actions_repo = \"REPO\" (token from the environment or git_token_file)";

/// Reads the file (if any), the environment and the files it names, and resolves everything.
/// `file` is `(path, required)`: a missing default file is fine, a named one is not.
pub fn load(
    file: Option<(PathBuf, bool)>,
    env: &BTreeMap<String, String>,
    flags: &Flags,
) -> Result<Config, ConfigError> {
    let file = match file {
        Some((path, required)) => match std::fs::read_to_string(&path) {
            Ok(text) => Some((path, text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => None,
            Err(e) => return err(format!("cannot read config file {}: {e}", path.display())),
        },
        None => None,
    };
    resolve(file, env, flags)
}

pub fn resolve(
    file: Option<(PathBuf, String)>,
    env: &BTreeMap<String, String>,
    flags: &Flags,
) -> Result<Config, ConfigError> {
    let layers = Layers::read(file.as_ref(), env, flags)?;
    let file_path = file.map(|(p, _)| p);
    let global = &layers.global;
    let state = text(global, "state").map(PathBuf::from);
    let state_password_file = text(global, "state_password_file").map(PathBuf::from);
    // Bounded here, so that every instant computed from them is far inside the clock's range.
    let budget_seconds = number(global, "budget_seconds").unwrap_or(10);
    if !(1..=MAX_BUDGET_SECONDS).contains(&budget_seconds) {
        return err(format!(
            "budget_seconds (--budget, GITOPS_CONNECTOR_BUDGET_SECONDS) is {budget_seconds}: give 1 to {MAX_BUDGET_SECONDS} seconds"
        ));
    }
    let budget = Duration::from_secs(budget_seconds);
    let retention_days = number(global, "retention_days").unwrap_or(30);
    // 0 keeps nothing that is finished; owed requests are kept whatever the retention.
    if retention_days > MAX_RETENTION_DAYS {
        return err(format!(
            "retention_days (GITOPS_CONNECTOR_RETENTION_DAYS) is {retention_days}: give 0 to {MAX_RETENTION_DAYS} days"
        ));
    }

    let mut instances = Vec::new();
    let mut secret_sources = BTreeMap::new();
    for (name, values) in &layers.instances {
        let (instance, secrets) = instance::build(name, values, env)?;
        instances.push(instance);
        secret_sources.insert(name.clone(), secrets);
    }
    Ok(Config {
        file: file_path,
        state,
        state_password_file,
        budget,
        retention_days,
        instances,
        layers,
        secret_sources,
    })
}

#[cfg(test)]
mod tests;
