//! Publishing snapshots: the only writer of the `ArcSwap` the DNS hot path reads.
//!
//! Every change (a new profiles file today, health changes next) ends here: compile the routing
//! table, encode the snapshot with a new serial, swap it in whole. Readers never wait.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Result;
use arc_swap::ArcSwap;
use signpost_dns::{Snapshot, ZoneConfig};
use signpost_model::ProfileSet;
use signpost_routing::{AllHealthy, RoutingTable};

/// Builds and swaps snapshots for a fixed set of zones.
pub struct Publisher {
    zones: Vec<ZoneConfig>,
    current: Arc<ArcSwap<Snapshot>>,
    serial: u32,
}

impl Publisher {
    /// Builds the first snapshot from `set`.
    pub fn new(zones: Vec<ZoneConfig>, set: &ProfileSet) -> Result<Self> {
        let serial = next_serial(0);
        let first = build(&zones, set, serial)?;
        Ok(Self {
            zones,
            current: Arc::new(ArcSwap::from_pointee(first)),
            serial,
        })
    }

    /// The handle the DNS server reads.
    pub fn snapshot(&self) -> Arc<ArcSwap<Snapshot>> {
        self.current.clone()
    }

    /// Publishes a snapshot of `set`; on error the current snapshot stays.
    pub fn publish(&mut self, set: &ProfileSet) -> Result<u32> {
        let serial = next_serial(self.serial);
        let snapshot = build(&self.zones, set, serial)?;
        self.current.store(Arc::new(snapshot));
        self.serial = serial;
        Ok(serial)
    }
}

fn build(zones: &[ZoneConfig], set: &ProfileSet, serial: u32) -> Result<Snapshot> {
    // Health probing arrives with the health engine; until then every endpoint counts as Online.
    let routing = RoutingTable::compile(set, &AllHealthy);
    Ok(Snapshot::build(zones, routing, serial)?)
}

/// A SOA serial that grows with every snapshot: the Unix time, or one more than the last.
fn next_serial(last: u32) -> u32 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as u32);
    now.max(last.wrapping_add(1))
}
