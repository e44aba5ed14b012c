//! `periodic`: what a CronJob or a loop beside the relay runs. One round sends what is owed
//! (`replay --failed`, which also prunes past the retention) and then fails the tasks of
//! abandoned PRs (`poll-prs`) for every Azure Pipelines instance. Running it in the relay's own
//! pod keeps SQLite's one writer: no second pod ever opens the state.

use super::{most_pressing, poll_prs, replay, Ctx};
use crate::cli::{Global, PeriodicArgs, ReplayArgs};
use crate::exit::{self, Code};
use crate::log;
use anyhow::Result;

pub fn run(global: &Global, args: &PeriodicArgs) -> Result<Code> {
    let Some(every) = args.every else {
        return round(global, args);
    };
    loop {
        // Each round reads the configuration afresh (a mounted ConfigMap or Secret changes) and
        // has its own budget; an error is logged and the next round tries again.
        match round(global, args) {
            Ok(Code::Ok) => log::verbose("periodic: round done, nothing owed"),
            Ok(code) => log::warn(&format!(
                "periodic: round done with exit code {} (see the lines above); next round in {}s",
                code.as_u8(),
                every.as_secs()
            )),
            Err(error) => log::error(&format!(
                "periodic: round failed (exit code {}): {error:#}; next round in {}s",
                exit::code_of(&error).as_u8(),
                every.as_secs()
            )),
        }
        std::thread::sleep(every);
    }
}

fn round(global: &Global, args: &PeriodicArgs) -> Result<Code> {
    let replayed = replay::run(
        &Ctx::new(global)?,
        &ReplayArgs {
            id: None,
            failed: true,
        },
    )?;
    let polled = poll_prs::run(&Ctx::new(global)?, &args.poll)?;
    Ok(most_pressing(replayed, polled))
}
