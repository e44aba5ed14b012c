//! Parses the command line, runs it, prints the error and exits with its code. Nothing else.

#![forbid(unsafe_code)]

use clap::Parser;
use gitops_connector::cli::{Cli, Command, LogFormat};
use gitops_connector::{commands, exit, log, output};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let level = match (cli.global.quiet, cli.global.verbose) {
        (true, _) => log::Level::Quiet,
        (false, 0) => log::Level::Normal,
        (false, _) => log::Level::Verbose,
    };
    let format = match cli.global.log_format {
        LogFormat::Text => log::Format::Text,
        LogFormat::Json => log::Format::Json,
    };
    log::init(level, format);
    let ack_rejected = cli.global.ack_rejected;
    // Listings may be cut short by their reader (`events | head`); commands that act may not.
    let listing = matches!(
        cli.command,
        Command::Events(_) | Command::Config | Command::Generate(_)
    );
    let code = match commands::run(&cli) {
        Ok(code) => code,
        Err(error) => {
            log::error(&format!("{error:#}"));
            match exit::code_of(&error) {
                exit::Code::InvalidEvent if ack_rejected => exit::Code::Ok,
                code => code,
            }
        }
    };
    let code = match output::verdict(listing) {
        Some(why) => {
            log::error(&why);
            // The work's own code says more (75: owed); only success is not the whole story.
            if code == exit::Code::Ok {
                exit::Code::Io
            } else {
                code
            }
        }
        None => code,
    };
    ExitCode::from(code.as_u8())
}
