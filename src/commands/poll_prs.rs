//! `poll-prs`: fail the Azure Pipelines tasks still waiting on abandoned PRs (PROTOCOL §5).
//!
//! One pass lists the abandoned PRs (every page), and queues a `failed` callback for each one
//! closed within the cutoff that no earlier pass handled. PRs are remembered, so an idle pass
//! costs the list requests only.

use super::{print_json, Ctx};
use crate::cli::{Output, PollArgs};
use crate::config::{ConfigError, Instance};
use crate::deliver::{self, Sender};
use crate::event::time::parse_rfc3339;
use crate::exit::Code;
use crate::hosts::azure::{repo_url, GIT_API_VERSION};
use crate::http::{Client, Credentials, Failure};
use crate::log;
use crate::orchestrators::azure_pipelines::{self, Pipelines};
use crate::orchestrators::Job;
use crate::report::Outcome;
use crate::request::{Request, Target};
use crate::state::now_ms;
use crate::state::outbox::{self, Kind, NewRow};
use crate::state::values::PrState;
use anyhow::Result;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::Duration;

/// Azure DevOps pages PR lists; we ask for this many per page.
pub const PAGE: usize = 100;

#[derive(Debug, Default, Serialize)]
struct Summary {
    pages: usize,
    listed: usize,
    in_cutoff: usize,
    already_handled: usize,
    queued: usize,
    notified: usize,
    nothing_to_do: usize,
    failed: usize,
    owed: usize,
}

/// The request for one page of abandoned PRs.
pub fn list_request(org_url: &str, pr_repo: &str, skip: usize) -> Request {
    Request::get(
        Target::Kind(&azure_pipelines::TARGET),
        format!(
            "{}/pullrequests?searchCriteria.status=abandoned&$top={PAGE}&$skip={skip}&api-version={GIT_API_VERSION}",
            repo_url(org_url, pr_repo)
        ),
    )
}

/// Polls the instance `--instance` names, else every instance whose orchestrator is Azure
/// Pipelines; the exit code is the one that asks most of the operator.
pub fn run(ctx: &Ctx, args: &PollArgs) -> Result<Code> {
    let instances: Vec<&Instance> = match ctx.instance.as_deref() {
        Some(name) => vec![ctx.config.select(Some(name), None)?],
        None if ctx.config.instances.is_empty() => {
            return Err(ConfigError(crate::config::NO_INSTANCE.into()).into())
        }
        None => ctx.config.instances.iter().collect(),
    };
    let mut code = Code::Ok;
    let mut polled = 0;
    for instance in &instances {
        if let Some(pipelines) = instance.orchestrator.waits_on_prs() {
            polled += 1;
            code = super::most_pressing(code, poll(ctx, args, instance, pipelines)?);
        }
    }
    if polled == 0 {
        let names: Vec<&str> = instances.iter().map(|i| i.name.as_str()).collect();
        let why = format!(
            "no instance uses Azure Pipelines ({}): nothing waits on a PR, nothing to poll",
            names.join(", ")
        );
        match ctx.output {
            Output::Json => print_json(&json!({"instances": names, "nothing": why})),
            Output::Text => crate::outln!("{why}"),
        }
    }
    Ok(code)
}

/// Every page of abandoned PRs (an unpaged list stops at 101): each id with when it was closed.
/// A failed listing queues nothing; its exit code says what would help.
fn list_abandoned(
    ctx: &Ctx,
    client: &Client,
    credentials: &Credentials,
    pipelines: &Pipelines,
    summary: &mut Summary,
) -> Result<Vec<(u64, Option<i64>)>, Code> {
    let mut abandoned = Vec::new();
    loop {
        let request = list_request(
            &pipelines.manifests.org_url,
            &pipelines.pr_repo,
            summary.listed,
        );
        let timeout = ctx
            .deadline()
            .saturating_duration_since(std::time::Instant::now())
            .min(Duration::from_secs(8));
        let answer = client
            .send(&request, credentials, timeout)
            .map_err(|failure| {
                log::error(&format!("listing abandoned PRs failed: {}", failure.why()));
                match failure {
                    Failure::Config { .. } => Code::Config,
                    Failure::Final { .. } => Code::HostRejected,
                    Failure::Retry { .. } => Code::Owed,
                }
            })?;
        summary.pages += 1;
        let page: Vec<Value> = answer
            .json()
            .and_then(|v| v.get("value").and_then(Value::as_array).cloned())
            .unwrap_or_default();
        for pr in &page {
            if let Some(id) = pr.get("pullRequestId").and_then(Value::as_u64) {
                let closed = pr
                    .get("closedDate")
                    .and_then(Value::as_str)
                    .and_then(parse_rfc3339);
                abandoned.push((id, closed));
            }
        }
        summary.listed += page.len();
        if page.len() < PAGE {
            return Ok(abandoned);
        }
    }
}

