//! Server settings: defaults, then the TOML file (`--config`), then flags.
//!
//! ```toml
//! zones = ["tm.example.net"]          # or tables: [{ name = "tm.example.net", dnssec = true }]
//! dns_listen = ["127.0.0.1:5353", "[::1]:5353"]
//! profiles = "profiles.yaml"
//! dns_workers = 2
//! max_endpoints = 200
//! max_udp_payload = 1232
//! tcp_idle_timeout_secs = 10
//! tcp_lifetime_secs = 120             # every TCP connection closed after this long
//! max_tcp_connections = 1024
//! max_tcp_connections_per_client = 16
//! data_dir = "signpost-data"          # last known health, status file
//! probe_resolver = "127.0.0.1:53"     # resolves probe targets and ALIAS targets given as names
//! max_probes_in_flight = 1024
//! probe_source = "127.0.0.1"          # source address of every probe
//! health_quorum = "majority"          # with etcd: majority (default), any, all or local
//! api_listen = "127.0.0.1:8053"
//! api_tls_cert = "api.crt"            # HTTPS for the API (PEM, with api_tls_key); reloaded on change
//! api_tls_key = "api.key"
//! metrics = true                      # GET /metrics, and counting on the DNS path (default true)
//! geoip = "GeoLite2-City.mmdb"        # Geographic and Performance routing; reloaded on change
//! latency_table = "latency.csv"       # prefix,region,milliseconds; reloaded on change
//! hosted_zones = [{ name = "contoso.com", file = "contoso.com.zone" }]  # RFC 1035 master files; dnssec = true signs
//!
//! [[tokens]]                          # also SIGNPOST_ADMIN_TOKEN / SIGNPOST_READER_TOKEN
//! token = "a-long-random-secret-for-admins"
//! role = "admin"                      # or "reader"
//!
//! [[nameservers]]            # NS records at every zone apex; in-zone names get A/AAAA + glue
//! name = "ns1.tm.example.net"
//! addresses = ["127.0.0.1"]
//!
//! [[regions]]                         # Performance: sites beyond the built-in cloud regions
//! name = "DC Lisbon"                  # endpointLocation: "dc-lisbon" (any spelling)
//! latitude = 38.72
//! longitude = -9.14
//!
//! [rrl]                               # response rate limiting (UDP), on when present
//! responses_per_second = 20
//! slip = 2
//!
//! [cookies]
//! secret = "000102030405060708090a0b0c0d0e0f" # shared by anycast nodes; default random
//!
//! [soa]
//! hostmaster = "hostmaster.example.net"
//! ttl = 3600
//! refresh = 3600
//! retry = 600
//! expire = 604800
//! minimum = 30
//! ```

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use signpost_api::{Role, Tokens};

use crate::api_tls::TlsFiles;
use signpost_dns::{CookieSecret, NameServer, RrlConfig, ServerConfig, SoaTimers, ZoneConfig};
use signpost_health::{MonitorSettings, QuorumRule, Resolver};
use signpost_model::Limits;
use signpost_model::regions::{Catalogue, Region};

use crate::cli::ServeArgs;

/// The zone served when none is configured.
pub const DEFAULT_ZONE: &str = "trafficmanager.example";
/// The data directory used when none is configured.
pub const DEFAULT_DATA_DIR: &str = "signpost-data";
/// The example seeded into an empty store (its built-in copy when the file is absent).
pub const DEFAULT_PROFILES: &str = "examples/profiles.yaml";

pub use signpost_model::validate::bounds::MAX_ENDPOINTS_LIMIT;

