//! `replay --failed`: send everything still owed. `replay ID`: process a journaled event again.
//!
//! Both plan with the configuration of now: a request owed because a token was refused or a
//! repository name was wrong goes out, once fixed, to where the configuration now says, and
//! nothing already delivered goes again.

use super::event::{process, Arrival};
use super::planning::{self, Input};
use super::{print_json, Ctx};
use crate::cli::{Output, ReplayArgs};
use crate::deliver::{self, millis, Sender};
use crate::event::{self, Parsed};
use crate::exit::{Code, InputError, Refused};

use crate::log;
use crate::report;
use crate::state::journal::{EventRow, Verdict};
use crate::state::outbox::Scope;
use crate::state::{now_ms, State};
use anyhow::Result;
use serde_json::json;
use std::time::Duration;

pub fn run(ctx: &Ctx, args: &ReplayArgs) -> Result<Code> {
    match (args.id, args.failed) {
        (Some(id), _) => replay_one(ctx, id),
        (None, true) => replay_failed(ctx),
        (None, false) => Err(InputError(
            "replay needs what to replay: `replay --failed` sends everything still owed, \
             `replay ID` processes journaled event ID again (see `gitops-connector events`)"
                .into(),
        )
        .into()),
    }
}

fn replay_one(ctx: &Ctx, id: i64) -> Result<Code> {
    let mut state = ctx.open_state()?;
    let Some(event) = state.store().journal().get(id)? else {
        return Err(InputError(format!(
            "there is no event {id} in {}; see `gitops-connector events`",
            state.location()
        ))
        .into());
    };
    // A replay cannot check a signature (the header is not journaled). Events accepted on
    // arrival were checked then; a rejected one may be a forgery, so it is not replayed where
    // signatures are required.
    let signed = ctx.config.instances.iter().any(|i| i.hmac_key.is_some());
    if signed && event.outcome == Verdict::Rejected {
        return Err(Refused(format!(
            "event {id} was rejected on arrival ({}), and its signature cannot be checked again: \
             have the sender resend it",
            event.why.as_deref().unwrap_or("no reason recorded")
        ))
        .into());
    }
    // A replay of a replay is a replay of the event it replayed.
    let original = event.replay_of.unwrap_or(id);
    let body = state.store().journal().body(id)?.unwrap_or_default();
    if ctx.dry_run {
        return super::dry_run::event(ctx, &body, event.command);
    }
    let code = process(
        ctx,
        &mut state,
        &body,
        event.command,
        Arrival::default(),
        Some(original),
    )?;
    // What the event planned before, and every replay of it: while any of it is owed, so is
    // the event (exit 75), and each owed row says why and when it is tried next.
    let family: Vec<i64> = state
        .store()
        .outbox()
        .for_event_family(original)?
        .iter()
        .map(|r| r.id)
        .collect();
    if code != Code::Ok || !deliver::warn_about_owed_in(&state, &family, &[])? {
        return Ok(code);
    }
    Ok(Code::Owed)
}

/// How many owed queues `replay --failed` names one by one.
const MAX_OWED_LINES: usize = 20;

fn replay_failed(ctx: &Ctx) -> Result<Code> {
    let mut state = ctx.open_state()?;
    if ctx.dry_run {
        let open = state.store().outbox().open_queues()?;
        crate::outln!(
            "{} queues hold requests still owed; nothing sent (--dry-run)",
            open.len()
        );
        return Ok(Code::Ok);
    }
    // The CronJob that replays is also what keeps the journal small.
    let retention = Duration::from_secs(ctx.config.retention_days.saturating_mul(86_400));
    let pruned = state
        .store()
        .journal()
        .prune(now_ms().saturating_sub(millis(retention)))?;
    if pruned.events > 0 {
        log::verbose(&format!("pruned {} events past retention", pruned.events));
    }
    replan_blocked(ctx, &mut state)?;
    let client = ctx.client();
    let sender = Sender::new(&client, &ctx.config, ctx.deadline()).retrying_now();
    let deliveries = sender.drain(&mut state, &Scope::All)?;
    deliver::warn_about(&deliveries);
    let ids: Vec<i64> = deliveries.iter().map(|d| d.row).collect();
    let (_, failed, refused) = state.store().outbox().standing(&ids)?;
    let owed = state.store().outbox().open_queues()?.len();
    match ctx.output {
        Output::Json => print_json(
            &json!({"deliveries": deliveries, "queues_still_owed": owed, "failed": failed, "refused": refused}),
        ),
        Output::Text => {
            for d in &deliveries {
                crate::outln!("{}", d.line());
            }
            log::verbose(&format!(
                "{} sent, {owed} queues still owed",
                deliveries.iter().filter(|d| d.ok).count()
            ));
        }
    }
    if owed > 0 {
        // Each queue's head says why it waits and when it is tried next (the rest of a queue
        // waits behind it); a long backlog is cut short.
        let queues = state.store().outbox().open_queues()?;
        let heads = state.store().outbox().heads_of(&queues)?;
        let shown = &heads[..heads.len().min(MAX_OWED_LINES)];
        deliver::warn_about_owed(shown, &heads, &deliveries, now_ms());
        if heads.len() > shown.len() {
            log::warn(&format!(
                "and {} more queues owe requests: `gitops-connector events --failed` lists them",
                heads.len() - shown.len()
            ));
        }
    }
    Ok(Code::standing(owed, failed, refused))
}

/// Status requests owed because configuration refused them are planned again from their
/// journaled events, with the configuration of now: a fixed repository name takes effect.
fn replan_blocked(ctx: &Ctx, state: &mut State) -> Result<()> {
    for id in state.store().outbox().events_blocked_on_configuration()? {
        let Some(event) = state.store().journal().get(id)? else {
            continue;
        };
        let body = state.store().journal().body(id)?.unwrap_or_default();
        match replan_event(ctx, state, &event, &body) {
            Ok(0) => {}
            Ok(n) => log::verbose(&format!(
                "event {id}: {n} owed requests planned again with the current configuration"
            )),
            Err(e) => log::warn(&format!(
                "event {id}: its owed requests could not be planned again ({e:#}); they are retried as they are"
            )),
        }
    }
    Ok(())
}

fn replan_event(ctx: &Ctx, state: &mut State, event: &EventRow, body: &[u8]) -> Result<usize> {
    let Ok(Parsed::Event(parsed)) = event::parse(body) else {
        return Ok(0);
    };
    let instance = match event
        .instance
        .as_deref()
        .and_then(|name| ctx.config.instances.iter().find(|i| i.name == name))
    {
        Some(instance) => instance,
        None => ctx
            .config
            .select(ctx.instance.as_deref(), parsed.header.instance.as_deref())?,
    };
    let parsed = parsed.in_environment(instance.environment.as_deref());
    let report = report::report(&parsed);
    planning::replan_blocked(
        state,
        &Input {
            mode: event.command,
            instance,
            event: &parsed,
            report: &report,
            replay_of: None,
        },
        event.id,
    )
}
