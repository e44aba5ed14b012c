//! One instance from its values: what each key means, which combinations are valid, where its
//! secrets come from, and the checks that refuse a mistake at load (plain http, bad URLs).

use super::layers::{list, text, Values};
use super::secret;
use super::{
    err, keys, ConfigError, GitHubApp, Instance, SecretSources, Source, Subscriber,
    WorkloadIdentity,
};
use crate::event::Operator;
use crate::hosts::{self, Host};
use crate::http::Network;
use crate::orchestrators::{self, Orchestrator};
use std::collections::BTreeMap;
use std::path::Path;
use std::path::PathBuf;
use std::sync::Arc;

/// One instance's values, as each part of an [`Instance`] reads them: the common parts here,
/// a Git host's and an orchestrator's in their own files (`hosts/`, `orchestrators/`).
pub struct Settings<'a> {
    name: &'a str,
    values: &'a Values,
}

impl Settings<'_> {
    /// The instance's name, for messages.
    pub fn name(&self) -> &str {
        self.name
    }

    pub fn text(&self, key: &str) -> Option<&str> {
        text(self.values, key)
    }

    pub fn list(&self, key: &str) -> Vec<String> {
        list(self.values, key)
    }

    pub fn required(&self, key: &str, what: &str) -> Result<String, ConfigError> {
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
    pub fn choice(&self, key: &str) -> Option<String> {
        self.text(key).map(str::to_ascii_lowercase)
    }

    /// The URL `key` holds, checked, without a trailing `/`.
    pub fn url(&self, key: &str) -> Result<Option<String>, ConfigError> {
        self.text(key)
            .map(|url| {
                self.check_url(key, url)?;
                Ok(url.trim_end_matches('/').to_string())
            })
            .transpose()
    }

    /// The URL `key` must hold, checked, without a trailing `/`.
    pub fn required_url(&self, key: &str, what: &str) -> Result<String, ConfigError> {
        let url = self.required(key, what)?;
        self.check_url(key, &url)?;
        Ok(url.trim_end_matches('/').to_string())
    }

    /// Refuses what is not an http(s) URL with a host.
    pub fn check_url(&self, key: &str, url: &str) -> Result<(), ConfigError> {
        check_url(self.name, key, url)
    }

    /// A configuration error about this instance.
    pub fn error(&self, what: &str) -> ConfigError {
        ConfigError(format!("instance {:?}: {what}", self.name))
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

    /// Where commit statuses go: the registered Git host `git_host` names.
    fn git_host(&self) -> Result<Arc<dyn Host>, ConfigError> {
        let kind = self.registered("git_host", "GIT_REPOSITORY_TYPE", hosts::HOSTS, |k| k.names)?;
        (kind.build)(self)
    }

    /// Who is told of the end: the registered orchestrator `orchestrator` names.
    fn orchestrator(&self) -> Result<Arc<dyn Orchestrator>, ConfigError> {
        let kind = self.registered(
            "orchestrator",
            "CICD_ORCHESTRATOR_TYPE",
            orchestrators::ORCHESTRATORS,
            |k| k.names,
        )?;
        (kind.build)(self)
    }

    /// The kind among `kinds` whose names (case-insensitive) hold `key`'s value; the error
    /// lists the first name of each.
    fn registered<K>(
        &self,
        key: &str,
        env: &str,
        kinds: &[&'static K],
        names: impl Fn(&K) -> &'static [&'static str],
    ) -> Result<&'static K, ConfigError> {
        let listed: Vec<&str> = kinds.iter().map(|k| names(k)[0]).collect();
        let choices = match listed.split_last() {
            Some((last, head)) if !head.is_empty() => format!("{} or {last}", head.join(", ")),
            _ => listed.join(""),
        };
        let Some(value) = self.choice(key) else {
            return Err(self.error(&format!("`{key}` (env {env}) is required: {choices}")));
        };
        kinds
            .iter()
            .copied()
            .find(|k| names(k).iter().any(|n| n.eq_ignore_ascii_case(&value)))
            .ok_or_else(|| self.error(&format!("{key} {value:?} is not {choices}")))
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
        reader.name,
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
struct Secrets {
    git_token: Option<(super::Secret, Source)>,
    orchestrator_token: Option<(super::Secret, Source)>,
    hmac_key: Option<(super::Secret, Source)>,
    github_app: Option<GitHubApp>,
    sources: SecretSources,
}

/// Secrets come from the environment or from files a key names, never from the TOML itself.
fn secrets(
    reader: &Settings,
    values: &Values,
    env: &BTreeMap<String, String>,
) -> Result<Secrets, ConfigError> {
    let secret = |vars: &[&'static str], files: &[&'static str]| {
        secret::find(reader.name, values, env, vars, files)
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

/// Trust and proxy: `tls_roots`, `ca_file` with `SSL_CERT_FILE` and `SSL_CERT_DIR`, and `proxy`,
/// else the proxy variables as curl reads them for https (lower-case first, then upper-case,
/// then `all_proxy`), with the hosts of `no_proxy`/`NO_PROXY` reached directly. Certificates are
/// read now, so that a wrong file is a configuration error before any event.
fn network(reader: &Settings, env: &BTreeMap<String, String>) -> Result<Network, ConfigError> {
    let var = |name: &str| env.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let system_roots = match reader.choice("tls_roots").as_deref() {
        None | Some("bundled" | "webpki") => false,
        Some("system") => true,
        Some(other) => {
            return Err(reader.error(&format!("tls_roots {other:?} is not bundled or system")))
        }
    };
    let mut ca_files: Vec<PathBuf> = reader
        .text("ca_file")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    ca_files.extend(var("SSL_CERT_FILE").map(PathBuf::from));
    ca_files.extend(var("SSL_CERT_DIR").into_iter().flat_map(|dirs| {
        dirs.split(':')
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .collect::<Vec<_>>()
    }));
    // Read once, here: a wrong file is a configuration error, and the agent trusts what was read.
    let mut private_cas = Vec::new();
    for file in &ca_files {
        let certs = crate::http::network::certificates(file).map_err(|why| {
            reader.error(&format!("ca_file (or SSL_CERT_FILE, SSL_CERT_DIR): {why}"))
        })?;
        private_cas.extend(certs.iter().map(|c| c.der().to_vec()));
    }
    if system_roots && crate::http::network::system_bundle().is_none() {
        return Err(reader.error(
            "tls_roots = \"system\", but this machine has no CA bundle: install ca-certificates, or use ca_file",
        ));
    }
    let proxy = reader
        .text("proxy")
        .or_else(|| {
            ["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]
                .into_iter()
                .find_map(var)
        })
        .map(str::to_string);
    let no_proxy = ["no_proxy", "NO_PROXY"]
        .into_iter()
        .find_map(var)
        .map(|list| {
            list.split(',')
                .map(str::trim)
                .filter(|h| !h.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    Ok(Network {
        system_roots,
        private_cas,
        proxy,
        no_proxy,
    })
}

pub fn build(
    name: &str,
    values: &Values,
    env: &BTreeMap<String, String>,
) -> Result<(Instance, SecretSources), ConfigError> {
    let reader = Settings { name, values };
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

    let Secrets {
        git_token,
        orchestrator_token,
        hmac_key,
        github_app,
        sources: secrets,
    } = secrets(&reader, values, env)?;
    let azure_identity = workload_identity(
        &reader,
        env,
        git_token.is_some() || orchestrator_token.is_some(),
    )?;
    let (git_token, git_token_from) = git_token.unzip();
    let (orchestrator_token, orchestrator_token_from) = orchestrator_token.unzip();

    let flag = |key: &str| values.get(key).and_then(|s| s.value.as_bool());
    let allow_http = flag("allow_http").unwrap_or(false);
    let deployments = flag("github_deployments").unwrap_or(false);
    if deployments && git.deployments().is_none() {
        return Err(reader.error(
            "github_deployments = true needs a Git host that keeps deployments: git_host = github",
        ));
    }
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
        github_app,
        network: network(&reader, env)?,
        environment,
        release_superseded: flag("release_superseded").unwrap_or(true),
        deployments,
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
    let urls = keys::instance_keys().flat_map(|key| match key.kind {
        keys::Kind::Url => text(values, key.name)
            .map(|url| (key.name.to_string(), url.to_string()))
            .into_iter()
            .collect(),
        keys::Kind::Urls => list(values, key.name)
            .into_iter()
            .map(|url| (key.name.to_string(), url))
            .collect(),
        _ => Vec::new(),
    });
    let subscribed = subscribers
        .iter()
        .map(|s| (format!("subscribers.{}", s.name), s.url.clone()));
    for (key, url) in urls.chain(subscribed) {
        if !crate::url::is_https(&url) && !crate::url::is_loopback(&url) {
            return err(format!(
                "instance {instance:?}: `{key}` {url:?} is plain http to a host other than loopback: \
                 use https, or set allow_http = true (env GITOPS_CONNECTOR_ALLOW_HTTP) if it is on a trusted network"
            ));
        }
    }
    Ok(())
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
