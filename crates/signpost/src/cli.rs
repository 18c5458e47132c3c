//! The command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Signpost: a self-hosted DNS traffic manager.
#[derive(Debug, Parser)]
#[command(name = "signpost", version, about)]
pub struct Cli {
    /// Log filter (`info`, `debug`, `signpost_dns=debug`, ...); defaults to RUST_LOG or `info`.
    #[arg(long, global = true)]
    pub log_level: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the authoritative DNS server.
    Serve(ServeArgs),
    /// Check a profiles file and exit (0 when valid, 1 with every error otherwise).
    Validate(ValidateArgs),
    /// Show every endpoint's health, from a running server's data directory.
    Status(StatusArgs),
}

/// `signpost status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// Only this profile.
    pub profile: Option<String>,
    /// The server's data directory.
    #[arg(long, default_value = "signpost-data", env = "SIGNPOST_DATA_DIR")]
    pub data_dir: PathBuf,
}

/// `signpost serve`: every flag overrides the same setting of `--config`.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// TOML settings file (flags override its values).
    #[arg(long, short = 'c', env = "SIGNPOST_CONFIG")]
    pub config: Option<PathBuf>,
    /// Traffic-manager zone to be authoritative for (repeat for several; every profile is served in
    /// each). Default: trafficmanager.example.
    #[arg(long = "zone")]
    pub zones: Vec<String>,
    /// Address to answer DNS on, UDP and TCP (repeat for several, IPv4 or IPv6). Default:
    /// 127.0.0.1:5353.
    #[arg(long = "dns-listen")]
    pub dns_listen: Vec<SocketAddr>,
    /// Profiles file (YAML or JSON, `profiles: [...]`), applied to the store at start and whenever
    /// it changes. Without it the store is the only source; an empty store is seeded with the
    /// shipped example (examples/profiles.yaml, or its built-in copy).
    #[arg(long)]
    pub profiles: Option<PathBuf>,
    /// UDP worker threads per address. Default: one per core.
    #[arg(long)]
    pub dns_workers: Option<usize>,
    /// Directory for state that survives restarts (last known health). Default: ./signpost-data.
    #[arg(long, env = "SIGNPOST_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// DNS server (ADDR:PORT) that resolves probe targets given as names. Default: the system
    /// resolver.
    #[arg(long)]
    pub probe_resolver: Option<SocketAddr>,
    /// Probes allowed in flight at once. Default: 1024.
    #[arg(long)]
    pub max_probes_in_flight: Option<usize>,
    /// Address of the REST API. Default: 127.0.0.1:8053. Without tokens it must be loopback.
    #[arg(long)]
    pub api_listen: Option<SocketAddr>,
}

/// `signpost validate`.
#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {
    /// The profiles file to check.
    pub file: PathBuf,
}
