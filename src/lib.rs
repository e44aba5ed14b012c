//! gitops-connector: bytes → event → statuses and outcome → planned requests → sent requests → journal.
//!
//! `event` and `report` read operator events; `ending` and `plan` decide what to send (all
//! pure); `hosts` and `orchestrators` know each API; `http` sends; `state` remembers; `deliver`
//! drains the outbox; `commands` wires one sub-command each.

#![forbid(unsafe_code)]

pub mod cli;
pub mod commands;
pub mod config;
pub mod decide;
pub mod deliver;
pub mod deployment;
pub mod ending;
pub mod event;
pub mod exit;
pub mod hosts;
pub mod http;
pub mod log;
pub mod orchestrators;
pub mod output;
pub mod plan;
pub mod release;
pub mod report;
pub mod request;
pub mod signature;
pub mod state;
pub mod url;

/// `println!` that never panics and never exits: the first write error is kept (see
/// [`output`]) and later lines are dropped, so that `main` can decide what it means for the exit
/// code once the work is done.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::output::line(format_args!($($arg)*))
    };
}
