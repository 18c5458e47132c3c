//! Performance: the lowest-latency region with an eligible endpoint by the operator's latency
//! table, else the closest by great-circle distance from the client's GeoIP location, else the
//! first in configuration order; then one of that region's eligible endpoints, uniformly.

use signpost_model::Profile;

use crate::explain::{Step, Trace};
use crate::method::Pick;

/// The profile's regions in first-appearance order.
#[derive(Debug, Clone)]
pub(crate) struct Performance {
    regions: Vec<Region>,
}

/// A region of a Performance profile.
#[derive(Debug, Clone)]
struct Region {
    /// The name as first written.
    name: String,
    /// Latitude and longitude (validation guarantees a known region).
    coordinates: Option<(f64, f64)>,
    /// Its endpoints.
    endpoints: Vec<u16>,
}

impl Performance {
    pub(crate) fn build(p: &Profile) -> Self {
        let mut regions: Vec<Region> = Vec::new();
        for (i, e) in p.endpoints.iter().enumerate() {
            let name = e.location.clone().unwrap_or_default();
            let coordinates = e.coordinates;
            // Validation gave known regions their canonical name: equal names are one
            // region, and two sites that share coordinates stay two.
            match regions.iter_mut().find(|r| r.name == name) {
                Some(r) => r.endpoints.push(i as u16),
                None => regions.push(Region {
                    name,
                    coordinates,
                    endpoints: vec![i as u16],
                }),
            }
        }
        Self { regions }
    }

    #[inline]
    pub(crate) fn pick<T: Trace>(&self, cx: &mut Pick<'_, '_, T>) -> Option<u16> {
        let regions = &self.regions;
        let eps = cx.endpoints;
        let eligible = |i: u16| eps[i as usize].eligible;
        let has_eligible = |r: &&Region| r.endpoints.iter().any(|&i| eligible(i));
        let q = cx.query;
        if let Some(table) = q.latency.map(|t| t.latencies(q.client)) {
            // Hit or miss, the answer depends on where the table's prefixes are.
            cx.seen.depends_on(table.scope);
            if table.entries.is_none() {
                cx.trace.step(|| Step::NotInLatencyTable {
                    client: q.client,
                    scope: table.scope,
                });
            } else {
                cx.trace.step(|| {
                    let mut ranked: Vec<(String, Option<u32>)> = regions
                        .iter()
                        .map(|r| (r.name.clone(), table.to(&r.name)))
                        .collect();
                    ranked.sort_by(|(a, x), (b, y)| (x.is_none(), x, a).cmp(&(y.is_none(), y, b)));
                    Step::LatencyLine {
                        client: q.client,
                        prefix: table.prefix,
                        scope: table.scope,
                        ranked,
                    }
                });
                let fastest = regions
                    .iter()
                    .filter(has_eligible)
                    .filter_map(|r| Some((table.to(&r.name)?, r)))
                    .min_by_key(|&(ms, _)| ms);
                if let Some((_, region)) = fastest {
                    cx.trace.step(|| Step::FastestRegion {
                        region: region.name.clone(),
                    });
                    return spread(&region.endpoints, eligible, cx.rng);
                }
                cx.trace.step(|| Step::NoFastestRegion);
            }
        }
        // GeoIP only when the latency table did not decide: one lookup at most per query.
        // Placed or not, the answer depends on the database network the client fell in.
        let (located, prefix) = cx.seen.locate(q);
        let chosen = match located.and_then(|l| l.coordinates()) {
            Some(here) => {
                let distance = |r: &Region| {
                    r.coordinates.map_or(f64::INFINITY, |c| {
                        signpost_model::regions::distance_km(here, c)
                    })
                };
                cx.trace.step(|| {
                    let mut ranked: Vec<(String, f64)> = regions
                        .iter()
                        .map(|r| (r.name.clone(), distance(r)))
                        .collect();
                    ranked.sort_by(|a, b| a.1.total_cmp(&b.1));
                    Step::Distances {
                        client: q.client,
                        at: here,
                        prefix,
                        ranked,
                    }
                });
                // The closest region with an eligible endpoint; ties go to configuration order.
                regions
                    .iter()
                    .filter(has_eligible)
                    .map(|r| (distance(r), r))
                    .min_by(|a, b| a.0.total_cmp(&b.0))
                    .map(|(_, r)| r)
            }
            None => {
                cx.trace.step(|| Step::NoLocation);
                regions.iter().find(has_eligible)
            }
        };
        let region = chosen?;
        cx.trace.step(|| Step::Region {
            region: region.name.clone(),
        });
        spread(&region.endpoints, eligible, cx.rng)
    }
}

/// One of a region's eligible endpoints, uniformly: a region's endpoints share its traffic evenly.
fn spread(
    endpoints: &[u16],
    eligible: impl Fn(u16) -> bool,
    rng: &mut fastrand::Rng,
) -> Option<u16> {
    let n = endpoints.iter().filter(|&&i| eligible(i)).count();
    if n == 0 {
        return None;
    }
    endpoints
        .iter()
        .copied()
        .filter(|&i| eligible(i))
        .nth(rng.usize(0..n))
}
