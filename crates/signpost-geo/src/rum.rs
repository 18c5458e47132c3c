//! Real User Measurements: latencies that browsers measured from a client network to the regions
//! of a profile's endpoints, teaching Performance routing where it is faster to go.
//!
//! Reports arrive at the API ([`RumStore::record`]) and are kept per (client network, region) as
//! a decayed mean: each sample's weight halves every [`HALF_LIFE_SECS`], so the figure follows
//! the network as it changes and an old measurement fades. The query path never sees the store:
//! a [`RumTable`] is built from it now and then ([`RumStore::table`]) and published with the
//! snapshot, as the operator's latency table is. [`Preferred`] puts the two together: the
//! measured latencies where there are enough of them, else the operator's table, else distance.
//!
//! The rule for "enough": a network's measurements count once at least [`MIN_REGIONS`] regions
//! each carry a decayed weight of at least [`MIN_WEIGHT`] (about three recent reports); then
//! its regions are ranked by measured milliseconds, and regions it has no figure for come after,
//! by distance (the latency table's rule).
//!
//! Memory is bounded: at most [`MAX_NETWORKS`] client networks; reports from new networks beyond
//! that are refused (and counted by the caller) until stale ones are pruned, which happens at
//! each [`RumStore::table`] (weights below [`PRUNE_WEIGHT`] are forgotten).
//!
//! [`RumStore::figures`] lists every remembered figure, whatever its weight, for reports (the
//! heat map's `latency`); routing uses only the table.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use ipnet::IpNet;
use signpost_routing::{Latencies, LatencySource};

use crate::LatencyTable;

/// A sample's weight halves in this many seconds.
pub const HALF_LIFE_SECS: f64 = 1800.0;

/// Decayed weight a region needs before its figure counts (about three recent reports).
pub const MIN_WEIGHT: f64 = 2.5;

/// Regions a network needs measured before its figures are used.
pub const MIN_REGIONS: usize = 2;

/// Client networks kept at most.
pub const MAX_NETWORKS: usize = 65_536;

/// Entries whose weight decayed below this are forgotten.
pub const PRUNE_WEIGHT: f64 = 0.05;

/// The client network of `addr`: its /24 (IPv4) or /48 (IPv6).
pub fn network_of(addr: IpAddr) -> IpNet {
    let prefix = if addr.is_ipv4() { 24 } else { 48 };
    IpNet::new(addr, prefix)
        .map(|n| n.trunc())
        .expect("24 and 48 are valid prefix lengths")
}

/// A decayed mean of one (network, region).
#[derive(Debug, Clone, Copy)]
struct Decayed {
    mean_ms: f64,
    weight: f64,
    at_secs: u64,
}

impl Decayed {
    fn weight_at(&self, now: u64) -> f64 {
        self.weight * 0.5f64.powf(now.saturating_sub(self.at_secs) as f64 / HALF_LIFE_SECS)
    }

    fn add(&mut self, ms: f64, now: u64) {
        let w = self.weight_at(now);
        self.mean_ms = (self.mean_ms * w + ms) / (w + 1.0);
        self.weight = w + 1.0;
        self.at_secs = now.max(self.at_secs);
    }
}

/// One remembered figure: the decayed mean from a client network to a region.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// The client network (a /24 or /48, [`network_of`]).
    pub network: IpNet,
    /// The region (canonical name).
    pub region: String,
    /// The decayed mean, in milliseconds.
    pub mean_ms: f64,
    /// Its decayed weight now (about the number of recent reports).
    pub weight: f64,
}

/// Why a measurement was not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// [`MAX_NETWORKS`] networks are already measured.
    #[error("too many client networks measured; try later")]
    Full,
}

/// The measurements, by client network and region (canonical region names).
#[derive(Debug, Default)]
pub struct RumStore {
    networks: Mutex<HashMap<IpNet, HashMap<String, Decayed>>>,
}

impl RumStore {
    /// Adds a measurement of `ms` milliseconds from `client` to `region` at `now` (seconds).
    pub fn record(&self, client: IpAddr, region: &str, ms: u32, now: u64) -> Result<(), Refused> {
        let net = network_of(client);
        let mut networks = self.networks.lock().expect("rum lock");
        if !networks.contains_key(&net) && networks.len() >= MAX_NETWORKS {
            return Err(Refused::Full);
        }
        networks
            .entry(net)
            .or_default()
            .entry(region.to_string())
            .or_insert(Decayed {
                mean_ms: f64::from(ms),
                weight: 0.0,
                at_secs: now,
            })
            .add(f64::from(ms), now);
        Ok(())
    }