/// The settings file, every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsFile {
    /// Zones: names, or tables `{ name, dnssec, algorithm }`.
    pub zones: Option<Vec<ZoneSetting>>,
    /// DNS listen addresses.
    pub dns_listen: Option<Vec<SocketAddr>>,
    /// Profiles file, relative to the settings file.
    pub profiles: Option<PathBuf>,
    /// UDP workers per address.
    pub dns_workers: Option<usize>,
    /// Endpoints allowed per profile.
    pub max_endpoints: Option<usize>,
    /// Largest UDP response.
    pub max_udp_payload: Option<u16>,
    /// TCP idle timeout.
    pub tcp_idle_timeout_secs: Option<u64>,
    /// TCP connection cap.
    pub max_tcp_connections: Option<usize>,
    /// Per-client-address TCP connection cap.
    pub max_tcp_connections_per_client: Option<usize>,
    /// Total lifetime of a TCP connection, seconds.
    pub tcp_lifetime_secs: Option<u64>,
    /// NS records.
    pub nameservers: Option<Vec<NameServerSetting>>,
    /// SOA fields.
    pub soa: Option<SoaSetting>,
    /// Where the configuration lives.
    pub store: Option<StoreSetting>,
    /// Response rate limiting (on when the table is present).
    pub rrl: Option<RrlSetting>,
    /// DNS Cookies.
    pub cookies: Option<CookieSetting>,
    /// Data directory, relative to the settings file.
    pub data_dir: Option<PathBuf>,
    /// Resolver for probe target names and the names ALIAS records answer with.
    pub probe_resolver: Option<SocketAddr>,
    /// Probes in flight at once.
    pub max_probes_in_flight: Option<usize>,
    /// Source address of every probe.
    pub probe_source: Option<IpAddr>,
    /// How a fleet's views of an endpoint make its status.
    pub health_quorum: Option<String>,
    /// REST API address.
    pub api_listen: Option<SocketAddr>,
    /// Prometheus metrics (default true).
    pub metrics: Option<bool>,
    /// API certificate chain (PEM), relative to the settings file.
    pub api_tls_cert: Option<PathBuf>,
    /// API private key (PEM), relative to the settings file.
    pub api_tls_key: Option<PathBuf>,
    /// GeoIP database, relative to the settings file.
    pub geoip: Option<PathBuf>,
    /// Latency table, relative to the settings file.
    pub latency_table: Option<PathBuf>,
    /// API bearer tokens.
    pub tokens: Option<Vec<TokenSetting>>,
    /// Operator-defined Performance regions.
    pub regions: Option<Vec<Region>>,
    /// The operator's own zones, from master files (relative to the settings file).
    pub hosted_zones: Option<Vec<HostedZoneSetting>>,
}

/// One `hosted_zones` entry.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct HostedZoneSetting {
    /// The zone's apex, e.g. `contoso.com`.
    pub name: String,
    /// Its RFC 1035 master file.
    pub file: PathBuf,
    /// Sign the zone's answers (DNSSEC).
    #[serde(default)]
    pub dnssec: bool,
    /// The signing algorithm of a new key: `ECDSAP256SHA256` (default) or `ED25519`.
    pub algorithm: Option<String>,
}

/// One `zones` entry: a name, or a table that can turn signing on.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum ZoneSetting {
    /// `"tm.example.net"`.
    Name(String),
    /// `{ name = "tm.example.net", dnssec = true }`.
    Table(ZoneTable),
}

/// The table form of a `zones` entry.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ZoneTable {
    /// The zone's apex.
    pub name: String,
    /// Sign the zone's answers (DNSSEC).
    #[serde(default)]
    pub dnssec: bool,
    /// The signing algorithm of a new key: `ECDSAP256SHA256` (default) or `ED25519`.
    pub algorithm: Option<String>,
}

impl ZoneSetting {
    /// The zone's apex as written.
    pub fn name(&self) -> &str {
        match self {
            Self::Name(n) => n,
            Self::Table(t) => &t.name,
        }
    }
}

/// A zone to sign: its lower-case apex and the algorithm of the key made if it has none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedZone {
    /// Lower-case apex, no trailing dot.
    pub name: String,
    /// Algorithm of a new key.
    pub algorithm: signpost_dns::dnssec::Algorithm,
}

/// The signing algorithm named at `field` (ECDSA P-256 when none is).
fn algorithm_of(field: &str, name: Option<&str>) -> Result<signpost_dns::dnssec::Algorithm> {
    use signpost_dns::dnssec::Algorithm;
    match name {
        None => Ok(Algorithm::EcdsaP256Sha256),
        Some(n) => Algorithm::parse(n).with_context(|| {
            format!("{field}: {n:?} is not a signing algorithm (ECDSAP256SHA256 or ED25519)")
        }),
    }
}

impl SettingsFile {
    /// Reads a settings file; also returns its directory, which relative paths in it start from.
    pub fn read(path: &Path) -> Result<(Self, PathBuf)> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let file: SettingsFile = toml::from_str(&text)
            .with_context(|| format!("{}: invalid settings", path.display()))?;
        Ok((
            file,
            path.parent().map(Path::to_path_buf).unwrap_or_default(),
        ))
    }

    /// The validation limits and regions the file sets (defaults for what it leaves out).
    pub fn limits(&self) -> Result<Limits> {
        let mut limits = Limits::default();
        if let Some(m) = self.max_endpoints {
            if !(1..=MAX_ENDPOINTS_LIMIT).contains(&m) {
                bail!(
                    "max_endpoints: must be 1..={MAX_ENDPOINTS_LIMIT} (the routing tables index a profile's endpoints with 16 bits), got {m}"
                );
            }
            limits.max_endpoints = m;
        }
        limits.regions = Catalogue::new(self.regions.clone().unwrap_or_default())
            .map_err(|e| anyhow::anyhow!("invalid settings: {e}"))?;
        Ok(limits)
    }
}

