//! gitops-connector: bytes → event → statuses and outcome → planned requests → sent requests → journal.
//!
//! `event` and `report` read operator events; `ending` and `plan` decide what to send (all
//! pure); `hosts` and `orchestrators` know each API; `http` sends; `state` remembers; `deliver`
//! drains the outbox; `commands` wires one sub-command each.

pub mod cli;
pub mod commands;
pub mod config;
pub mod deliver;
pub mod ending;
pub mod event;
pub mod exit;
pub mod hosts;
pub mod http;
pub mod log;
pub mod orchestrators;
pub mod plan;
pub mod report;
pub mod request;
pub mod signature;
pub mod state;
pub mod url;

/// `println!` that survives a closed pipe (`gitops-connector events | head`): a reader that went
/// away is not an error worth a panic, so the process just stops writing and exits.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if writeln!(std::io::stdout().lock(), $($arg)*).is_err() {
            std::process::exit(0);
        }
    }};
}
