//! The layers of configuration, each value with where it came from: flags > environment >
//! file > defaults. `Layers` holds the global values and each instance's; nothing here knows
//! what a value means (see `instance.rs`).

use super::keys::{self, Kind, GLOBAL_KEYS};
use super::{err, ConfigError, Flags, DEFAULT_INSTANCE};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

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

/// One instance's values, or the global ones, by key.
pub type Values = BTreeMap<&'static str, Setting>;

/// Every value as resolved, for `config` and for building instances.
#[derive(Debug, Clone, Default)]
pub struct Layers {
    pub global: Values,
    pub instances: BTreeMap<String, Values>,
}

impl Layers {
    /// The file (if any), then the environment, then the flags, each over the one before.
    pub fn read(
        file: Option<&(PathBuf, String)>,
        env: &BTreeMap<String, String>,
        flags: &Flags,
    ) -> Result<Layers, ConfigError> {
        let mut layers = Layers::default();
        if let Some((path, text)) = file {
            layers.read_file(path, text)?;
        }
        layers.read_env(env)?;
        if let Some(state) = &flags.state {
            layers.global.insert(
                "state",
                Setting {
                    value: toml::Value::String(state.display().to_string()),
                    source: Source::Flag("--state"),
                },
            );
        }
        if let Some(budget) = flags.budget_seconds {
            let value = toml::Value::Integer(i64::try_from(budget).unwrap_or(i64::MAX));
            layers.global.insert(
                "budget_seconds",
                Setting {
                    value,
                    source: Source::Flag("--budget"),
                },
            );
        }
        Ok(layers)
    }

    fn read_file(&mut self, path: &Path, text: &str) -> Result<(), ConfigError> {
        // toml's own message points at the line and column, with an excerpt: kept as it is.
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError(format!("{}: {e}", path.display())))?;
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
                    let layer = self.instances.entry(name.clone()).or_default();
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
                self.global.insert(
                    spec.name,
                    Setting {
                        value,
                        source: source(),
                    },
                );
            } else if let Some(spec) = keys::instance_key(&key) {
                // Instance keys at the top level describe the instance named `default`.
                check_kind(spec, &value, &key, path)?;
                self.instances
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

    fn read_env(&mut self, env: &BTreeMap<String, String>) -> Result<(), ConfigError> {
        for spec in GLOBAL_KEYS {
            if let Some((var, value)) = env_value(env, spec)? {
                self.global.insert(
                    spec.name,
                    Setting {
                        value,
                        source: Source::Env(var),
                    },
                );
            }
        }
        // The reference's variables describe one instance: the file's only instance, else `default`.
        let file_instances: Vec<&String> = self.instances.keys().collect();
        let target = match file_instances.as_slice() {
            [only] => (*only).clone(),
            _ => DEFAULT_INSTANCE.to_string(),
        };
        for spec in keys::instance_keys() {
            if let Some((var, value)) = env_value(env, spec)? {
                self.instances.entry(target.clone()).or_default().insert(
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
}

/// An unknown key, with the nearest known one when it looks like a misspelling.
fn unknown_key(path: &Path, key: &str) -> ConfigError {
    let last = key.rsplit('.').next().unwrap_or(key);
    let known = keys::instance_keys()
        .chain(GLOBAL_KEYS)
        .map(|k| k.name)
        .chain(["instances"]);
    let nearest = known
        .map(|k| (distance(last, k), k))
        .min()
        .filter(|(d, k)| *d <= 2.max(k.len() / 4));
    let hint = match nearest {
        Some((_, k)) => format!("did you mean `{k}`?"),
        None => "the keys are listed in README's Configuration section".into(),
    };
    ConfigError(format!("{}: unknown key `{key}`; {hint}", path.display()))
}

/// Levenshtein distance, over characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

fn check_kind(
    spec: &keys::Key,
    value: &toml::Value,
    at: &str,
    path: &Path,
) -> Result<(), ConfigError> {
    let ok = match spec.kind {
        Kind::Text | Kind::Url => value.is_str(),
        Kind::Bool => value.is_bool(),
        Kind::Number => value.as_integer().is_some_and(|n| n >= 0),
        Kind::List | Kind::Urls => value
            .as_array()
            .is_some_and(|a| a.iter().all(toml::Value::is_str)),
        Kind::Table => value
            .as_table()
            .is_some_and(|t| t.values().all(toml::Value::is_str)),
    };
    if ok {
        return Ok(());
    }
    // A key written under `[subscribers]` belongs to that table: say so, rather than "must be a
    // table", since the mistake is usually where the key was put.
    if let (Kind::Table, Some((name, _))) = (
        spec.kind,
        value
            .as_table()
            .and_then(|t| t.iter().find(|(_, v)| !v.is_str())),
    ) {
        return err(format!(
            "{}: `{at}.{name}` must be a URL string; keys written after the [{at}] header belong \
             to that table: put instance keys above it",
            path.display()
        ));
    }
    let expected = match spec.kind {
        Kind::Text => "a string",
        Kind::Url => "a URL string",
        Kind::Bool => "true or false",
        Kind::Number => "a whole number ≥ 0",
        Kind::List => "a list of strings",
        Kind::Urls => "a list of URL strings",
        Kind::Table => "a table of name = \"URL\"",
    };
    err(format!("{}: `{at}` must be {expected}", path.display()))
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
        Kind::Text | Kind::Url => toml::Value::String(raw.to_string()),
        Kind::Bool => match raw.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" => toml::Value::Boolean(true),
            "0" | "false" | "no" => toml::Value::Boolean(false),
            _ => return err(format!("{var}={raw:?} must be true or false")),
        },
        Kind::Number => match raw.parse::<u32>() {
            Ok(n) => toml::Value::Integer(n.into()),
            Err(_) => return err(format!("{var}={raw:?} must be a whole number")),
        },
        Kind::List | Kind::Urls | Kind::Table => return Ok(None),
    };
    Ok(Some((var, value)))
}

/// A text value, trimmed; blank counts as unset.
pub(super) fn text<'a>(values: &'a BTreeMap<&'static str, Setting>, key: &str) -> Option<&'a str> {
    values
        .get(key)
        .and_then(|s| s.value.as_str())
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Kinds are checked as values are read, so a number here is whole and ≥ 0.
pub(super) fn number(values: &BTreeMap<&'static str, Setting>, key: &str) -> Option<u64> {
    values
        .get(key)
        .and_then(|s| s.value.as_integer())
        .and_then(|n| u64::try_from(n).ok())
}

pub(super) fn list(values: &BTreeMap<&'static str, Setting>, key: &str) -> Vec<String> {
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
