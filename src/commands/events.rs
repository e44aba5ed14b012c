//! `events`, `events show`, `prune`: look into the journal, and keep it small.

use super::{print_json, Ctx};
use crate::cli::{EventsArgs, EventsCommand, Output, PruneArgs};
use crate::deliver::millis;
use crate::event::time::format_rfc3339;
use crate::exit::{Code, InputError};
use crate::state::journal::{self, Filter};
use crate::state::values::RowState;
use crate::state::{now_ms, outbox};
use anyhow::Result;
use serde_json::json;
use std::time::Duration;

pub fn run(ctx: &Ctx, args: &EventsArgs) -> Result<Code> {
    let state = ctx.open_state()?;
    if let Some(EventsCommand::Show { id }) = &args.show {
        return show(ctx, &state, *id);
    }
    let filter = Filter {
        commit: args.commit.clone(),
        failed: args.failed,
        limit: args.limit,
    };
    let events = state.store().journal().list(&filter)?;
    match ctx.output {
        Output::Json => print_json(&json!(events)),
        Output::Text => {
            crate::outln!(
                "{:>6}  {:<20}  {:<10}  {:<6}  {:<14}  {:<24}  {:<12}  why",
                "id",
                "received",
                "outcome",
                "op",
                "kind",
                "reason",
                "commit"
            );
            for e in &events {
                crate::outln!(
                    "{:>6}  {:<20}  {:<10}  {:<6}  {:<14}  {:<24}  {:<12}  {}",
                    e.id,
                    format_rfc3339(e.received_ms / 1000),
                    e.outcome.as_str(),
                    e.operator.as_deref().unwrap_or("-"),
                    e.kind.as_deref().unwrap_or("-"),
                    e.reason.as_deref().unwrap_or("-"),
                    e.commit_id
                        .as_deref()
                        .map_or("-", |c| &c[..c.len().min(12)]),
                    match (&e.why, &e.released) {
                        (Some(why), Some(released)) => format!("{why}; {released}"),
                        (why, released) => why.clone().or(released.clone()).unwrap_or_default(),
                    }
                );
            }
        }
    }
    Ok(Code::Ok)
}

fn show(ctx: &Ctx, state: &crate::state::State, id: i64) -> Result<Code> {
    let Some(event) = state.store().journal().get(id)? else {
        return Err(InputError(format!(
            "there is no event {id} in {}; see `gitops-connector events`",
            state.location()
        ))
        .into());
    };
    let body = state.store().journal().body(id)?.unwrap_or_default();
    let body_text = String::from_utf8_lossy(&body).to_string();
    let rows = state.store().outbox().for_event(id)?;
    // What each owed row waits for, and when it is tried next.
    let mut queues: Vec<String> = rows.iter().map(|r| r.queue.clone()).collect();
    queues.sort();
    queues.dedup();
    let heads = state.store().outbox().heads_of(&queues)?;
    let now = now_ms();
    let mut requests = Vec::new();
    for row in &rows {
        let owed = matches!(row.state, RowState::Pending | RowState::Sending)
            .then(|| crate::deliver::owed_because(row, &heads, now));
        requests.push((row, state.store().outbox().attempts(row.id)?, owed));
    }
    match ctx.output {
        Output::Json => print_json(&json!({
            "event": event,
            "body": body_text,
            "requests": requests.iter().map(|(row, attempts, owed)| json!({"row": row, "attempts": attempts, "owed": owed})).collect::<Vec<_>>(),
        })),
        Output::Text => print_event(&event, &body_text, &requests),
    }
    Ok(Code::Ok)
}

/// `events show` for people: the event, its body, each request with its attempts.
fn print_event(
    event: &journal::EventRow,
    body_text: &str,
    requests: &[(&outbox::Row, Vec<outbox::Attempt>, Option<String>)],
) {
    crate::outln!(
        "event {}: {}{}",
        event.id,
        event.outcome.as_str(),
        event
            .why
            .as_deref()
            .map(|w| format!(" ({w})"))
            .unwrap_or_default()
    );
    crate::outln!(
        "received: {} by `{}`",
        format_rfc3339(event.received_ms / 1000),
        event.command
    );
    if let Some(of) = event.replay_of {
        crate::outln!("replay of: event {of}");
    }
    crate::outln!("instance: {}", event.instance.as_deref().unwrap_or("-"));
    crate::outln!(
        "event: {} {} {} {}",
        event.operator.as_deref().unwrap_or("-"),
        event.kind.as_deref().unwrap_or("-"),
        event.source.as_deref().unwrap_or("-"),
        event.reason.as_deref().unwrap_or("-")
    );
    crate::outln!("commit: {}", event.commit_id.as_deref().unwrap_or("-"));
    if let Some(released) = &event.released {
        crate::outln!("skipped commits: {released}");
    }
    crate::outln!("sha256: {} ({} bytes)", event.sha256, event.size);
    crate::outln!("body:\n{body_text}");
    crate::outln!("requests:");
    if requests.is_empty() {
        crate::outln!("  (none)");
    }
    for (row, attempts, owed) in requests {
        let what = row.request.as_ref().map_or_else(
            || match row.kind {
                outbox::Kind::Deployment => "deployment (not created yet)".to_string(),
                _ => "notification".to_string(),
            },
            std::string::ToString::to_string,
        );
        crate::outln!(
            "  #{} {} {what}: {}{}",
            row.id,
            row.target,
            row.state,
            row.last_error
                .as_deref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default()
        );
        if let Some(body) = row.request.as_ref().and_then(|r| r.body.as_ref()) {
            crate::outln!("      body: {body}");
        }
        if let Some(owed) = owed {
            crate::outln!("      owed: {owed}");
        }
        for a in attempts {
            crate::outln!(
                "      attempt {}: {}{}",
                format_rfc3339(a.at_ms / 1000),
                a.answer
                    .map_or_else(|| "no answer".into(), |c| c.to_string()),
                a.error
                    .as_deref()
                    .map(|e| format!(" {e}"))
                    .unwrap_or_default()
            );
        }
    }
}

pub fn prune(ctx: &Ctx, args: &PruneArgs) -> Result<Code> {
    let state = ctx.open_state()?;
    // Both are bounded where they are parsed (a century at most), so the instant is in range.
    let age = args.older_than.unwrap_or(Duration::from_secs(
        ctx.config.retention_days.saturating_mul(86_400),
    ));
    let before_ms = now_ms().saturating_sub(millis(age));
    let pruned = state.store().journal().prune(before_ms)?;
    match ctx.output {
        Output::Json => print_json(&json!(pruned)),
        Output::Text => crate::outln!(
            "pruned {} events, {} requests, {} bodies older than {}",
            pruned.events,
            pruned.requests,
            pruned.bodies,
            format_rfc3339(before_ms / 1000)
        ),
    }
    Ok(Code::Ok)
}
