//! `status`, `notify`, `handle`: one event through the whole pipeline.
//!
//! bytes → journal → (signature) → event → report → decision and plan, committed to the outbox in
//! one transaction → sent → journal. Everything up to the transaction is pure; what the
//! transaction commits is what will be delivered, whatever happens to this process afterwards.

use super::planning::{self, Input, Journaled, Planned};
use super::{print_json, Ctx};
use crate::cli::{EventArgs, Output};
use crate::config::Instance;
use crate::deliver::{self, Delivery, Sender};
use crate::event::{self, Invalid, Parsed, MAX_EVENT_BYTES};
use crate::exit::{Code, InputError, Refused};
use crate::http::{Client, Credentials};
use crate::log;
use crate::plan::Mode;
use crate::report::{self, Report};
use crate::signature;
use crate::state::journal::{Facts, Verdict};
use crate::state::State;
use anyhow::Result;
use serde_json::json;
use std::io::{IsTerminal, Read};
use std::time::Duration;

/// How the event reached us: the sender's signature, or the relay's word that it checked one.
#[derive(Debug, Clone, Copy, Default)]
pub struct Arrival<'a> {
    pub signature: Option<&'a str>,
    /// `--verified-by-relay`: the relay's trigger rule authenticated the request (Flux's HMAC,
    /// or Argo CD's shared header token), so no signature is asked of it here.
    pub verified_by_relay: bool,
}

pub fn run(ctx: &Ctx, args: &EventArgs, mode: Mode) -> Result<Code> {
    let bytes = read_input(args.path.as_deref())?;
    if ctx.dry_run {
        return super::dry_run::event(ctx, &bytes, mode);
    }
    let mut state = ctx.open_state()?;
    let arrival = Arrival {
        signature: args.signature.as_deref(),
        verified_by_relay: args.verified_by_relay,
    };
    process(ctx, &mut state, &bytes, mode, arrival, None)
}

/// At most one byte over the limit is read: enough to know the event is too big.
fn read_input(path: Option<&std::path::Path>) -> Result<Vec<u8>> {
    let limit = u64::try_from(MAX_EVENT_BYTES)? + 1;
    let mut bytes = Vec::new();
    if let Some(path) = path.filter(|p| p.as_os_str() != "-") {
        let cannot = |e: std::io::Error| {
            InputError(format!(
                "cannot read the event file {}: {e}",
                path.display()
            ))
        };
        let file = std::fs::File::open(path).map_err(cannot)?;
        file.take(limit).read_to_end(&mut bytes).map_err(cannot)?;
        return Ok(bytes);
    } else {
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            return Err(InputError(
                "no event given: pass a file path, or pipe the event into stdin".into(),
            )
            .into());
        }
        stdin.lock().take(limit).read_to_end(&mut bytes)
    }
    .map_err(|e| InputError(format!("cannot read the event: {e}")))?;
    Ok(bytes)
}

/// A body that big is kept in part: enough to see what it was, not enough to fill the disk.
const KEPT_OF_OVERSIZED: usize = 64 * 1024;

// Long on purpose: it is the pipeline of README's "How it works", read top to bottom, and each
// early return journals the event's verdict before it leaves.
#[allow(clippy::too_many_lines)]
pub fn process(
    ctx: &Ctx,
    state: &mut State,
    bytes: &[u8],
    mode: Mode,
    arrival: Arrival,
    replay_of: Option<i64>,
) -> Result<Code> {
    let sha = signature::sha256(bytes);
    let kept = if bytes.len() > MAX_EVENT_BYTES {
        &bytes[..KEPT_OF_OVERSIZED]
    } else {
        bytes
    };
    let id = state
        .store()
        .journal()
        .record(kept, &sha, mode, replay_of)?;
    let mut facts = Facts::default();
    let reject = |state: &State, facts: &Facts, error: anyhow::Error| -> Result<Code> {
        state.store().journal().conclude(
            id,
            Verdict::Rejected,
            Some(&format!("{error:#}")),
            facts,
        )?;
        Err(error.context(format!("event {id} rejected")))
    };
    // A replayed event was verified when it arrived (its header is not journaled).
    let arrival = Arrival {
        verified_by_relay: arrival.verified_by_relay || replay_of.is_some(),
        ..arrival
    };

    // A signature is checked before the body is read, whenever the instance is known without it.
    let known_early = ctx
        .instance
        .as_deref()
        .or(match ctx.config.instances.as_slice() {
            [only] => Some(only.name.as_str()),
            _ => None,
        });
    if let Some(instance) =
        known_early.and_then(|name| ctx.config.instances.iter().find(|i| i.name == name))
    {
        facts.instance = Some(instance.name.clone());
        if let Err(refusal) = check_signature(instance, bytes, arrival) {
            return reject(state, &facts, refusal.into());
        }
    }

    let parsed = match event::parse(bytes) {
        Ok(parsed) => parsed,
        Err(invalid) => return reject(state, &facts, invalid.into()),
    };
    let header = parsed.header().clone();
    facts.operator = Some(header.operator.wire_name().into());
    facts.kind = Some(header.kind.clone());
    facts.source.clone_from(&header.source);
    facts.reason = Some(header.reason.clone());
    if let Parsed::Event(e) = &parsed {
        facts.commit = Some(e.commit.to_string());
    }
    let instance = match ctx
        .config
        .select(ctx.instance.as_deref(), header.instance.as_deref())
    {
        Ok(instance) => instance,
        Err(e) => return reject(state, &facts, e.into()),
    };
    facts.instance = Some(instance.name.clone());
    if known_early.is_none() {
        if let Err(refusal) = check_signature(instance, bytes, arrival) {
            return reject(state, &facts, refusal.into());
        }
    }
    if let Some(expected) = instance.operator.filter(|op| *op != header.operator) {
        let invalid = Invalid(format!(
            "this is an {} event, but instance {:?} is configured for {expected}",
            header.operator, instance.name
        ));
        return reject(state, &facts, invalid.into());
    }

    let event = match parsed {
        Parsed::Ignored(ignored) => {
            state
                .store()
                .journal()
                .conclude(id, Verdict::Ignored, Some(&ignored.why), &facts)?;
            log::verbose(&format!("event {id} ignored: {}", ignored.why));
            finish_output(ctx, id, Verdict::Ignored, Some(&ignored.why), &facts, &[]);
            return Ok(Code::Ok);
        }
        Parsed::Event(event) => event,
    };
    if event.repaired {
        log::warn(&format!(
            "event {id}: the Argo CD body was not valid JSON (unescaped message) and was repaired; \
             use toJson in the template to avoid this"
        ));
    }

    let event = event.in_environment(instance.environment.as_deref());
    facts.source.clone_from(&event.header.source);
    let report = report::report(&event);
    let client = ctx.client();
    if mode.notifies() {
        assume_from_host_if_unknown(ctx, state, instance, &report, &client)?;
    }
    let planned = planning::plan_event(
        state,
        &Input {
            mode,
            instance,
            event: &event,
            report: &report,
            replay_of,
        },
        &Journaled {
            id,
            sha: &sha,
            facts: &facts,
        },
    )?;
    if let Some(why) = &planned.why {
        log::verbose(&format!("event {id}: {why}"));
    }
    deliver(ctx, state, &client, id, planned, &facts)
}

