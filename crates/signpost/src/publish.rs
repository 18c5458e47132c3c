//! Publishing snapshots: the only writer of the `ArcSwap` the DNS hot path reads.
//!
//! Every change (a new profiles file, a health transition) ends here: compile the routing table
//! against the current health, encode the snapshot with a new serial, swap it in whole. Readers
//! never wait. Entering and leaving fail-open or all-down is logged loudly here, because a profile
//! serving Degraded endpoints hides a broken probe.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::alias::AliasResolver;
use anyhow::Result;
use arc_swap::ArcSwap;
use signpost_api::Instruments;
use signpost_dns::dnssec::ZoneSigner;
use signpost_dns::hosted::HostedZone;
use signpost_dns::{DnsCounters, Snapshot, ZoneConfig};
use signpost_model::ProfileSet;
use signpost_routing::{HealthView, LatencySource, Locate, RoutingTable};

/// Builds and swaps snapshots for a fixed set of zones.
pub(crate) struct Publisher {
    zones: Vec<ZoneConfig>,
    geo: Option<Arc<dyn Locate + Send + Sync>>,
    latency: Option<Arc<dyn LatencySource + Send + Sync>>,
    current: Arc<ArcSwap<Snapshot>>,
    serial: u32,
    all_down: BTreeSet<String>,
    /// Where the DNS server counts (snapshots carry their profiles' counter slots).
    counters: Option<Arc<DnsCounters>>,
    /// Compile and publish times, the configuration revision.
    instruments: Instruments,
    /// The operator's hosted zones.
    hosted: Vec<Arc<HostedZone>>,
    /// Signers of the signed zones, by lower-case apex, with the stored key set each was made
    /// from.
    signers: HashMap<String, Arc<ZoneSigner>>,
    key_sets: HashMap<String, String>,
    /// Resolves what the hosted zones' ALIAS records need, in the background.
    alias: Option<AliasResolver>,
}

impl Publisher {
    /// A publisher for `zones` and the `hosted` zones; it serves an empty snapshot until the
    /// first [`Publisher::publish`].
    pub(crate) fn new(
        zones: Vec<ZoneConfig>,
        hosted: Vec<Arc<HostedZone>>,
        geo: Option<Arc<dyn Locate + Send + Sync>>,
        latency: Option<Arc<dyn LatencySource + Send + Sync>>,
        counters: Option<Arc<DnsCounters>>,
        instruments: Instruments,
    ) -> Result<Self> {
        Ok(Self {
            zones,
            geo,
            latency,
            current: Arc::new(ArcSwap::from_pointee(Snapshot::build(
                &[],
                RoutingTable::default(),
                0,
            )?)),
            serial: 0,
            all_down: BTreeSet::new(),
            counters,
            instruments,
            hosted,
            signers: HashMap::new(),
            key_sets: HashMap::new(),
            alias: None,
        })
    }

    /// Signs `zone` with the key set stored as `text` from the next publish on; says whether
    /// that changed anything (a set that does not load keeps the signer in use, logged).
    pub(crate) fn set_key_set(&mut self, zone: &str, text: &str) -> bool {
        if self.key_sets.get(zone).is_some_and(|t| t == text) {
            return false;
        }
        match signpost_api::dnssec::KeySet::parse(text).and_then(|set| set.signer(zone)) {
            Ok(signer) => {
                let tags: Vec<u16> = signer.keys().iter().map(|k| k.tag()).collect();
                tracing::info!(zone, keys = ?tags, "dnssec: signing with these keys");
                self.signers.insert(zone.to_string(), Arc::new(signer));
                self.key_sets.insert(zone.to_string(), text.to_string());
                true
            }
            Err(e) => {
                tracing::error!(zone, error = %e, "dnssec: key set not loaded; keeping the keys in use");
                false
            }
        }
    }

    /// The metrics this publisher updates.
    pub(crate) fn instruments(&self) -> &Instruments {
        &self.instruments
    }

    /// The handle the DNS server reads.
    pub(crate) fn snapshot(&self) -> Arc<ArcSwap<Snapshot>> {
        self.current.clone()
    }

    /// The snapshot in force.
    pub(crate) fn current(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// Publishes a snapshot of `set` under `health`; on error the current snapshot stays.
    pub(crate) fn publish(
        &mut self,
        set: &ProfileSet,
        health: &dyn HealthView,
    ) -> Result<Arc<Snapshot>> {
        let serial = next_serial(self.serial);
        let started = Instant::now();
        let routing = RoutingTable::compile(set, health);
        let compiled = started.elapsed();
        let mut snapshot = Snapshot::build(&self.zones, routing, serial)?
            .with_geo(self.geo.clone())
            .with_latency(self.latency.clone())
            .with_hosted(self.hosted.clone())
            .with_signers(&self.signers.values().cloned().collect::<Vec<_>>())
            .with_alias_cache(self.alias.as_ref().map(AliasResolver::cache));
        if let Some(counters) = &self.counters {
            snapshot = snapshot.with_metric_slots(counters.slots());
        }
        let snapshot = Arc::new(snapshot);
        self.current.store(snapshot.clone());
        // The names ALIAS answers depend on follow the profiles and zones just published.
        if let Some(alias) = &self.alias {
            alias.keep(signpost_dns::alias::alias_names(&snapshot));
        }
        self.instruments.published(compiled, started.elapsed());
        self.serial = serial;
        self.report(&snapshot);
        Ok(snapshot)
    }

    /// Uses another GeoIP database from the next publish on.
    pub(crate) fn set_geo(&mut self, geo: Option<Arc<dyn Locate + Send + Sync>>) {
        self.geo = geo;
    }

    /// Answers ALIAS records from `alias`'s cache from the next publish on.
    pub(crate) fn set_alias(&mut self, alias: AliasResolver) {
        self.alias = Some(alias);
    }

    /// Serves these hosted zones from the next publish on.
    pub(crate) fn set_hosted(&mut self, hosted: Vec<Arc<HostedZone>>) {
        self.hosted = hosted;
    }

    /// Uses another latency table from the next publish on.
    pub(crate) fn set_latency(&mut self, latency: Option<Arc<dyn LatencySource + Send + Sync>>) {
        self.latency = latency;
    }

    /// Logs profiles entering or leaving the all-down state.
    fn report(&mut self, snapshot: &Snapshot) {
        let now: BTreeSet<String> = snapshot
            .routing
            .profiles()
            .iter()
            .filter(|p| p.all_down)
            .map(|p| p.name.clone())
            .collect();
        for p in snapshot
            .routing
            .profiles()
            .iter()
            .filter(|p| p.all_down && !self.all_down.contains(&p.name))
        {
            if p.fail_open {
                tracing::warn!(profile = %p.name, "FAIL-OPEN: every endpoint is Degraded; serving them all as if healthy (check the probes)");
            } else {
                tracing::warn!(profile = %p.name, policy = p.all_down_policy.as_str(), "ALL DOWN: every endpoint is Degraded; answering per the all-down policy");
            }
        }
        for name in self.all_down.difference(&now) {
            tracing::info!(profile = %name, "no longer all down: healthy endpoints are back");
        }
        self.all_down = now;
    }
}

/// A SOA serial that grows with every snapshot: the Unix time, or one more than the last.
fn next_serial(last: u32) -> u32 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as u32);
    now.max(last.wrapping_add(1))
}