/// A `[[tokens]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSetting {
    /// The secret.
    pub token: String,
    /// `admin` or `reader`.
    pub role: Role,
}

/// A `[[nameservers]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameServerSetting {
    /// Host name.
    pub name: String,
    /// Addresses (served as glue when the name is inside a zone).
    #[serde(default)]
    pub addresses: Vec<IpAddr>,
}

/// The `[store]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSetting {
    /// The backend: `sqlite` (the default: `<data_dir>/signpost.db`) or `etcd`.
    pub kind: Option<String>,
    /// etcd client URLs.
    pub endpoints: Option<Vec<String>>,
    /// etcd key prefix (default `/signpost/`).
    pub prefix: Option<String>,
    /// etcd user (with `password`).
    pub user: Option<String>,
    /// etcd password.
    pub password: Option<String>,
    /// CA certificate (PEM) that signed etcd's, for `https://` endpoints; relative to the
    /// settings file.
    pub ca_file: Option<PathBuf>,
    /// This node's client certificate (PEM), when etcd requires one (`--client-cert-auth`).
    pub cert_file: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    pub key_file: Option<PathBuf>,
}

/// Which store backend holds the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreKind {
    /// The embedded SQLite file in the data directory.
    Sqlite,
    /// A fleet's shared configuration in etcd.
    Etcd(signpost_store::EtcdConfig),
}

impl StoreKind {
    /// From `[store]` and `--etcd` (which wins, and implies `kind = "etcd"`).
    fn resolve(setting: Option<&StoreSetting>, etcd_flag: &[String], base: &Path) -> Result<Self> {
        let default = StoreSetting::default();
        let s = setting.unwrap_or(&default);
        let kind = if etcd_flag.is_empty() {
            s.kind.as_deref().unwrap_or("sqlite")
        } else {
            "etcd"
        };
        match kind {
            "sqlite" => Ok(Self::Sqlite),
            "etcd" => {
                let endpoints = if etcd_flag.is_empty() {
                    s.endpoints.clone().unwrap_or_default()
                } else {
                    etcd_flag.to_vec()
                };
                if endpoints.is_empty() {
                    bail!(
                        "store.endpoints: kind \"etcd\" needs at least one client URL (or --etcd)"
                    );
                }
                for (i, e) in endpoints.iter().enumerate() {
                    if !(e.starts_with("http://") || e.starts_with("https://")) {
                        bail!(
                            "store.endpoints[{i}]: must be an http:// or https:// URL, got {e:?}"
                        );
                    }
                }
                let user = match (&s.user, &s.password) {
                    (Some(u), Some(p)) => Some((u.clone(), p.clone())),
                    (None, None) => None,
                    _ => bail!("store.user: user and password go together"),
                };
                let prefix = s
                    .prefix
                    .clone()
                    .unwrap_or_else(|| signpost_store::EtcdConfig::DEFAULT_PREFIX.to_string());
                if !prefix.starts_with('/') {
                    bail!("store.prefix: must start with '/', got {prefix:?}");
                }
                let read = |field: &str, path: &Path| {
                    let path = base.join(path);
                    std::fs::read(&path)
                        .with_context(|| format!("store.{field}: cannot read {}", path.display()))
                };
                let tls = match (&s.ca_file, &s.cert_file, &s.key_file) {
                    (None, None, None) => None,
                    (Some(ca), cert, key) => Some(signpost_store::EtcdTls {
                        ca: read("ca_file", ca)?,
                        identity: match (cert, key) {
                            (Some(c), Some(k)) => {
                                Some((read("cert_file", c)?, read("key_file", k)?))
                            }
                            (None, None) => None,
                            _ => bail!("store.cert_file: cert_file and key_file go together"),
                        },
                    }),
                    (None, _, _) => {
                        bail!(
                            "store.ca_file: a client certificate needs the CA of etcd's (ca_file)"
                        )
                    }
                };
                if tls.is_some() && endpoints.iter().any(|e| e.starts_with("http://")) {
                    bail!("store.endpoints: with ca_file every endpoint must be https://");
                }
                Ok(Self::Etcd(signpost_store::EtcdConfig {
                    endpoints,
                    prefix,
                    user,
                    tls,
                }))
            }
            other => bail!("store.kind: must be \"sqlite\" or \"etcd\", got {other:?}"),
        }
    }
}

