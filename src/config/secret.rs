//! Tokens and keys: a `Secret` never prints, and is read only from the environment or from a
//! file a key names (a mounted Kubernetes Secret), never from the TOML itself.

use super::layers::{text, Source, Values};
use super::{err, ConfigError};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A token or key. It prints as `***` whatever the format, so that no log, error or
/// `config` output can carry it by accident; `expose` is called only where a header is built.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: &str) -> Secret {
        Secret(value.to_string())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// The first of `vars` that is set, else the file the first set key of `files` names (a trailing
/// newline trimmed, so that a mounted Secret works as it is), with where it came from.
pub fn find(
    instance: &str,
    values: &Values,
    env: &BTreeMap<String, String>,
    vars: &[&'static str],
    files: &[&'static str],
) -> Result<Option<(Secret, Source)>, ConfigError> {
    for var in vars {
        if let Some(v) = env.get(*var).filter(|v| !v.trim().is_empty()) {
            return Ok(Some((Secret::new(v.trim()), Source::Env(var))));
        }
    }
    for key in files {
        if let Some(path) = text(values, key) {
            let value = std::fs::read_to_string(path).map_err(|e| {
                ConfigError(format!(
                    "instance {instance:?}: cannot read `{key}` {path}: {e}"
                ))
            })?;
            let value = value.trim_end_matches(['\n', '\r']);
            if value.is_empty() {
                return err(format!("instance {instance:?}: `{key}` {path} is empty"));
            }
            let from = Source::SecretFile {
                key,
                path: PathBuf::from(path),
            };
            return Ok(Some((Secret::new(value), from)));
        }
    }
    Ok(None)
}