/// Flux `generic-hmac`: with a key configured for the instance, every event must carry a valid
/// signature, unless the relay authenticated the request itself (`--verified-by-relay`) or this
/// is a replay. Not scoped by operator: an unguarded hook would then take an unsigned body that
/// merely looks like Argo CD's.
fn check_signature(instance: &Instance, bytes: &[u8], arrival: Arrival) -> Result<(), Refused> {
    match &instance.hmac_key {
        Some(key) if !arrival.verified_by_relay => {
            signature::verify(key.expose().as_bytes(), bytes, arrival.signature).map_err(Refused)
        }
        _ => Ok(()),
    }
}

/// PROTOCOL §3: with no local record of a commit, GitHub's combined status says whether it has
/// already ended, so that a connector that lost its state does not notify a second time.
fn assume_from_host_if_unknown(
    ctx: &Ctx,
    state: &State,
    instance: &Instance,
    report: &Report,
    client: &Client,
) -> Result<()> {
    let Some(request) = instance.git.ended_request(&report.commit) else {
        return Ok(());
    };
    if report.end.is_none()
        || state
            .store()
            .commits()
            .get(&instance.name, report.commit.as_str())?
            .is_some()
    {
        return Ok(());
    }
    let timeout = ctx
        .deadline()
        .saturating_duration_since(std::time::Instant::now())
        .min(Duration::from_secs(5));
    match client.send(&request, &Credentials::of(instance), timeout) {
        Ok(answer) => {
            if let Some(outcome) = answer
                .json()
                .as_ref()
                .and_then(|a| instance.git.ended_outcome(a))
            {
                log::verbose(&format!(
                    "commit {} has no local record and GitHub says it already ended ({outcome}): not notifying again",
                    report.commit
                ));
                state.store().commits().assume_ended(
                    &instance.name,
                    report.commit.as_str(),
                    outcome,
                )?;
            }
        }
        Err(failure) => log::warn(&format!(
            "could not read the combined status of {} ({}); deciding from local records alone",
            report.commit,
            failure.why()
        )),
    }
    Ok(())
}

/// Sends what this event owes and turns how it stands into the exit code.
fn deliver(
    ctx: &Ctx,
    state: &mut State,
    client: &Client,
    id: i64,
    planned: Planned,
    facts: &Facts,
) -> Result<Code> {
    let Planned {
        verdict,
        why,
        rows,
        queues,
    } = planned;
    let why = why.as_deref();
    let deliveries =
        Sender::new(client, &ctx.config, ctx.deadline()).drain_queues(state, queues)?;
    deliver::warn_about(&deliveries);
    // Delivering this event's notification rewrote its why in the journal, to this.
    let why = deliveries
        .iter()
        .filter(|d| d.event == Some(id))
        .find_map(|d| d.noted.clone())
        .or_else(|| why.map(str::to_string));
    finish_output(ctx, id, verdict, why.as_deref(), facts, &deliveries);
    let ids: Vec<i64> = rows
        .iter()
        .copied()
        .chain(deliveries.iter().map(|d| d.row))
        .collect();
    let (owed, failed, refused) = state.store().outbox().standing(&ids)?;
    if owed > 0 {
        deliver::warn_about_owed_in(state, &ids, &deliveries)?;
    }
    Ok(Code::standing(owed, failed, refused))
}

fn finish_output(
    ctx: &Ctx,
    id: i64,
    verdict: Verdict,
    why: Option<&str>,
    facts: &Facts,
    deliveries: &[Delivery],
) {
    match ctx.output {
        Output::Json => print_json(&json!({
            "event": id,
            "outcome": verdict,
            "why": why,
            "instance": facts.instance,
            "operator": facts.operator,
            "kind": facts.kind,
            "reason": facts.reason,
            "commit": facts.commit,
            "deliveries": deliveries,
        })),
        Output::Text => {
            for d in deliveries {
                crate::outln!("{}", d.line());
            }
            log::verbose(&format!(
                "event {id}: {verdict}{}",
                why.map(|w| format!(": {w}")).unwrap_or_default()
            ));
        }
    }
}
