//! Why a decision came out as it did: typed steps, recorded through a [`Trace`].
//!
//! Routing never formats text. Each step of a decision is a [`Step`] value built inside a
//! closure that the hot path's trace, `()`, never calls, so a DNS query pays nothing for it;
//! `explain` keeps them in [`Steps`]. Tests assert on the values, and the API and the CLI render
//! them with [`Display`](std::fmt::Display) (the sentences `explain` has always shown).

use std::fmt;
use std::net::IpAddr;

use signpost_model::{AllDownPolicy, Location, OverrideState, RoutingMethod, UtcTime};

use crate::health::{MonitorStatus, ProfileMonitorStatus};
use crate::route::{Decision, Query, route};
use crate::table::{EndpointAnswer, ProfileId, RoutingTable};

/// Receives the reasoning of a decision. `()` discards it at no cost (the DNS hot path).
pub trait Trace {
    /// Records one step; `step` is only called when the step is kept.
    fn step(&mut self, step: impl FnOnce() -> Step);
}

impl Trace for () {
    #[inline(always)]
    fn step(&mut self, _step: impl FnOnce() -> Step) {}
}

/// Keeps every step, for `explain`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Steps(pub Vec<Step>);

impl Trace for Steps {
    fn step(&mut self, step: impl FnOnce() -> Step) {
        self.0.push(step());
    }
}

/// [`route`] with every step recorded: what the API's and CLI's `explain` show.
pub fn explain(
    table: &RoutingTable,
    id: ProfileId,
    query: &Query,
    rng: &mut fastrand::Rng,
) -> (Decision, Vec<Step>) {
    let mut steps = Steps::default();
    let d = route(table, id, query, rng, &mut steps);
    (d, with_overrides(table, steps.0))
}

/// The steps with a [`Step::Forced`] for every endpoint an operator override decides, in each
/// profile the walk entered: right after the first step that names the endpoint (the one that
/// skipped or chose it), else right after the profile's own step. Done here, after the walk,
/// so the DNS path never looks at overrides.
fn with_overrides(table: &RoutingTable, steps: Vec<Step>) -> Vec<Step> {
    if !table
        .profiles()
        .iter()
        .any(|p| p.endpoints.iter().any(|e| e.forced.is_some()))
    {
        return steps;
    }
    let mut out = Vec::with_capacity(steps.len() + 1);
    let mut pending: Vec<Step> = Vec::new();
    // Where the current profile's unnamed overrides go: just after its Profile step.
    let mut profile_at = 0;
    let flush = |out: &mut Vec<Step>, pending: &mut Vec<Step>, at: usize| {
        for (i, s) in pending.drain(..).enumerate() {
            out.insert(at + i, s);
        }
    };
    for step in steps {
        if let Step::Profile { name, .. } = &step {
            flush(&mut out, &mut pending, profile_at);
            pending = table
                .by_name(name)
                .map(|id| table.profile(id))
                .into_iter()
                .flat_map(|p| p.endpoints.iter())
                .filter(|e| e.status != MonitorStatus::Disabled)
                .filter_map(|e| {
                    e.forced.as_ref().map(|o| Step::Forced {
                        endpoint: e.name.clone(),
                        state: o.state,
                        reason: o.reason.clone(),
                        expires_at: o.expires_at,
                    })
                })
                .collect();
            out.push(step);
            profile_at = out.len();
            continue;
        }
        let named = step.endpoint().map(str::to_string);
        out.push(step);
        if let Some(name) = named
            && let Some(i) = pending.iter().position(
                |f| matches!(f, Step::Forced { endpoint, .. } if endpoint.eq_ignore_ascii_case(&name)),
            )
        {
            out.push(pending.remove(i));
        }
    }
    flush(&mut out, &mut pending, profile_at);
    out
}

