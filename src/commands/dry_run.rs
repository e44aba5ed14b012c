//! `--dry-run` of an event: what a fresh state would send for it. Reads no state, writes none,
//! sends nothing; a notification shows its first step (its later steps need the hosts' answers),
//! a deployment its creation. The release of skipped commits needs a state: it is not shown.

use super::{print_json, Ctx};
use crate::cli::Output;
use crate::config::Instance;
use crate::deployment;
use crate::event::Event;
use crate::event::{self, Parsed};
use crate::exit::Code;
use crate::orchestrators::{self, Job, Step};
use crate::plan::{self, Mode};
use crate::report::{self, Report};
use crate::request::Request;
use anyhow::{Context, Result};
use serde_json::json;

/// `--dry-run`: what a fresh state would send for this event. Reads no state, writes none.
pub fn event(ctx: &Ctx, bytes: &[u8], mode: Mode) -> Result<Code> {
    let parsed = event::parse(bytes).context("the event is invalid")?;
    let instance = ctx
        .config
        .select(ctx.instance.as_deref(), parsed.header().instance.as_deref())?;
    let event = match parsed {
        Parsed::Ignored(ignored) => {
            match ctx.output {
                Output::Json => print_json(
                    &json!({"dry_run": true, "outcome": "ignored", "why": ignored.why, "requests": []}),
                ),
                Output::Text => crate::outln!("ignored: {}", ignored.why),
            }
            return Ok(Code::Ok);
        }
        Parsed::Event(event) => event,
    };
    let event = event.in_environment(instance.environment.as_deref());
    let report = report::report(&event);
    let mut requests: Vec<Request> = Vec::new();
    if mode.posts_statuses() {
        requests.extend(
            plan::status_requests(
                instance,
                event.header.operator,
                &report.commit,
                &report.statuses,
            )
            .into_iter()
            .map(|p| p.request),
        );
    }
    let deployment = first_deployment(instance, &event, &report, mode);
    let notification = notification(instance, &report, mode);
    match ctx.output {
        Output::Json => print_json(&json!({
            "dry_run": true,
            "instance": instance.name,
            "commit": report.commit.as_str(),
            "ends": report.end,
            "requests": requests,
            "deployment": deployment,
            "notification": notification,
        })),
        Output::Text => {
            for r in &requests {
                crate::outln!("{} {r}", r.target);
                if let Some(body) = &r.body {
                    crate::outln!("  {body}");
                }
            }
            if let Some(d) = deployment {
                crate::outln!("deployment: {d}");
            }
            if let Some(n) = notification {
                crate::outln!("notification: {n}");
            }
        }
    }
    Ok(Code::Ok)
}

/// A fresh state has no deployment yet: it would be created, then given its first state.
fn first_deployment(
    instance: &Instance,
    event: &Event,
    report: &Report,
    mode: Mode,
) -> Option<serde_json::Value> {
    if !(mode.posts_statuses() && instance.deployments) {
        return None;
    }
    let environment = deployment::environment(event.header.environment.as_deref());
    let state = deployment::after(None, report.end)?;
    let create = instance
        .git
        .deployment_request(&report.commit, environment)?;
    Some(json!({"create": create, "then": format!("deployment status {state}")}))
}

/// A flow that starts by reading: what it reads first, whether one read or several at once.
fn first_reads(outcome: report::Outcome, reads: &[Request]) -> serde_json::Value {
    json!({"outcome": outcome, "first_reads": reads, "then": "the notification built from the answers"})
}

/// The notification's first step, when the event ends the deployment.
fn notification(instance: &Instance, report: &Report, mode: Mode) -> Option<serde_json::Value> {
    match (mode.notifies(), report.end) {
        (true, Some(outcome)) => {
            let job = Job::of_commit(report.commit.as_str(), outcome);
            let first = orchestrators::flow(instance, &job).and_then(|mut f| f.next(None));
            Some(match first {
                Ok(Step::Read(read)) => first_reads(outcome, &[read]),
                Ok(Step::Reads(reads)) => first_reads(outcome, &reads),
                Ok(Step::Send(send)) => json!({"outcome": outcome, "send": send}),
                Ok(Step::Nothing(why)) => json!({"outcome": outcome, "nothing": why}),
                Ok(Step::Fan(jobs, why)) => json!({"outcome": outcome, "fan": jobs, "why": why}),
                Err(e) => json!({"outcome": outcome, "error": e.to_string()}),
            })
        }
        (true, None) => Some(json!({"nothing": "this event does not end the deployment"})),
        (false, _) => None,
    }
}
