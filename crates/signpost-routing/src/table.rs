//! Compiling profiles and health into routing tables, off the hot path.
//!
//! Everything a query needs is decided here once per configuration or health change: each
//! endpoint's monitor status (nested endpoints from their child profile), which endpoints are
//! eligible (healthy, or all of them in fail-open), the Priority order, the Weighted cumulative
//! table over eligible endpoints only, the MultiValue address lists, and the subnet range table.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use signpost_model::{
    AddressFamily, AllDownPolicy, EndpointTarget, Profile, ProfileSet, RoutingMethod,
};

use crate::health::{HealthView, MonitorStatus, ProbeStatus, ProfileMonitorStatus};
use crate::prefixes::PrefixTable;

/// Index of a profile in a [`RoutingTable`].
pub type ProfileId = u32;

/// What a chosen endpoint contributes to the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointAnswer {
    /// CNAME to this name (lower-case, no trailing dot).
    Name(String),
    /// An A record.
    Ipv4(Ipv4Addr),
    /// An AAAA record.
    Ipv6(Ipv6Addr),
    /// The child profile's answer.
    Nested(ProfileId),
}

impl EndpointAnswer {
    /// The address family of an IP answer.
    pub fn family(&self) -> Option<AddressFamily> {
        match self {
            Self::Ipv4(_) => Some(AddressFamily::V4),
            Self::Ipv6(_) => Some(AddressFamily::V6),
            _ => None,
        }
    }
}

/// An endpoint as routing sees it.
#[derive(Debug, Clone)]
pub struct CompiledEndpoint {
    /// Name, as configured.
    pub name: String,
    /// What it answers with.
    pub answer: EndpointAnswer,
    /// Its monitor status.
    pub status: MonitorStatus,
    /// Whether routing may return it (healthy, or degraded in fail-open).
    pub eligible: bool,
    /// Weighted: weight.
    pub weight: u16,
    /// Priority: priority.
    pub priority: u16,
    /// Performance: region.
    pub location: Option<String>,
    /// Geographic: mapped codes.
    pub geo_mapping: Vec<String>,
}

/// The per-method selection table, built from eligible endpoints only.
#[derive(Debug, Clone)]
pub(crate) enum Selection {
    /// Endpoint indices in ascending priority; the first eligible one wins.
    Priority { order: Vec<u16> },
    /// Cumulative weights of eligible endpoints (`cumulative[i]` = sum of weights up to `indices[i]`).
    Weighted {
        indices: Vec<u16>,
        cumulative: Vec<u32>,
    },
    /// Eligible endpoints per family.
    MultiValue { v4: Vec<u16>, v6: Vec<u16> },
    /// The endpoint without ranges, if any.
    Subnet { fallback: Option<u16> },
    /// Location code -> enabled endpoint mapping it.
    Geographic { codes: HashMap<String, u16> },
    /// Regions in first-appearance order, each with its coordinates and endpoints.
    Performance { regions: Vec<PerformanceRegion> },
}

/// A region of a Performance profile.
#[derive(Debug, Clone)]
pub(crate) struct PerformanceRegion {
    /// The name as first written.
    pub(crate) name: String,
    /// Latitude and longitude (validation guarantees a known region).
    pub(crate) coordinates: Option<(f64, f64)>,
    /// Its endpoints.
    pub(crate) endpoints: Vec<u16>,
}

/// A profile compiled for routing.
#[derive(Debug, Clone)]
pub struct CompiledProfile {
    /// Resource name.
    pub name: String,
    /// Lower-case relative DNS name.
    pub relative_name: String,
    /// Answer TTL.
    pub ttl: u32,
    /// Routing method.
    pub method: RoutingMethod,
    /// Azure's profile monitor status.
    pub monitor_status: ProfileMonitorStatus,
    /// Profile disabled, or every endpoint disabled: the name answers NXDOMAIN.
    pub nxdomain: bool,
    /// Every endpoint that could serve is Degraded (whatever the all-down policy does about it).
    pub all_down: bool,
    /// All down and the policy is `serveAll`: every Degraded endpoint is served (Azure's fail-open).
    pub fail_open: bool,
    /// What the profile answers when all are down.
    pub all_down_policy: AllDownPolicy,
    /// MultiValue: addresses per family in an answer.
    pub max_return: u8,
    /// Endpoints in document order.
    pub endpoints: Vec<CompiledEndpoint>,
    pub(crate) selection: Selection,
    /// Subnet routing ranges or subnet overrides, from enabled endpoints.
    pub(crate) ranges: PrefixTable<u16>,
}

/// Every profile compiled, with a name index. Immutable once built; rebuilt on every change.
#[derive(Debug, Clone, Default)]
pub struct RoutingTable {
    profiles: Vec<CompiledProfile>,
    by_relative_name: HashMap<String, ProfileId>,
}

