//! The command line, as clap sees it. Also the source of the shell completions and man pages.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

const ABOUT: &str = "Tell your CI/CD pipeline what Flux or Argo CD did with its commit.";

const LONG_ABOUT: &str = "\
Tell your CI/CD pipeline what Flux or Argo CD did with its commit.

Takes one operator notification (JSON, from a file or stdin), posts commit statuses to GitHub,
Azure Repos, GitLab, Gitea or Bitbucket (and to subscribers), and when the deployment has ended tells GitHub Actions
(repository_dispatch or workflow_dispatch), Azure Pipelines (the waiting agentless task), a
GitLab pipeline or a signed webhook exactly once.
Everything is journaled in a small SQLite state, so nothing planned is lost: what a host did not
take is retried by `replay --failed`.

Typical wiring: a webhook relay (adnanh/webhook) runs `gitops-connector handle` per event, and a
loop beside it runs `gitops-connector periodic --every 60s` (replay --failed, then poll-prs).";

#[derive(Debug, Parser)]
#[command(name = "gitops-connector", version, about = ABOUT, long_about = LONG_ABOUT, after_help = crate::exit::help_table())]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every sub-command takes, before or after its name.
#[derive(Debug, Args)]
pub struct Global {
    /// Say more on stderr (each request, each decision)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Say nothing on stderr but the error that explains a non-zero exit
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Configuration file [default: config.toml in the platform config directory]
    #[arg(
        long,
        global = true,
        env = "GITOPS_CONNECTOR_CONFIG",
        value_name = "PATH"
    )]
    pub config: Option<PathBuf>,
    /// The state: a SQLite file, or a postgres:// URL several replicas share [env:
    /// GITOPS_CONNECTOR_STATE; default: a file in the platform state directory]
    #[arg(long, global = true, value_name = "PATH|URL")]
    pub state: Option<PathBuf>,
    /// The configured instance to use (else the event's gitops_connector_config_name, else the only one)
    #[arg(long, global = true, value_name = "NAME")]
    pub instance: Option<String>,
    /// How results are printed on stdout
    #[arg(long, global = true, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// How diagnostics are printed on stderr (json: one object per line, for log collectors)
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "GITOPS_CONNECTOR_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// Print the requests that would be sent; send nothing and write no state
    #[arg(long, global = true)]
    pub dry_run: bool,
    /// Seconds one invocation may spend sending; what is left stays owed (exit 75) [default: 10]
    #[arg(long, global = true, value_name = "SECONDS")]
    pub budget: Option<u64>,
    /// Exit 0 for invalid events (they are journaled as rejected), so a webhook relay answers 2xx
    /// and the sender stops resending them. Bad signatures and owed deliveries stay non-zero.
    #[arg(long, global = true)]
    pub ack_rejected: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Post the event's commit statuses to the Git host and subscribers
    #[command(
        after_help = "Example:\n  gitops-connector status event.json\n  kubectl get events -o json | jq -c '.items[0]' | gitops-connector status --dry-run"
    )]
    Status(EventArgs),
    /// If the event ends the deployment, tell the orchestrator (once per commit)
    #[command(after_help = "Example:\n  gitops-connector notify event.json")]
    Notify(EventArgs),
    /// Status and notify in one invocation: what a webhook relay runs
    #[command(
        after_help = "Example (adnanh/webhook passes the raw body as a file):\n  gitops-connector handle --signature \"$X_SIGNATURE\" /tmp/body"
    )]
    Handle(EventArgs),
    /// Fail the Azure Pipelines tasks still waiting on abandoned PRs (see also `periodic`)
    PollPrs(PollArgs),
    /// Send what is still owed, or process a journaled event again
    #[command(
        after_help = "Examples:\n  gitops-connector replay --failed        # what `periodic` runs every minute\n  gitops-connector replay 42 --dry-run    # what event 42 would send now\n  gitops-connector replay 42              # process event 42 again"
    )]
    Replay(ReplayArgs),
    /// List journaled events, or show one with its requests and their attempts
    Events(EventsArgs),
    /// Drop journal entries older than a given age (owed requests are always kept)
    Prune(PruneArgs),
    /// Print the resolved configuration, secrets redacted, with where each value came from
    Config,
    /// Run the periodic work: replay --failed, then poll-prs; with --every, in a loop
    ///
    /// One round sends what is owed (replay --failed, which also prunes past the retention), then
    /// fails the tasks of abandoned PRs (poll-prs) for every Azure Pipelines instance. With
    /// --every it repeats until stopped: run it beside the relay in the same pod, so that the
    /// SQLite state keeps one writer.
    #[command(
        after_help = "Examples:\n  gitops-connector periodic                # one round, e.g. from cron\n  gitops-connector periodic --every 60s    # a loop beside the relay, in the same pod\n\nWith --every, each round reads the configuration afresh, logs what it did, and an error\nis logged and tried again next round; the process runs until it is stopped."
    )]
    Periodic(PeriodicArgs),
    /// Work on the state itself: copy a SQLite state into PostgreSQL
    State(StateArgs),
    /// Write shell completions and man pages (what `completions/` and `man/` hold)
    Generate(GenerateArgs),
}

