//! One query through the routing tables: the decision, and (for `explain`) why.
//!
//! The order for a profile: NXDOMAIN when it is disabled or has no enabled endpoint; then the
//! subnet ranges (Subnet routing, or subnet overrides on the other methods); then the method's rule
//! over eligible endpoints; a nested endpoint hands the query to its child profile, whose answer is
//! returned as the parent's (Azure returns the leaf's record, no CNAME chain).

use std::net::IpAddr;

use signpost_model::{AddressFamily, AllDownPolicy, Location, RoutingMethod};

use crate::health::MonitorStatus;
use crate::table::{
    CompiledProfile, EndpointAnswer, PerformanceRegion, ProfileId, RoutingTable, Selection,
};

/// Levels a query may descend through nested profiles (the model allows 10 below the top).
const MAX_DEPTH: usize = 11;
/// Most endpoints one answer can carry (MultiValue: `maxReturn` of each family).
const MAX_PICKS: usize = 20;

/// Which address records the query asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryFamily {
    /// A.
    V4,
    /// AAAA.
    V6,
    /// ANY: both families.
    Both,
    /// Any other type (CNAME, TXT, ...): no address records.
    Neither,
}

impl QueryFamily {
    fn wants(self, f: AddressFamily) -> bool {
        matches!(
            (self, f),
            (Self::Both, _) | (Self::V4, AddressFamily::V4) | (Self::V6, AddressFamily::V6)
        )
    }
}

/// Where a client address is: a GeoIP database behind a trait, so routing stays pure (the
/// lookup is a read of an in-memory database, no I/O).
pub trait Locate {
    /// The location of `addr` (`None` when the database has none) and the prefix length of the
    /// database network that decided it (the ECS scope of the answer).
    fn locate(&self, addr: IpAddr) -> (Option<Location>, u8);
}

/// An operator's latency table: for a client address, the measured round-trip time to some
/// regions and the table prefix that matched.
pub trait LatencySource {
    /// The entry of the longest prefix containing `addr` (if any) and the ECS scope of that
    /// result, which a miss has too (the block must stay clear of every listed prefix).
    fn latencies(&self, addr: IpAddr) -> Latencies<'_>;
}

/// The latency-table entry for a client.
#[derive(Debug, Clone, Copy)]
pub struct Latencies<'a> {
    /// (canonical region name, milliseconds), when a prefix contains the client.
    pub entries: Option<&'a [(String, u32)]>,
    /// Prefix length of the matching table line (0 on a miss).
    pub prefix: u8,
    /// ECS scope of this result (see [`crate::PrefixMatch::scope`]).
    pub scope: u8,
}

impl Latencies<'_> {
    /// Milliseconds to `region` (by its canonical name, as validation and the table both keep
    /// it), if listed.
    pub fn to(&self, region: &str) -> Option<u32> {
        self.entries?
            .iter()
            .find(|(r, _)| r == region)
            .map(|(_, ms)| *ms)
    }
}

/// What routing needs to know about a query.
#[derive(Clone, Copy)]
pub struct Query<'a> {
    /// The client: the ECS address when the query carries one, else the resolver's address.
    pub client: IpAddr,
    /// The record family asked for.
    pub family: QueryFamily,
    /// GeoIP, when configured (Geographic routing needs it beyond `WORLD`).
    pub locator: Option<&'a dyn Locate>,
    /// The operator's latency table, when configured (Performance routing prefers it).
    pub latency: Option<&'a dyn LatencySource>,
}

impl<'a> Query<'a> {
    /// A query without GeoIP.
    pub fn new(client: IpAddr, family: QueryFamily) -> Self {
        Self {
            client,
            family,
            locator: None,
            latency: None,
        }
    }
}

impl std::fmt::Debug for Query<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Query")
            .field("client", &self.client)
            .field("family", &self.family)
            .field("geoip", &self.locator.is_some())
            .finish()
    }
}

/// The endpoints chosen for an answer (indices into the leaf profile's endpoints). No allocation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Picks {
    len: u8,
    items: [u16; MAX_PICKS],
}