/// The `[rrl]` table: response rate limiting for UDP, on when present.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RrlSetting {
    /// Responses per second per class (client network, name, type, RCODE).
    pub responses_per_second: Option<u32>,
    /// Every Nth limited response is sent truncated (0: drop them all).
    pub slip: Option<u32>,
    /// IPv4 clients are grouped by this prefix length.
    pub ipv4_prefix_length: Option<u8>,
    /// IPv6 clients are grouped by this prefix length.
    pub ipv6_prefix_length: Option<u8>,
    /// Buckets per UDP worker.
    pub table_size: Option<usize>,
}

/// The `[cookies]` table: DNS Cookies (RFC 7873, RFC 9018 server cookies).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CookieSetting {
    /// Answer cookies (default true).
    pub enabled: Option<bool>,
    /// 32 hexadecimal digits shared by the nodes behind one anycast address (default: random).
    pub secret: Option<String>,
}

/// The rate limiter's settings from `[rrl]`, each bound checked.
fn rrl_config(r: &RrlSetting) -> Result<RrlConfig> {
    let d = RrlConfig::default();
    let c = RrlConfig {
        responses_per_second: r.responses_per_second.unwrap_or(d.responses_per_second),
        slip: r.slip.unwrap_or(d.slip),
        ipv4_prefix: r.ipv4_prefix_length.unwrap_or(d.ipv4_prefix),
        ipv6_prefix: r.ipv6_prefix_length.unwrap_or(d.ipv6_prefix),
        table_size: r.table_size.unwrap_or(d.table_size),
    };
    if c.responses_per_second == 0 {
        bail!("rrl.responses_per_second: must be at least 1");
    }
    if c.slip > 100 {
        bail!("rrl.slip: must be 0..=100, got {}", c.slip);
    }
    if c.ipv4_prefix > 32 {
        bail!(
            "rrl.ipv4_prefix_length: must be 0..=32, got {}",
            c.ipv4_prefix
        );
    }
    if c.ipv6_prefix > 128 {
        bail!(
            "rrl.ipv6_prefix_length: must be 0..=128, got {}",
            c.ipv6_prefix
        );
    }
    if !(64..=1 << 24).contains(&c.table_size) {
        bail!(
            "rrl.table_size: must be 64..=16777216, got {}",
            c.table_size
        );
    }
    Ok(c)
}

/// The `[soa]` table; `refresh`, `retry` and `expire` are the SOA fields of those names.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // the SOA's own field names
pub struct SoaSetting {
    /// RNAME as a name.
    pub hostmaster: Option<String>,
    /// SOA/NS TTL.
    pub ttl: Option<u32>,
    pub refresh: Option<u32>,
    pub retry: Option<u32>,
    pub expire: Option<u32>,
    /// Minimum (negative TTL).
    pub minimum: Option<u32>,
}

/// Where the profiles come from, besides the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfilesSource {
    /// A file, applied to the store at start and whenever it changes.
    File(PathBuf),
    /// Only the store (seeded with the example when empty).
    Store,
}

/// Resolved settings for `serve`.
#[derive(Debug, Clone)]
pub struct Settings {
    /// DNS listeners.
    pub server: ServerConfig,
    /// Zones.
    pub zones: Vec<ZoneConfig>,
    /// Profiles.
    pub profiles: ProfilesSource,
    /// Validation limits.
    pub limits: Limits,
    /// Where state that survives restarts lives.
    pub data_dir: PathBuf,
    /// Health engine settings.
    pub monitor: MonitorSettings,
    /// REST API address.
    pub api_listen: SocketAddr,
    /// API tokens (none: open API, loopback only).
    pub tokens: Tokens,
    /// GeoIP database file.
    pub geoip: Option<PathBuf>,
    /// Latency table file.
    pub latency_table: Option<PathBuf>,
    /// Hosted zones and their files.
    pub hosted_zones: Vec<HostedZoneSetting>,
    /// Zones (traffic-manager and hosted) whose answers are signed.
    pub dnssec: Vec<SignedZone>,
    /// The store backend.
    pub store: StoreKind,
    /// This node's name in a fleet.
    pub node_name: String,
    /// How a fleet's views of an endpoint make its status (`local` without etcd).
    pub health_quorum: QuorumRule,
    /// Prometheus metrics at `/metrics`, and counting on the DNS path.
    pub metrics: bool,
    /// HTTPS for the API.
    pub api_tls: Option<TlsFiles>,
}

