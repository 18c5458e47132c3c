//! One query through the routing tables: the decision, and (for `explain`) why.
//!
//! The order for a profile: NXDOMAIN when it is disabled or has no enabled endpoint; then the
//! subnet ranges (Subnet routing, or subnet overrides on the other methods); then the method's rule
//! over eligible endpoints; a nested endpoint hands the query to its child profile, whose answer is
//! returned as the parent's (Azure returns the leaf's record, no CNAME chain).

use std::net::IpAddr;

use signpost_model::{AddressFamily, AllDownPolicy, Location};

use crate::explain::{Step, Trace};
use crate::health::MonitorStatus;
use crate::method::{MethodTable, Pick, subnet};
use crate::table::{EndpointAnswer, ProfileId, RoutingTable};

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
    pub(crate) fn wants(self, f: AddressFamily) -> bool {
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

    pub(crate) fn empty() -> Self {
        Self {
            len: 0,
            items: [0; MAX_PICKS],
        }
    }

    pub(crate) fn push(&mut self, i: u16) {
        if (self.len as usize) < MAX_PICKS {
            self.items[self.len as usize] = i;
            self.len += 1;
        }
    }

    /// Shuffles the picks from `start` on (Fisher-Yates), so that clients that take the first
    /// address spread over all of them.
    pub(crate) fn shuffle_from(&mut self, start: usize, rng: &mut fastrand::Rng) {
        rng.shuffle(&mut self.items[start..self.len as usize]);
    }

    /// How many endpoints are chosen.
    pub(crate) fn len(&self) -> usize {
        self.len as usize
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
pub(crate) struct Seen {
    scope: u8,
    located: Option<(Option<Location>, u8)>,
}

impl Seen {
    /// The decision also depends on the first `prefix` bits of the client address.
    pub(crate) fn depends_on(&mut self, prefix: u8) {
        self.scope = self.scope.max(prefix);
    }

    /// The client's location and the database network's prefix (which the scope takes in).
    pub(crate) fn locate(&mut self, q: &Query) -> (Option<Location>, u8) {
        let (location, prefix) = *self
            .located
            .get_or_insert_with(|| q.locator.map_or((None, 0), |l| l.locate(q.client)));
        self.depends_on(prefix);
        (location, prefix)
    }
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
    trace.step(|| Step::Profile {
        name: p.name.clone(),
        method: p.method(),
        status: p.monitor_status,
    });
    if p.nxdomain {
        trace.step(|| Step::ProfileOff);
        // At the top this is NXDOMAIN (Azure); below a parent the child is Stopped: NODATA.
        return if depth == 0 {
            Outcome::NxDomain
        } else {
            Outcome::NoData
        };
    }
    if depth >= MAX_DEPTH {
        trace.step(|| Step::TooDeep);
        return Outcome::NoData;
    }
    if p.fail_open {
        trace.step(|| Step::FailOpen);
    } else if p.all_down {
        trace.step(|| Step::AllDown {
            policy: p.all_down_policy,
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
    let mut cx = Pick {
        endpoints: &p.endpoints,
        query: q,
        rng: &mut *rng,
        trace: &mut *trace,
        seen: &mut *seen,
        overridden: None,
    };
    // Subnet overrides first (empty, and skipped, on Subnet and MultiValue profiles).
    cx.overridden = subnet::lookup(&p.overrides, &mut cx);
    let eligible_override = cx.overridden.filter(|&i| cx.eligible(i));
    let chosen = match (&p.table, eligible_override) {
        (MethodTable::MultiValue(m), _) => {
            let picks = m.pick(&mut cx);
            return if picks.len() == 0 {
                Outcome::NoData
            } else {
                Outcome::Answer { profile: id, picks }
            };
        }
        (MethodTable::Subnet(m), _) => m.pick(&mut cx),
        (MethodTable::Geographic(m), _) => m.pick(&mut cx),
        // On the other methods an eligible override wins over the method's rule.
        (_, Some(i)) => {
            cx.trace.step(|| Step::SubnetOverride {
                endpoint: p.endpoints[i as usize].name.clone(),
                regardless_of_health: false,
            });
            Some(i)
        }
        (MethodTable::Priority(m), None) => m.pick(&mut cx),
        (MethodTable::Weighted(m), None) => m.pick(&mut cx),
        (MethodTable::Performance(m), None) => m.pick(&mut cx),
    };
    let Some(i) = chosen else {
        trace.step(|| Step::NoEndpoint);
        return Outcome::NoData;
    };
    let ep = &p.endpoints[i as usize];
    match &ep.answer {
        EndpointAnswer::Nested(child) => {
            if ep.status == MonitorStatus::Stopped {
                trace.step(|| Step::Stopped {
                    endpoint: ep.name.clone(),
                });
                return Outcome::NoData;
            }
            trace.step(|| Step::Nested {
                endpoint: ep.name.clone(),
            });
            walk(table, *child, q, rng, trace, seen, depth + 1)
        }
        answer => {
            trace.step(|| Step::Answer {
                endpoint: ep.name.clone(),
                record: answer.clone(),
            });
            Outcome::Answer {
                profile: id,
                picks: Picks::one(i),
            }
        }
    }
}