#[derive(Debug, Args)]
pub struct StateArgs {
    #[command(subcommand)]
    pub command: StateCommand,
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// Copy a state (journal, outbox with what is owed, what was told, handled PRs) into an
    /// empty one
    ///
    /// Stop the relay and the periodic work first (scale them to 0): the copy keeps the source's
    /// writers out while it runs, and what they would write afterwards stays behind. Nothing is
    /// sent; every commit already told stays told in the new state, so nothing is notified
    /// again. Then point --state / GITOPS_CONNECTOR_STATE at the new state.
    #[command(
        after_help = "Example:\n  export PGPASSWORD=...   # or state_password_file, or ~/.pgpass\n  gitops-connector state migrate --from /var/lib/gitops-connector/state.db \\\n      --to 'postgres://connector@db.internal:5432/connector?sslmode=verify-full&sslrootcert=/etc/ca.pem'"
    )]
    Migrate(MigrateArgs),
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The state to copy: a SQLite file (it must exist)
    #[arg(long, value_name = "PATH")]
    pub from: PathBuf,
    /// The empty state to copy into: a postgres:// URL [default: the configured state]
    #[arg(long, value_name = "URL")]
    pub to: Option<String>,
}

#[derive(Debug, Args)]
pub struct EventArgs {
    /// The event body; `-` or nothing reads stdin. A relay can name the file in the environment
    /// (adnanh/webhook's pass-file-to-command)
    #[arg(value_name = "EVENT", env = "GITOPS_CONNECTOR_EVENT")]
    pub path: Option<PathBuf>,
    /// The sender's X-Signature header (Flux generic-hmac), e.g. sha256=<hex>
    #[arg(long, env = "GITOPS_CONNECTOR_SIGNATURE", value_name = "VALUE")]
    pub signature: Option<String>,
    /// The relay authenticated this request itself (its trigger rule checked Flux's HMAC or
    /// Argo CD's shared header token): ask no signature of it even where an HMAC key is
    /// configured. Only for hooks whose trigger rule authenticates
    #[arg(long)]
    pub verified_by_relay: bool,
}

#[derive(Debug, Clone, Args)]
pub struct PollArgs {
    /// Only PRs closed within this age count (e.g. 72h, 3d, 90m)
    #[arg(long, value_name = "AGE", default_value = "72h", value_parser = parse_age)]
    pub max_age: Duration,
}

#[derive(Debug, Args)]
pub struct PeriodicArgs {
    /// Run a round every AGE (e.g. 60s, 5m) until stopped; without it, one round and exit
    #[arg(long, value_name = "AGE", value_parser = parse_every)]
    pub every: Option<Duration>,
    #[command(flatten)]
    pub poll: PollArgs,
}

