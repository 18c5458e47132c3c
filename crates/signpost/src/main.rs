//! `signpost`: the self-hosted DNS traffic manager. This file only parses the command line and hands
//! over to the library; see `serve.rs` for how the parts are wired.

use std::process::ExitCode;

use clap::Parser;
use signpost::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    signpost::logging::init(cli.log_level.as_deref());
    let result = match cli.command {
        Command::Serve(args) => signpost::serve::run(args),
        Command::Validate(args) => signpost::validate::run(args),
        Command::Status(args) => signpost::status::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::from(1)
        }
    }
}