impl RoutingTable {
    /// Compiles a validated configuration with the given health.
    pub fn compile(set: &ProfileSet, health: &dyn HealthView) -> Self {
        let profiles = set.profiles();
        let ids: HashMap<String, ProfileId> = profiles
            .iter()
            .enumerate()
            .map(|(i, p)| (p.name.to_ascii_lowercase(), i as ProfileId))
            .collect();
        let mut compiled: Vec<Option<CompiledProfile>> = vec![None; profiles.len()];
        for i in 0..profiles.len() {
            compile_one(i, profiles, &ids, health, &mut compiled);
        }
        let profiles: Vec<CompiledProfile> = compiled
            .into_iter()
            .map(|p| p.expect("every profile compiled"))
            .collect();
        let by_relative_name = profiles
            .iter()
            .enumerate()
            .map(|(i, p)| (p.relative_name.clone(), i as ProfileId))
            .collect();
        Self {
            profiles,
            by_relative_name,
        }
    }

    /// The compiled profiles; a [`ProfileId`] indexes this slice.
    pub fn profiles(&self) -> &[CompiledProfile] {
        &self.profiles
    }

    /// A profile by id.
    pub fn profile(&self, id: ProfileId) -> &CompiledProfile {
        &self.profiles[id as usize]
    }

    /// The profile with this lower-case relative DNS name.
    pub fn by_relative_name(&self, name: &str) -> Option<ProfileId> {
        self.by_relative_name.get(name).copied()
    }

    /// The profile with this resource name (case-insensitive).
    pub fn by_name(&self, name: &str) -> Option<ProfileId> {
        self.profiles
            .iter()
            .position(|p| p.name.eq_ignore_ascii_case(name))
            .map(|i| i as ProfileId)
    }
}

/// Compiles profile `i` after its children (nesting is acyclic, checked by the model).
fn compile_one(
    i: usize,
    profiles: &[Profile],
    ids: &HashMap<String, ProfileId>,
    health: &dyn HealthView,
    out: &mut Vec<Option<CompiledProfile>>,
) {
    if out[i].is_some() {
        return;
    }
    let p = &profiles[i];
    let mut endpoints = Vec::with_capacity(p.endpoints.len());
    for ep in &p.endpoints {
        let (answer, status) = match &ep.target {
            EndpointTarget::Profile(child) => {
                let c = ids[&child.to_ascii_lowercase()];
                compile_one(c as usize, profiles, ids, health, out);
                let child = out[c as usize].as_ref().expect("child compiled");
                let status = if !p.enabled {
                    MonitorStatus::Inactive
                } else if !ep.enabled {
                    MonitorStatus::Disabled
                } else {
                    nested_status(
                        child,
                        ep.min_child_endpoints,
                        ep.min_child_endpoints_v4,
                        ep.min_child_endpoints_v6,
                    )
                };
                (EndpointAnswer::Nested(c), status)
            }
            target => {
                let answer = match target {
                    EndpointTarget::Name(n) => EndpointAnswer::Name(n.clone()),
                    EndpointTarget::Ipv4(a) => EndpointAnswer::Ipv4(*a),
                    EndpointTarget::Ipv6(a) => EndpointAnswer::Ipv6(*a),
                    EndpointTarget::Profile(_) => unreachable!("handled above"),
                };
                let status = if !p.enabled {
                    MonitorStatus::Inactive
                } else if !ep.enabled {
                    MonitorStatus::Disabled
                } else if ep.always_serve {
                    MonitorStatus::Unmonitored
                } else {
                    match health.probe_status(&p.name, &ep.name) {
                        ProbeStatus::Checking => MonitorStatus::CheckingEndpoint,
                        ProbeStatus::Online => MonitorStatus::Online,
                        ProbeStatus::Degraded => MonitorStatus::Degraded,
                    }
                };
                (answer, status)
            }
        };
        endpoints.push(CompiledEndpoint {
            name: ep.name.clone(),
            answer,
            status,
            eligible: status.is_healthy(),
            weight: ep.weight,
            priority: ep.priority,
            location: ep.location.clone(),
            geo_mapping: ep.geo_mapping.clone(),
        });
    }

    // Fail-open: every endpoint that could serve (not Disabled, Stopped or Inactive) is Degraded.
    let candidates = endpoints
        .iter()
        .filter(|e| e.status == MonitorStatus::Degraded || e.status.is_healthy());
    let all_down = p.enabled
        && candidates.clone().count() > 0
        && candidates
            .clone()
            .all(|e| e.status == MonitorStatus::Degraded);
    let fail_open = all_down && p.all_down_policy == AllDownPolicy::ServeAll;
    if fail_open {
        for e in endpoints
            .iter_mut()
            .filter(|e| e.status == MonitorStatus::Degraded)
        {
            e.eligible = true;
        }
    }
    let any_enabled = p.endpoints.iter().any(|e| e.enabled);
    let monitor_status = profile_status(p.enabled, &endpoints);
    let mut ranges = PrefixTable::new();
    for (i, e) in p.endpoints.iter().enumerate().filter(|(_, e)| e.enabled) {
        for r in &e.subnets {
            ranges.insert_range(r.first, r.last, i as u16);
        }
    }
    let selection = selection(p, &endpoints);
    out[i] = Some(CompiledProfile {
        name: p.name.clone(),
        relative_name: p.relative_name.clone(),
        ttl: p.ttl,
        method: p.routing_method,
        monitor_status,
        nxdomain: !p.enabled || !any_enabled,
        all_down,
        fail_open,
        all_down_policy: p.all_down_policy,
        max_return: p.max_return,
        endpoints,
        selection,
        ranges,
    });
}