/// A period: at least a second, as `parse_age` reads it.
fn parse_every(text: &str) -> Result<Duration, String> {
    parse_age(text).and_then(|d| {
        if d.is_zero() {
            Err("the period must be at least 1s".into())
        } else {
            Ok(d)
        }
    })
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// A journaled event id (see `events`) to process again
    #[arg(value_name = "ID", conflicts_with = "failed")]
    pub id: Option<i64>,
    /// Send every request still owed, oldest first, in order per commit
    #[arg(long)]
    pub failed: bool,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct EventsArgs {
    #[command(subcommand)]
    pub show: Option<EventsCommand>,
    /// Only events for this commit: its id, or a prefix of 7 or more hex digits
    #[arg(long, value_name = "SHA", value_parser = parse_commit_prefix)]
    pub commit: Option<String>,
    /// Only events that were rejected or still have requests owed or failed
    #[arg(long)]
    pub failed: bool,
    /// At most this many, newest first
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub limit: usize,
}

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// The event body, its outcome, and each request with its attempts
    Show {
        #[arg(value_name = "ID")]
        id: i64,
    },
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Age of the entries to drop (e.g. 30d, 12h) [default: retention_days of the configuration]
    #[arg(long, value_name = "AGE", value_parser = parse_age)]
    pub older_than: Option<Duration>,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Where to write completions/ and man/
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub out: PathBuf,
}

/// The longest age we take: a century. Longer is surely a mistake, and keeps every instant we
/// compute from an age far inside the range of the clock.
pub const MAX_AGE: Duration = Duration::from_secs(100 * 365 * 86_400);

/// `72h`, `3d`, `90m`, `30s` → a duration. The unit is required: `5` could mean anything.
pub fn parse_age(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let factor: u64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "" => {
            return Err(format!(
                "{text:?} has no unit: write it as seconds, minutes, hours or days, e.g. {text}s, {text}m, {text}h or {text}d"
            ))
        }
        _ => {
            return Err(format!(
                "{text:?}: the unit must be s, m, h or d (e.g. 30s, 90m, 72h, 30d)"
            ))
        }
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not an age like 72h, 3d or 90m"))?;
    n.checked_mul(factor)
        .map(Duration::from_secs)
        .filter(|age| *age <= MAX_AGE)
        .ok_or_else(|| format!("{text:?} is longer than a century; give a shorter age"))
}

/// A commit id or a prefix of one: 7 to 40 hex digits, as git takes them; stored lower-case.
pub fn parse_commit_prefix(text: &str) -> Result<String, String> {
    let text = text.trim();
    if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("{text:?} is not a commit id: use hex digits only"));
    }
    if !(7..=40).contains(&text.len()) {
        return Err(format!(
            "{text:?} has {} digits: give 7 to 40 hex digits of the commit id",
            text.len()
        ));
    }
    Ok(text.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn ages_parse_with_a_unit_and_within_a_century() {
        assert_eq!(parse_age("72h"), Ok(Duration::from_secs(72 * 3600)));
        assert_eq!(parse_age("3d"), Ok(Duration::from_secs(3 * 86_400)));
        assert_eq!(parse_age("90m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_age("30s"), Ok(Duration::from_secs(30)));
        assert!(parse_age("soon").is_err());
        assert!(parse_age("5").unwrap_err().contains("no unit"));
        assert!(parse_age("5w").unwrap_err().contains("s, m, h or d"));
        assert!(parse_age("9223372036854775807s")
            .unwrap_err()
            .contains("century"));
        assert!(parse_age("99999999999999999999d").is_err());
    }

    #[test]
    fn commit_prefixes_are_hex_of_seven_or_more_digits() {
        assert_eq!(parse_commit_prefix("1EABC9A"), Ok("1eabc9a".into()));
        assert!(parse_commit_prefix("1eabc9")
            .unwrap_err()
            .contains("7 to 40"));
        assert!(parse_commit_prefix("1eabc9z4").unwrap_err().contains("hex"));
        assert!(parse_commit_prefix(&"a".repeat(41)).is_err());
    }

    #[test]
    fn shared_options_work_after_the_sub_command() {
        let cli = Cli::try_parse_from([
            "gitops-connector",
            "status",
            "--dry-run",
            "--instance",
            "a",
            "x.json",
        ])
        .unwrap();
        assert!(cli.global.dry_run);
        assert_eq!(cli.global.instance.as_deref(), Some("a"));
    }
}
