//! One instance from its values: what each key means, which combinations are valid, where its
//! secrets come from, and the checks that refuse a mistake at load (plain http, bad URLs).

use super::layers::{list, text, Values};
use super::secret;
use super::{
    err, keys, AzurePipelines, AzureRepo, ConfigError, GitHost, GitHubActions, GitHubRepo,
    Instance, Orchestrator, SecretSources, Subscriber, WorkloadIdentity,
};
use crate::event::Operator;
use std::collections::BTreeMap;
use std::path::Path;

/// Reads one instance's values: each helper below builds one part of an [`Instance`].
struct Reader<'a> {
    name: &'a str,
    values: &'a Values,
}

impl Reader<'_> {
    fn text(&self, key: &str) -> Option<&str> {
        text(self.values, key)
    }

    fn required(&self, key: &str, what: &str) -> Result<String, ConfigError> {
        let name = self.name;
        self.text(key).map(str::to_string).ok_or_else(|| {
            let env = keys::instance_key(key)
                .and_then(|k| k.env)
                .map(|v| format!(" (env {v})"))
                .unwrap_or_default();
            ConfigError(format!(
                "instance {name:?}: `{key}`{env} is required {what}"
            ))
        })
    }

    /// A choice among words, case-insensitive.
    fn choice(&self, key: &str) -> Option<String> {
        self.text(key).map(str::to_ascii_lowercase)
    }

    fn operator(&self) -> Result<Option<Operator>, ConfigError> {
        match self.choice("operator").as_deref() {
            None => Ok(None),
            Some("flux") => Ok(Some(Operator::Flux)),
            Some("argocd" | "argo") => Ok(Some(Operator::ArgoCd)),
            Some(other) => err(format!(
                "instance {:?}: operator {other:?} is not flux or argocd",
                self.name
            )),
        }
    }

    /// GitHub's API base and owner: from `github_org_url`, or `github_api_url` and `github_owner`.
    fn github(&self) -> Result<(String, String), ConfigError> {
        if let Some(org_url) = self.text("github_org_url") {
            return split_github_org_url(self.name, org_url);
        }
        let api = self
            .text("github_api_url")
            .unwrap_or("https://api.github.com");
        check_url(self.name, "github_api_url", api)?;
        let owner = self.required("github_owner", "for GitHub (or github_org_url)")?;
        Ok((api.trim_end_matches('/').to_string(), owner))
    }

    fn azure_org(&self) -> Result<String, ConfigError> {
        let url = self.required("azdo_org_url", "for Azure DevOps")?;
        check_url(self.name, "azdo_org_url", &url)?;
        Ok(url.trim_end_matches('/').to_string())
    }

    /// Where commit statuses go. A new Git host is one arm here (and its module in `hosts/`).
    fn git_host(&self) -> Result<GitHost, ConfigError> {
        Ok(match self.choice("git_host").as_deref() {
            Some("github") => {
                let (api, owner) = self.github()?;
                let repo = self.required("github_manifests_repo", "when git_host is github")?;
                GitHost::GitHub(GitHubRepo { api, owner, repo })
            }
            Some("azdo" | "azure") => GitHost::Azure(AzureRepo {
                org_url: self.azure_org()?,
                repo: self.required("azdo_manifests_repo", "when git_host is azdo")?,
            }),
            Some(other) => {
                return err(format!(
                    "instance {:?}: git_host {other:?} is not github or azdo",
                    self.name
                ))
            }
            None => {
                return err(format!(
                "instance {:?}: `git_host` (env GIT_REPOSITORY_TYPE) is required: github or azdo",
                self.name
            ))
            }
        })
    }

    /// Who is told of the end. A new orchestrator is one arm here (and its module in
    /// `orchestrators/`).
    fn orchestrator(&self) -> Result<Orchestrator, ConfigError> {
        Ok(match self.choice("orchestrator").as_deref() {
            Some("github") => {
                let (api, owner) = self.github()?;
                Orchestrator::GitHubActions(GitHubActions {
                    manifests: GitHubRepo {
                        api,
                        owner,
                        repo: self.required("github_manifests_repo", "to read the merge message")?,
                    },
                    actions_repo: self.required("github_actions_repo", "when orchestrator is github")?,
                    dispatch_event: self.text("dispatch_event").unwrap_or("sync-success").to_string(),
                    failure_dispatch_event: self.text("failure_dispatch_event").map(str::to_string),
                })
            }
            Some("azdo" | "azure") => {
                let manifests = AzureRepo {
                    org_url: self.azure_org()?,
                    repo: self.required("azdo_manifests_repo", "to read the merge comment")?,
                };
                let pr_repo = self
                    .text("azdo_pr_repo")
                    .map_or_else(|| manifests.repo.clone(), str::to_string);
                let callback_origins = list(self.values, "callback_origins");
                for origin in &callback_origins {
                    check_url(self.name, "callback_origins", origin)?;
                }
                Orchestrator::AzurePipelines(AzurePipelines {
                    manifests,
                    pr_repo,
                    callback_origins,
                })
            }
            Some(other) => {
                return err(format!(
                    "instance {:?}: orchestrator {other:?} is not github or azdo",
                    self.name
                ))
            }
            None => {
                return err(format!(
                    "instance {:?}: `orchestrator` (env CICD_ORCHESTRATOR_TYPE) is required: github or azdo",
                    self.name
                ))
            }
        })
    }

    /// `[subscribers]` and the files of `subscribers_dir`, each URL checked.
    fn subscribers(&self) -> Result<Vec<Subscriber>, ConfigError> {
        let mut subscribers: Vec<Subscriber> = self
            .values
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
        if let Some(dir) = self.text("subscribers_dir") {
            subscribers.extend(read_subscribers_dir(self.name, Path::new(dir))?);
        }
        for s in &subscribers {
            check_url(self.name, &format!("subscribers.{}", s.name), &s.url)?;
        }
        Ok(subscribers)
    }
}

