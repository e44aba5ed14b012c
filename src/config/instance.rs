//! One instance from its values: what each key means, which combinations are valid, where its
//! secrets come from, and the checks that refuse a mistake at load (plain http, bad URLs).

use super::credentials::{secrets, workload_identity, Secrets};
use super::layers::{list, text, Values};
use super::network::network;
use super::{err, keys, ConfigError, Instance, SecretSources, Subscriber};
use crate::event::Operator;
use crate::hosts::{self, Host};
use crate::orchestrators::{self, Orchestrator};
use std::collections::BTreeMap;
use std::path::Path;
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
