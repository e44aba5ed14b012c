//! Parses the command line, runs it, prints the error and exits with its code. Nothing else.

use clap::Parser;
use gitops_connector::cli::{Cli, LogFormat};
use gitops_connector::{commands, exit, log};

fn main() {
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
    let code = match commands::run(cli) {
        Ok(code) => code,
        Err(error) => {
            log::error(&format!("{error:#}"));
            match exit::code_of(&error) {
                exit::Code::InvalidEvent if ack_rejected => exit::Code::Ok,
                code => code,
            }
        }
    };
    std::process::exit(code.as_i32());
}
