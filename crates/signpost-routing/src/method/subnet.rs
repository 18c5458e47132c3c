//! Subnet: the endpoint whose range holds the client (EDNS Client Subnet, else the resolver's
//! address); the endpoint without ranges is the fallback. The same ranges, on the other methods
//! (MultiValue aside), are subnet overrides: [`ranges`] builds both and [`lookup`] reads both.

use signpost_model::Profile;

use crate::explain::{Step, Trace};
use crate::method::Pick;
use crate::prefixes::PrefixTable;

/// The ranges of enabled endpoints, and the enabled endpoint without ranges.
#[derive(Debug, Clone)]
pub(crate) struct Subnet {
    ranges: PrefixTable<u16>,
    fallback: Option<u16>,
}

impl Subnet {
    pub(crate) fn build(p: &Profile) -> Self {
        Self {
            ranges: ranges(p),
            fallback: p
                .endpoints
                .iter()
                .position(|e| e.enabled && e.subnets.is_empty())
                .map(|i| i as u16),
        }
    }

    /// The matched endpoint if eligible, else the fallback if eligible (Azure would answer
    /// NXDOMAIN for an unhealthy match; see the README).
    #[inline]
    pub(crate) fn pick<T: Trace>(&self, cx: &mut Pick<'_, '_, T>) -> Option<u16> {
        let eps = cx.endpoints;
        if let Some(i) = lookup(&self.ranges, cx) {
            if cx.eligible(i) {
                return Some(i);
            }
            cx.trace.step(|| Step::MatchedUnavailable {
                endpoint: eps[i as usize].name.clone(),
                status: eps[i as usize].status,
            });
        }
        let f = self.fallback?;
        if cx.eligible(f) {
            cx.trace.step(|| Step::Fallback {
                endpoint: eps[f as usize].name.clone(),
            });
            Some(f)
        } else {
            cx.trace.step(|| Step::FallbackUnavailable {
                endpoint: eps[f as usize].name.clone(),
                status: eps[f as usize].status,
            });
            None
        }
    }
}

/// The subnet ranges of `p`'s enabled endpoints, each range as the fewest CIDR blocks.
pub(crate) fn ranges(p: &Profile) -> PrefixTable<u16> {
    let mut ranges = PrefixTable::new();
    for (i, e) in p.endpoints.iter().enumerate().filter(|(_, e)| e.enabled) {
        for r in &e.subnets {
            ranges.insert_range(r.first, r.last, i as u16);
        }
    }
    ranges
}

/// The endpoint whose range holds the client, whatever its health. The decision now depends on
/// the lookup's scope (hit or miss); an empty table decides nothing and costs nothing.
#[inline]
pub(crate) fn lookup<T: Trace>(ranges: &PrefixTable<u16>, cx: &mut Pick<'_, '_, T>) -> Option<u16> {
    if ranges.is_empty() {
        return None;
    }
    let (client, eps) = (cx.query.client, cx.endpoints);
    let m = ranges.lookup(client);
    cx.seen.depends_on(m.scope);
    let found = m.value.copied();
    cx.trace.step(|| Step::SubnetRange {
        client,
        endpoint: found.map(|i| eps[i as usize].name.clone()),
        scope: m.scope,
    });
    found
}