/// `azure_auth`: `workload-identity` needs the three variables the AKS webhook sets; unset, it
/// is chosen when they are set and no token is configured (a PAT, when given, keeps working).
fn workload_identity(
    reader: &Reader,
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
                reader.name
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
            reader.name,
            match missing.as_slice() {
                [one] => format!("{one} is"),
                more => format!("{} are", more.join(", ")),
            }
        ));
    }
    let authority = var("AZURE_AUTHORITY_HOST").unwrap_or("https://login.microsoftonline.com/");
    check_url(reader.name, "AZURE_AUTHORITY_HOST", authority)?;
    Ok(Some(WorkloadIdentity {
        authority: format!("{}/", authority.trim_end_matches('/')),
        tenant: var("AZURE_TENANT_ID").unwrap_or_default().to_string(),
        client_id: var("AZURE_CLIENT_ID").unwrap_or_default().to_string(),
        token_file: std::path::PathBuf::from(var("AZURE_FEDERATED_TOKEN_FILE").unwrap_or_default()),
    }))
}

pub fn build(
    name: &str,
    values: &Values,
    env: &BTreeMap<String, String>,
) -> Result<(Instance, SecretSources), ConfigError> {
    let reader = Reader { name, values };
    let operator = reader.operator()?;
    let app_url = reader.text("app_url").map(str::to_string);
    if let Some(url) = &app_url {
        check_url(name, "app_url", url)?;
    }
    let git = reader.git_host()?;
    let orchestrator = reader.orchestrator()?;
    let subscribers = reader.subscribers()?;
    let environment = reader.text("environment").map(str::to_string);
    if let Some(env) = &environment {
        crate::event::check_environment(env)
            .map_err(|why| ConfigError(format!("instance {name:?}: `environment`: {why}")))?;
    }

    // Secrets come from the environment or from files a key names, never from the TOML itself.
    let secret = |vars: &[&'static str], files: &[&'static str]| {
        secret::find(name, values, env, vars, files)
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
    let azure_identity = workload_identity(
        &reader,
        env,
        git_token.is_some() || orchestrator_token.is_some(),
    )?;
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
        azure_identity,
        environment,
    };
    Ok((instance, secrets))
}

/// Requests to these URLs would go out in clear: refused at load unless `allow_http`, so that
/// `--dry-run` and `config` show the mistake before any event is lost to it.
fn refuse_plain_http(
    instance: &str,
    values: &Values,
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
        Ok(uri) if matches!(uri.scheme_str(), Some("http" | "https")) && uri.host().is_some() => {
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