impl Picks {
    fn one(i: u16) -> Self {
        let mut p = Self::empty();
        p.push(i);
        p
    }

    fn empty() -> Self {
        Self {
            len: 0,
            items: [0; MAX_PICKS],
        }
    }

    fn push(&mut self, i: u16) {
        if (self.len as usize) < MAX_PICKS {
            self.items[self.len as usize] = i;
            self.len += 1;
        }
    }

    /// Shuffles the picks from `start` on (Fisher-Yates), so that clients that take the first
    /// address spread over all of them.
    fn shuffle_from(&mut self, start: usize, rng: &mut fastrand::Rng) {
        rng.shuffle(&mut self.items[start..self.len as usize]);
    }

    /// The chosen endpoint indices.
    pub fn as_slice(&self) -> &[u16] {
        &self.items[..self.len as usize]
    }
}

impl std::fmt::Debug for Picks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

/// What the name answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Records of these endpoints of `profile` (the leaf profile when nested).
    Answer {
        /// The profile whose endpoints answer.
        profile: ProfileId,
        /// The chosen endpoints.
        picks: Picks,
    },
    /// The name exists but has nothing for this client or type.
    NoData,
    /// The profile is disabled or has no enabled endpoint.
    NxDomain,
    /// Every endpoint is down and the profile's all-down policy is `servFail`.
    ServFail,
}

/// A routing decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// The answer.
    pub outcome: Outcome,
    /// ECS scope prefix: how many leading bits of the client address the decision depended on.
    pub scope: u8,
}

/// Receives the reasoning of a decision. `()` discards it at no cost (the DNS hot path).
pub trait Trace {
    /// Records one step; `describe` is only called when the step is kept.
    fn step(&mut self, describe: impl FnOnce() -> String);
}

impl Trace for () {
    #[inline(always)]
    fn step(&mut self, _describe: impl FnOnce() -> String) {}
}

/// Keeps every step, for `explain`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Steps(pub Vec<String>);

impl Trace for Steps {
    fn step(&mut self, describe: impl FnOnce() -> String) {
        self.0.push(describe());
    }
}

/// Decides the answer of profile `id` for `query`.
pub fn route(
    table: &RoutingTable,
    id: ProfileId,
    query: &Query,
    rng: &mut fastrand::Rng,
    trace: &mut impl Trace,
) -> Decision {
    let mut seen = Seen::default();
    let outcome = walk(table, id, query, rng, trace, &mut seen, 0);
    Decision {
        outcome,
        scope: seen.scope,
    }
}

/// What one query's walk has learnt so far: the ECS scope of everything the decision depended on,
/// and the client's GeoIP location, looked up at most once however many nested Geographic or
/// Performance levels ask for it.
#[derive(Default)]
struct Seen {
    scope: u8,
    located: Option<(Option<Location>, u8)>,
}

impl Seen {
    /// The decision also depends on the first `prefix` bits of the client address.
    fn depends_on(&mut self, prefix: u8) {
        self.scope = self.scope.max(prefix);
    }

    /// The client's location and the database network's prefix (which the scope takes in).
    fn locate(&mut self, q: &Query) -> (Option<Location>, u8) {
        let (location, prefix) = *self
            .located
            .get_or_insert_with(|| q.locator.map_or((None, 0), |l| l.locate(q.client)));
        self.depends_on(prefix);
        (location, prefix)
    }
}

/// [`route`] with every step recorded: what the API's and CLI's `explain` show.
pub fn explain(
    table: &RoutingTable,
    id: ProfileId,
    query: &Query,
    rng: &mut fastrand::Rng,
) -> (Decision, Vec<String>) {
    let mut steps = Steps::default();
    let d = route(table, id, query, rng, &mut steps);
    (d, steps.0)
}