impl Settings {
    /// Defaults, overridden by the file named by `--config`, overridden by flags.
    pub fn resolve(args: &ServeArgs) -> Result<Self> {
        let (file, base) = match &args.config {
            Some(path) => SettingsFile::read(path)?,
            None => (SettingsFile::default(), PathBuf::new()),
        };
        let limits = match &args.config {
            Some(path) => file.limits().with_context(|| path.display().to_string())?,
            None => file.limits()?,
        };
        Self::from_file(args, file, &base, limits)
    }

    /// The settings a settings file's `text` gives with no flags, checked as `signpost serve
    /// --config` checks them (relative paths stay relative). The entry point of the settings fuzz
    /// target (`fuzz/fuzz_targets/settings.rs`); `serve` itself goes through [`Settings::resolve`].
    pub fn parse(text: &str) -> Result<Self> {
        let file: SettingsFile = toml::from_str(text).context("invalid settings")?;
        let limits = file.limits()?;
        Self::from_file(&ServeArgs::default(), file, Path::new(""), limits)
    }

    /// `file` (whose relative paths start at `base`) overridden by `args`.
    fn from_file(
        args: &ServeArgs,
        file: SettingsFile,
        base: &Path,
        limits: Limits,
    ) -> Result<Self> {
        let mut server = ServerConfig::default();
        if !args.dns_listen.is_empty() {
            server.listen = args.dns_listen.clone();
        } else if let Some(l) = file.dns_listen {
            server.listen = l;
        }
        if let Some(w) = args.dns_workers.or(file.dns_workers) {
            if w == 0 {
                bail!("dns_workers: must be at least 1");
            }
            server.workers = w;
        }
        if let Some(p) = file.max_udp_payload {
            if !(512..=4096).contains(&p) {
                bail!("max_udp_payload: must be 512..=4096, got {p}");
            }
            server.max_udp_payload = p;
        }
        if let Some(t) = file.tcp_idle_timeout_secs {
            server.tcp_idle_timeout = Duration::from_secs(t);
        }
        if let Some(c) = file.max_tcp_connections {
            server.max_tcp_connections = c;
        }
        if let Some(c) = file.max_tcp_connections_per_client {
            if c == 0 {
                bail!("max_tcp_connections_per_client: must be at least 1");
            }
            server.max_tcp_connections_per_client = c;
        }
        let store = StoreKind::resolve(file.store.as_ref(), &args.etcd, base)?;
        let node_name = args
            .node_name
            .clone()
            .or_else(|| {
                std::fs::read_to_string("/etc/hostname")
                    .ok()
                    .map(|h| h.trim().to_string())
            })
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "signpost".to_string());
        if node_name.len() > 63
            || !node_name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            bail!(
                "node name {node_name:?}: must be 1 to 63 letters, digits, '-', '_' or '.' \
                 (--node-name, default: the host name)"
            );
        }
        let health_quorum = match (&args.health_quorum, &file.health_quorum) {
            (Some(rule), _) => *rule,
            (None, Some(text)) => text
                .parse()
                .map_err(|e| anyhow::anyhow!("health_quorum: {e}"))?,
            (None, None) if matches!(store, StoreKind::Etcd(_)) => QuorumRule::Majority,
            (None, None) => QuorumRule::Local,
        };
        if let Some(r) = &file.rrl {
            server.rrl = Some(rrl_config(r)?);
        }
        if let Some(c) = &file.cookies {
            server.cookies = c.enabled.unwrap_or(true);
            if let Some(secret) = &c.secret {
                server.cookie_secret = Some(CookieSecret::from_hex(secret).ok_or_else(|| {
                    anyhow::anyhow!("cookies.secret: must be 32 hexadecimal digits (16 octets)")
                })?);
            }
        }
        if let Some(t) = file.tcp_lifetime_secs {
            if t == 0 {
                bail!("tcp_lifetime_secs: must be at least 1");
            }
            server.tcp_lifetime = Duration::from_secs(t);
        }
        let zone_settings: Vec<ZoneSetting> = if !args.zones.is_empty() {
            args.zones.iter().cloned().map(ZoneSetting::Name).collect()
        } else {
            file.zones
                .unwrap_or_else(|| vec![ZoneSetting::Name(DEFAULT_ZONE.to_string())])
        };
        let zone_names: Vec<String> = zone_settings.iter().map(|z| z.name().to_string()).collect();
        let mut dnssec = Vec::new();
        for z in &zone_settings {
            if let ZoneSetting::Table(t) = z
                && t.dnssec
            {
                dnssec.push(SignedZone {
                    name: t.name.trim_end_matches('.').to_ascii_lowercase(),
                    algorithm: algorithm_of("zones.algorithm", t.algorithm.as_deref())?,
                });
            }
        }
        let soa = file.soa.unwrap_or_default();
        let defaults = SoaTimers::default();
        let timers = SoaTimers {
            ttl: soa.ttl.unwrap_or(defaults.ttl),
            refresh: soa.refresh.unwrap_or(defaults.refresh),
            retry: soa.retry.unwrap_or(defaults.retry),
            expire: soa.expire.unwrap_or(defaults.expire),
            minimum: soa.minimum.unwrap_or(defaults.minimum),
        };
        // Default name server: ns1.<zone> at the first specific listen address.
        let default_addr: Vec<IpAddr> = server
            .listen
            .iter()
            .map(|a| a.ip())
            .filter(|ip| !ip.is_unspecified())
            .take(1)
            .collect();
        let zones: Vec<ZoneConfig> = zone_names
            .iter()
            .map(|z| {
                let mut zone = ZoneConfig::new(z, default_addr.clone());
                if let Some(ns) = &file.nameservers {
                    zone.nameservers = ns
                        .iter()
                        .map(|n| NameServer {
                            name: n.name.trim_end_matches('.').to_ascii_lowercase(),
                            addresses: n.addresses.clone(),
                        })
                        .collect();
                }
                zone.hostmaster = soa.hostmaster.clone();
                zone.soa = timers;
                zone
            })
            .collect();
        let profiles = match (&args.profiles, file.profiles) {
            (Some(p), _) => ProfilesSource::File(p.clone()),
            (None, Some(p)) => ProfilesSource::File(base.join(p)),
            (None, None) => ProfilesSource::Store,
        };
        let data_dir = match (&args.data_dir, file.data_dir) {
            (Some(d), _) => d.clone(),
            (None, Some(d)) => base.join(d),
            (None, None) => PathBuf::from(DEFAULT_DATA_DIR),
        };
        let mut monitor = MonitorSettings::default();
        if let Some(r) = args.probe_resolver.or(file.probe_resolver) {
            monitor.resolver = Resolver::Server(r);
        }
        if let Some(m) = args.max_probes_in_flight.or(file.max_probes_in_flight) {
            if m == 0 {
                bail!("max_probes_in_flight: must be at least 1");
            }
            monitor.max_in_flight = m;
        }
        monitor.probe_source = args.probe_source.or(file.probe_source);
        let api_listen = args
            .api_listen
            .or(file.api_listen)
            .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8053)));
        let mut tokens: Vec<(String, Role)> = file
            .tokens
            .unwrap_or_default()
            .into_iter()
            .map(|t| (t.token, t.role))
            .collect();
        for (var, role) in [
            ("SIGNPOST_ADMIN_TOKEN", Role::Admin),
            ("SIGNPOST_READER_TOKEN", Role::Reader),
        ] {
            if let Ok(t) = std::env::var(var)
                && !t.is_empty()
            {
                tokens.push((t, role));
            }
        }
        if tokens.iter().any(|(t, _)| t.len() < 16) {
            bail!("tokens: every API token must be at least 16 characters");
        }
        let tokens = Tokens(tokens);
        if !tokens.enabled() && !api_listen.ip().is_loopback() {
            bail!(
                "api_listen: {api_listen} is not a loopback address, and no API token is configured; set SIGNPOST_ADMIN_TOKEN (or [[tokens]]) or listen on loopback"
            );
        }
        let api_tls = match (
            args.api_tls_cert
                .clone()
                .or(file.api_tls_cert.map(|c| base.join(c))),
            args.api_tls_key
                .clone()
                .or(file.api_tls_key.map(|k| base.join(k))),
        ) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            (Some(_), None) => bail!("api_tls_key: required with api_tls_cert"),
            (None, Some(_)) => bail!("api_tls_cert: required with api_tls_key"),
        };
        let mut hosted_zones: Vec<HostedZoneSetting> = file
            .hosted_zones
            .unwrap_or_default()
            .into_iter()
            .map(|h| HostedZoneSetting {
                file: base.join(h.file),
                ..h
            })
            .collect();
        for flag in &args.hosted_zones {
            let Some((name, path)) = flag.split_once('=') else {
                bail!("--hosted-zone {flag:?}: expected NAME=FILE");
            };
            hosted_zones.push(HostedZoneSetting {
                name: name.to_string(),
                file: PathBuf::from(path),
                dnssec: false,
                algorithm: None,
            });
        }
        for h in &hosted_zones {
            if h.dnssec {
                dnssec.push(SignedZone {
                    name: h.name.trim_end_matches('.').to_ascii_lowercase(),
                    algorithm: algorithm_of("hosted_zones.algorithm", h.algorithm.as_deref())?,
                });
            }
        }
        for flag in &args.dnssec {
            let name = flag.trim_end_matches('.').to_ascii_lowercase();
            let known = zone_names
                .iter()
                .any(|z| z.trim_end_matches('.').eq_ignore_ascii_case(&name))
                || hosted_zones
                    .iter()
                    .any(|h| h.name.trim_end_matches('.').eq_ignore_ascii_case(&name));
            if !known {
                bail!("--dnssec {flag}: not a zone this server serves (--zone or --hosted-zone)");
            }
            if !dnssec.iter().any(|d| d.name == name) {
                dnssec.push(SignedZone {
                    name,
                    algorithm: signpost_dns::dnssec::Algorithm::EcdsaP256Sha256,
                });
            }
        }
        for (i, h) in hosted_zones.iter().enumerate() {
            let name = h.name.trim_end_matches('.').to_ascii_lowercase();
            if hosted_zones[..i]
                .iter()
                .any(|o| o.name.trim_end_matches('.').eq_ignore_ascii_case(&name))
            {
                bail!("hosted_zones: {name} is listed twice");
            }
            if zones.iter().any(|z| z.apex == name) {
                bail!("hosted_zones: {name} is also a traffic-manager zone");
            }
        }
        let geoip = args.geoip.clone().or(file.geoip.map(|g| base.join(g)));
        let latency_table = args
            .latency_table
            .clone()
            .or(file.latency_table.map(|l| base.join(l)));
        Ok(Self {
            server,
            zones,
            profiles,
            limits,
            data_dir,
            monitor,
            api_listen,
            tokens,
            geoip,
            latency_table,
            hosted_zones,
            dnssec,
            store,
            node_name,
            health_quorum,
            metrics: file.metrics.unwrap_or(true),
            api_tls,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_endpoints_is_bounded_by_the_16_bit_endpoint_index() {
        let limits = |n: usize| {
            toml::from_str::<SettingsFile>(&format!("max_endpoints = {n}"))
                .unwrap()
                .limits()
        };
        assert_eq!(limits(65_535).unwrap().max_endpoints, 65_535);
        assert_eq!(limits(1).unwrap().max_endpoints, 1);
        for bad in [0, 65_536, 1_000_000] {
            let e = format!("{:#}", limits(bad).unwrap_err());
            assert!(
                e.contains(&format!("max_endpoints: must be 1..=65535 (the routing tables index a profile's endpoints with 16 bits), got {bad}")),
                "{e}"
            );
        }
    }

    /// The README's settings example is a real settings file.
    #[test]
    fn the_readme_settings_example_parses() {
        let readme = include_str!("../../../README.md");
        let start = readme
            .find("```toml\n")
            .expect("a toml block in the README")
            + "```toml\n".len();
        let end = start + readme[start..].find("```").expect("the block ends");
        let file: SettingsFile =
            toml::from_str(&readme[start..end]).expect("the README example parses");
        assert_eq!(
            file.zones.as_deref(),
            Some(&[ZoneSetting::Name("tm.example.net".to_string())][..])
        );
        assert_eq!(file.tokens.as_ref().map(Vec::len), Some(1));
        assert!(file.latency_table.is_some() && file.geoip.is_some());
        assert!(file.rrl.is_some() && file.cookies.is_some());
    }

    #[test]
    fn etcd_tls_settings_name_the_field_and_the_rule() {
        let dir =
            std::env::temp_dir().join(format!("signpost-settings-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("ca.pem"), "CA").unwrap();
        let store = |text: &str| {
            let file: SettingsFile = toml::from_str(text).unwrap();
            StoreKind::resolve(file.store.as_ref(), &[], &dir)
        };
        let ok = store(
            "[store]\nkind = \"etcd\"\nendpoints = [\"https://127.0.0.1:2379\"]\nca_file = \"ca.pem\"",
        )
        .unwrap();
        let StoreKind::Etcd(config) = ok else {
            panic!("an etcd store")
        };
        assert_eq!(
            config.tls.map(|t| t.ca),
            Some(b"CA".to_vec()),
            "read relative to the file"
        );
        for (text, want) in [
            ("ca_file = \"missing.pem\"", "store.ca_file: cannot read"),
            (
                "ca_file = \"ca.pem\"\ncert_file = \"ca.pem\"",
                "store.cert_file: cert_file and key_file go together",
            ),
            (
                "cert_file = \"ca.pem\"\nkey_file = \"ca.pem\"",
                "store.ca_file: a client certificate needs",
            ),
        ] {
            let e = format!(
                "{:#}",
                store(&format!(
                    "[store]\nkind = \"etcd\"\nendpoints = [\"https://127.0.0.1:2379\"]\n{text}"
                ))
                .unwrap_err()
            );
            assert!(e.starts_with(want), "{text}: {e}");
        }
        let e = format!(
            "{:#}",
            store("[store]\nkind = \"etcd\"\nendpoints = [\"http://127.0.0.1:2379\"]\nca_file = \"ca.pem\"")
                .unwrap_err()
        );
        assert!(e.contains("every endpoint must be https://"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn rrl_settings_are_bounded_and_name_the_field() {
        let parse = |text: &str| {
            let file: SettingsFile = toml::from_str(text).unwrap();
            rrl_config(&file.rrl.unwrap())
        };
        let c = parse("[rrl]\nresponses_per_second = 5\n").unwrap();
        assert_eq!((c.responses_per_second, c.slip, c.ipv4_prefix), (5, 2, 24));
        for (text, field) in [
            (
                "[rrl]\nresponses_per_second = 0",
                "rrl.responses_per_second",
            ),
            ("[rrl]\nslip = 500", "rrl.slip"),
            ("[rrl]\nipv4_prefix_length = 33", "rrl.ipv4_prefix_length"),
            ("[rrl]\nipv6_prefix_length = 129", "rrl.ipv6_prefix_length"),
            ("[rrl]\ntable_size = 1", "rrl.table_size"),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.starts_with(field), "{text}: {err}");
        }
        assert!(
            toml::from_str::<SettingsFile>("[rrl]\nrate = 5").is_err(),
            "unknown keys"
        );
    }

    /// `Settings::parse` (the fuzz target's entry point) checks what `serve --config` checks.
    #[test]
    fn parse_checks_a_settings_text_as_serve_does() {
        let s = Settings::parse("zones = [\"tm.test\"]\ndns_workers = 3\nprofiles = \"p.yaml\"\n")
            .unwrap();
        assert_eq!(s.zones[0].apex, "tm.test");
        assert_eq!(s.server.workers, 3);
        assert_eq!(s.profiles, ProfilesSource::File(PathBuf::from("p.yaml")));
        for (text, field) in [
            ("dns_workers = 0", "dns_workers"),
            ("max_endpoints = 0", "max_endpoints"),
            ("max_udp_payload = 100", "max_udp_payload"),
            ("[rrl]\nslip = 500", "rrl.slip"),
            ("nonsense = 1", "invalid settings"),
        ] {
            let err = format!("{:#}", Settings::parse(text).unwrap_err());
            assert!(err.contains(field), "{text}: {err}");
        }
    }

    /// A `zones` entry may be a table that turns signing on; a hosted zone takes `dnssec` too.
    #[test]
    fn zones_and_hosted_zones_turn_dnssec_on() {
        use signpost_dns::dnssec::Algorithm;
        let s = Settings::parse(
            "zones = [\"plain.test\", { name = \"Signed.Test.\", dnssec = true }, \
             { name = \"ed.test\", dnssec = true, algorithm = \"ed25519\" }]\n\
             hosted_zones = [{ name = \"contoso.test\", file = \"c.zone\", dnssec = true }]\n",
        )
        .unwrap();
        let apexes: Vec<&str> = s.zones.iter().map(|z| z.apex.as_str()).collect();
        assert_eq!(apexes, ["plain.test", "signed.test", "ed.test"]);
        let signed: Vec<(&str, Algorithm)> = s
            .dnssec
            .iter()
            .map(|z| (z.name.as_str(), z.algorithm))
            .collect();
        assert_eq!(
            signed,
            [
                ("signed.test", Algorithm::EcdsaP256Sha256),
                ("ed.test", Algorithm::Ed25519),
                ("contoso.test", Algorithm::EcdsaP256Sha256)
            ]
        );
        let err = format!(
            "{:#}",
            Settings::parse("zones = [{ name = \"a.test\", dnssec = true, algorithm = \"RSA\" }]")
                .unwrap_err()
        );
        assert!(
            err.contains("zones.algorithm") && err.contains("RSA"),
            "{err}"
        );
        let args = ServeArgs {
            dnssec: vec!["other.test".into()],
            ..Default::default()
        };
        let err = format!(
            "{:#}",
            Settings::from_file(
                &args,
                SettingsFile::default(),
                Path::new(""),
                Limits::default()
            )
            .unwrap_err()
        );
        assert!(err.contains("--dnssec other.test"), "{err}");
    }
}