    /// Client networks measured.
    pub fn len(&self) -> usize {
        self.networks.lock().expect("rum lock").len()
    }

    /// Whether nothing is measured.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every figure at `now` that has not faded below [`PRUNE_WEIGHT`], enough for routing or
    /// not (a copy: at most [`MAX_NETWORKS`] networks times their regions).
    pub fn figures(&self, now: u64) -> Vec<Figure> {
        let networks = self.networks.lock().expect("rum lock");
        networks
            .iter()
            .flat_map(|(net, regions)| {
                regions.iter().filter_map(move |(region, d)| {
                    let weight = d.weight_at(now);
                    (weight >= PRUNE_WEIGHT).then(|| Figure {
                        network: *net,
                        region: region.clone(),
                        mean_ms: d.mean_ms,
                        weight,
                    })
                })
            })
            .collect()
    }

    /// The networks with enough measurements at `now`, as a table for routing; forgets what
    /// has faded away.
    pub fn table(&self, now: u64) -> RumTable {
        let mut networks = self.networks.lock().expect("rum lock");
        let mut measured = LatencyTable::default();
        let mut used = 0;
        let mut digest = 0u64;
        networks.retain(|net, regions| {
            regions.retain(|_, d| d.weight_at(now) >= PRUNE_WEIGHT);
            let mut ranked: Vec<(String, u32)> = regions
                .iter()
                .filter(|(_, d)| d.weight_at(now) >= MIN_WEIGHT)
                .map(|(r, d)| (r.clone(), d.mean_ms.round() as u32))
                .collect();
            if ranked.len() >= MIN_REGIONS {
                ranked.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
                // Order-independent (the map's order is not the same twice).
                digest = digest.wrapping_add(hash_of(&(net, &ranked)));
                measured.set(*net, ranked);
                used += 1;
            }
            !regions.is_empty()
        });
        RumTable {
            measured,
            networks: used,
            digest,
        }
    }
}

fn hash_of(value: &impl std::hash::Hash) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    BuildHasherDefault::<DefaultHasher>::default().hash_one(value)
}

/// The measured latencies routing uses: one entry per client network with enough of them.
#[derive(Debug, Default)]
pub struct RumTable {
    /// The figures, in the shape of an operator's latency table (one line per region).
    measured: LatencyTable,
    networks: usize,
    /// A digest of every entry: equal digests, the same ranking (so nothing to publish).
    digest: u64,
}

impl RumTable {
    /// Networks with enough measurements.
    pub fn len(&self) -> usize {
        self.networks
    }

    /// Whether no network has enough measurements.
    pub fn is_empty(&self) -> bool {
        self.networks == 0
    }

    /// A digest of the table's entries (networks and their ranked figures).
    pub fn digest(&self) -> u64 {
        self.digest
    }
}

impl LatencySource for RumTable {
    fn latencies(&self, addr: IpAddr) -> Latencies<'_> {
        self.measured.latencies(addr)
    }
}

/// Measured latencies first, then the operator's table (if any): what Performance routing ranks
/// regions by before distance.
pub struct Preferred {
    /// The measurements with enough weight.
    pub measured: RumTable,
    /// The operator's latency table.
    pub table: Option<std::sync::Arc<dyn LatencySource + Send + Sync>>,
}

impl std::fmt::Debug for Preferred {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Preferred")
            .field("measured", &self.measured.len())
            .field("table", &self.table.is_some())
            .finish()
    }
}