fn walk(
    table: &RoutingTable,
    id: ProfileId,
    q: &Query,
    rng: &mut fastrand::Rng,
    trace: &mut impl Trace,
    seen: &mut Seen,
    depth: usize,
) -> Outcome {
    let p = table.profile(id);
    trace.step(|| {
        format!(
            "profile {:?}: {} routing, status {}",
            p.name,
            p.method.as_str(),
            p.monitor_status.as_str()
        )
    });
    if p.nxdomain {
        trace.step(|| "profile is disabled or has no enabled endpoint".to_string());
        // At the top this is NXDOMAIN (Azure); below a parent the child is Stopped: NODATA.
        return if depth == 0 {
            Outcome::NxDomain
        } else {
            Outcome::NoData
        };
    }
    if depth >= MAX_DEPTH {
        trace.step(|| "nesting too deep".to_string());
        return Outcome::NoData;
    }
    if p.fail_open {
        trace.step(|| {
            "every enabled endpoint is Degraded: fail-open, all are served as if healthy"
                .to_string()
        });
    } else if p.all_down {
        trace.step(|| {
            format!(
                "every enabled endpoint is Degraded: all-down policy {}",
                p.all_down_policy.as_str()
            )
        });
        match p.all_down_policy {
            AllDownPolicy::ServFail => return Outcome::ServFail,
            // Decided here for every method: Geographic (and its subnet overrides) return the
            // mapped endpoint whatever its health, so leaving it to eligibility would serve a
            // Degraded endpoint.
            AllDownPolicy::NoData => return Outcome::NoData,
            AllDownPolicy::ServeAll => {}
        }
    }
    if p.method == RoutingMethod::MultiValue {
        return multi_value(p, id, q, rng, trace);
    }
    let Some(i) = choose(p, q, rng, trace, seen) else {
        trace.step(|| "no endpoint for this client: NODATA".to_string());
        return Outcome::NoData;
    };
    let ep = &p.endpoints[i as usize];
    match &ep.answer {
        EndpointAnswer::Nested(child) => {
            if ep.status == MonitorStatus::Stopped {
                trace.step(|| {
                    format!(
                        "endpoint {:?} is Stopped (its child profile serves nothing): NODATA",
                        ep.name
                    )
                });
                return Outcome::NoData;
            }
            trace.step(|| format!("endpoint {:?} is nested: asking its child profile", ep.name));
            walk(table, *child, q, rng, trace, seen, depth + 1)
        }
        answer => {
            trace.step(|| format!("answer: endpoint {:?} ({})", ep.name, describe(answer)));
            Outcome::Answer {
                profile: id,
                picks: Picks::one(i),
            }
        }
    }
}

fn describe(a: &EndpointAnswer) -> String {
    match a {
        EndpointAnswer::Name(n) => format!("CNAME {n}"),
        EndpointAnswer::Ipv4(a) => format!("A {a}"),
        EndpointAnswer::Ipv6(a) => format!("AAAA {a}"),
        EndpointAnswer::Nested(_) => "nested".to_string(),
    }
}

