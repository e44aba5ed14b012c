//! `state migrate`: a team's SQLite state copied into PostgreSQL, so it switches without
//! notifying anything again.

use super::{print_json, Ctx};
use crate::cli::{MigrateArgs, Output, StateArgs, StateCommand};
use crate::exit::{Code, InputError};
use crate::state::{Opening, State};
use anyhow::Result;
use serde_json::json;

pub fn run(ctx: &Ctx, args: &StateArgs) -> Result<Code> {
    match &args.command {
        StateCommand::Migrate(args) => migrate(ctx, args),
    }
}

fn migrate(ctx: &Ctx, args: &MigrateArgs) -> Result<Code> {
    if !args.from.is_file() {
        return Err(InputError(format!(
            "there is no state file at {} (--from names the SQLite state to copy)",
            args.from.display()
        ))
        .into());
    }
    let to = match &args.to {
        Some(to) => to.clone(),
        None => ctx.state_path()?.display().to_string(),
    };
    if std::path::Path::new(&to) == args.from {
        return Err(InputError(format!(
            "--from and --to are both {to}: give --to the empty state to copy into"
        ))
        .into());
    }
    let from = State::open(&args.from, ctx.config.budget)
        .map_err(|e| crate::exit::StateError(format!("{e:#}")))?;
    let mut destination = ctx.open_state_at(&Opening {
        location: &to,
        busy: ctx.config.budget,
        password_file: ctx.config.state_password_file.as_deref(),
    })?;
    let copied = destination.copy_from(&from)?;
    let shown = destination.location().to_string();
    match ctx.output {
        Output::Json => print_json(&json!({
            "from": from.location(),
            "to": shown,
            "tables": copied.tables.iter().map(|(t, n)| json!({"table": t, "rows": n})).collect::<Vec<_>>(),
            "owed": copied.owed,
        })),
        Output::Text => {
            crate::outln!(
                "copied {} into {shown}: events {}, requests {} ({} still owed), commits {}, handled PRs {}, deployments {}",
                from.location(),
                copied.rows("events"),
                copied.rows("outbox"),
                copied.owed,
                copied.rows("commits"),
                copied.rows("prs"),
                copied.rows("deployments"),
            );
            crate::outln!(
                "next: point --state, GITOPS_CONNECTOR_STATE or `state` at {shown}, and stop using {}",
                from.location()
            );
        }
    }
    Ok(Code::Ok)
}
