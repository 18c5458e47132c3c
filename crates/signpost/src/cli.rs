//! The command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Signpost: a self-hosted DNS traffic manager.
///
/// Exit codes: 0 success; 1 failure (the server refused the request, or could not be reached);
/// 2 bad command line; 3 not found.
#[derive(Debug, Parser)]
#[command(name = "signpost", version, about)]
pub struct Cli {
    /// Log filter (`info`, `debug`, `signpost_dns=debug`, ...); defaults to RUST_LOG or `info`.
    #[arg(long, global = true)]
    pub log_level: Option<String>,
    /// Log lines as `text` (the default) or `json`: one JSON object per line with the event's
    /// fields, for log shippers.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "SIGNPOST_LOG_FORMAT"
    )]
    pub log_format: LogFormat,
    /// The API of a running `signpost serve`.
    #[arg(
        long,
        global = true,
        env = "SIGNPOST_API_URL",
        default_value = "http://127.0.0.1:8053"
    )]
    pub api_url: String,
    /// Bearer token for the API.
    #[arg(long, global = true, env = "SIGNPOST_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// PEM certificates to trust for an https:// --api-url (e.g. the server's self-signed
    /// certificate). Default: the system's roots.
    #[arg(long, global = true, env = "SIGNPOST_API_CA")]
    pub api_ca: Option<PathBuf>,
    /// Output format of client commands.
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub output: Output,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (`timestamp`, `level`, `target`, `fields`).
    Json,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the authoritative DNS server.
    Serve(Box<ServeArgs>),
    /// Check a profiles file and exit (0 when valid, 1 with every error otherwise).
    Validate(ValidateArgs),
    /// Show every endpoint's health (from the API, or with --data-dir from the status file).
    Status(StatusArgs),
    /// Profiles: list, show, create, delete.
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Endpoints of a profile: add, set, enable, disable, remove; force-down, force-up,
    /// clear-override.
    #[command(subcommand)]
    Endpoint(EndpointCommand),
    /// Which endpoint a client gets, and why.
    Explain(ExplainArgs),
    /// Make the server's profiles match a file (idempotent).
    Apply(ApplyArgs),
    /// Import profiles from another traffic manager.
    #[command(subcommand)]
    Import(ImportCommand),
    /// The fleet's live nodes: heartbeat, configuration revision served, etcd connection.
    Nodes,
    /// Real User Measurements.
    #[command(subcommand)]
    Rum(RumCommand),
    /// DNSSEC: the records the parent zone needs, key rolls.
    #[command(subcommand)]
    Dnssec(DnssecCommand),
}

/// `signpost dnssec ...`.
#[derive(Debug, Subcommand)]
pub enum DnssecCommand {
    /// Print the DS record(s) to publish in the parent zone (one per key; two during a roll).
    Ds(DnssecZoneArgs),
    /// Print the DNSKEY record(s) (for a trust anchor, or a parent that takes DNSKEY).
    Dnskey(DnssecZoneArgs),
    /// Roll the key (double signatures): `start` adds a new key that signs beside the old one;
    /// replace the DS at the parent with the new one (`signpost dnssec ds`); after the parent's
    /// DS TTL has passed, `finish` removes the old key.
    Roll(DnssecRollArgs),
}

/// A signed zone.
#[derive(Debug, Clone, Args)]
pub struct DnssecZoneArgs {
    /// The zone (a `--zone` or `--hosted-zone` the server signs).
    pub zone: String,
}

/// `signpost dnssec roll`.
#[derive(Debug, Clone, Args)]
pub struct DnssecRollArgs {
    /// `start` or `finish`.
    #[arg(value_parser = ["start", "finish"])]
    pub step: String,
    /// The zone.
    pub zone: String,
    /// `finish` even though less than twice the DNSKEY TTL passed since `start`.
    #[arg(long)]
    pub force: bool,
    /// `start`: the new key's algorithm (ECDSAP256SHA256 or ED25519; default: the current one's).
    #[arg(long)]
    pub algorithm: Option<String>,
}

/// `signpost rum ...`.
#[derive(Debug, Subcommand)]
pub enum RumCommand {
    /// Show the user metrics key (`--new` makes one, replacing any; `--delete` removes it).
    Key(RumKeyArgs),
}

/// `signpost rum key`.
#[derive(Debug, Clone, Args)]
pub struct RumKeyArgs {
    /// Make a new key; reports with the old one are refused from now on.
    #[arg(long, conflicts_with = "delete")]
    pub new: bool,
    /// Remove the key: every report is refused (RUM off).
    #[arg(long)]
    pub delete: bool,
}