/// Applies the subnet ranges, then the method's own rule; returns the chosen endpoint.
fn choose(
    p: &CompiledProfile,
    q: &Query,
    rng: &mut fastrand::Rng,
    trace: &mut impl Trace,
    seen: &mut Seen,
) -> Option<u16> {
    let ranged = if p.ranges.is_empty() {
        None
    } else {
        let m = p.ranges.lookup(q.client);
        seen.depends_on(m.scope);
        trace.step(|| match m.value {
            Some(i) => format!(
                "client {} is in a range of endpoint {:?} (scope /{})",
                q.client, p.endpoints[*i as usize].name, m.scope
            ),
            None => format!(
                "client {} is in no endpoint's range (scope /{})",
                q.client, m.scope
            ),
        });
        m.value.copied()
    };
    let eligible = |i: u16| p.endpoints[i as usize].eligible;
    let status = |i: u16| p.endpoints[i as usize].status.as_str();
    match &p.selection {
        Selection::Subnet { fallback } => {
            if let Some(i) = ranged {
                if eligible(i) {
                    return Some(i);
                }
                trace.step(|| {
                    format!(
                        "matched endpoint is {}: trying the fallback endpoint",
                        status(i)
                    )
                });
            }
            match fallback {
                Some(f) if eligible(*f) => {
                    trace.step(|| {
                        format!(
                            "fallback endpoint {:?} (no ranges)",
                            p.endpoints[*f as usize].name
                        )
                    });
                    Some(*f)
                }
                Some(f) => {
                    trace.step(|| format!("fallback endpoint is {}", status(*f)));
                    None
                }
                None => None,
            }
        }
        Selection::Geographic { codes } => {
            // The geo-fence is never crossed: the mapped endpoint is returned whatever its health.
            if let Some(i) = ranged {
                trace
                    .step(|| "subnet override wins (Geographic: regardless of health)".to_string());
                return Some(i);
            }
            let (located, prefix) = seen.locate(q);
            let location = match located {
                Some(location) => {
                    trace.step(|| {
                        let codes: Vec<&str> = location.codes().collect();
                        format!(
                            "client {} is in {} (GeoIP network /{prefix})",
                            q.client,
                            codes.join(" < ")
                        )
                    });
                    location
                }
                None => {
                    trace.step(|| match q.locator {
                        None => {
                            "no GeoIP database configured: only WORLD mappings apply".to_string()
                        }
                        Some(_) => format!(
                            "client {} is not in the GeoIP database: only WORLD applies",
                            q.client
                        ),
                    });
                    Location::new(None, None, None)
                }
            };
            for code in location.codes() {
                if let Some(&i) = codes.get(code) {
                    trace.step(|| {
                        format!(
                            "{code} is mapped to endpoint {:?}",
                            p.endpoints[i as usize].name
                        )
                    });
                    return Some(i);
                }
            }
            trace.step(|| "no enabled endpoint maps any of the client's codes".to_string());
            None
        }
        _ if ranged.is_some_and(eligible) => {
            trace.step(|| "subnet override wins".to_string());
            ranged
        }
        Selection::Priority { order } => {
            let pick = order.iter().copied().find(|&i| eligible(i));
            for &i in order.iter().take_while(|&&i| Some(i) != pick) {
                trace.step(|| {
                    format!(
                        "priority {} endpoint {:?} skipped: {}",
                        p.endpoints[i as usize].priority,
                        p.endpoints[i as usize].name,
                        status(i)
                    )
                });
            }
            pick
        }
        Selection::Weighted {
            indices,
            cumulative,
        } => {
            let total = *cumulative.last()?;
            let draw = rng.u32(0..total);
            let at = cumulative.partition_point(|&c| c <= draw);
            trace.step(|| {
                format!(
                    "weighted draw {draw} of {total} over {} eligible endpoints",
                    indices.len()
                )
            });
            Some(indices[at])
        }
        Selection::Performance { regions } => performance(regions, q, eligible, rng, trace, seen),
        Selection::MultiValue { .. } => unreachable!("MultiValue is answered by multi_value"),
    }
}

