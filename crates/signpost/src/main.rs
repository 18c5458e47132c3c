//! `signpost`: the self-hosted DNS traffic manager. This file only parses the command line and hands
//! over to the library; see `serve.rs` for how the parts are wired.

use std::process::ExitCode;

use clap::Parser;
use signpost::cli::{Cli, Command, ImportCommand};
use signpost::commands;

fn main() -> ExitCode {
    let cli = Cli::parse();
    signpost::logging::init(cli.log_level.as_deref(), cli.log_format);
    let client =
        || signpost::client::Client::new(&cli.api_url, cli.token.clone(), cli.api_ca.as_deref());
    let out = cli.output;
    let result = match cli.command {
        Command::Serve(args) => signpost::serve::run(*args),
        Command::Validate(args) => signpost::validate::run(args),
        Command::Status(args) => match args.data_dir {
            Some(dir) => signpost::status::run(&dir, args.profile.as_deref()),
            None => client().and_then(|c| commands::status(&c, out, args.profile.as_deref())),
        },
        Command::Profile(cmd) => client().and_then(|c| commands::profile(&c, out, cmd)),
        Command::Endpoint(cmd) => client().and_then(|c| commands::endpoint(&c, out, cmd)),
        Command::Explain(args) => client().and_then(|c| commands::explain(&c, out, args)),
        Command::Apply(args) => client().and_then(|c| commands::apply(&c, out, args)),
        Command::Import(ImportCommand::Azure(args)) => {
            client().and_then(|c| signpost::import::run(&c, out, args))
        }
        Command::Nodes => client().and_then(|c| commands::nodes(&c, out)),
        Command::Rum(signpost::cli::RumCommand::Key(args)) => {
            client().and_then(|c| commands::rum_key(&c, out, &args))
        }
        Command::Dnssec(cmd) => client().and_then(|c| commands::dnssec(&c, out, cmd)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<commands::NotFound>() => {
            eprintln!("Error: {e:#}");
            ExitCode::from(3)
        }
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::from(1)
        }
    }
}
