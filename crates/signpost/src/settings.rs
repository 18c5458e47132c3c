//! Server settings: defaults, then the TOML file (`--config`), then flags.
//!
//! ```toml
//! zones = ["tm.example.net"]
//! dns_listen = ["127.0.0.1:5353", "[::1]:5353"]
//! profiles = "profiles.yaml"
//! dns_workers = 2
//! max_endpoints = 200
//! max_udp_payload = 1232
//! tcp_idle_timeout_secs = 10
//! data_dir = "signpost-data"          # last known health, status file
//! probe_resolver = "127.0.0.1:53"     # resolves probe targets given as names
//! max_probes_in_flight = 1024
//! api_listen = "127.0.0.1:8053"
//! geoip = "GeoLite2-City.mmdb"        # Geographic and Performance routing; reloaded on change
//! latency_table = "latency.csv"       # prefix,region,milliseconds; reloaded on change
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
//! [soa]
//! hostmaster = "hostmaster.example.net"
//! ttl = 3600
//! refresh = 3600
//! retry = 600
//! expire = 86400
//! minimum = 30
//! ```

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use signpost_api::{Role, Tokens};
use signpost_dns::{NameServer, ServerConfig, SoaTimers, ZoneConfig};
use signpost_health::{MonitorSettings, Resolver};
use signpost_model::Limits;
use signpost_model::regions::{Catalogue, Region};

use crate::cli::ServeArgs;

/// The zone served when none is configured.
pub const DEFAULT_ZONE: &str = "trafficmanager.example";
/// The data directory used when none is configured.
pub const DEFAULT_DATA_DIR: &str = "signpost-data";
/// The example seeded into an empty store (its built-in copy when the file is absent).
pub const DEFAULT_PROFILES: &str = "examples/profiles.yaml";

/// The largest `max_endpoints` accepted: the routing tables (priority order, weighted and
/// MultiValue lists, subnet ranges, answers) refer to a profile's endpoints by `u16` index.
pub const MAX_ENDPOINTS_LIMIT: usize = u16::MAX as usize;

/// The settings file, every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsFile {
    /// Zones.
    pub zones: Option<Vec<String>>,
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
    /// NS records.
    pub nameservers: Option<Vec<NameServerSetting>>,
    /// SOA fields.
    pub soa: Option<SoaSetting>,
    /// Data directory, relative to the settings file.
    pub data_dir: Option<PathBuf>,
    /// Resolver for probe target names.
    pub probe_resolver: Option<SocketAddr>,
    /// Probes in flight at once.
    pub max_probes_in_flight: Option<usize>,
    /// REST API address.
    pub api_listen: Option<SocketAddr>,
    /// GeoIP database, relative to the settings file.
    pub geoip: Option<PathBuf>,
    /// Latency table, relative to the settings file.
    pub latency_table: Option<PathBuf>,
    /// API bearer tokens.
    pub tokens: Option<Vec<TokenSetting>>,
    /// Operator-defined Performance regions.
    pub regions: Option<Vec<Region>>,
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

/// The `[soa]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SoaSetting {
    /// RNAME as a name.
    pub hostmaster: Option<String>,
    /// SOA/NS TTL.
    pub ttl: Option<u32>,
    /// Refresh.
    pub refresh: Option<u32>,
    /// Retry.
    pub retry: Option<u32>,
    /// Expire.
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
        let zone_names = if !args.zones.is_empty() {
            args.zones.clone()
        } else {
            file.zones.unwrap_or_else(|| vec![DEFAULT_ZONE.to_string()])
        };
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
        let zones = zone_names
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
            Some(&["tm.example.net".to_string()][..])
        );
        assert_eq!(file.tokens.as_ref().map(Vec::len), Some(1));
        assert!(file.latency_table.is_some() && file.geoip.is_some());
    }
}