/// One step of a routing decision, in the order the walk takes them. Endpoint and region names
/// are as configured.
///
/// With the `serde` feature a step serializes as an object whose `kind` is the variant's name in
/// camelCase, with its fields in camelCase beside it; statuses, methods and policies as their
/// document spellings, a location as its codes (most specific first), rankings as
/// `[name, value]` pairs.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(
        tag = "kind",
        rename_all = "camelCase",
        rename_all_fields = "camelCase"
    )
)]
#[non_exhaustive]
pub enum Step {
    // Every profile the walk enters (the queried one, then each nested child).
    /// The walk enters a profile.
    Profile {
        /// Resource name.
        name: String,
        /// Its routing method.
        #[cfg_attr(feature = "serde", serde(serialize_with = "ser::method"))]
        method: RoutingMethod,
        /// Its profile monitor status.
        #[cfg_attr(feature = "serde", serde(serialize_with = "ser::profile_status"))]
        status: ProfileMonitorStatus,
    },
    /// The profile is disabled or has no enabled endpoint (NXDOMAIN at the top, NODATA below).
    ProfileOff,
    /// Nesting went deeper than the model allows: NODATA.
    TooDeep,
    /// Every enabled endpoint is Degraded and the policy serves them all as if healthy.
    FailOpen,
    /// Every enabled endpoint is Degraded; the policy answers without the method's rule.
    AllDown {
        /// `noData` or `servFail` (or `serveAll` when nothing could be served).
        #[cfg_attr(feature = "serde", serde(serialize_with = "ser::policy"))]
        policy: AllDownPolicy,
    },
    /// The method chose no endpoint: NODATA.
    NoEndpoint,
    /// The chosen endpoint is nested and its child serves nothing: NODATA.
    Stopped {
        /// The nested endpoint.
        endpoint: String,
    },
    /// The chosen endpoint is nested: its child profile answers.
    Nested {
        /// The nested endpoint.
        endpoint: String,
    },
    /// The chosen endpoint answers.
    Answer {
        /// The endpoint.
        endpoint: String,
        /// What it answers with.
        record: EndpointAnswer,
    },

    /// An operator override decides this endpoint's health, whatever its probes say.
    Forced {
        /// The endpoint.
        endpoint: String,
        /// What it is forced to (`Online` or `Degraded`).
        state: OverrideState,
        /// The operator's reason.
        reason: String,
        /// When the override ends by itself (absent: when cleared).
        expires_at: Option<UtcTime>,
    },

    // Subnet ranges: Subnet routing, or subnet overrides of the other methods.
    /// The client looked up in the profile's subnet ranges.
    SubnetRange {
        /// The client address routed on.
        client: IpAddr,
        /// The endpoint whose range holds it, if any.
        endpoint: Option<String>,
        /// ECS scope of the lookup.
        scope: u8,
    },
    /// Subnet: the matched endpoint cannot serve, so the fallback is tried.
    MatchedUnavailable {
        /// The matched endpoint.
        endpoint: String,
        /// Its status.
        #[cfg_attr(feature = "serde", serde(serialize_with = "ser::status"))]
        status: MonitorStatus,
    },
    /// Subnet: the fallback endpoint (the one without ranges) serves.
    Fallback {
        /// The fallback endpoint.
        endpoint: String,
    },
    /// Subnet: the fallback endpoint cannot serve either.
    FallbackUnavailable {
        /// The fallback endpoint.
        endpoint: String,
        /// Its status.
        #[cfg_attr(feature = "serde", serde(serialize_with = "ser::status"))]
        status: MonitorStatus,
    },
    /// A subnet override decides (on Geographic whatever the endpoint's health, elsewhere only
    /// when it is eligible).
    SubnetOverride {
        /// The endpoint whose range holds the client.
        endpoint: String,
        /// Geographic: the override is taken whatever the endpoint's health.
        regardless_of_health: bool,
    },

