//! `replay --failed`: send everything still owed. `replay ID`: process a journaled event again.

use super::event::{exit_code, process, Mode};
use super::{print_json, Ctx};
use crate::cli::{Output, ReplayArgs};
use crate::deliver::Sender;
use crate::exit::{Code, InputError, Refused};
use crate::http::Client;
use crate::log;
use crate::state::journal;
use crate::state::now_ms;
use crate::state::outbox::{self, Scope};
use anyhow::Result;
use serde_json::json;

pub fn run(ctx: &Ctx, args: &ReplayArgs) -> Result<Code> {
    let mut state = ctx.open_state()?;
    if let Some(id) = args.id {
        let Some(event) = journal::get(state.conn(), id)? else {
            return Err(InputError(format!(
                "there is no event {id}; see `gitops-connector events`"
            ))
            .into());
        };
        // A replay cannot check a signature (the header is not journaled). Events accepted on
        // arrival were checked then; a rejected one may be a forgery, so it is not replayed where
        // signatures are required.
        let signed = ctx.config.instances.iter().any(|i| i.hmac_key.is_some());
        if signed && event.outcome == "rejected" {
            return Err(Refused(format!(
                "event {id} was rejected on arrival ({}), and its signature cannot be checked again: \
                 have the sender resend it",
                event.why.as_deref().unwrap_or("no reason recorded")
            ))
            .into());
        }
        let body = journal::body(state.conn(), id)?.unwrap_or_default();
        if ctx.dry_run {
            return super::event::dry_run_bytes(ctx, &body, Mode::parse(&event.command));
        }
        return process(
            ctx,
            &mut state,
            &body,
            Mode::parse(&event.command),
            None,
            Some(id),
        );
    }
    if ctx.dry_run {
        let open = outbox::open_queues(state.conn())?;
        crate::outln!(
            "{} queues hold requests still owed; nothing sent (--dry-run)",
            open.len()
        );
        return Ok(Code::Ok);
    }
    // The CronJob that replays is also what keeps the journal small.
    let before = now_ms() - (ctx.config.retention_days as i64) * 86_400_000;
    let pruned = journal::prune(state.conn(), before)?;
    if pruned.events > 0 {
        log::verbose(&format!("pruned {} events past retention", pruned.events));
    }
    let client = Client::new();
    let sender = Sender::new(&client, &ctx.config, ctx.deadline()).retrying_now();
    let deliveries = sender.drain(&mut state, &Scope::All)?;
    let ids: Vec<i64> = deliveries.iter().map(|d| d.row).collect();
    let (_, failed, refused) = outbox::standing(state.conn(), &ids)?;
    let owed = outbox::open_queues(state.conn())?.len();
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
    Ok(exit_code(owed, failed, refused))
}