/// A nested endpoint's status from its child profile (Azure's table: Stopped when the child is
/// disabled or inactive; Online when enough children are Online; CheckingEndpoint when enough are
/// Online or Checking; Degraded otherwise).
fn nested_status(child: &CompiledProfile, min: u32, min_v4: u32, min_v6: u32) -> MonitorStatus {
    if matches!(
        child.monitor_status,
        ProfileMonitorStatus::Disabled | ProfileMonitorStatus::Inactive
    ) {
        return MonitorStatus::Stopped;
    }
    let count = |pred: &dyn Fn(&CompiledEndpoint) -> bool| {
        child.endpoints.iter().filter(|e| pred(e)).count() as u32
    };
    let online = |e: &CompiledEndpoint| {
        matches!(e.status, MonitorStatus::Online | MonitorStatus::Unmonitored)
    };
    let up = |e: &CompiledEndpoint| e.status.is_healthy();
    let family_ok = |pred: &dyn Fn(&CompiledEndpoint) -> bool| {
        count(&|e| pred(e) && e.answer.family() == Some(AddressFamily::V4)) >= min_v4
            && count(&|e| pred(e) && e.answer.family() == Some(AddressFamily::V6)) >= min_v6
    };
    if count(&online) >= min && family_ok(&online) {
        MonitorStatus::Online
    } else if count(&up) >= min && family_ok(&up) {
        MonitorStatus::CheckingEndpoint
    } else {
        MonitorStatus::Degraded
    }
}

fn profile_status(enabled: bool, endpoints: &[CompiledEndpoint]) -> ProfileMonitorStatus {
    use MonitorStatus as M;
    if !enabled {
        return ProfileMonitorStatus::Disabled;
    }
    let has = |s: &[M]| endpoints.iter().any(|e| s.contains(&e.status));
    if has(&[M::Degraded]) {
        ProfileMonitorStatus::Degraded
    } else if has(&[M::Online, M::Unmonitored]) {
        ProfileMonitorStatus::Online
    } else if has(&[M::CheckingEndpoint]) {
        ProfileMonitorStatus::CheckingEndpoints
    } else {
        ProfileMonitorStatus::Inactive
    }
}

fn selection(p: &Profile, endpoints: &[CompiledEndpoint]) -> Selection {
    let eligible = || {
        endpoints
            .iter()
            .enumerate()
            .filter(|(_, e)| e.eligible)
            .map(|(i, _)| i as u16)
    };
    match p.routing_method {
        RoutingMethod::Priority => {
            let mut order: Vec<u16> = (0..endpoints.len() as u16).collect();
            order.sort_by_key(|&i| endpoints[i as usize].priority);
            Selection::Priority { order }
        }
        RoutingMethod::Weighted => {
            let indices: Vec<u16> = eligible().collect();
            let mut total = 0u32;
            let cumulative = indices
                .iter()
                .map(|&i| {
                    total += u32::from(endpoints[i as usize].weight);
                    total
                })
                .collect();
            Selection::Weighted {
                indices,
                cumulative,
            }
        }
        RoutingMethod::MultiValue => {
            let of = |f: AddressFamily| {
                eligible()
                    .filter(|&i| endpoints[i as usize].answer.family() == Some(f))
                    .collect()
            };
            Selection::MultiValue {
                v4: of(AddressFamily::V4),
                v6: of(AddressFamily::V6),
            }
        }
        RoutingMethod::Subnet => Selection::Subnet {
            fallback: p
                .endpoints
                .iter()
                .position(|e| e.enabled && e.subnets.is_empty())
                .map(|i| i as u16),
        },
        RoutingMethod::Geographic => Selection::Geographic {
            codes: p
                .endpoints
                .iter()
                .enumerate()
                .filter(|(_, e)| e.enabled)
                .flat_map(|(i, e)| e.geo_mapping.iter().map(move |c| (c.clone(), i as u16)))
                .collect(),
        },
        RoutingMethod::Performance => {
            let mut regions: Vec<PerformanceRegion> = Vec::new();
            for (i, e) in p.endpoints.iter().enumerate() {
                let name = e.location.clone().unwrap_or_default();
                let coordinates = e.coordinates;
                // Validation gave known regions their canonical name: equal names are one
                // region, and two sites that share coordinates stay two.
                match regions.iter_mut().find(|r| r.name == name) {
                    Some(r) => r.endpoints.push(i as u16),
                    None => regions.push(PerformanceRegion {
                        name,
                        coordinates,
                        endpoints: vec![i as u16],
                    }),
                }
            }
            Selection::Performance { regions }
        }
    }
}