    // Geographic.
    /// The client's GeoIP location.
    Located {
        /// The client address routed on.
        client: IpAddr,
        /// Where it is (its codes, most specific first, are what mappings match).
        #[cfg_attr(
            feature = "serde",
            serde(rename = "codes", serialize_with = "ser::location")
        )]
        location: Location,
        /// Prefix length of the GeoIP network.
        prefix: u8,
    },
    /// No GeoIP database: only `WORLD` mappings apply.
    NoGeoIp,
    /// The client is not in the GeoIP database: only `WORLD` applies.
    NotInGeoIp {
        /// The client address routed on.
        client: IpAddr,
    },
    /// The most specific of the client's codes that an enabled endpoint maps.
    GeoMapped {
        /// The location code.
        code: String,
        /// The endpoint mapping it.
        endpoint: String,
    },
    /// No enabled endpoint maps any of the client's codes.
    GeoUnmapped,

    // Priority and Weighted.
    /// Priority: an endpoint before the chosen one, passed over.
    PrioritySkipped {
        /// Its priority.
        priority: u16,
        /// The endpoint.
        endpoint: String,
        /// Why: its status.
        #[cfg_attr(feature = "serde", serde(serialize_with = "ser::status"))]
        status: MonitorStatus,
    },
    /// Weighted: the random draw over the cumulative weights of eligible endpoints.
    WeightedDraw {
        /// The draw, `0..total`.
        draw: u32,
        /// Sum of the eligible endpoints' weights.
        total: u32,
        /// How many endpoints are eligible.
        eligible: usize,
    },

    // Performance.
    /// The latency table has no prefix holding the client.
    NotInLatencyTable {
        /// The client address routed on.
        client: IpAddr,
        /// ECS scope of the miss.
        scope: u8,
    },
    /// The latency-table line for the client, with the profile's regions ranked by it.
    LatencyLine {
        /// The client address routed on.
        client: IpAddr,
        /// Prefix length of the line.
        prefix: u8,
        /// ECS scope of the lookup.
        scope: u8,
        /// Every region of the profile, fastest first, with its milliseconds (`None`: not in
        /// the line, ranked last).
        ranked: Vec<(String, Option<u32>)>,
    },
    /// The lowest-latency region with an eligible endpoint.
    FastestRegion {
        /// The region.
        region: String,
    },
    /// No region of the latency line has an eligible endpoint: distance decides.
    NoFastestRegion,
    /// The client's GeoIP coordinates, with the profile's regions ranked by distance.
    Distances {
        /// The client address routed on.
        client: IpAddr,
        /// Latitude and longitude.
        at: (f64, f64),
        /// Prefix length of the GeoIP network.
        prefix: u8,
        /// Every region of the profile, closest first, in kilometres.
        ranked: Vec<(String, f64)>,
    },
    /// No coordinates for the client: regions in configuration order.
    NoLocation,
    /// The region chosen (the closest, or the first, with an eligible endpoint).
    Region {
        /// The region.
        region: String,
    },

    // MultiValue.
    /// MultiValue: how many addresses the answer carries.
    MultiValue {
        /// Addresses picked.
        picked: usize,
        /// Eligible addresses of both families.
        eligible: usize,
        /// The profile's `maxReturn` (per family).
        max_return: u8,
    },
}

