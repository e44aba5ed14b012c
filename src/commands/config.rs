//! `config`: the resolved configuration, with where each value came from. Secrets never print.

use super::{print_json, Ctx};
use crate::cli::Output;
use crate::exit::Code;
use anyhow::Result;
use serde_json::json;

pub fn run(ctx: &Ctx) -> Result<Code> {
    let config = &ctx.config;
    let state = ctx
        .state_path()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|e| format!("(none: {e})"));
    match ctx.output {
        Output::Json => {
            let mut instances = serde_json::Map::new();
            for (name, values) in config.settings.iter().filter(|(n, _)| !n.is_empty()) {
                let mut keys = serde_json::Map::new();
                for (key, setting) in values {
                    keys.insert(key.to_string(), json!({"value": setting.value.to_string().trim_matches('"'), "from": setting.source.to_string()}));
                }
                let secrets: Vec<_> = config.secret_sources.get(name).into_iter().flatten()
                    .map(|(role, source)| json!({"secret": role, "value": "***", "from": source.to_string()}))
                    .collect();
                instances.insert(name.clone(), json!({"keys": keys, "secrets": secrets}));
            }
            print_json(&json!({
                "file": config.file.as_ref().map(|p| p.display().to_string()),
                "state": state,
                "budget_seconds": config.budget.as_secs(),
                "retention_days": config.retention_days,
                "instances": instances,
            }));
        }
        Output::Text => {
            match &config.file {
                Some(path) => crate::outln!("file: {}", path.display()),
                None => crate::outln!("file: (none)"),
            }
            crate::outln!("state: {state}");
            crate::outln!("budget_seconds: {}", config.budget.as_secs());
            crate::outln!("retention_days: {}", config.retention_days);
            for (name, values) in config.settings.iter().filter(|(n, _)| !n.is_empty()) {
                crate::outln!("\n[instances.{name}]");
                for (key, setting) in values {
                    crate::outln!("{key} = {}    # {}", setting.value, setting.source);
                }
                for (role, source) in config.secret_sources.get(name).into_iter().flatten() {
                    crate::outln!("# {role}: *** from {source}");
                }
            }
            if config.instances.is_empty() {
                crate::outln!("\n(no instance configured)");
            }
        }
    }
    Ok(Code::Ok)
}