impl LatencySource for Preferred {
    fn latencies(&self, addr: IpAddr) -> Latencies<'_> {
        let measured = self.measured.latencies(addr);
        if measured.entries.is_some() {
            return measured;
        }
        match &self.table {
            Some(table) => {
                let mut l = table.latencies(addr);
                // The answer holds for the block that is clear of both tables' prefixes.
                l.scope = l.scope.max(measured.scope);
                l
            }
            None => measured,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn networks_are_slash_24_and_slash_48() {
        assert_eq!(network_of(ip("203.0.113.77")).to_string(), "203.0.113.0/24");
        assert_eq!(
            network_of(ip("2001:db8:1:2::9")).to_string(),
            "2001:db8:1::/48"
        );
    }

    #[test]
    fn a_network_counts_once_two_regions_have_enough_reports() {
        let rum = RumStore::default();
        let now = 1_000_000;
        for i in 0..3 {
            rum.record(ip("198.51.100.7"), "West Europe", 30 + i, now)
                .unwrap();
        }
        assert!(rum.table(now).is_empty(), "one region is not a ranking");
        for _ in 0..2 {
            rum.record(ip("198.51.100.9"), "East US", 90, now).unwrap();
        }
        assert!(
            rum.table(now).is_empty(),
            "two East US reports are not enough"
        );
        rum.record(ip("198.51.100.200"), "East US", 120, now)
            .unwrap();
        let table = rum.table(now);
        assert_eq!(table.len(), 1);
        let l = table.latencies(ip("198.51.100.1"));
        assert_eq!(l.prefix, 24);
        assert_eq!(l.to("West Europe"), Some(31));
        assert_eq!(l.to("East US"), Some(100));
        assert!(table.latencies(ip("198.51.101.1")).entries.is_none());
    }

    #[test]
    fn figures_list_every_remembered_mean_enough_for_routing_or_not() {
        let rum = RumStore::default();
        rum.record(ip("198.51.100.7"), "West Europe", 30, 0)
            .unwrap();
        rum.record(ip("198.51.100.8"), "West Europe", 50, 0)
            .unwrap();
        let figures = rum.figures(0);
        assert_eq!(figures.len(), 1);
        let f = &figures[0];
        assert_eq!(f.network.to_string(), "198.51.100.0/24");
        assert_eq!(
            (f.region.as_str(), f.mean_ms, f.weight),
            ("West Europe", 40.0, 2.0)
        );
        assert!(rum.table(0).is_empty(), "not enough for routing");
        assert!((rum.figures(HALF_LIFE_SECS as u64)[0].weight - 1.0).abs() < 1e-9);
        assert!(rum.figures(HALF_LIFE_SECS as u64 * 20).is_empty(), "faded");
    }

    #[test]
    fn old_measurements_fade_and_are_forgotten() {
        let rum = RumStore::default();
        for region in ["West Europe", "East US"] {
            for _ in 0..3 {
                rum.record(ip("10.0.0.1"), region, 50, 0).unwrap();
            }
        }
        assert_eq!(rum.table(0).len(), 1);
        // One half-life later the weight is 1.5: not enough any more, but remembered.
        assert!(rum.table(HALF_LIFE_SECS as u64).is_empty());
        assert_eq!(rum.len(), 1);
        // A new report averages with the decayed mean.
        rum.record(ip("10.0.0.1"), "East US", 200, HALF_LIFE_SECS as u64)
            .unwrap();
        // Long after, everything has faded away.
        assert!(rum.table(HALF_LIFE_SECS as u64 * 20).is_empty());
        assert!(rum.is_empty());
    }

    #[test]
    fn the_store_is_bounded() {
        let rum = RumStore::default();
        for i in 0..MAX_NETWORKS as u32 {
            let a = std::net::Ipv4Addr::from(i << 8);
            rum.record(IpAddr::V4(a), "East US", 1, 0).unwrap();
        }
        assert_eq!(
            rum.record(ip("255.255.255.1"), "East US", 1, 0),
            Err(Refused::Full)
        );
        // A network already measured still takes reports.
        rum.record(ip("0.0.0.9"), "West Europe", 1, 0).unwrap();
    }

    #[test]
    fn measurements_come_before_the_operator_table() {
        let rum = RumStore::default();
        for (region, ms) in [("West Europe", 20), ("East US", 80)] {
            for _ in 0..3 {
                rum.record(ip("10.1.2.3"), region, ms, 0).unwrap();
            }
        }
        let table = crate::LatencyTable::parse(
            "10.0.0.0/8,eastus,5\n",
            &signpost_model::regions::Catalogue::default(),
        )
        .unwrap();
        let both = Preferred {
            measured: rum.table(0),
            table: Some(std::sync::Arc::new(table)),
        };
        let measured = both.latencies(ip("10.1.2.9"));
        assert_eq!(measured.to("West Europe"), Some(20));
        let from_table = both.latencies(ip("10.9.9.9"));
        assert_eq!(from_table.to("East US"), Some(5));
        assert!(from_table.scope >= 8);
    }
}