/// Queues a `failed` callback for each PR, and remembers the PRs: one transaction.
fn queue_callbacks(
    state: &mut crate::state::State,
    instance: &str,
    prs_to_fail: &[u64],
) -> Result<(Vec<i64>, Vec<String>)> {
    let target = Target::Kind(&azure_pipelines::TARGET);
    state.immediate(|tx| {
        let mut rows = Vec::new();
        let mut queues = Vec::new();
        for pr in prs_to_fail {
            let job = Job {
                outcome: Outcome::Failure,
                commit: None,
                pr: Some(*pr),
                superseded_by: None,
                of_pr: None,
            };
            let commit = format!("pr-{pr}");
            rows.push(tx.outbox().enqueue(&NewRow {
                event_id: None,
                instance,
                commit: Some(&commit),
                target: &target,
                kind: Kind::Notify,
                context: None,
                request: None,
                job: Some(serde_json::to_string(&job)?),
            })?);
            queues.push(outbox::queue_of(instance, Some(&commit), &target));
            tx.prs().mark(instance, *pr, PrState::Queued, None)?;
        }
        Ok((rows, queues))
    })
}

fn print_pass(
    ctx: &Ctx,
    instance: &str,
    summary: &Summary,
    deliveries: &[crate::deliver::Delivery],
) {
    match ctx.output {
        Output::Json => {
            print_json(
                &json!({"instance": instance, "summary": summary, "deliveries": deliveries}),
            );
        }
        Output::Text => {
            for d in deliveries {
                crate::outln!("{}", d.line());
            }
            crate::outln!(
                "{} listed ({} pages), {} within the cutoff, {} already handled, {} notified, {} with nothing to do, {} failed, {} owed",
                summary.listed,
                summary.pages,
                summary.in_cutoff,
                summary.already_handled,
                summary.notified,
                summary.nothing_to_do,
                summary.failed,
                summary.owed
            );
        }
    }
}

/// `--dry-run`: which PRs' tasks a pass would fail; reads the state, writes nothing.
fn dry_run(ctx: &Ctx, instance: &Instance, due: &[u64], mut summary: Summary) -> Result<Code> {
    let handled = match ctx.state_path() {
        Ok(path) if path.exists() => ctx.open_state()?.store().prs().handled(&instance.name)?,
        _ => HashSet::default(),
    };
    let would: Vec<u64> = due
        .iter()
        .copied()
        .filter(|pr| !handled.contains(pr))
        .collect();
    summary.already_handled = due.len() - would.len();
    match ctx.output {
        Output::Json => print_json(&json!({"dry_run": true, "summary": summary, "would_fail_tasks_of": would})),
        Output::Text => crate::outln!(
            "{} abandoned PRs listed, {} within the cutoff, {} already handled; would fail the tasks of PRs {:?}",
            summary.listed, summary.in_cutoff, summary.already_handled, would
        ),
    }
    Ok(Code::Ok)
}

/// One pass over one instance's abandoned PRs.
fn poll(ctx: &Ctx, args: &PollArgs, instance: &Instance, pipelines: &Pipelines) -> Result<Code> {
    let client = ctx.client();
    let credentials = Credentials::of(instance);
    let mut summary = Summary::default();
    let abandoned = match list_abandoned(ctx, &client, &credentials, pipelines, &mut summary) {
        Ok(abandoned) => abandoned,
        // Nothing was queued for this pass: the code says what would help.
        Err(code) => return Ok(code),
    };

    let cutoff = now_ms() / 1000 - i64::try_from(args.max_age.as_secs()).unwrap_or(i64::MAX / 2);
    let due: Vec<u64> = abandoned
        .iter()
        .filter(|(_, closed)| closed.is_none_or(|c| c >= cutoff))
        .map(|(id, _)| *id)
        .collect();
    summary.in_cutoff = due.len();

    if ctx.dry_run {
        return dry_run(ctx, instance, &due, summary);
    }
    let mut state = ctx.open_state()?;
    let handled = state.store().prs().handled(&instance.name)?;
    let fresh: Vec<u64> = due.into_iter().filter(|pr| !handled.contains(pr)).collect();
    summary.already_handled = summary.in_cutoff - fresh.len();
    let (rows, mut queues) = queue_callbacks(&mut state, &instance.name, &fresh)?;
    summary.queued = rows.len();
    // Callbacks that earlier passes left owed go again too: a pass reports on everything owed.
    let prefix = format!("{}/pr-", instance.name);
    let earlier: Vec<String> = state
        .store()
        .outbox()
        .open_queues()?
        .into_iter()
        .filter(|q| q.starts_with(&prefix))
        .collect();
    queues.extend(earlier);
    let deliveries =
        Sender::new(&client, &ctx.config, ctx.deadline()).drain_queues(&mut state, queues)?;
    let nothing: HashSet<i64> = state
        .store()
        .outbox()
        .nothing_among(&deliveries.iter().map(|d| d.row).collect::<Vec<_>>())?;
    for d in &deliveries {
        if nothing.contains(&d.row) {
            summary.nothing_to_do += 1;
        } else if d.ok {
            summary.notified += 1;
        }
    }
    deliver::warn_about(&deliveries);
    let mut delivered_rows: Vec<i64> = deliveries
        .iter()
        .map(|d| d.row)
        .chain(rows.iter().copied())
        .collect();
    delivered_rows.sort_unstable();
    delivered_rows.dedup();
    let (_, failed, refused) = state.store().outbox().standing(&delivered_rows)?;
    let owed = state
        .store()
        .outbox()
        .open_queues()?
        .into_iter()
        .filter(|q| q.starts_with(&prefix))
        .count();
    summary.owed = owed;
    summary.failed = failed + refused;
    print_pass(ctx, &instance.name, &summary, &deliveries);
    Ok(Code::standing(owed, failed, refused))
}