/// `signpost import ...`.
#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Azure: `az network traffic-manager profile show|list` output, or an ARM template.
    Azure(ImportArgs),
}

/// `signpost import azure`.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// The exported JSON.
    pub file: PathBuf,
    /// Replace profiles that already exist (default: leave them and report).
    #[arg(long)]
    pub overwrite: bool,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// Human-readable.
    Text,
    /// JSON, for scripts.
    Json,
}

/// `signpost profile ...`.
#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// List profiles.
    List,
    /// Show one profile (Azure JSON).
    Show {
        /// Profile name.
        name: String,
    },
    /// Create a profile.
    Create {
        /// Profile name.
        name: String,
        /// Routing method: Priority, Weighted, Performance, Geographic, MultiValue, Subnet.
        #[arg(long, default_value = "Priority")]
        method: String,
        /// DNS label(s) in the zone (default: the name).
        #[arg(long)]
        relative_name: Option<String>,
        /// Answer TTL in seconds.
        #[arg(long, default_value_t = 30)]
        ttl: u32,
        /// Probe protocol: HTTP, HTTPS or TCP.
        #[arg(long, default_value = "HTTP")]
        protocol: String,
        /// Probe port (default: 80, or 443 for HTTPS).
        #[arg(long)]
        port: Option<u16>,
        /// Probe path (HTTP/HTTPS).
        #[arg(long)]
        path: Option<String>,
    },
    /// Delete a profile.
    Delete {
        /// Profile name.
        name: String,
    },
}

/// `signpost endpoint ...`.
#[derive(Debug, Subcommand)]
pub enum EndpointCommand {
    /// Add an endpoint (never replaces one of the same name: see `endpoint set`).
    Add {
        /// Profile name.
        profile: String,
        /// Endpoint name.
        name: String,
        /// DNS name or address answered (external endpoints).
        #[arg(long, required_unless_present = "child")]
        target: Option<String>,
        /// Child profile (makes a nested endpoint).
        #[arg(long, conflicts_with = "target")]
        child: Option<String>,
        /// Priority (Priority routing).
        #[arg(long)]
        priority: Option<u16>,
        /// Weight (Weighted routing).
        #[arg(long)]
        weight: Option<u16>,
        /// Region (Performance routing).
        #[arg(long)]
        location: Option<String>,
        /// Location codes (Geographic routing), repeatable.
        #[arg(long = "geo")]
        geo: Vec<String>,
    },
    /// Change an endpoint's target, priority, weight or location.
    Set {
        /// Profile name.
        profile: String,
        /// Endpoint name.
        name: String,
        /// New target.
        #[arg(long)]
        target: Option<String>,
        /// New priority.
        #[arg(long)]
        priority: Option<u16>,
        /// New weight.
        #[arg(long)]
        weight: Option<u16>,
        /// New region.
        #[arg(long)]
        location: Option<String>,
    },
    /// Enable an endpoint.
    Enable {
        /// Profile name.
        profile: String,
        /// Endpoint name.
        name: String,
    },
    /// Disable an endpoint (it stops being answered; its health is kept).
    Disable {
        /// Profile name.
        profile: String,
        /// Endpoint name.
        name: String,
    },
    /// Remove an endpoint.
    Remove {
        /// Profile name.
        profile: String,
        /// Endpoint name.
        name: String,
    },
    /// Operator overrides: force-down, force-up, clear-override.
    #[command(flatten)]
    Override(OverrideCommand),
}

/// `signpost endpoint force-down|force-up|clear-override`: operator overrides, stored with the
/// configuration (every node of a fleet, across restarts), without touching `endpointStatus` or
/// the probes (which keep running and are still shown).
#[derive(Debug, Subcommand)]
pub enum OverrideCommand {
    /// Force an endpoint Degraded (not served) whatever its probes say.
    ForceDown(ForceArgs),
    /// Force an endpoint Online (served, unless Disabled) whatever its probes say.
    ForceUp(ForceArgs),
    /// Remove an endpoint's override: its probes decide again.
    ClearOverride {
        /// Profile name.
        profile: String,
        /// Endpoint name.
        name: String,
    },
}

/// `signpost endpoint force-down|force-up`.
#[derive(Debug, Clone, Args)]
pub struct ForceArgs {
    /// Profile name.
    pub profile: String,
    /// Endpoint name.
    pub name: String,
    /// Why (shown in status, explain and the logs).
    #[arg(long)]
    pub reason: String,
    /// How long: a whole number and one unit, 30s, 10m, 2h or 1d (default: until cleared).
    #[arg(long = "for", value_name = "DURATION", value_parser = duration)]
    pub duration: Option<String>,
}

