//! `config`: the resolved configuration, with where each value came from. Secrets never print.

use super::{print_json, Ctx};
use crate::cli::Output;
use crate::exit::Code;
use anyhow::Result;
use serde_json::json;

#[allow(clippy::unnecessary_wraps)] // every command has the same signature
pub fn run(ctx: &Ctx) -> Result<Code> {
    let config = &ctx.config;
    let state = ctx.state_path().map_or_else(
        |e| format!("(none: {e})"),
        |p| crate::url::without_credentials(&p.display().to_string()),
    );
    let password_file = config
        .state_password_file
        .as_ref()
        .map(|p| p.display().to_string());
    // Where each global value came from: a flag, the environment, the file, or the default.
    let from = |key: &str| {
        config
            .layers
            .global
            .get(key)
            .map_or_else(|| "default".into(), |s| s.source.to_string())
    };
    match ctx.output {
        Output::Json => {
            let mut instances = serde_json::Map::new();
            for (name, values) in &config.layers.instances {
                let mut keys = serde_json::Map::new();
                for (key, setting) in values {
                    keys.insert(key.to_string(), json!({"value": shown(&setting.value).to_string().trim_matches('"'), "from": setting.source.to_string()}));
                }
                let secrets: Vec<_> = config.secret_sources.get(name).into_iter().flatten()
                    .map(|(role, source)| json!({"secret": role, "value": "***", "from": source.to_string()}))
                    .collect();
                instances.insert(name.clone(), json!({"keys": keys, "secrets": secrets}));
            }
            print_json(&json!({
                "file": config.file.as_ref().map(|p| p.display().to_string()),
                "state": {"value": state, "from": from("state")},
                "state_password_file": {"value": password_file, "from": from("state_password_file")},
                "budget_seconds": {"value": config.budget.as_secs(), "from": from("budget_seconds")},
                "retention_days": {"value": config.retention_days, "from": from("retention_days")},
                "instances": instances,
            }));
        }
        Output::Text => {
            match &config.file {
                Some(path) => crate::outln!("file: {}", path.display()),
                None => crate::outln!("file: (none)"),
            }
            crate::outln!("state = {state:?}    # {}", from("state"));
            if let Some(file) = &password_file {
                crate::outln!(
                    "state_password_file = {file:?}    # {}",
                    from("state_password_file")
                );
            }
            crate::outln!(
                "budget_seconds = {}    # {}",
                config.budget.as_secs(),
                from("budget_seconds")
            );
            crate::outln!(
                "retention_days = {}    # {}",
                config.retention_days,
                from("retention_days")
            );
            for (name, values) in &config.layers.instances {
                crate::outln!("\n[instances.{name}]");
                for (key, setting) in values {
                    crate::outln!("{key} = {}    # {}", shown(&setting.value), setting.source);
                }
                for (role, source) in config.secret_sources.get(name).into_iter().flatten() {
                    crate::outln!("# {role}: *** from {source}");
                }
            }
            if config.instances.is_empty() {
                crate::outln!("\n# {}", crate::config::NO_INSTANCE);
            }
        }
    }
    Ok(Code::Ok)
}

/// A value as `config` prints it: the credentials of every URL in it hidden (a proxy's
/// password, a token in a subscriber's or webhook's URL), at any depth.
fn shown(value: &toml::Value) -> toml::Value {
    match value {
        toml::Value::String(text) => toml::Value::String(crate::url::without_credentials(text)),
        toml::Value::Array(items) => toml::Value::Array(items.iter().map(shown).collect()),
        toml::Value::Table(table) => {
            toml::Value::Table(table.iter().map(|(k, v)| (k.clone(), shown(v))).collect())
        }
        other => other.clone(),
    }
}
