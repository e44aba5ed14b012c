//! Configuration: the reference's environment variables, a TOML file of named instances, and
//! flags, layered (flags > environment > file > defaults). Each value remembers where it came
//! from, so `gitops-connector config` can show it and an error can name the key at fault.

pub mod keys;
mod secret;

pub use secret::Secret;

use crate::event::Operator;
use keys::{Kind, GLOBAL_KEYS, INSTANCE_KEYS};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The instance the reference's environment variables describe when the file does not settle it.
pub const DEFAULT_INSTANCE: &str = "default";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    Env(&'static str),
    Flag(&'static str),
    /// A secret read from the file a key names.
    SecretFile {
        key: &'static str,
        path: PathBuf,
    },
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File(p) => write!(f, "file {}", p.display()),
            Source::Env(v) => write!(f, "env {v}"),
            Source::Flag(v) => write!(f, "flag {v}"),
            Source::SecretFile { key, path } => write!(f, "file {} ({key})", path.display()),
            Source::Default => f.write_str("default"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Setting {
    pub value: toml::Value,
    pub source: Source,
}

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
    pub budget: Duration,
    pub retention_days: u64,
    pub instances: Vec<Instance>,
    /// Every value as resolved, for `config`: instance ("" for global) → key → setting.
    pub settings: BTreeMap<String, BTreeMap<&'static str, Setting>>,
    /// Secrets found, by instance and role, with where they came from (never their value).
    pub secret_sources: BTreeMap<String, SecretSources>,
}

#[derive(Debug, Clone)]
pub struct Instance {
    pub name: String,
    pub operator: Option<Operator>,
    pub app_url: Option<String>,
    pub git: GitHost,
    pub orchestrator: Orchestrator,
    pub subscribers: Vec<Subscriber>,
    pub require: Vec<String>,
    pub allow_http: bool,
    pub git_token: Option<Secret>,
    pub git_token_from: Option<Source>,
    pub orchestrator_token: Option<Secret>,
    pub orchestrator_token_from: Option<Source>,
    pub hmac_key: Option<Secret>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GitHost {
    GitHub(GitHubRepo),
    Azure(AzureRepo),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitHubRepo {
    /// `https://api.github.com` or `https://HOST/api/v3`, no trailing slash.
    pub api: String,
    pub owner: String,
    pub repo: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzureRepo {
    /// `https://dev.azure.com/ORG/PROJECT`, no trailing slash.
    pub org_url: String,
    pub repo: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Orchestrator {
    GitHubActions(GitHubActions),
    AzurePipelines(AzurePipelines),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitHubActions {
    /// Where the manifests commit (and its merge message) is read.
    pub manifests: GitHubRepo,
    /// Where `repository_dispatch` goes.
    pub actions_repo: String,
    pub dispatch_event: String,
    pub failure_dispatch_event: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzurePipelines {
    /// The manifests repository: its commit comment names the PR.
    pub manifests: AzureRepo,
    /// The repository whose PRs carry `callback-task-id`.
    pub pr_repo: String,
    /// Origins (`https://host[:port]`) besides the organisation's that a `planurl` may use.
    pub callback_origins: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    pub name: String,
    pub url: String,
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
    let mut settings: BTreeMap<String, BTreeMap<&'static str, Setting>> = BTreeMap::new();
    settings.insert(String::new(), BTreeMap::new());
    let file_path = file.as_ref().map(|(p, _)| p.clone());
    if let Some((path, text)) = &file {
        read_file_layer(path, text, &mut settings)?;
    }
    read_env_layer(env, &mut settings)?;
    let global = settings.get_mut("").expect("global layer");
    if let Some(state) = &flags.state {
        global.insert(
            "state",
            flag_setting(state.display().to_string(), "--state"),
        );
    }
    if let Some(budget) = flags.budget_seconds {
        let value = toml::Value::Integer(i64::try_from(budget).unwrap_or(i64::MAX));
        global.insert(
            "budget_seconds",
            Setting {
                value,
                source: Source::Flag("--budget"),
            },
        );
    }

    let global = &settings[""];
    let state = text(global, "state").map(PathBuf::from);
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
    for (name, values) in settings.iter().filter(|(n, _)| !n.is_empty()) {
        let (instance, secrets) = build_instance(name, values, env)?;
        instances.push(instance);
        secret_sources.insert(name.clone(), secrets);
    }
    Ok(Config {
        file: file_path,
        state,
        budget,
        retention_days,
        instances,
        settings,
        secret_sources,
    })
}

fn flag_setting(value: String, flag: &'static str) -> Setting {
    Setting {
        value: toml::Value::String(value),
        source: Source::Flag(flag),
    }
}

fn read_file_layer(
    path: &Path,
    text: &str,
    settings: &mut BTreeMap<String, BTreeMap<&'static str, Setting>>,
) -> Result<(), ConfigError> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        ConfigError(format!("{}: {}", path.display(), one_line(&e.to_string())))
    })?;
    let source = || Source::File(path.to_path_buf());
    for (key, value) in table {
        if key == "instances" {
            let toml::Value::Table(instances) = value else {
                return err(format!(
                    "{}: `instances` must be a table of [instances.NAME] tables",
                    path.display()
                ));
            };
            for (name, body) in instances {
                let toml::Value::Table(body) = body else {
                    return err(format!(
                        "{}: `instances.{name}` must be a table",
                        path.display()
                    ));
                };
                let layer = settings.entry(name.clone()).or_default();
                for (key, value) in body {
                    let spec = keys::instance_key(&key)
                        .ok_or_else(|| unknown_key(path, &format!("instances.{name}.{key}")))?;
                    check_kind(spec, &value, &format!("instances.{name}.{key}"), path)?;
                    layer.insert(
                        spec.name,
                        Setting {
                            value,
                            source: source(),
                        },
                    );
                }
            }
        } else if let Some(spec) = keys::global_key(&key) {
            check_kind(spec, &value, &key, path)?;
            settings.get_mut("").expect("global").insert(
                spec.name,
                Setting {
                    value,
                    source: source(),
                },
            );
        } else if let Some(spec) = keys::instance_key(&key) {
            // Instance keys at the top level describe the instance named `default`.
            check_kind(spec, &value, &key, path)?;
            settings
                .entry(DEFAULT_INSTANCE.to_string())
                .or_default()
                .insert(
                    spec.name,
                    Setting {
                        value,
                        source: source(),
                    },
                );
        } else {
            return Err(unknown_key(path, &key));
        }
    }
    Ok(())
}

fn unknown_key(path: &Path, key: &str) -> ConfigError {
    let mut valid: Vec<&str> = INSTANCE_KEYS
        .iter()
        .chain(GLOBAL_KEYS)
        .map(|k| k.name)
        .collect();
    valid.push("instances");
    ConfigError(format!(
        "{}: unknown key `{key}`; valid keys: {}",
        path.display(),
        valid.join(", ")
    ))
}

fn check_kind(
    spec: &keys::Key,
    value: &toml::Value,
    at: &str,
    path: &Path,
) -> Result<(), ConfigError> {
    let ok = match spec.kind {
        Kind::Text => value.is_str(),
        Kind::Bool => value.is_bool(),
        Kind::Number => value.as_integer().is_some_and(|n| n >= 0),
        Kind::List => value
            .as_array()
            .is_some_and(|a| a.iter().all(toml::Value::is_str)),
        Kind::Table => value
            .as_table()
            .is_some_and(|t| t.values().all(toml::Value::is_str)),
    };
    if ok {
        return Ok(());
    }
    let expected = match spec.kind {
        Kind::Text => "a string",
        Kind::Bool => "true or false",
        Kind::Number => "a whole number ≥ 0",
        Kind::List => "a list of strings",
        Kind::Table => "a table of name = \"URL\"",
    };
    err(format!("{}: `{at}` must be {expected}", path.display()))
}

fn read_env_layer(
    env: &BTreeMap<String, String>,
    settings: &mut BTreeMap<String, BTreeMap<&'static str, Setting>>,
) -> Result<(), ConfigError> {
    for spec in GLOBAL_KEYS {
        if let Some((var, value)) = env_value(env, spec)? {
            settings.get_mut("").expect("global").insert(
                spec.name,
                Setting {
                    value,
                    source: Source::Env(var),
                },
            );
        }
    }
    // The reference's variables describe one instance: the file's only instance, else `default`.
    let file_instances: Vec<&String> = settings.keys().filter(|k| !k.is_empty()).collect();
    let target = match file_instances.as_slice() {
        [only] => (*only).clone(),
        _ => DEFAULT_INSTANCE.to_string(),
    };
    for spec in INSTANCE_KEYS {
        if let Some((var, value)) = env_value(env, spec)? {
            settings.entry(target.clone()).or_default().insert(
                spec.name,
                Setting {
                    value,
                    source: Source::Env(var),
                },
            );
        }
    }
    Ok(())
}

fn env_value(
    env: &BTreeMap<String, String>,
    spec: &keys::Key,
) -> Result<Option<(&'static str, toml::Value)>, ConfigError> {
    let Some(var) = spec.env else { return Ok(None) };
    let Some(raw) = env.get(var).filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    let raw = raw.trim();
    let value = match spec.kind {
        Kind::Text => toml::Value::String(raw.to_string()),
        Kind::Bool => match raw.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" => toml::Value::Boolean(true),
            "0" | "false" | "no" => toml::Value::Boolean(false),
            _ => return err(format!("{var}={raw:?} must be true or false")),
        },
        Kind::Number => match raw.parse::<u32>() {
            Ok(n) => toml::Value::Integer(n.into()),
            Err(_) => return err(format!("{var}={raw:?} must be a whole number")),
        },
        Kind::List | Kind::Table => return Ok(None),
    };
    Ok(Some((var, value)))
}

/// A text value, trimmed; blank counts as unset.
fn text<'a>(values: &'a BTreeMap<&'static str, Setting>, key: &str) -> Option<&'a str> {
    values
        .get(key)
        .and_then(|s| s.value.as_str())
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Kinds are checked as values are read, so a number here is whole and ≥ 0.
fn number(values: &BTreeMap<&'static str, Setting>, key: &str) -> Option<u64> {
    values
        .get(key)
        .and_then(|s| s.value.as_integer())
        .and_then(|n| u64::try_from(n).ok())
}

fn list(values: &BTreeMap<&'static str, Setting>, key: &str) -> Vec<String> {
    values
        .get(key)
        .and_then(|s| s.value.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn build_instance(
    name: &str,
    values: &BTreeMap<&'static str, Setting>,
    env: &BTreeMap<String, String>,
) -> Result<(Instance, SecretSources), ConfigError> {
    let required = |key: &str, what: &str| -> Result<String, ConfigError> {
        text(values, key).map(str::to_string).ok_or_else(|| {
            let env = keys::instance_key(key)
                .and_then(|k| k.env)
                .map(|v| format!(" (env {v})"))
                .unwrap_or_default();
            ConfigError(format!(
                "instance {name:?}: `{key}`{env} is required {what}"
            ))
        })
    };
    let choice = |key: &str| text(values, key).map(|v| v.to_ascii_lowercase());
    let operator = match choice("operator").as_deref() {
        None => None,
        Some("flux") => Some(Operator::Flux),
        Some("argocd") | Some("argo") => Some(Operator::ArgoCd),
        Some(other) => {
            return err(format!(
                "instance {name:?}: operator {other:?} is not flux or argocd"
            ))
        }
    };
    let app_url = text(values, "app_url").map(|u| u.to_string());
    if let Some(url) = &app_url {
        check_url(name, "app_url", url)?;
    }

    let github = || -> Result<(String, String), ConfigError> {
        if let Some(org_url) = text(values, "github_org_url") {
            return split_github_org_url(name, org_url);
        }
        let api = text(values, "github_api_url").unwrap_or("https://api.github.com");
        check_url(name, "github_api_url", api)?;
        let owner = required("github_owner", "for GitHub (or github_org_url)")?;
        Ok((api.trim_end_matches('/').to_string(), owner))
    };
    let azure_org = || -> Result<String, ConfigError> {
        let url = required("azdo_org_url", "for Azure DevOps")?;
        check_url(name, "azdo_org_url", &url)?;
        Ok(url.trim_end_matches('/').to_string())
    };

    let git = match choice("git_host").as_deref() {
        Some("github") => {
            let (api, owner) = github()?;
            let repo = required("github_manifests_repo", "when git_host is github")?;
            GitHost::GitHub(GitHubRepo { api, owner, repo })
        }
        Some("azdo") | Some("azure") => GitHost::Azure(AzureRepo {
            org_url: azure_org()?,
            repo: required("azdo_manifests_repo", "when git_host is azdo")?,
        }),
        Some(other) => {
            return err(format!(
                "instance {name:?}: git_host {other:?} is not github or azdo"
            ))
        }
        None => {
            return err(format!(
            "instance {name:?}: `git_host` (env GIT_REPOSITORY_TYPE) is required: github or azdo"
        ))
        }
    };
    let orchestrator = match choice("orchestrator").as_deref() {
        Some("github") => {
            let (api, owner) = github()?;
            Orchestrator::GitHubActions(GitHubActions {
                manifests: GitHubRepo {
                    api,
                    owner,
                    repo: required("github_manifests_repo", "to read the merge message")?,
                },
                actions_repo: required("github_actions_repo", "when orchestrator is github")?,
                dispatch_event: text(values, "dispatch_event").unwrap_or("sync-success").to_string(),
                failure_dispatch_event: text(values, "failure_dispatch_event").map(str::to_string),
            })
        }
        Some("azdo") | Some("azure") => {
            let manifests = AzureRepo {
                org_url: azure_org()?,
                repo: required("azdo_manifests_repo", "to read the merge comment")?,
            };
            let pr_repo = text(values, "azdo_pr_repo").map(str::to_string).unwrap_or_else(|| manifests.repo.clone());
            let callback_origins = list(values, "callback_origins");
            for origin in &callback_origins {
                check_url(name, "callback_origins", origin)?;
            }
            Orchestrator::AzurePipelines(AzurePipelines { manifests, pr_repo, callback_origins })
        }
        Some(other) => return err(format!("instance {name:?}: orchestrator {other:?} is not github or azdo")),
        None => return err(format!("instance {name:?}: `orchestrator` (env CICD_ORCHESTRATOR_TYPE) is required: github or azdo")),
    };

    let mut subscribers: Vec<Subscriber> = values
        .get("subscribers")
        .and_then(|s| s.value.as_table())
        .map(|t| {
            t.iter()
                .map(|(n, u)| Subscriber {
                    name: n.clone(),
                    url: u.as_str().unwrap_or_default().trim().to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    if let Some(dir) = text(values, "subscribers_dir") {
        subscribers.extend(read_subscribers_dir(name, Path::new(dir))?);
    }
    for s in &subscribers {
        check_url(name, &format!("subscribers.{}", s.name), &s.url)?;
    }

    // Secrets come from the environment or from files a key names, never from the TOML itself.
    let secret = |vars: &[&'static str],
                  files: &[&'static str]|
     -> Result<Option<(Secret, Source)>, ConfigError> {
        for var in vars {
            if let Some(v) = env.get(*var).filter(|v| !v.trim().is_empty()) {
                return Ok(Some((Secret::new(v.trim()), Source::Env(var))));
            }
        }
        for key in files {
            if let Some(path) = text(values, key) {
                let value = std::fs::read_to_string(path).map_err(|e| {
                    ConfigError(format!(
                        "instance {name:?}: cannot read `{key}` {path}: {e}"
                    ))
                })?;
                let value = value.trim_end_matches(['\n', '\r']);
                if value.is_empty() {
                    return err(format!("instance {name:?}: `{key}` {path} is empty"));
                }
                let from = Source::SecretFile {
                    key,
                    path: PathBuf::from(path),
                };
                return Ok(Some((Secret::new(value), from)));
            }
        }
        Ok(None)
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
    let secrets: SecretSources = [
        ("git token", &git_token),
        ("orchestrator token", &orchestrator_token),
        ("hmac key", &hmac_key),
    ]
    .into_iter()
    .filter_map(|(role, found)| found.as_ref().map(|(_, from)| (role, from.clone())))
    .collect();
    let (git_token, git_token_from) = git_token.unzip();
    let (orchestrator_token, orchestrator_token_from) = orchestrator_token.unzip();

    let allow_http = values
        .get("allow_http")
        .and_then(|s| s.value.as_bool())
        .unwrap_or(false);
    if !allow_http {
        refuse_plain_http(name, values, &subscribers)?;
    }
    let instance = Instance {
        name: name.to_string(),
        operator,
        app_url,
        git,
        orchestrator,
        subscribers,
        require: list(values, "require"),
        allow_http,
        git_token,
        git_token_from,
        orchestrator_token,
        orchestrator_token_from,
        hmac_key: hmac_key.map(|(key, _)| key),
    };
    Ok((instance, secrets))
}

/// Requests to these URLs would go out in clear: refused at load unless `allow_http`, so that
/// `--dry-run` and `config` show the mistake before any event is lost to it.
fn refuse_plain_http(
    instance: &str,
    values: &BTreeMap<&'static str, Setting>,
    subscribers: &[Subscriber],
) -> Result<(), ConfigError> {
    let keys = ["github_org_url", "github_api_url", "azdo_org_url"]
        .into_iter()
        .filter_map(|key| text(values, key).map(|url| (key.to_string(), url.to_string())));
    let origins = list(values, "callback_origins")
        .into_iter()
        .map(|url| ("callback_origins".to_string(), url));
    let subscribed = subscribers
        .iter()
        .map(|s| (format!("subscribers.{}", s.name), s.url.clone()));
    for (key, url) in keys.chain(origins).chain(subscribed) {
        if !crate::url::is_https(&url) && !crate::url::is_loopback(&url) {
            return err(format!(
                "instance {instance:?}: `{key}` {url:?} is plain http to a host other than loopback: \
                 use https, or set allow_http = true (env GITOPS_CONNECTOR_ALLOW_HTTP) if it is on a trusted network"
            ));
        }
    }
    Ok(())
}

/// `https://api.github.com/repos/OWNER` (or `https://HOST/api/v3/repos/OWNER`) → (API base, owner).
fn split_github_org_url(instance: &str, url: &str) -> Result<(String, String), ConfigError> {
    check_url(instance, "github_org_url", url)?;
    let trimmed = url.trim_end_matches('/');
    match trimmed.rsplit_once("/repos/") {
        Some((api, owner)) if !owner.is_empty() && !owner.contains('/') => Ok((api.to_string(), owner.to_string())),
        _ => err(format!(
            "instance {instance:?}: github_org_url {url:?} must look like https://api.github.com/repos/OWNER"
        )),
    }
}

fn check_url(instance: &str, key: &str, url: &str) -> Result<(), ConfigError> {
    match url.parse::<ureq::http::Uri>() {
        Ok(uri)
            if matches!(uri.scheme_str(), Some("http") | Some("https")) && uri.host().is_some() =>
        {
            Ok(())
        }
        _ => err(format!(
            "instance {instance:?}: `{key}` {url:?} is not an http(s) URL like https://host/path"
        )),
    }
}

/// The reference's Helm chart mounts one file per subscriber; the first line is its URL.
fn read_subscribers_dir(instance: &str, dir: &Path) -> Result<Vec<Subscriber>, ConfigError> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        ConfigError(format!(
            "instance {instance:?}: cannot read subscribers_dir {}: {e}",
            dir.display()
        ))
    })?;
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        // Kubernetes projects ConfigMaps through hidden `..data` links; skip them.
        if name.starts_with('.') || !entry.path().is_file() {
            continue;
        }
        let content = std::fs::read_to_string(entry.path()).map_err(|e| {
            ConfigError(format!(
                "instance {instance:?}: cannot read subscriber file {name}: {e}"
            ))
        })?;
        if let Some(url) = content
            .lines()
            .next()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            found.push(Subscriber {
                name,
                url: url.to_string(),
            });
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

/// toml's errors span several lines with a source excerpt; we print one.
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests;