/// Checks `--for` on the command line (exit code 2 with the rule), keeping the text for the API.
fn duration(text: &str) -> Result<String, String> {
    signpost_model::overrides::parse_duration(text).map(|_| text.trim().to_string())
}

/// `signpost explain`.
#[derive(Debug, Clone, Args)]
pub struct ExplainArgs {
    /// Profile name.
    pub profile: String,
    /// The client (or EDNS Client Subnet) address.
    #[arg(long)]
    pub client_ip: String,
    /// Query type: A, AAAA, ANY, ...
    #[arg(long = "type", default_value = "A")]
    pub qtype: String,
}

/// `signpost apply`.
#[derive(Debug, Clone, Args)]
pub struct ApplyArgs {
    /// Profiles file (YAML or JSON, `profiles: [...]`).
    #[arg(short = 'f', long = "file")]
    pub file: PathBuf,
    /// Also delete the server's profiles that the file does not hold.
    #[arg(long)]
    pub prune: bool,
    /// Print the plan; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `signpost status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// Only this profile.
    pub profile: Option<String>,
    /// Read the status file of this data directory instead of asking the API.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
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
    /// DNS server (ADDR:PORT) that resolves probe targets given as names, and the names hosted
    /// zones' ALIAS records answer with (in the background). Default: the system resolver.
    #[arg(long)]
    pub probe_resolver: Option<SocketAddr>,
    /// Probes allowed in flight at once. Default: 1024.
    #[arg(long)]
    pub max_probes_in_flight: Option<usize>,
    /// Address of the REST API. Default: 127.0.0.1:8053. Without tokens it must be loopback.
    #[arg(long)]
    pub api_listen: Option<SocketAddr>,
    /// Serve the API over HTTPS with this PEM certificate chain (with --api-tls-key); reloaded
    /// when the file is replaced. Azure's SDKs send bearer tokens only over HTTPS.
    #[arg(long, requires = "api_tls_key")]
    pub api_tls_cert: Option<PathBuf>,
    /// The PEM private key of --api-tls-cert.
    #[arg(long, requires = "api_tls_cert")]
    pub api_tls_key: Option<PathBuf>,
    /// MaxMind-format GeoIP database (GeoLite2 or DB-IP Lite, Country or City) for Geographic
    /// routing; reloaded when the file changes. Without it only WORLD mappings apply.
    #[arg(long)]
    pub geoip: Option<PathBuf>,
    /// Latency table for Performance routing: CSV lines `prefix,region,milliseconds`, longest
    /// prefix match, preferred over GeoIP distance; reloaded when the file changes.
    #[arg(long)]
    pub latency_table: Option<PathBuf>,
    /// Also serve the operator's zone NAME from master file FILE (`NAME=FILE`, repeatable);
    /// reloaded when the file changes, a bad file rejected whole with its line.
    #[arg(long = "hosted-zone", value_name = "NAME=FILE")]
    pub hosted_zones: Vec<String>,
    /// Sign the answers of this zone (a --zone or --hosted-zone; repeatable) with DNSSEC: a key
    /// (ECDSA P-256) is made on first start and kept in the store. `signpost dnssec ds ZONE`
    /// prints the DS record for the parent zone.
    #[arg(long = "dnssec", value_name = "ZONE")]
    pub dnssec: Vec<String>,
    /// Share the configuration with other nodes through etcd: client URLs, comma-separated
    /// (sets `[store] kind = "etcd"`).
    #[arg(long, value_delimiter = ',', env = "SIGNPOST_ETCD")]
    pub etcd: Vec<String>,
    /// Source address of every probe (firewall allow-lists; one vantage point per node).
    #[arg(long)]
    pub probe_source: Option<std::net::IpAddr>,
    /// This node's name in a fleet (default: the host name).
    #[arg(long, env = "SIGNPOST_NODE_NAME")]
    pub node_name: Option<String>,
    /// How the fleet's views of an endpoint make its status: majority (default with etcd), any,
    /// all, or local (this node's probes alone; the only rule without etcd).
    #[arg(long)]
    pub health_quorum: Option<signpost_health::QuorumRule>,
}

/// `signpost validate`.
#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {
    /// The profiles file to check.
    pub file: PathBuf,
    /// The server's settings file: its `max_endpoints` and `[[regions]]` apply.
    #[arg(long)]
    pub config: Option<PathBuf>,
}