impl Step {
    /// The endpoint this step is about, if it names one.
    pub fn endpoint(&self) -> Option<&str> {
        match self {
            Self::Stopped { endpoint }
            | Self::Nested { endpoint }
            | Self::Answer { endpoint, .. }
            | Self::MatchedUnavailable { endpoint, .. }
            | Self::Fallback { endpoint }
            | Self::FallbackUnavailable { endpoint, .. }
            | Self::SubnetOverride { endpoint, .. }
            | Self::GeoMapped { endpoint, .. }
            | Self::PrioritySkipped { endpoint, .. }
            | Self::Forced { endpoint, .. } => Some(endpoint),
            Self::SubnetRange { endpoint, .. } => endpoint.as_deref(),
            _ => None,
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Forced {
                endpoint,
                state,
                reason,
                expires_at,
            } => {
                let verb = match state {
                    OverrideState::Online => "forced up (Online)",
                    OverrideState::Degraded => "forced down (Degraded)",
                };
                write!(f, "endpoint {endpoint:?} is {verb} by an operator override")?;
                if let Some(t) = expires_at {
                    write!(f, " until {t}")?;
                }
                write!(f, ", whatever its probes say: {reason}")
            }
            Self::Profile {
                name,
                method,
                status,
            } => write!(
                f,
                "profile {name:?}: {} routing, status {}",
                method.as_str(),
                status.as_str()
            ),
            Self::ProfileOff => f.write_str("profile is disabled or has no enabled endpoint"),
            Self::TooDeep => f.write_str("nesting too deep"),
            Self::FailOpen => f.write_str(
                "every enabled endpoint is Degraded: fail-open, all are served as if healthy",
            ),
            Self::AllDown { policy } => write!(
                f,
                "every enabled endpoint is Degraded: all-down policy {}",
                policy.as_str()
            ),
            Self::NoEndpoint => f.write_str("no endpoint for this client: NODATA"),
            Self::Stopped { endpoint } => write!(
                f,
                "endpoint {endpoint:?} is Stopped (its child profile serves nothing): NODATA"
            ),
            Self::Nested { endpoint } => {
                write!(f, "endpoint {endpoint:?} is nested: asking its child profile")
            }
            Self::Answer { endpoint, record } => {
                write!(f, "answer: endpoint {endpoint:?} (")?;
                match record {
                    EndpointAnswer::Name(n) => write!(f, "CNAME {n}")?,
                    EndpointAnswer::Ipv4(a) => write!(f, "A {a}")?,
                    EndpointAnswer::Ipv6(a) => write!(f, "AAAA {a}")?,
                    EndpointAnswer::Nested(_) => f.write_str("nested")?,
                }
                f.write_str(")")
            }
            Self::SubnetRange {
                client,
                endpoint: Some(endpoint),
                scope,
            } => write!(
                f,
                "client {client} is in a range of endpoint {endpoint:?} (scope /{scope})"
            ),
            Self::SubnetRange {
                client,
                endpoint: None,
                scope,
            } => write!(f, "client {client} is in no endpoint's range (scope /{scope})"),
            Self::MatchedUnavailable { status, .. } => write!(
                f,
                "matched endpoint is {}: trying the fallback endpoint",
                status.as_str()
            ),
            Self::Fallback { endpoint } => write!(f, "fallback endpoint {endpoint:?} (no ranges)"),
            Self::FallbackUnavailable { status, .. } => {
                write!(f, "fallback endpoint is {}", status.as_str())
            }
            Self::SubnetOverride {
                regardless_of_health: true,
                ..
            } => f.write_str("subnet override wins (Geographic: regardless of health)"),
            Self::SubnetOverride { .. } => f.write_str("subnet override wins"),
            Self::Located {
                client,
                location,
                prefix,
            } => {
                write!(f, "client {client} is in ")?;
                for (i, code) in location.codes().enumerate() {
                    if i > 0 {
                        f.write_str(" < ")?;
                    }
                    f.write_str(code)?;
                }
                write!(f, " (GeoIP network /{prefix})")
            }
            Self::NoGeoIp => f.write_str("no GeoIP database configured: only WORLD mappings apply"),
            Self::NotInGeoIp { client } => write!(
                f,
                "client {client} is not in the GeoIP database: only WORLD applies"
            ),
            Self::GeoMapped { code, endpoint } => {
                write!(f, "{code} is mapped to endpoint {endpoint:?}")
            }
            Self::GeoUnmapped => f.write_str("no enabled endpoint maps any of the client's codes"),
            Self::PrioritySkipped {
                priority,
                endpoint,
                status,
            } => write!(
                f,
                "priority {priority} endpoint {endpoint:?} skipped: {}",
                status.as_str()
            ),
            Self::WeightedDraw {
                draw,
                total,
                eligible,
            } => write!(
                f,
                "weighted draw {draw} of {total} over {eligible} eligible endpoints"
            ),
            Self::NotInLatencyTable { client, scope } => write!(
                f,
                "client {client} is in no latency-table prefix (scope /{scope}): ranking by distance"
            ),
            Self::LatencyLine {
                client,
                prefix,
                scope,
                ranked,
            } => {
                write!(
                    f,
                    "latency table line /{prefix} for client {client} (scope /{scope}): "
                )?;
                for (i, (region, ms)) in ranked.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    match ms {
                        Some(ms) => write!(f, "{region} {ms} ms")?,
                        None => write!(f, "{region} (not in the table)")?,
                    }
                }
                Ok(())
            }
            Self::FastestRegion { region } => write!(
                f,
                "region {region:?} has the lowest latency with an eligible endpoint"
            ),
            Self::NoFastestRegion => f.write_str(
                "no region of the latency table has an eligible endpoint: ranking by distance",
            ),
            Self::Distances {
                client,
                at,
                prefix,
                ranked,
            } => {
                write!(
                    f,
                    "client {client} is at {:.2},{:.2} (GeoIP network /{prefix}); regions by distance: ",
                    at.0, at.1
                )?;
                for (i, (region, km)) in ranked.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{region} {km:.0} km")?;
                }
                Ok(())
            }
            Self::NoLocation => f.write_str(
                "no location for the client (no GeoIP database, or no coordinates for it): regions ranked in configuration order",
            ),
            Self::Region { region } => write!(
                f,
                "region {region:?} has an eligible endpoint; traffic is spread evenly inside it"
            ),
            Self::MultiValue {
                picked,
                eligible,
                max_return,
            } => write!(
                f,
                "MultiValue: {picked} of {eligible} eligible addresses (maxReturn {max_return})"
            ),
        }
    }
}

/// How the model's types appear in a serialized [`Step`].
#[cfg(feature = "serde")]
mod ser {
    use serde::Serializer;

    use super::*;

    pub(super) fn method<S: Serializer>(m: &RoutingMethod, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(m.as_str())
    }

    pub(super) fn profile_status<S: Serializer>(
        v: &ProfileMonitorStatus,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(v.as_str())
    }

    pub(super) fn status<S: Serializer>(v: &MonitorStatus, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v.as_str())
    }

    pub(super) fn policy<S: Serializer>(v: &AllDownPolicy, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v.as_str())
    }

    pub(super) fn location<S: Serializer>(v: &Location, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.codes())
    }
}