/// Performance: the lowest-latency region with an eligible endpoint by the operator's latency
/// table, else the closest by great-circle distance from the client's GeoIP location, else the
/// first in configuration order; then one of that region's eligible endpoints.
fn performance(
    regions: &[PerformanceRegion],
    q: &Query,
    eligible: impl Fn(u16) -> bool + Copy,
    rng: &mut fastrand::Rng,
    trace: &mut impl Trace,
    seen: &mut Seen,
) -> Option<u16> {
    let has_eligible = |r: &&PerformanceRegion| r.endpoints.iter().any(|&i| eligible(i));
    if let Some(table) = q.latency.map(|t| t.latencies(q.client)) {
        // Hit or miss, the answer depends on where the table's prefixes are.
        seen.depends_on(table.scope);
        if table.entries.is_none() {
            trace.step(|| {
                format!(
                    "client {} is in no latency-table prefix (scope /{}): ranking by distance",
                    q.client, table.scope
                )
            });
        } else {
            trace.step(|| {
                let mut ranked: Vec<(Option<u32>, &str)> = regions
                    .iter()
                    .map(|r| (table.to(&r.name), r.name.as_str()))
                    .collect();
                ranked.sort_by_key(|&(ms, name)| (ms.is_none(), ms, name));
                let list: Vec<String> = ranked
                    .iter()
                    .map(|(ms, n)| match ms {
                        Some(ms) => format!("{n} {ms} ms"),
                        None => format!("{n} (not in the table)"),
                    })
                    .collect();
                format!(
                    "latency table line /{} for client {} (scope /{}): {}",
                    table.prefix,
                    q.client,
                    table.scope,
                    list.join(", ")
                )
            });
            let fastest = regions
                .iter()
                .filter(has_eligible)
                .filter_map(|r| Some((table.to(&r.name)?, r)))
                .min_by_key(|&(ms, _)| ms);
            if let Some((_, region)) = fastest {
                trace.step(|| {
                    format!(
                        "region {:?} has the lowest latency with an eligible endpoint",
                        region.name
                    )
                });
                return spread(&region.endpoints, eligible, rng);
            }
            trace.step(|| {
                "no region of the latency table has an eligible endpoint: ranking by distance"
                    .to_string()
            });
        }
    }
    // GeoIP only when the latency table did not decide: one lookup at most per query.
    // Placed or not, the answer depends on the database network the client fell in.
    let (located, prefix) = seen.locate(q);
    let chosen = match located.and_then(|l| l.coordinates()) {
        Some(here) => {
            let distance = |r: &PerformanceRegion| {
                r.coordinates.map_or(f64::INFINITY, |c| {
                    signpost_model::regions::distance_km(here, c)
                })
            };
            trace.step(|| {
                let mut ranked: Vec<(f64, &str)> =
                    regions.iter().map(|r| (distance(r), r.name.as_str())).collect();
                ranked.sort_by(|a, b| a.0.total_cmp(&b.0));
                let list: Vec<String> =
                    ranked.iter().map(|(d, n)| format!("{n} {d:.0} km")).collect();
                format!(
                    "client {} is at {:.2},{:.2} (GeoIP network /{prefix}); regions by distance: {}",
                    q.client,
                    here.0,
                    here.1,
                    list.join(", ")
                )
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
            trace.step(|| "no location for the client (no GeoIP database, or no coordinates for it): regions ranked in configuration order".to_string());
            regions.iter().find(has_eligible)
        }
    };
    let region = chosen?;
    trace.step(|| {
        format!(
            "region {:?} has an eligible endpoint; traffic is spread evenly inside it",
            region.name
        )
    });
    spread(&region.endpoints, eligible, rng)
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

fn multi_value(
    p: &CompiledProfile,
    id: ProfileId,
    q: &Query,
    rng: &mut fastrand::Rng,
    trace: &mut impl Trace,
) -> Outcome {
    let Selection::MultiValue { v4, v6 } = &p.selection else {
        unreachable!("MultiValue profiles compile to a MultiValue selection")
    };
    let mut picks = Picks::empty();
    // maxReturn counts per family: an ANY query can carry maxReturn A and maxReturn AAAA. Each
    // family's addresses come in a fresh random order per query (many clients use the first).
    for (family, list) in [(AddressFamily::V4, v4), (AddressFamily::V6, v6)] {
        if q.family.wants(family) {
            let start = picks.len as usize;
            sample(list, p.max_return as usize, rng, &mut picks);
            picks.shuffle_from(start, rng);
        }
    }
    trace.step(|| {
        format!(
            "MultiValue: {} of {} eligible addresses (maxReturn {})",
            picks.len,
            v4.len() + v6.len(),
            p.max_return
        )
    });
    if picks.len == 0 {
        Outcome::NoData
    } else {
        Outcome::Answer { profile: id, picks }
    }
}

/// Appends `k` of `list` chosen uniformly at random, in list order (Knuth's selection sampling).
/// The caller shuffles them.
fn sample(list: &[u16], k: usize, rng: &mut fastrand::Rng, out: &mut Picks) {
    let n = list.len();
    if n <= k {
        list.iter().for_each(|&i| out.push(i));
        return;
    }
    let mut needed = k;
    for (seen, &i) in list.iter().enumerate() {
        if needed == 0 {
            break;
        }
        if rng.usize(0..n - seen) < needed {
            out.push(i);
            needed -= 1;
        }
    }
}
