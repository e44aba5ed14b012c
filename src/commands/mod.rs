//! One module per sub-command. Each takes the parsed command line and returns the exit code;
//! `main` only maps errors to codes.

mod config;
mod dry_run;
mod event;
mod events;
mod generate;
mod man;
mod periodic;
mod planning;
mod poll_prs;
mod replay;
mod state;

use crate::cli::{Cli, Command, Global, Output};
use crate::config::{ConfigError, Flags};
use crate::exit::{Code, StateError};
use crate::state::State;
use anyhow::Result;
use sha2::Digest as _;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub use crate::plan::Mode;

/// What every command needs: the resolved configuration and the shared options.
pub struct Ctx {
    pub config: crate::config::Config,
    pub instance: Option<String>,
    pub output: Output,
    pub dry_run: bool,
    pub ack_rejected: bool,
    pub started: Instant,
}

impl Ctx {
    fn new(global: &Global) -> Result<Ctx> {
        let env: BTreeMap<String, String> = std::env::vars().collect();
        let file = match &global.config {
            Some(path) => Some((path.clone(), true)),
            None => project_dirs().map(|d| (d.config_dir().join("config.toml"), false)),
        };
        let flags = Flags {
            state: global.state.clone(),
            budget_seconds: global.budget,
        };
        let config = crate::config::load(file, &env, &flags)?;
        Ok(Ctx {
            config,
            instance: global.instance.clone(),
            output: global.output,
            dry_run: global.dry_run,
            ack_rejected: global.ack_rejected,
            started: Instant::now(),
        })
    }

    pub fn deadline(&self) -> Instant {
        self.started + self.config.budget
    }

    pub fn state_path(&self) -> Result<PathBuf, ConfigError> {
        if let Some(path) = &self.config.state {
            return Ok(path.clone());
        }
        let dirs = project_dirs().ok_or_else(|| {
            ConfigError(
                "there is no home directory to keep the state in: pass --state PATH or set GITOPS_CONNECTOR_STATE".into(),
            )
        })?;
        let dir = dirs.state_dir().unwrap_or_else(|| dirs.data_local_dir());
        Ok(dir.join("state.db"))
    }

    /// The HTTP client, keeping short-lived tokens (Entra, GitHub App) beside the state file
    /// (`state.db.tokens`). With a PostgreSQL state, in this user's cache folder, one file per
    /// state (`tokens-` and a digest of its URL): tokens never go into the shared state.
    pub fn client(&self) -> crate::http::Client {
        let cache = self.state_path().ok().and_then(|p| {
            let location = p.display().to_string();
            if crate::state::is_server_url(&location) {
                let shown = crate::url::without_credentials(&location);
                let digest = crate::signature::hex(&sha2::Sha256::digest(shown.as_bytes()));
                project_dirs().map(|d| d.cache_dir().join(format!("tokens-{}", &digest[..16])))
            } else {
                Some(PathBuf::from(format!("{location}.tokens")))
            }
        });
        crate::http::Client::new().caching_tokens_in(cache)
    }

    pub fn open_state(&self) -> Result<State> {
        let path = self.state_path()?;
        // Wait for the lock as long as the budget allows: parallel invocations queue, never fail.
        let busy = self.config.budget.max(Duration::from_secs(5));
        self.open_state_at(&crate::state::Opening {
            location: &path.display().to_string(),
            busy,
            password_file: self.config.state_password_file.as_deref(),
        })
    }

    /// Opens the state `opening` names: a server that is down, or a lock other processes hold
    /// past the budget, is owed (75); anything else a broken state (74).
    pub fn open_state_at(&self, opening: &crate::state::Opening) -> Result<State> {
        State::open_with(opening).map_err(|e| {
            let message = format!(
                "{e:#} (the state is chosen by --state, GITOPS_CONNECTOR_STATE or `state` in the config file)"
            );
            // A server that is down makes the event owed (75), not a broken state (74).
            if e.chain().any(|cause| {
                cause.is::<crate::exit::StateUnavailable>() || crate::exit::is_busy(cause)
            }) {
                crate::exit::StateUnavailable(message).into()
            } else {
                StateError(message).into()
            }
        })
    }
}

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "gitops-connector")
}

pub fn run(cli: &Cli) -> Result<Code> {
    match &cli.command {
        Command::Generate(args) => return generate::run(args, cli.global.dry_run),
        // Reads the configuration afresh each round.
        Command::Periodic(args) => return periodic::run(&cli.global, args),
        _ => {}
    }
    let ctx = Ctx::new(&cli.global)?;
    match &cli.command {
        Command::Status(args) => event::run(&ctx, args, Mode::Status),
        Command::Notify(args) => event::run(&ctx, args, Mode::Notify),
        Command::Handle(args) => event::run(&ctx, args, Mode::Handle),
        Command::PollPrs(args) => poll_prs::run(&ctx, args),
        Command::Replay(args) => replay::run(&ctx, args),
        Command::Events(args) => events::run(&ctx, args),
        Command::Prune(args) => events::prune(&ctx, args),
        Command::Config => config::run(&ctx),
        Command::State(args) => state::run(&ctx, args),
        Command::Generate(_) | Command::Periodic(_) => unreachable!("handled above"),
    }
}

/// Of two exit codes, the one that asks most of the operator: a configuration to fix, a refusal,
/// something owed, something refused by a host, then success.
pub fn most_pressing(a: Code, b: Code) -> Code {
    let rank = |c: Code| match c {
        Code::Ok => 0,
        Code::HostRejected => 1,
        Code::Owed => 2,
        Code::InvalidEvent | Code::Usage => 3,
        Code::Refused => 4,
        Code::Io | Code::Internal => 5,
        Code::Config => 6,
    };
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

/// Prints a JSON document on stdout.
fn print_json(value: &serde_json::Value) {
    crate::outln!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}
